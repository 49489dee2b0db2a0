"""REST API for pipelines and deals, mounted on the v1 API (frontdesk/api/views.py).

The names are fixed by DESIGN.md section 5; another workspace's rows are 404.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from frontdesk.api.auth import request_member
from frontdesk.api.contacts import NoteIn, NoteOut, Timeline, note_json, timeline_json
from frontdesk.api.schemas import Error
from frontdesk.crm.actions import activity
from frontdesk.crm.actions import deals as actions
from frontdesk.crm.actions import pipelines as pipeline_actions
from frontdesk.crm.actions.values import UNSET, CrmError
from frontdesk.crm.models import Deal, Pipeline
from frontdesk.crm.queries import deals as queries
from frontdesk.crm.queries import timeline

router = Router(tags=["deals"])


class StageIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    type: Literal["active", "won", "lost"] = "active"
    probability: int | None = Field(default=None, ge=0, le=100)
    rotting_days: int | None = Field(default=None, ge=1, le=3650)


class StageOut(Schema):
    id: int
    name: str
    type: str
    probability: int
    rotting_days: int | None


class PipelineIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    stages: list[StageIn] | None = Field(
        default=None, description="in order; at least one active, one won and one lost"
    )


class PipelineOut(Schema):
    id: int
    name: str
    stages: list[StageOut]


class PipelineList(Schema):
    items: list[PipelineOut]
    next_cursor: str | None


class ForecastLine(Schema):
    currency: str
    open_value: Decimal
    weighted_value: Decimal
    won_this_month: Decimal


class ForecastOut(Schema):
    totals: list[ForecastLine]


class DealOut(Schema):
    id: int
    title: str
    pipeline_id: int
    stage_id: int
    status: Literal["open", "won", "lost"]
    value: Decimal | None
    currency: str
    priority: Literal["low", "medium", "high"]
    owner_id: int | None
    contact_id: int
    lead_id: int | None
    source: str
    tags: list[str]
    expected_close_date: date | None
    lost_reason: str
    stale: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class DealList(Schema):
    items: list[DealOut]
    next_cursor: str | None


class FromLeadIn(Schema):
    pipeline_id: int | None = None
    stage_id: int | None = None
    title: str | None = Field(default=None, max_length=300)
    value: Decimal | None = None
    currency: str | None = None


class DealIn(Schema):
    contact_id: int
    title: str = Field(min_length=1, max_length=300)
    pipeline_id: int | None = None
    stage_id: int | None = None
    value: Decimal | None = None
    currency: str = "EUR"
    priority: Literal["low", "medium", "high"] = "medium"
    owner_id: int | None = Field(default=None, description="default: you")
    source: str = Field(default="", max_length=50)
    tags: list[str] = Field(default_factory=list)
    expected_close_date: date | None = None


class DealPatch(Schema):
    """Only the fields sent change; ``stage_id`` moves the deal (a won or lost stage closes
    it; send ``lost_reason`` with a lost one); ``null`` clears value, owner and date."""

    title: str | None = Field(default=None, max_length=300)
    stage_id: int | None = None
    value: Decimal | None = None
    currency: str | None = None
    priority: Literal["low", "medium", "high"] | None = None
    owner_id: int | None = None
    source: str | None = Field(default=None, max_length=50)
    tags: list[str] | None = None
    expected_close_date: date | None = None
    lost_reason: str | None = Field(default=None, max_length=300)


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "id": pipeline.pk,
        "name": pipeline.name,
        "stages": [
            {
                "id": s.pk,
                "name": s.name,
                "type": s.type,
                "probability": s.probability,
                "rotting_days": s.rotting_days,
            }
            for s in pipeline.stages.all()
        ],
    }


def deal_json(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.pk,
        "title": deal.title,
        "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "status": deal.status,
        "value": deal.value,
        "currency": deal.currency,
        "priority": deal.priority,
        "owner_id": deal.owner_id,
        "contact_id": deal.contact_id,
        "lead_id": deal.lead_id,
        "source": deal.source,
        "tags": deal.tags,
        "expected_close_date": deal.expected_close_date,
        "lost_reason": deal.lost_reason,
        "stale": deal.is_stale(),
        "created_at": deal.created_at,
        "updated_at": deal.updated_at,
        "closed_at": deal.closed_at,
    }


def _deal(workspace_id: int, deal_id: int) -> Deal:
    try:
        return queries.deal_for(workspace_id, deal_id)
    except queries.DealNotFound:
        raise HttpError(404, "deal not found") from None


def _pipeline(workspace_id: int, pipeline_id: int) -> Pipeline:
    found = next(
        (p for p in pipeline_actions.workspace_pipelines(workspace_id) if p.pk == pipeline_id),
        None,
    )
    if found is None:
        raise HttpError(404, "pipeline not found")
    return found


@router.get("/pipelines", response=PipelineList)
def list_pipelines(request: HttpRequest):
    """Every workspace has at least one (a default one is made on first use)."""
    member = request_member(request)
    pipelines = pipeline_actions.workspace_pipelines(member.workspace_id)
    return {"items": [pipeline_json(p) for p in pipelines], "next_cursor": None}


@router.post("/pipelines", response={201: PipelineOut, 400: Error, 403: Error})
def create_pipeline(request: HttpRequest, payload: PipelineIn):
    member = request_member(request)
    if not member.is_admin:
        raise HttpError(403, "only owners and admins can add pipelines")
    stages = [s.model_dump() for s in payload.stages] if payload.stages is not None else None
    try:
        pipeline = pipeline_actions.create_pipeline(member.workspace_id, payload.name, stages)
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, pipeline_json(_pipeline(member.workspace_id, pipeline.pk)))


@router.get("/pipelines/{pipeline_id}/forecast", response={200: ForecastOut, 404: Error})
def pipeline_forecast(request: HttpRequest, pipeline_id: int):
    """Per currency: the open deals' value, the same weighted by each stage's probability,
    and the value won since the start of this month."""
    member = request_member(request)
    lines = queries.forecast(_pipeline(member.workspace_id, pipeline_id))
    return {"totals": [vars(line) for line in lines]}


@router.post("/leads/{lead_id}/deal", response={200: DealOut, 201: DealOut, 400: Error, 404: Error})
def convert_lead(request: HttpRequest, lead_id: int, payload: FromLeadIn):
    """The lead becomes a deal (201; the lead is now ``converted``), or answers the deal it
    already became (200)."""
    member = request_member(request)
    fields = payload.model_dump(exclude_unset=True)
    try:
        made = actions.convert_lead(
            member.workspace_id,
            lead_id,
            member.user,
            pipeline_id=fields.get("pipeline_id"),
            stage_id=fields.get("stage_id"),
            title=fields.get("title"),
            value=fields.get("value", UNSET),
            currency_code=fields.get("currency"),
        )
    except queries.DealNotFound:
        raise HttpError(404, "lead not found") from None
    except pipeline_actions.PipelineNotFound as exc:
        raise HttpError(404, str(exc)) from None
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201 if made.created else 200, deal_json(_deal(member.workspace_id, made.deal.pk)))


@router.post("/deals", response={201: DealOut, 400: Error, 404: Error})
def create_deal(request: HttpRequest, payload: DealIn):
    member = request_member(request)
    fields = payload.model_dump(exclude_unset=True)
    fields.pop("contact_id")
    if "currency" in fields:
        fields["currency_code"] = fields.pop("currency")
    try:
        deal = actions.create_deal(
            member.workspace_id, member.user, contact_id=payload.contact_id, **fields
        )
    except queries.DealNotFound:
        raise HttpError(404, "contact not found") from None
    except pipeline_actions.PipelineNotFound as exc:
        raise HttpError(404, str(exc)) from None
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, deal_json(_deal(member.workspace_id, deal.pk)))


@router.get("/deals", response={200: DealList, 400: Error})
def list_deals(
    request: HttpRequest,
    pipeline: int | None = None,
    stage: int | None = None,
    owner: str = Query("", description='"me", "none" or a user id'),
    status: Literal["open", "won", "lost"] | None = None,
    stale: bool = False,
    tag: str = "",
    q: str = "",
    sort: Literal["updated", "created", "value", "close", "title"] = "updated",
    cursor: str | None = None,
    limit: int = 50,
):
    member = request_member(request)
    if owner and owner not in ("me", "none") and not owner.isdigit():
        raise HttpError(400, 'owner must be "me", "none" or a user id')
    page = queries.deal_list(
        member.workspace_id,
        member.user_id,
        queries.DealFilter(
            pipeline_id=pipeline,
            stage_id=stage,
            owner=owner,
            status=status or "",
            stale=stale,
            tag=tag,
            q=q,
        ),
        sort,
        cursor=cursor,
        limit=max(1, min(limit, 200)),
    )
    return {"items": [deal_json(d) for d in page.items], "next_cursor": page.next_cursor}


@router.get("/deals/{deal_id}", response={200: DealOut, 404: Error})
def get_deal(request: HttpRequest, deal_id: int):
    return deal_json(_deal(request_member(request).workspace_id, deal_id))


@router.patch("/deals/{deal_id}", response={200: DealOut, 400: Error, 404: Error})
def patch_deal(request: HttpRequest, deal_id: int, payload: DealPatch):
    member = request_member(request)
    ws = member.workspace_id
    _deal(ws, deal_id)
    fields = payload.model_dump(exclude_unset=True)
    for required in ("title", "currency", "priority", "tags", "source", "stage_id"):
        if required in fields and fields[required] is None:
            raise HttpError(400, f"{required} cannot be null")
    stage_id = fields.pop("stage_id", None)
    if "currency" in fields:
        fields["currency_code"] = fields.pop("currency")
    try:
        with transaction.atomic():  # all of the change or none of it
            if stage_id is not None:
                actions.move_deal(
                    ws, deal_id, stage_id, member.user, fields.pop("lost_reason", "") or ""
                )
            if fields:
                actions.update_deal(ws, deal_id, member.user, **fields)
    except pipeline_actions.PipelineNotFound as exc:
        raise HttpError(404, str(exc)) from None
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return deal_json(_deal(ws, deal_id))


@router.get("/deals/{deal_id}/timeline", response={200: Timeline, 400: Error, 404: Error})
def deal_timeline(request: HttpRequest, deal_id: int, cursor: str | None = None):
    """The deal's lines, the lead's it came from, and that lead's conversation."""
    member = request_member(request)
    deal = _deal(member.workspace_id, deal_id)
    return timeline_json(timeline.timeline(member.workspace_id, timeline.deal_scope(deal), cursor))


@router.post("/deals/{deal_id}/notes", response={201: NoteOut, 400: Error, 404: Error})
def add_deal_note(request: HttpRequest, deal_id: int, payload: NoteIn):
    member = request_member(request)
    try:
        note = activity.add_note(
            member.workspace_id, member.user, payload.text, deal_id=deal_id, pinned=payload.pinned
        )
    except activity.NoteNotFound:
        raise HttpError(404, "deal not found") from None
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, note_json(note))
