"""REST API for leads, mounted on the v1 API (frontdesk/api/views.py).

Another workspace's lead or conversation is a 404, never a 403: its existence is not told.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from frontdesk.api import serialize
from frontdesk.api.auth import request_member
from frontdesk.api.contacts import NoteIn, NoteOut, Timeline, note_json, timeline_json
from frontdesk.api.schemas import ChannelRef, ContactOut, Error, Instant, PersonOut
from frontdesk.crm.actions import activity
from frontdesk.crm.actions import leads as actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Lead, LeadStage
from frontdesk.crm.queries import leads as queries
from frontdesk.crm.queries import timeline
from frontdesk.inbox.queries import contact_handles_prefetch

router = Router(tags=["leads"])


class LeadOut(Schema):
    id: int
    title: str
    stage: str
    source: str
    value: Decimal | None
    currency: str
    owner: PersonOut | None
    owner_id: int | None
    assignee_ids: list[int]
    contact: ContactOut
    contact_id: int
    source_conversation_id: int | None
    source_channel: ChannelRef | None
    deal_id: int | None = Field(description="the deal the lead was converted into, if any")
    expected_close_date: date | None
    tags: list[str]
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None


class LeadIn(Schema):
    """A lead made by hand, for a contact of the workspace (no conversation needed)."""

    contact_id: int
    title: str = Field(min_length=1, max_length=300)
    value: Decimal | None = None
    currency: str = "EUR"
    owner_id: int | None = Field(default=None, description="default: you")
    source: str = Field(default="", max_length=50)
    stage: str = LeadStage.NEW
    expected_close_date: date | None = None
    tags: list[str] = Field(default_factory=list)
    assignee_ids: list[int] = Field(default_factory=list)


class LeadPatch(Schema):
    """Only the fields sent change; ``null`` clears value, owner and expected close date."""

    title: str | None = None
    source: str | None = None
    assignee_ids: list[int] | None = Field(
        default=None, description="members working on it besides the owner (the full list)"
    )
    stage: str | None = None
    value: Decimal | None = None
    currency: str | None = None
    owner_id: int | None = None
    expected_close_date: date | None = None
    tags: list[str] | None = None


def lead_json(lead: Lead) -> dict[str, Any]:
    channel = lead.source_channel
    return {
        "id": lead.pk,
        "title": lead.title,
        "stage": lead.stage,
        "source": lead.source,
        "value": lead.value,
        "currency": lead.currency,
        "owner": serialize.person(lead.owner),
        "owner_id": lead.owner_id,
        "assignee_ids": sorted(a.user_id for a in lead.assignments.all()),
        "contact": serialize.contact(lead.contact),
        "contact_id": lead.contact_id,
        "source_conversation_id": lead.source_conversation_id,
        "source_channel": (
            {"id": channel.pk, "kind": channel.kind, "provider": channel.provider}
            if channel
            else None
        ),
        # queries.lead_for and lead_list annotate it (with_deal_pk).
        "deal_id": lead.deal_pk,  # type: ignore[attr-defined]
        "expected_close_date": lead.expected_close_date,
        "tags": lead.tags,
        "details": lead.details,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
    }


def _lead(workspace_id: int, lead_id: int) -> Lead:
    try:
        return queries.lead_for(workspace_id, lead_id)
    except queries.LeadNotFound:
        raise HttpError(404, "lead not found") from None


@router.get("/leads", response={200: LeadPage, 400: Error})
def list_leads(
    request: HttpRequest,
    stage: str | None = Query(None, description='a stage, or "open" (new, contacted, working)'),
    owner: str | None = Query(None, description='"me", "none" or a user id'),
    assignee: str | None = Query(None, description='"me" or a user id: owner or assignee'),
    source: str = "",
    tag: str = "",
    created_after: Instant | None = None,
    created_before: Instant | None = None,
    q: str = "",
    sort: Literal["created", "updated", "value", "close", "title"] = "created",
    cursor: str | None = None,
    limit: int = 50,
):
    """Newest first (``sort=created``, the default) or in another of the list view's
    orders; ``next_cursor`` pages on."""
    member = request_member(request)
    if stage is not None and stage not in ("open", *LeadStage.values):
        raise HttpError(400, f"stage must be open or one of {', '.join(LeadStage.values)}")
    if owner is not None and owner not in ("me", "none") and not owner.isdigit():
        raise HttpError(400, 'owner must be "me", "none" or a user id')
    if assignee is not None and assignee != "me" and not assignee.isdigit():
        raise HttpError(400, 'assignee must be "me" or a user id')
    page = queries.lead_list(
        member.workspace_id,
        member.user_id,
        queries.LeadFilter(
            stage=stage or "",
            owner=owner or "",
            assignee=assignee or "",
            source=source,
            tag=tag,
            created_after=created_after,
            created_before=created_before,
            q=q,
        ),
        sort,
        cursor=cursor,
        limit=max(1, min(limit, 200)),
        with_deal=True,
    )
    # Every lead's contact with its handles (the page read the nameless contacts' only):
    # one query for the page, not one a lead.
    prefetch_related_objects(page.items, contact_handles_prefetch())
    return {"items": [lead_json(lead) for lead in page.items], "next_cursor": page.next_cursor}


@router.post("/leads", response={201: LeadOut, 400: Error, 404: Error})
def create_lead(request: HttpRequest, payload: LeadIn):
    """A lead without a conversation, for one of the workspace's contacts."""
    member = request_member(request)
    fields = payload.model_dump(exclude_unset=True)
    fields.pop("contact_id")
    try:
        lead = actions.create_lead(
            member.workspace_id, member.user, contact_id=payload.contact_id, **fields
        )
    except queries.LeadNotFound:
        raise HttpError(404, "contact not found") from None
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, lead_json(_lead(member.workspace_id, lead.pk)))


