"""Every write to a lead: convert a conversation, create one by hand, change a stage, edit
the fields, who works it.

Each action takes the workspace id and looks its rows up inside that workspace only (a row
of another workspace is "not found"), writes in one transaction, and publishes one event
after it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from frontdesk.crm import events
from frontdesk.crm.actions import activity
from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.actions.values import UNSET, CrmError, clean_tags, clean_text, member, money
from frontdesk.crm.actions.values import currency as currency_code
from frontdesk.crm.models import ActivityKind, Lead, LeadAssignee, LeadStage
from frontdesk.crm.queries.leads import LeadNotFound, lead_for, open_lead_of
from frontdesk.inbox.actions.conversation import _event_line
from frontdesk.inbox.models import Contact, Conversation, Direction, Message, MessageKind
from frontdesk.workspaces.models import User


@dataclass(frozen=True)
class Converted:
    lead: Lead
    created: bool  # False: the conversation already was an open lead
    event: Message | None = None  # the line it added to the conversation, when created


def contact_snapshot(contact: Contact, conversation: Conversation) -> dict[str, Any]:
    """What the lead carries over: who the person is and where they wrote from."""
    details: dict[str, Any] = {
        "name": contact.display_name,
        "company": contact.company,
        "job_title": contact.job_title,
        "picture_url": contact.avatar_url,
        **{f"linkedin_{key}": value for key, value in contact.profile.items()},
        "handles": [{"kind": h.kind, "value": h.value} for h in contact.handles.all()],
        "channel": {"kind": conversation.channel.kind, "name": conversation.channel.name},
        "subject": conversation.subject,
    }
    return {k: v for k, v in details.items() if v}


TITLE_FROM_MESSAGE = 120  # characters of the client's first line a title keeps


def default_title(conversation: Conversation) -> str:
    """What the client asked for: the email's subject, else the first line of their first
    message (the person and channel when they sent no text)."""
    subject = " ".join(conversation.subject.split())
    if subject:
        return subject[:300]
    first = (
        Message.objects.filter(
            conversation=conversation, direction=Direction.INBOUND, kind=MessageKind.MESSAGE
        )
        .exclude(text="")
        .order_by("created_at", "id")
        .values_list("text", flat=True)
        .first()
    )
    line = next((" ".join(li.split()) for li in (first or "").splitlines() if li.strip()), "")
    if line:
        return line if len(line) <= TITLE_FROM_MESSAGE else line[: TITLE_FROM_MESSAGE - 1] + "…"
    return f"{conversation.contact.display_name} — {conversation.channel.name}"[:300]


def convert_to_lead(workspace_id: int, conversation_id: int, by_user: User) -> Converted:
    """Make the conversation a lead in stage New, or return the open lead it already is."""
    conversation = (
        Conversation.objects.filter(workspace_id=workspace_id, pk=conversation_id)
        .select_related("contact", "channel", "assignee")
        .first()
    )
    if conversation is None:
        raise LeadNotFound("conversation not found")
    existing = open_lead_of(workspace_id, conversation.pk)
    if existing is not None:
        return Converted(existing, created=False)
    lead = Lead(
        workspace_id=workspace_id,
        title=default_title(conversation),
        contact=conversation.contact,
        source_conversation=conversation,
        source_channel=conversation.channel,
        source=conversation.channel.kind,
        stage=LeadStage.NEW,
        owner=conversation.assignee or by_user,
        tags=list(conversation.contact.tags or []),
        details=contact_snapshot(conversation.contact, conversation),
        created_by=by_user,
    )
    try:
        with transaction.atomic():
            # The contact as it is now, the row locked: a merge that moved this conversation
            # to another contact since it was read above must not leave the lead on a
            # deleted one.
            contact_id = (
                Conversation.objects.select_for_update()
                .filter(pk=conversation.pk)
                .values_list("contact_id", flat=True)
                .first()
            )
            if contact_id is None:
                raise LeadNotFound("conversation not found")
            lead.contact_id = contact_id
            lead.save(force_insert=True)
            event = _event_line(
                conversation,
                by_user,
                f"{by_user.display_name} converted this conversation to a lead",
                action="lead",
                lead_id=lead.pk,
            )
            activity.record(
                workspace_id,
                ActivityKind.LEAD,
                f"{by_user.display_name} made this a lead: {lead.title}",
                contact_id=contact_id,
                actor=by_user,
                lead=lead,
                extra={"stage": lead.stage},
            )
            events.lead_created(workspace_id, lead.pk, conversation.pk, event.pk, lead.stage)
    except IntegrityError:  # a concurrent convert of the same conversation came first
        existing = open_lead_of(workspace_id, conversation.pk)
        if existing is None:
            raise
        return Converted(existing, created=False)
    return Converted(lead, created=True, event=event)


def _save(lead: Lead, fields: list[str], by_user: User, stage_from: str = "") -> Lead:
    try:
        with transaction.atomic():
            lead.save(update_fields=[*fields, "updated_at"])
            if stage_from:
                activity.record(
                    lead.workspace_id,
                    ActivityKind.LEAD,
                    f"{by_user.display_name} moved the lead from {LeadStage(stage_from).label}"
                    f" to {lead.get_stage_display()}",
                    contact_id=lead.contact_id,
                    actor=by_user,
                    lead=lead,
                    extra={"from": stage_from, "to": lead.stage},
                )
            events.lead_updated(
                lead.workspace_id, lead.pk, lead.source_conversation_id, lead.stage, by_user.pk
            )
    except IntegrityError:
        other = open_lead_of(lead.workspace_id, lead.source_conversation_id or 0)
        if other is None or other.pk == lead.pk:
            raise  # not the one-open-lead rule: a real fault, not the user's input
        raise CrmError("this conversation already has another open lead") from None
    return lead


def change_stage(workspace_id: int, lead_id: int, stage: str, by_user: User) -> Lead:
    if stage not in LeadStage.values:
        raise CrmError(f"stage must be one of {', '.join(LeadStage.values)}")
    lead = lead_for(workspace_id, lead_id)
    if lead.stage == stage:
        return lead
    stage_from, lead.stage = lead.stage, stage
    return _save(lead, ["stage"], by_user, stage_from=stage_from)


def update_lead(
    workspace_id: int,
    lead_id: int,
    by_user: User,
    *,
    title: str = UNSET,
    value: Decimal | str | float | None = UNSET,
    currency: str = UNSET,
    owner_id: int | None = UNSET,
    expected_close_date: date | None = UNSET,
    tags: Any = UNSET,
    source: str = UNSET,
    assignee_ids: list[int] = UNSET,
) -> Lead:
    """Change the fields given (a field left out stays as it is; None clears it)."""
    lead = lead_for(workspace_id, lead_id)
    changed: dict[str, Any] = {}
    if title is not UNSET:
        changed["title"] = clean_text(title, 300, "a lead's title", required=True)
    if source is not UNSET:
        changed["source"] = clean_text(source, 50)
    if value is not UNSET:
        changed["value"] = money(value)
    if currency is not UNSET:
        changed["currency"] = currency_code(currency)
    if owner_id is not UNSET:
        changed["owner"] = member(workspace_id, owner_id)
    if expected_close_date is not UNSET:
        changed["expected_close_date"] = expected_close_date
    if tags is not UNSET:
        changed["tags"] = clean_tags(tags)
    assignees = _assignees(workspace_id, assignee_ids) if assignee_ids is not UNSET else None
    for field, new in changed.items():
        setattr(lead, field, new)
    with transaction.atomic():
        reassigned = assignees is not None and _assign(lead, assignees, by_user)
        return _save(lead, list(changed), by_user) if changed or reassigned else lead


def _assignees(workspace_id: int, user_ids: list[int] | None) -> list[User]:
    people = [member(workspace_id, int(i), "assignee") for i in dict.fromkeys(user_ids or [])]
    return [p for p in people if p is not None]


def _assign(lead: Lead, people: list[User], by_user: User) -> bool:
    """Make ``people`` the lead's assignees; returns whether that changed anything."""
    current = set(lead.assignments.values_list("user_id", flat=True))
    wanted = {p.pk for p in people}
    if current == wanted:
        return False
    lead.assignments.exclude(user_id__in=wanted).delete()
    LeadAssignee.objects.bulk_create(
        [
            LeadAssignee(workspace_id=lead.workspace_id, lead=lead, user=p)
            for p in people
            if p.pk not in current
        ]
    )
    names = ", ".join(p.display_name for p in people) or "nobody"
    activity.record(
        lead.workspace_id,
        ActivityKind.LEAD,
        f"{by_user.display_name} set who works the lead: {names}",
        contact_id=lead.contact_id,
        actor=by_user,
        lead=lead,
        extra={"assignee_ids": sorted(wanted)},
    )
    return True


