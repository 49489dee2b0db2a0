"""Every write to a lead: convert a conversation, change a stage, edit the fields.

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
from frontdesk.crm.actions.values import UNSET, CrmError, clean_tags, member, money
from frontdesk.crm.actions.values import currency as currency_code
from frontdesk.crm.models import ActivityKind, Lead, LeadStage
from frontdesk.crm.queries.leads import LeadNotFound, lead_for, open_lead_of
from frontdesk.inbox.actions.conversation import _event_line
from frontdesk.inbox.models import Contact, Conversation, Message
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
        "picture_url": contact.avatar_url,
        **{f"linkedin_{key}": value for key, value in contact.profile.items()},
        "handles": [{"kind": h.kind, "value": h.value} for h in contact.handles.all()],
        "channel": {"kind": conversation.channel.kind, "name": conversation.channel.name},
        "subject": conversation.subject,
    }
    return {k: v for k, v in details.items() if v}


def default_title(conversation: Conversation) -> str:
    if conversation.subject.strip():
        return conversation.subject.strip()[:300]
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
                stage=lead.stage,
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
                    **{"from": stage_from, "to": lead.stage},
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
    tags: list[str] = UNSET,
) -> Lead:
    """Change the fields given (a field left out stays as it is; None clears it)."""
    lead = lead_for(workspace_id, lead_id)
    changed: dict[str, Any] = {}
    if title is not UNSET:
        title = " ".join(str(title or "").split())
        if not title:
            raise CrmError("a lead needs a title")
        changed["title"] = title[:300]
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
    for field, new in changed.items():
        setattr(lead, field, new)
    return _save(lead, list(changed), by_user) if changed else lead
