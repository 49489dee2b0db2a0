"""Contacts: merging two that turned out to be the same person, a handle that moved,
facts and profiles a provider tells about them."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ForeignObjectRel, Q
from django.utils import timezone

from frontdesk.connectors.base import ProfileUpdate
from frontdesk.inbox import events
from frontdesk.inbox.actions.conversation import event_line
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, Contact, ContactHandle, Conversation, Message
from frontdesk.inbox.tasks import copy_later
from frontdesk.workspaces.models import User

log = logging.getLogger("frontdesk.inbox")

# Fields of ``keep`` that ``other`` fills in when they are blank.
_FILLED_FIELDS = ("name", "company", "avatar_url", "owner_id")


def merge_contacts(
    workspace_id: int, keep_id: int, other_id: int, by_user: User | None = None
) -> Contact:
    """Fold ``other`` into ``keep`` and delete it; returns ``keep``.

    Its handles and conversations (and every other row pointing at it) move to ``keep``, so
    the next message from any of its addresses lands on ``keep``. ``keep``'s blank fields
    are filled from ``other``, tags are united, and ``keep``'s custom field values win
    (a blank one is filled like a blank field).
    Every conversation ``keep`` now has (its own and the moved ones) gets an event line
    saying so, and one ``contact.merged`` event goes out after the commit.

    Raises ``Contact.DoesNotExist`` when either id is not a contact of this workspace (the
    same answer whether it exists elsewhere or not at all) and ``ActionRefused`` for a
    contact merged into itself.
    """
    with transaction.atomic():
        # Both rows locked, lowest id first: two merges of the same pair cannot deadlock.
        # (pk=a OR pk=b rather than IN: an id too large for the column just matches nothing.)
        locked = {
            c.pk: c
            for c in Contact.objects.select_for_update()
            .filter(Q(pk=keep_id) | Q(pk=other_id), workspace_id=workspace_id)
            .order_by("pk")
        }
        if keep_id not in locked or other_id not in locked:
            raise Contact.DoesNotExist("no such contact in this workspace")
        if keep_id == other_id:
            raise ActionRefused("a contact cannot be merged into itself")
        keep, other = locked[keep_id], locked[other_id]
        merged_label = contact_label(other)

        _take_fields(keep, other)
        dropped = other.avatar.name
        if dropped and dropped != keep.avatar.name:  # ``keep`` has its own picture
            storage = other.avatar.storage
            transaction.on_commit(lambda: storage.delete(dropped))
        if keep.avatar_url and not keep.avatar:  # a copy still on its way was for ``other``
            copy_later(keep)
        _point_references_at(keep, other)
        other.delete()

        conversations = list(
            Conversation.objects.filter(workspace_id=workspace_id, contact=keep)
            .only("id", "workspace_id", "channel_id")
            .order_by("id")
        )
        if by_user is not None:
            text = f"{by_user.display_name} merged {merged_label} into this contact"
        else:
            text = f"{merged_label} was merged into this contact"
        lines = Message.objects.bulk_create(
            [
                event_line(c, by_user, text, action="contact_merged", merged_contact_id=other_id)
                for c in conversations
            ]
        )
        events.contact_merged(
            workspace_id,
            keep.pk,
            other_id,
            [{"id": c.pk, "message_id": e.pk} for c, e in zip(conversations, lines, strict=True)],
        )
    return keep


def contact_label(contact: Contact) -> str:
    """How a person recognises a contact: "Ana Lima (ana@x.com)", or just its address."""
    handle = next(iter(contact.handles.order_by("id")), None)
    if contact.name and handle:
        return f"{contact.name} ({handle.value})"
    return contact.display_name


def _take_fields(keep: Contact, other: Contact) -> None:
    if other.avatar and not keep.avatar:  # a stored picture and the link it came from go together
        keep.avatar, keep.avatar_url = other.avatar.name, other.avatar_url
    for field in _FILLED_FIELDS:
        if not getattr(keep, field) and getattr(other, field):
            setattr(keep, field, getattr(other, field))
    keep.tags = list(dict.fromkeys([*keep.tags, *other.tags]))
    keep.custom_fields = {
        **other.custom_fields,
        **{k: v for k, v in keep.custom_fields.items() if v not in ("", None)},
    }
    keep.created_at = min(keep.created_at, other.created_at)  # known since the first of them
    keep.save()


def _point_references_at(keep: Contact, other: Contact) -> None:
    """Make every row that references ``other`` reference ``keep`` instead.

    This walks the model graph instead of naming handles and conversations, so that a
    model that later gets a ForeignKey to Contact (a CRM lead...) moves with the merge
    rather than being deleted with ``other`` by its cascade. ``other`` was found in this
    workspace, so the rows pointing at it are this workspace's too.
    """
    relations = [
        f
        for f in Contact._meta.get_fields(include_hidden=True)  # also related_name="+"
        if isinstance(f, ForeignObjectRel)
    ]
    for relation in relations:
        if not relation.one_to_many:  # a one-to-one could clash; decide when one exists
            raise NotImplementedError(f"merging contacts cannot move {relation}")
        field = relation.field.name
        model = relation.related_model
        assert model is not None
        model._base_manager.filter(**{field: other}).update(**{field: keep})


def change_handle(channel: ChannelAccount, kind: str, old: str, new: str) -> None:
    """The client moved to a new address (a new phone number): their handle follows, unless
    the new one is already a contact's, and so do conversations keyed on the old one."""
    with transaction.atomic():
        handle = ContactHandle.objects.filter(
            workspace_id=channel.workspace_id, kind=kind, value=old
        ).first()
        if handle is None:
            return
        try:
            with transaction.atomic():
                ContactHandle.objects.filter(pk=handle.pk).update(value=new)
        except IntegrityError:
            log.info("handle change %s -> %s: the new one is already a contact", old, new)
            return
        # Conversations keyed on the old handle (ingest's default thread key) follow it.
        for conversation in Conversation.objects.filter(
            workspace_id=channel.workspace_id,
            contact_id=handle.contact_id,
            thread_key=f"{kind}:{old}",
        ):
            if not Conversation.objects.filter(
                channel_id=conversation.channel_id, thread_key=f"{kind}:{new}"
            ).exists():
                Conversation.objects.filter(pk=conversation.pk).update(thread_key=f"{kind}:{new}")
        events.contact_updated(channel.workspace_id, handle.contact_id)


