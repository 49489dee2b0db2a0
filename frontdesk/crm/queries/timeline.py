"""One timeline, newest first, of everything with a person: the messages of their
conversations (every channel) and the CRM's own lines (notes, lead and deal changes,
follow-ups). A lead's or a deal's page shows the same timeline restricted to it.

Two sources are read page by page and merged: each is one index range (``msg_thread`` per
conversation, ``activity_*_recent``), so the first page costs the same at 50 or 5,000 lines.
The cursor is the last line's (time, source, id).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, prefetch_related_objects

from frontdesk.core.instants import in_utc
from frontdesk.crm.models import Activity, Deal, Lead
from frontdesk.inbox.models import Contact, Conversation, Message
from frontdesk.inbox.queries import BadCursor, Page

# Source ranks: at the same instant a CRM line sorts above a message.
_MESSAGE, _ACTIVITY = 0, 1


@dataclass(frozen=True)
class Scope:
    """What one timeline holds: these CRM lines and these conversations' messages.
    ``conversations``, when the page has them already (with their channels), are put on
    the messages instead of being read again."""

    activities: Q
    conversation_ids: tuple[int, ...]
    conversations: tuple[Conversation, ...] = ()


def contact_scope(contact: Contact, conversations: list[Conversation] | None = None) -> Scope:
    """``conversations``: every one of the contact's, when the caller has read them."""
    if conversations is not None:
        return Scope(
            Q(contact_id=contact.pk), tuple(c.pk for c in conversations), tuple(conversations)
        )
    ids = Conversation.objects.filter(
        workspace_id=contact.workspace_id, contact_id=contact.pk
    ).values_list("pk", flat=True)
    return Scope(Q(contact_id=contact.pk), tuple(ids))


def lead_scope(lead: Lead) -> Scope:
    conversations = (lead.source_conversation_id,) if lead.source_conversation_id else ()
    return Scope(Q(lead_id=lead.pk), conversations)


def deal_scope(deal: Deal) -> Scope:
    """The deal's lines, and the lead's it came from (its history before it was a deal)."""
    lead = deal.lead
    if lead is None:
        return Scope(Q(deal_id=deal.pk), ())
    conversations = (lead.source_conversation_id,) if lead.source_conversation_id else ()
    return Scope(Q(deal_id=deal.pk) | Q(lead_id=lead.pk), conversations)


@dataclass
class Entry:
    """One line, in the API's terms (``kind`` is message, note, event, lead, deal or
    followup); ``row`` is the Message or Activity behind it, for the page."""

    kind: str
    at: datetime
    text: str
    row: Message | Activity
    conversation_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None
    followup_id: int | None = None
    key: tuple[int, int] = field(default=(0, 0))

    @property
    def is_message(self) -> bool:
        return isinstance(self.row, Message)


