"""REST API for leads, mounted on the v1 API (frontdesk/api/views.py).

Another workspace's lead or conversation is a 404, never a 403: its existence is not told.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from frontdesk.api import serialize
from frontdesk.api.auth import request_member
from frontdesk.api.contacts import NoteIn, NoteOut, Timeline, note_json, timeline_json
from frontdesk.api.schemas import ChannelRef, ContactOut, Error, PersonOut
from frontdesk.crm.actions import activity
from frontdesk.crm.actions import leads as actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Lead, LeadStage
from frontdesk.crm.queries import leads as queries
from frontdesk.crm.queries import timeline

router = Router(tags=["leads"])


class LeadOut(Schema):
    id: int
    title: str
    stage: str
    value: Decimal | None
    currency: str
    owner: PersonOut | None
    contact: ContactOut
    source_conversation_id: int | None
    source_channel: ChannelRef | None
    expected_close_date: date | None
    tags: list[str]
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None


class LeadPatch(Schema):
    """Only the fields sent change; ``null`` clears value, owner and expected close date."""

    title: str | None = None
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
        "value": lead.value,
        "currency": lead.currency,
        "owner": serialize.person(lead.owner),
        "contact": serialize.contact(lead.contact),
        "source_conversation_id": lead.source_conversation_id,
        "source_channel": (
            {"id": channel.pk, "kind": channel.kind, "provider": channel.provider}
            if channel
            else None
        ),
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
    stage: str | None = None,
    owner: str | None = Query(None, description='"me", "none" or a user id'),
    cursor: str | None = None,
    limit: int = 50,
):
    """Newest first; ``next_cursor`` pages on."""
    member = request_member(request)
    rows = Lead.objects.filter(workspace_id=member.workspace_id)
    if stage is not None:
        if stage not in LeadStage.values:
            raise HttpError(400, f"stage must be one of {', '.join(LeadStage.values)}")
        rows = rows.filter(stage=stage)
    if owner == "me":
        rows = rows.filter(owner_id=member.user_id)
    elif owner == "none":
        rows = rows.filter(owner__isnull=True)
    elif owner is not None:
        if not owner.isdigit():
            raise HttpError(400, 'owner must be "me", "none" or a user id')
        rows = rows.filter(owner_id=int(owner))
    if cursor:
        if not cursor.isdigit():
            raise HttpError(400, "invalid cursor")
        rows = rows.filter(pk__lt=int(cursor))
    limit = max(1, min(limit, 200))
    page = list(
        rows.select_related("contact", "owner", "source_channel")
        .prefetch_related("contact__handles")
        .order_by("-id")[: limit + 1]
    )
    more = len(page) > limit
    page = page[:limit]
    return {
        "items": [lead_json(lead) for lead in page],
        "next_cursor": str(page[-1].pk) if more and page else None,
    }


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
    for required in ("title", "currency", "tags"):
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
