"""REST API for follow-ups, mounted on the v1 API (frontdesk/api/views.py).

The names are fixed by DESIGN.md section 5; another workspace's rows are 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from frontdesk.api.auth import request_member
from frontdesk.api.schemas import Error, Instant
from frontdesk.crm.actions import followups as actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import FollowUp
from frontdesk.crm.queries import followups as queries

router = Router(tags=["follow-ups"])


class FollowUpIn(Schema):
    due_at: Instant = Field(description="ISO 8601 with an offset")
    note: str = Field(default="", max_length=500)
    assignee_id: int | None = Field(default=None, description="default: you")
    lead_id: int | None = None
    deal_id: int | None = None
    contact_id: int | None = None
    conversation_id: int | None = None


class FollowUpPatch(Schema):
    """Only the fields sent change; a new ``due_at`` re-arms the reminder."""

    done: bool | None = None
    due_at: Instant | None = None
    note: str | None = Field(default=None, max_length=500)
    assignee_id: int | None = None


class FollowUpOut(Schema):
    id: int
    due_at: datetime
    note: str
    assignee_id: int | None
    done: bool
    lead_id: int | None
    deal_id: int | None
    contact_id: int
    conversation_id: int | None


class FollowUpList(Schema):
    items: list[FollowUpOut]
    next_cursor: str | None


def followup_json(row: FollowUp) -> dict[str, Any]:
    return {
        "id": row.pk,
        "due_at": row.due_at,
        "note": row.note,
        "assignee_id": row.assignee_id,
        "done": row.done,
        "lead_id": row.lead_id,
        "deal_id": row.deal_id,
        "contact_id": row.contact_id,
        "conversation_id": row.conversation_id,
    }


@router.post("/followups", response={201: FollowUpOut, 400: Error, 404: Error})
def create_followup(request: HttpRequest, payload: FollowUpIn):
    member = request_member(request)
    fields = payload.model_dump(exclude_unset=True)
    try:
        row = actions.create_followup(
            member.workspace_id,
            member.user,
            payload.due_at,
            payload.note,
            **{k: v for k, v in fields.items() if k not in ("due_at", "note")},
        )
    except actions.FollowUpNotFound as exc:
        raise HttpError(404, str(exc)) from None
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return Status(201, followup_json(row))


@router.get("/followups", response={200: FollowUpList, 400: Error})
def list_followups(
    request: HttpRequest,
    assignee: str = Query("me", description='"me", "any" or a user id'),
    state: Literal["open", "overdue", "done"] = "open",
    cursor: str | None = None,
    limit: int = 50,
):
    """Open and overdue ones by due time, soonest first; done ones latest first."""
    member = request_member(request)
    if assignee not in ("me", "any") and not assignee.isdigit():
        raise HttpError(400, 'assignee must be "me", "any" or a user id')
    assignee_id = {"me": member.user_id, "any": None}.get(assignee)
    if assignee.isdigit():
        assignee_id = int(assignee)
    page = queries.followup_page(
        member.workspace_id, assignee_id, state, cursor, max(1, min(limit, 200))
    )
    return {"items": [followup_json(r) for r in page.items], "next_cursor": page.next_cursor}


@router.get("/followups/{followup_id}", response={200: FollowUpOut, 404: Error})
def get_followup(request: HttpRequest, followup_id: int):
    try:
        return followup_json(
            actions.followup_for(request_member(request).workspace_id, followup_id)
        )
    except actions.FollowUpNotFound as exc:
        raise HttpError(404, str(exc)) from None


@router.patch("/followups/{followup_id}", response={200: FollowUpOut, 400: Error, 404: Error})
def patch_followup(request: HttpRequest, followup_id: int, payload: FollowUpPatch):
    member = request_member(request)
    fields = payload.model_dump(exclude_unset=True)
    for required in ("done", "due_at", "note"):
        if required in fields and fields[required] is None:
            raise HttpError(400, f"{required} cannot be null")
    try:
        row = actions.update_followup(member.workspace_id, followup_id, member.user, **fields)
    except actions.FollowUpNotFound as exc:
        raise HttpError(404, str(exc)) from None
    except CrmError as exc:
        raise HttpError(400, str(exc)) from None
    return followup_json(row)
