"""Every CRM write to a contact: create one by hand, edit it, its addresses, tag many at
once, delete or archive many at once.

A contact's addresses (handles) are how messages find it: an address belongs to one contact
of the workspace, so a second contact cannot take it (the caller is told whose it is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from frontdesk.core import l10n
from frontdesk.crm import events
from frontdesk.crm.actions.contact_fields import clean_field_values
from frontdesk.crm.actions.phones import country_name, with_country
from frontdesk.crm.actions.values import UNSET, CrmError, clean_tags, clean_text, member
from frontdesk.crm.models import Deal, Lead
from frontdesk.inbox.models import Contact, ContactHandle, Conversation, HandleKind
from frontdesk.workspaces.models import User

# The kinds a person types in; "external" ids come only from API channels.
TYPED_KINDS = (HandleKind.EMAIL, HandleKind.PHONE, HandleKind.LINKEDIN)
MAX_BULK = 1000


class HandleTaken(CrmError):
    """The address already belongs to another contact (``owner`` says which)."""

    def __init__(self, message: str, owner: Contact):
        super().__init__(message)
        self.owner = owner


@dataclass(frozen=True)
class Handle:
    kind: str
    value: str


def e164(raw: str) -> str:
    """+351 912 345 678, 00351-912-345-678 -> +351912345678; "" when it cannot be one."""
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits, text = digits[2:], "+"
    if not text.startswith("+") or not 7 <= len(digits) <= 15 or re.search(r"[^\d\s().+-]", text):
        return ""
    return f"+{digits}"


def clean_handle(kind: str, value: str, country: str = "") -> Handle:
    """An address as the channels store it: emails lower-case, phones in E.164 (a phone
    without its country code is read as one of ``country``, when given)."""
    value = str(value or "").strip()
    if kind not in TYPED_KINDS:
        raise CrmError(f"an address kind must be one of {', '.join(TYPED_KINDS)}")
    if not value:
        raise CrmError("an address cannot be empty")
    if kind == HandleKind.EMAIL:
        value = value.lower()
        try:
            validate_email(value)
        except ValidationError:
            raise CrmError(f"{value!r} is not an email address") from None
    elif kind == HandleKind.PHONE:
        international = value.startswith(("+", "00"))
        phone = e164(value) if international or not country else with_country(value, country)
        if not phone and country and not international:
            raise CrmError(
                f"{value!r} is not a phone number of {country_name(country, l10n.current())} "
                "(nor one with its country code, such as +351 912 345 678)"
            )
        if not phone:
            raise CrmError(
                f"{value!r} is not a phone number with its country code, such as +351 912 345 678"
            )
        value = phone
    elif len(value) > 320:
        raise CrmError("a LinkedIn address has at most 320 characters")
    return Handle(kind, value)


def clean_handles(items: Iterable[Any]) -> list[Handle]:
    found: dict[tuple[str, str], Handle] = {}
    for item in items or []:
        kind, value = (item["kind"], item["value"]) if isinstance(item, dict) else item
        handle = clean_handle(str(kind), str(value))
        found[(handle.kind, handle.value)] = handle
    return list(found.values())


def _add_handles(contact: Contact, handles: list[Handle]) -> None:
    for handle in handles:
        owner = (
            Contact.objects.filter(
                workspace_id=contact.workspace_id,
                handles__kind=handle.kind,
                handles__value=handle.value,
            )
            .exclude(pk=contact.pk)
            .first()
        )
        if owner is not None:
            raise HandleTaken(f"{handle.value} already belongs to {owner.display_name}", owner)
        ContactHandle.objects.get_or_create(
            workspace_id=contact.workspace_id,
            kind=handle.kind,
            value=handle.value,
            defaults={"contact": contact},
        )


def create_contact(
    workspace_id: int,
    by_user: User | None,
    *,
    name: str,
    company: str = "",
    job_title: str = "",
    handles: Iterable[Any] = (),
    owner_id: int | None = None,
    tags: Any = (),
    custom_fields: dict[str, Any] | None = None,
) -> Contact:
    contact = Contact(
        workspace_id=workspace_id,
        name=clean_text(name, 300, "a name", required=True),
        company=clean_text(company, 300),
        job_title=clean_text(job_title, 200),
        owner=member(workspace_id, owner_id),
        tags=clean_tags(tags),
        custom_fields={
            k: v
            for k, v in clean_field_values(workspace_id, custom_fields or {}).items()
            if v is not None
        },
    )
    cleaned = clean_handles(handles)
    try:
        with transaction.atomic():
            contact.save(force_insert=True)
            _add_handles(contact, cleaned)
            events.contact_created(workspace_id, contact.pk, by_user.pk if by_user else None)
    except IntegrityError:  # someone took one of the addresses meanwhile
        raise CrmError("one of these addresses was just given to another contact") from None
    return contact


def contact_in(workspace_id: int, contact_id: int) -> Contact:
    contact = Contact.objects.filter(workspace_id=workspace_id, pk=contact_id).first()
    if contact is None:
        raise Contact.DoesNotExist("no such contact in this workspace")
    return contact


def update_contact(
    workspace_id: int,
    contact_id: int,
    by_user: User | None,
    *,
    name: str = UNSET,
    company: str = UNSET,
    job_title: str = UNSET,
    handles: Iterable[Any] = UNSET,
    owner_id: int | None = UNSET,
    tags: Any = UNSET,
    custom_fields: dict[str, Any] = UNSET,
) -> Contact:
    """Change the fields given (one left out stays). ``handles`` is the contact's full list
    of email, phone and LinkedIn addresses: those missing are removed (ids from an API
    channel stay). ``custom_fields`` changes the fields named, None or "" clears one."""
    contact = contact_in(workspace_id, contact_id)
    if name is not UNSET:
        contact.name = clean_text(name, 300, "a name", required=True)
    if company is not UNSET:
        contact.company = clean_text(company, 300)
    if job_title is not UNSET:
        contact.job_title = clean_text(job_title, 200)
    if owner_id is not UNSET:
        contact.owner = member(workspace_id, owner_id)
    if tags is not UNSET:
        contact.tags = clean_tags(tags)
    if custom_fields is not UNSET:
        values = dict(contact.custom_fields or {})
        for key, value in clean_field_values(workspace_id, custom_fields or {}).items():
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value
        contact.custom_fields = values
    wanted = clean_handles(handles) if handles is not UNSET else None
    try:
        with transaction.atomic():
            contact.save()
            if wanted is not None:
                keep = Q()
                for handle in wanted:
                    keep |= Q(kind=handle.kind, value=handle.value)
                stale = contact.handles.filter(kind__in=TYPED_KINDS)
                (stale.exclude(keep) if wanted else stale).delete()
                _add_handles(contact, wanted)
            events.contact_updated(workspace_id, contact.pk, by_user.pk if by_user else None)
    except IntegrityError:
        raise CrmError("one of these addresses was just given to another contact") from None
    return contact


def add_handle(workspace_id: int, contact_id: int, by_user: User, kind: str, value: str) -> Contact:
    contact = contact_in(workspace_id, contact_id)
    handle = clean_handle(kind, value)
    try:
        with transaction.atomic():
            _add_handles(contact, [handle])
            Contact.objects.filter(pk=contact.pk).update(updated_at=timezone.now())
            events.contact_updated(workspace_id, contact.pk, by_user.pk)
    except IntegrityError:
        raise CrmError(f"{handle.value} was just given to another contact") from None
    return contact


def remove_handle(workspace_id: int, contact_id: int, by_user: User, handle_id: int) -> Contact:
    """The address leaves the contact: a message from it later starts a new contact."""
    contact = contact_in(workspace_id, contact_id)
    with transaction.atomic():
        deleted, _ = contact.handles.filter(pk=handle_id).delete()
        if not deleted:
            raise ContactHandle.DoesNotExist("no such address on this contact")
        Contact.objects.filter(pk=contact.pk).update(updated_at=timezone.now())
        events.contact_updated(workspace_id, contact.pk, by_user.pk)
    return contact


def _chosen(workspace_id: int, contact_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in contact_ids})
    if len(ids) > MAX_BULK:
        raise CrmError(f"at most {MAX_BULK} contacts at a time")
    return list(
        Contact.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list("pk", flat=True)
    )


def tag_contacts(workspace_id: int, contact_ids: Iterable[int], tag: str, by_user: User) -> int:
    """Add one tag to each chosen contact (of this workspace); returns how many changed."""
    tag = (clean_tags([tag]) or [""])[0]
    if not tag:
        raise CrmError("type the tag to add")
    changed = 0
    with transaction.atomic():
        rows = Contact.objects.select_for_update().filter(
            workspace_id=workspace_id, pk__in=_chosen(workspace_id, contact_ids)
        )
        for contact in rows:
            if tag in contact.tags:
                continue
            contact.tags = clean_tags([*contact.tags, tag])
            contact.save(update_fields=["tags", "updated_at"])
            events.contact_updated(workspace_id, contact.pk, by_user.pk)
            changed += 1
    return changed


@dataclass(frozen=True)
class Removal:
    """What a bulk delete will do (``plan``) or did (``delete_contacts``)."""

    deleted: list[int]
    archived: list[int]  # they have conversations, leads or deals: their history stays


def plan_removal(workspace_id: int, contact_ids: Iterable[int]) -> Removal:
    ids = _chosen(workspace_id, contact_ids)
    with_history = set(
        Contact.objects.filter(pk__in=ids)
        .filter(
            Exists(Conversation.objects.filter(contact_id=OuterRef("pk")))
            | Exists(Lead.objects.filter(contact_id=OuterRef("pk")))
            | Exists(Deal.objects.filter(contact_id=OuterRef("pk")))
        )
        .values_list("pk", flat=True)
    )
    return Removal(
        deleted=[i for i in ids if i not in with_history],
        archived=[i for i in ids if i in with_history],
    )


def delete_contacts(workspace_id: int, contact_ids: Iterable[int], by_user: User) -> Removal:
    """Delete the chosen contacts; one with conversations, leads or deals is archived
    instead (hidden from the list, its history kept, restorable)."""
    with transaction.atomic():
        removal = plan_removal(workspace_id, contact_ids)
        Contact.objects.filter(workspace_id=workspace_id, pk__in=removal.archived).update(
            archived_at=timezone.now()
        )
        doomed = Contact.objects.filter(workspace_id=workspace_id, pk__in=removal.deleted)
        pictures = [c.avatar for c in doomed.exclude(avatar="").only("avatar")]
        doomed.delete()
        for picture in pictures:  # our stored copies go with them
            transaction.on_commit(partial(picture.storage.delete, str(picture.name)))
        events.contacts_removed(workspace_id, removal.deleted, removal.archived, by_user.pk)
    return removal


def restore_contact(workspace_id: int, contact_id: int, by_user: User) -> Contact:
    contact = contact_in(workspace_id, contact_id)
    if contact.archived_at is not None:
        contact.archived_at = None
        contact.save(update_fields=["archived_at", "updated_at"])
        events.contact_updated(workspace_id, contact.pk, by_user.pk)
    return contact