def create_lead(
    workspace_id: int,
    by_user: User,
    *,
    contact_id: int,
    title: str,
    value: Decimal | str | float | None = None,
    currency: str = "EUR",
    owner_id: int | None = UNSET,
    source: str = "",
    stage: str = LeadStage.NEW,
    expected_close_date: date | None = None,
    tags: Any = (),
    assignee_ids: list[int] | None = None,
) -> Lead:
    """A lead made by hand, for any contact (not from a conversation). Its owner is the
    member who makes it unless another is given."""
    contact = Contact.objects.filter(workspace_id=workspace_id, pk=contact_id).first()
    if contact is None:
        raise LeadNotFound("contact not found")
    if stage not in LeadStage.values:
        raise CrmError(f"stage must be one of {', '.join(LeadStage.values)}")
    lead = Lead(
        workspace_id=workspace_id,
        contact=contact,
        title=clean_text(title, 300, "a lead's title", required=True),
        value=money(value),
        currency=currency_code(currency),
        owner=by_user if owner_id is UNSET else member(workspace_id, owner_id),
        source=clean_text(source, 50),
        stage=stage,
        expected_close_date=expected_close_date,
        tags=clean_tags(tags) or list(contact.tags or []),
        details={"name": contact.display_name, "company": contact.company},
        created_by=by_user,
    )
    assignees = _assignees(workspace_id, assignee_ids)
    with transaction.atomic():
        lead.save(force_insert=True)
        activity.record(
            workspace_id,
            ActivityKind.LEAD,
            f"{by_user.display_name} created the lead {lead.title}",
            contact_id=contact.pk,
            actor=by_user,
            lead=lead,
            extra={"stage": lead.stage},
        )
        if assignees:
            _assign(lead, assignees, by_user)
        events.lead_created(workspace_id, lead.pk, None, None, lead.stage)
    return lead


def create_lead_for(
    workspace_id: int,
    by_user: User,
    *,
    contact_id: int | None,
    new_contact: dict[str, str],
    **fields: Any,
) -> Lead:
    """``create_lead`` for an existing contact, or for a new one (a name, maybe an email)
    made in the same transaction: a refused lead leaves no contact behind."""
    with transaction.atomic():
        if contact_id is None:
            name = (new_contact.get("name") or "").strip()
            if not name:
                raise CrmError("pick a contact, or type the new contact's name")
            email = (new_contact.get("email") or "").strip()
            contact = create_contact(
                workspace_id,
                by_user,
                name=name,
                handles=[{"kind": "email", "value": email}] if email else [],
            )
            contact_id = contact.pk
        return create_lead(workspace_id, by_user, contact_id=contact_id, **fields)