def _encode(at: datetime, source: int, pk: int) -> str:
    raw = json.dumps([at.isoformat(), source, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int, int]:
    try:
        at, source, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if source not in (_MESSAGE, _ACTIVITY) or not isinstance(pk, int):
            raise ValueError
        return in_utc(datetime.fromisoformat(at)), source, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("invalid cursor") from None


def _before(column: str, source: int, cursor: tuple[datetime, int, int] | None) -> Q:
    """Rows of ``source`` that come after the cursor in newest-first order."""
    if cursor is None:
        return Q()
    at, cursor_source, pk = cursor
    older = Q(**{f"{column}__lt": at})
    if source < cursor_source:
        return older | Q(**{column: at})
    if source == cursor_source:
        return older | Q(**{column: at, "pk__lt": pk})
    return older


def _message_entry(m: Message) -> Entry:
    return Entry(
        kind=m.kind,
        at=m.created_at,
        text=m.text,
        row=m,
        conversation_id=m.conversation_id,
        key=(_MESSAGE, m.pk),
    )


def _activity_entry(a: Activity) -> Entry:
    return Entry(
        kind=a.kind,
        at=a.at,
        text=a.text,
        row=a,
        lead_id=a.lead_id,
        deal_id=a.deal_id or a.extra.get("deal_id"),
        followup_id=a.extra.get("followup_id"),
        key=(_ACTIVITY, a.pk),
    )


# Up to this many conversations, each is read as its own index range (newest first, at most
# a page) and the pages merged here: one query over all of them sorted every message of
# the person first (5,000 lines: 80 ms). Beyond it, one query.
PER_CONVERSATION = 20
# What a line shows of a message (the page's timeline_line, the API's entries): not its
# HTML body (an email's can be large) nor its delivery state, so those are not read.
MESSAGE_FIELDS = (
    "conversation",
    "channel",
    "direction",
    "kind",
    "author_user",
    "author_name",
    "text",
    "created_at",
)


def _messages(
    workspace_id: int,
    scope: Scope,
    after: tuple[datetime, int, int] | None,
    limit: int,
    since: datetime | None = None,
) -> list[Message]:
    """The first ``limit`` + 1 messages after the cursor, none older than ``since``."""
    conversation_ids = scope.conversation_ids
    if not conversation_ids:
        return []
    rows = (
        Message.objects.filter(workspace_id=workspace_id)
        .filter(_before("created_at", _MESSAGE, after))
        .filter(Q(created_at__gte=since) if since else Q())
        # "converted to a lead": the CRM's own line tells it (a key absent is kept).
        .filter(Q(extra__action__isnull=True) | ~Q(extra__action="lead"))
        .order_by("-created_at", "-id")
        .only(*MESSAGE_FIELDS)
    )
    if len(conversation_ids) > PER_CONVERSATION:
        found = list(rows.filter(conversation_id__in=conversation_ids)[: limit + 1])
    else:
        found = []
        for conversation_id in conversation_ids:
            found += rows.filter(conversation_id=conversation_id)[: limit + 1]
        found.sort(key=lambda m: (m.created_at, m.pk), reverse=True)
        found = found[: limit + 1]
    # Not joined in the queries above: SQLite's planner then starts from the channels and
    # sorts every message of the conversation; loaded after, each page is one index range.
    known = {c.pk: c for c in scope.conversations}
    for message in found:
        if message.conversation_id in known:
            message.conversation = known[message.conversation_id]
    prefetch_related_objects(found, "author_user", "conversation__channel")
    return found


def timeline(workspace_id: int, scope: Scope, cursor: str | None = None, limit: int = 50) -> Page:
    after = _decode(cursor) if cursor else None
    activities = list(
        Activity.objects.filter(scope.activities, workspace_id=workspace_id)
        .filter(_before("at", _ACTIVITY, after))
        .select_related("actor")
        .order_by("-at", "-id")[: limit + 1]
    )
    # With a page and one more of CRM lines, a message older than the last of them cannot
    # be on the page nor decide whether there is more: those are not read (a contact's
    # busy conversations read a page each otherwise, most of it then dropped).
    since = activities[limit].at if len(activities) > limit else None
    messages = _messages(workspace_id, scope, after, limit, since)
    entries = [_activity_entry(a) for a in activities] + [_message_entry(m) for m in messages]
    entries.sort(key=lambda e: (e.at, e.key), reverse=True)
    more = len(entries) > limit
    entries = entries[:limit]
    next_cursor = None
    if more and entries:
        last = entries[-1]
        next_cursor = _encode(last.at, *last.key)
    return Page(entries, next_cursor)


@dataclass
class Group:
    """Lines in a row from one conversation (its messages), or CRM lines."""

    conversation: Conversation | None
    entries: list[Entry]


def grouped(entries: list[Entry]) -> list[Group]:
    """Consecutive messages of one conversation under one heading, as the page shows them."""
    groups: list[Group] = []
    for entry in entries:
        conversation = entry.row.conversation if isinstance(entry.row, Message) else None
        current = groups[-1] if groups else None
        if current is not None and _same(current.conversation, conversation):
            current.entries.append(entry)
        else:
            groups.append(Group(conversation, [entry]))
    return groups


def _same(a: Conversation | None, b: Conversation | None) -> bool:
    return (a.pk if a else None) == (b.pk if b else None)


def pinned_notes(workspace_id: int, scope: Scope) -> list[Activity]:
    return list(
        Activity.objects.filter(scope.activities, workspace_id=workspace_id, pinned=True)
        .select_related("actor")
        .order_by("-at", "-id")[:20]
    )