@router.post(
    "/conversations/{conversation_id}/lead",
    response={200: LeadOut, 201: LeadOut, 404: Error},
)
def convert_conversation(request: HttpRequest, conversation_id: int):
    """Make the conversation a lead (201), or answer the open lead it already is (200)."""
    member = request_member(request)
    try:
        converted = actions.convert_to_lead(member.workspace_id, conversation_id, member.user)
    except queries.LeadNotFound:
        raise HttpError(404, "conversation not found") from None
    lead = _lead(member.workspace_id, converted.lead.pk)
    return Status(201 if converted.created else 200, lead_json(lead))


@router.get("/leads/{lead_id}", response={200: LeadOut, 404: Error})
def get_lead(request: HttpRequest, lead_id: int):
    member = request_member(request)
    return lead_json(_lead(member.workspace_id, lead_id))


@router.patch("/leads/{lead_id}", response={200: LeadOut, 400: Error, 404: Error})
def patch_lead(request: HttpRequest, lead_id: int, payload: LeadPatch):
    member = request_member(request)
    workspace_id = member.workspace_id
    _lead(workspace_id, lead_id)
    fields = payload.model_dump(exclude_unset=True)
    stage = fields.pop("stage", None)
    if stage is not None and stage not in LeadStage.values:  # checked before anything changes
        raise HttpError(400, f"stage must be one of {', '.join(LeadStage.values)}")
    for required in ("title", "currency", "tags", "source", "assignee_ids"):
        if required in fields and fields[required] is None:
            raise HttpError(400, f"{required} cannot be null")
    try:
        with transaction.atomic():  # all of the change or none of it
            if fields:
                actions.update_lead(workspace_id, lead_id, member.user, **fields)
            if stage is not None:
                actions.change_stage(workspace_id, lead_id, stage, member.user)
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return lead_json(_lead(workspace_id, lead_id))


@router.get("/leads/{lead_id}/timeline", response={200: Timeline, 400: Error, 404: Error})
def lead_timeline(request: HttpRequest, lead_id: int, cursor: str | None = None):
    """The lead's own lines (notes, stage changes, follow-ups) and its conversation."""
    member = request_member(request)
    lead = _lead(member.workspace_id, lead_id)
    return timeline_json(timeline.timeline(member.workspace_id, timeline.lead_scope(lead), cursor))


@router.post("/leads/{lead_id}/notes", response={201: NoteOut, 400: Error, 404: Error})
def add_lead_note(request: HttpRequest, lead_id: int, payload: NoteIn):
    member = request_member(request)
    try:
        note = activity.add_note(
            member.workspace_id, member.user, payload.text, lead_id=lead_id, pinned=payload.pinned
        )
    except activity.NoteNotFound:
        raise HttpError(404, "lead not found") from None
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, note_json(note))