def keep_contact_facts(contact: Contact, facts: dict[str, Any]) -> None:
    """Facts a provider told about the contact, kept in its custom fields; the first value
    of each is kept."""
    new = {k: v for k, v in facts.items() if k not in (contact.custom_fields or {})}
    if not new:
        return
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        new = {k: v for k, v in new.items() if k not in (locked.custom_fields or {})}
        if not new:
            return
        locked.custom_fields = {**(locked.custom_fields or {}), **new}
        locked.save(update_fields=["custom_fields", "updated_at"])
        events.contact_updated(contact.workspace_id, contact.pk)


# Where a contact's profile is kept in its custom fields (the keys the CRM reads), and the
# mark of a complete profile having been read (a contact is looked up once).
PROFILE_KEYS = {
    "headline": "linkedin_headline",
    "url": "linkedin_url",
    "location": "linkedin_location",
}
PROFILE_DONE = "linkedin_enriched_at"


def profile_complete(contact: Contact) -> bool:
    return bool((contact.custom_fields or {}).get(PROFILE_DONE))


def update_profile(contact: Contact, update: ProfileUpdate) -> bool:
    """Fill the contact's blanks from what a provider says (never overwrite), read again under
    a lock so an edit made meanwhile is kept; a new picture is copied by the worker. Returns
    whether anything changed."""
    with transaction.atomic():
        locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
        if locked is None or (update.complete and profile_complete(locked)):
            return False
        blanks = {
            "name": update.name[:300],
            "avatar_url": update.picture[:1000] if update.picture.startswith("https://") else "",
            "company": update.company[:300],
        }
        fields = [f for f, value in blanks.items() if value and not getattr(locked, f)]
        for f in fields:
            setattr(locked, f, blanks[f])
        custom = dict(locked.custom_fields or {})
        for attr, key in PROFILE_KEYS.items():
            value = str(getattr(update, attr))
            if attr == "url" and not value.startswith("https://"):
                continue
            if value and not custom.get(key):
                custom[key] = value[:1000]
        if update.complete:
            custom[PROFILE_DONE] = timezone.now().isoformat()
        if custom != (locked.custom_fields or {}):
            locked.custom_fields = custom
            fields.append("custom_fields")
        if not fields:
            return False
        locked.save(update_fields=[*fields, "updated_at"])
        if "avatar_url" in fields:
            copy_later(locked)
        events.contact_updated(locked.workspace_id, locked.pk)
    contact.name, contact.avatar_url, contact.company = (
        locked.name,
        locked.avatar_url,
        locked.company,
    )
    contact.custom_fields = locked.custom_fields
    return True
