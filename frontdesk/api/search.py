"""REST API for search: ``GET /api/v1/search`` (DESIGN.md section 5), one workspace's
messages, notes and contacts, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from frontdesk.api.auth import request_member
from frontdesk.api.schemas import Error, Instant
from frontdesk.inbox import search as inbox_search

router = Router(tags=["search"])


class SearchContact(Schema):
    id: int
    name: str


class SearchHit(Schema):
    conversation_id: int
    message_id: int | None
    kind: Literal["message", "note", "contact"]
    contact: SearchContact
    snippet: str
    at: datetime


class SearchPage(Schema):
    items: list[SearchHit]
    next_cursor: str | None


def hit(row: inbox_search.Hit) -> dict:
    contact = row.conversation.contact
    return {
        "conversation_id": row.conversation.pk,
        "message_id": row.message.pk if row.message else None,
        "kind": row.message.kind if row.message else "contact",
        "contact": {"id": contact.pk, "name": contact.display_name},
        "snippet": str(row.snippet),
        "at": row.at,
    }


@router.get("/search", response={200: SearchPage, 400: Error})
def search(
    request: HttpRequest,
    q: str,
    channel: int | None = None,
    status: Literal["open", "pending", "snoozed", "resolved"] | None = None,
    assignee: str | None = None,
    label: int | None = None,
    after: Instant | None = None,
    before: Instant | None = None,
    cursor: str | None = None,
    limit: int = 50,
):
    """Messages, notes, email subjects and contacts (name, company, addresses) matching every
    word of ``q`` (a word also finds longer words it starts; "quoted words" are a phrase),
    newest first. ``snippet`` is HTML: the text escaped, the matching words in ``<mark>``.
    ``message_id`` is null when the contact matched. ``assignee``: ``me``, ``none`` or a
    member's user id; ``label``: a label's id; ``after``/``before``: ISO 8601 times."""
    member = request_member(request)
    if assignee is not None and assignee not in ("me", "none") and not assignee.isdigit():
        raise HttpError(400, 'assignee is "me", "none" or a user id')
    flt = inbox_search.SearchFilter(
        channel_id=channel,
        status=status,
        assignee=assignee,
        label_id=label,
        after=after,
        before=before,
    )
    page = inbox_search.search(
        member.workspace_id, member.user_id, q[:200], flt, cursor, max(1, min(limit, 100))
    )
    return {"items": [hit(h) for h in page.items], "next_cursor": page.next_cursor}
