"""REST API for teamwork: notifications, labels, bulk changes, canned replies.

Mounted on the v1 API (frontdesk/api/views.py). Another workspace's rows are 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from frontdesk.api import serialize
from frontdesk.api.auth import request_member
from frontdesk.api.schemas import ConversationOut, Error, LabelOut
from frontdesk.inbox import queries
from frontdesk.inbox.actions import bulk, canned
from frontdesk.inbox.actions import labels as label_actions
from frontdesk.inbox.actions import notifications as notification_actions
from frontdesk.inbox.models import CannedReply, Notification

router = Router(tags=["teamwork"])


class NotificationOut(Schema):
    id: int
    kind: Literal["assigned", "mention", "new_message", "snooze_ended", "followup_due"]
    conversation_id: int | None
    message_id: int | None
    lead_id: int | None
    deal_id: int | None
    followup_id: int | None
    actor_id: int | None
    text: str
    count: int = Field(description="new messages folded into this one notification")
    created_at: datetime
    read: bool


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class NotificationsReadIn(Schema):
    ids: list[int] | None = None
    all: bool = False


class NotificationsReadOut(Schema):
    marked: int
    unread_count: int


def notification(row: Notification) -> dict:
    return {
        "id": row.pk,
        "kind": row.kind,
        "conversation_id": row.conversation_id,
        "message_id": row.message_id,
        "lead_id": row.lead_id,
        "deal_id": row.deal_id,
        "followup_id": row.followup_id,
        "actor_id": row.actor_id,
        "text": row.text,
        "count": row.count,
        "created_at": row.created_at,
        "read": row.read_at is not None,
    }


UNREAD_COUNT_CAP = 10_000


@router.get("/notifications", response={200: NotificationPage, 400: Error})
def list_notifications(
    request: HttpRequest, unread: bool = False, cursor: str | None = None, limit: int = 50
):
    """The caller's notifications, newest first, with how many are unread."""
    member = request_member(request)
    page = queries.notifications(
        member.workspace_id,
        member.user_id,
        unread_only=unread,
        cursor=cursor,
        limit=max(1, min(limit, 200)),
    )
    return {
        "items": [notification(n) for n in page.items],
        "next_cursor": page.next_cursor,
        "unread_count": queries.unread_notification_count(
            member.workspace_id, member.user_id, cap=UNREAD_COUNT_CAP
        ),
    }


@router.post("/notifications/read", response={200: NotificationsReadOut, 400: Error})
def read_notifications(request: HttpRequest, payload: NotificationsReadIn):
    """Mark notifications read: ``{"ids": [...]}`` or ``{"all": true}``. Ids that are not
    the caller's are ignored."""
    member = request_member(request)
    if payload.all == (payload.ids is not None):
        raise HttpError(400, 'send either "ids" or "all": true')
    marked = notification_actions.mark_read(
        member.workspace_id, member.user_id, None if payload.all else payload.ids
    )
    return {
        "marked": marked,
        "unread_count": queries.unread_notification_count(
            member.workspace_id, member.user_id, cap=UNREAD_COUNT_CAP
        ),
    }


# --- labels ------------------------------------------------------------------------------


class LabelIn(Schema):
    name: str
    color: str = Field("#8b8d98", description="one of the palette's hex colours")


class LabelPage(Schema):
    items: list[LabelOut]
    next_cursor: str | None


class LabelsIn(Schema):
    label_ids: list[int]


@router.get("/labels", response=LabelPage)
def list_labels(request: HttpRequest):
    """The workspace's labels, by name."""
    member = request_member(request)
    rows = queries.labels(member.workspace_id)
    return {"items": [serialize.label(x) for x in rows], "next_cursor": None}


@router.post("/labels", response={201: LabelOut, 400: Error, 403: Error})
def create_label(request: HttpRequest, payload: LabelIn):
    """A new label (owners and admins). ``color`` is one of the palette's colours."""
    member = request_member(request)
    if not member.is_admin:
        raise HttpError(403, "only owners and admins can add labels")
    label = label_actions.create_label(member.workspace_id, payload.name, payload.color)
    return Status(201, serialize.label(label))


@router.put(
    "/conversations/{conversation_id}/labels",
    response={200: ConversationOut, 400: Error, 404: Error},
)
def put_labels(request: HttpRequest, conversation_id: int, payload: LabelsIn):
    """Exactly these labels on the conversation (an empty list takes them all off)."""
    member = request_member(request)
    conversation = queries.conversation_for(member.workspace_id, member.user_id, conversation_id)
    if conversation is None:
        raise HttpError(404, "conversation not found")
    label_actions.set_labels(member.user, conversation, payload.label_ids)
    # read again: the labels were prefetched before the change
    return serialize.conversation(
        queries.conversation_for(member.workspace_id, member.user_id, conversation_id)
        or conversation
    )


# --- bulk actions ------------------------------------------------------------------------


class BulkIn(Schema):
    conversation_ids: list[int] = Field(description=f"at most {bulk.MAX_CONVERSATIONS}")
    assignee_id: int | None = Field(
        None, description="give them all to this member; null unassigns; leave out to keep"
    )
    add_label_ids: list[int] = []
    remove_label_ids: list[int] = []
    status: Literal["open", "pending", "resolved"] | None = None


class BulkOut(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


@router.post("/conversations/bulk", response={200: BulkOut, 400: Error})
def bulk_change(request: HttpRequest, payload: BulkIn):
    """Assign, label and/or change the status of several conversations in one transaction:
    all of them change, or none (an id of another workspace refuses the lot)."""
    member = request_member(request)
    rows = bulk.apply(
        member.user,
        member.workspace_id,
        payload.conversation_ids,
        bulk.BulkChange(
            assign="assignee_id" in payload.model_fields_set,
            assignee_id=payload.assignee_id,
            add_label_ids=payload.add_label_ids,
            remove_label_ids=payload.remove_label_ids,
            status=payload.status,
        ),
    )
    page = queries.conversations(
        member.workspace_id,
        member.user_id,
        queries.ConversationFilter(only_ids=[row.pk for row in rows]),
        limit=bulk.MAX_CONVERSATIONS,
    )
    return {"items": [serialize.conversation(c) for c in page.items], "next_cursor": None}


# --- canned replies ----------------------------------------------------------------------


class CannedIn(Schema):
    shortcut: str = Field(description="typed after / in the reply box: letters, digits, - and _")
    title: str = ""
    text: str = Field(
        description="may use {{contact.name}}, {{contact.first_name}}, {{contact.company}}, "
        "{{agent.name}}, {{agent.first_name}}, {{workspace.name}}"
    )


class CannedOut(Schema):
    id: int
    shortcut: str
    title: str
    text: str


class CannedPage(Schema):
    items: list[CannedOut]
    next_cursor: str | None


def canned_reply(row: CannedReply) -> dict:
    return {"id": row.pk, "shortcut": row.shortcut, "title": row.title, "text": row.text}


@router.get("/canned-replies", response=CannedPage)
def list_canned(request: HttpRequest):
    """The workspace's canned replies by shortcut (variables as written)."""
    member = request_member(request)
    return {
        "items": [canned_reply(x) for x in queries.canned_replies(member.workspace_id)],
        "next_cursor": None,
    }


@router.post("/canned-replies", response={201: CannedOut, 400: Error})
def create_canned(request: HttpRequest, payload: CannedIn):
    """A new canned reply for the whole team."""
    member = request_member(request)
    row = canned.save_canned(
        member.workspace_id, payload.shortcut, payload.title, payload.text, author=member.user
    )
    return Status(201, canned_reply(row))
