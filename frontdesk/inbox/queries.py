"""Read queries shared by the web UI and the API. Keyset pagination; no per-row queries."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from frontdesk.core.counts import Select, capped_counts
from frontdesk.core.instants import in_utc
from frontdesk.inbox.models import (
    CannedReply,
    ChannelAccount,
    Contact,
    ContactHandle,
    Conversation,
    ConversationLabel,
    ConversationRead,
    Label,
    Message,
    Notification,
)


class BadCursor(ValueError):
    pass


def encode_cursor(at: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, pk = raw.rsplit("|", 1)
        return in_utc(datetime.fromisoformat(at)), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("invalid cursor") from None


@dataclass
class ConversationFilter:
    status: str | None = None  # None: any status
    assignee: str | None = None  # "me", "none", or a user id
    channel_id: int | None = None
    label_id: int | None = None
    unread_only: bool = False
    oldest_first: bool = False
    # Only conversations whose newest message is the client's, the longest waiting first
    # (the "Waiting longest" view); the order ignores ``oldest_first``.
    waiting: bool = False
    q: str = ""  # words in the contact's name, a handle, the subject or the last message
    # Only these conversations: does this one still match the list's filter (a live row),
    # the conversations a bulk change touched.
    only_ids: list[int] | None = None


@dataclass
class Page:
    items: list
    next_cursor: str | None


def unread_expression(user_id: int):
    """True when the conversation has an inbound message newer than this member's read mark
    (the sidebar counts by the same rule: ``UNREAD_SELECT``)."""
    read_up_to = ConversationRead.objects.filter(
        conversation=OuterRef("pk"), user_id=user_id, last_read_at__gte=OuterRef("last_inbound_at")
    )
    return Q(last_inbound_at__isnull=False) & ~Exists(read_up_to)


def contact_handles_prefetch() -> Prefetch:
    """A contact's handles in a stable order: a nameless contact is shown by its first one,
    the same everywhere."""
    return Prefetch("contact__handles", queryset=ContactHandle.objects.order_by("id"))


def prefetch_contact_names(records: list[Any]) -> None:
    """What ``record.contact.display_name`` reads, for each record shown with its contact
    (a board's cards, a list's rows): the handles of the nameless contacts alone, as a
    contact with a name is shown by it. A page of named contacts reads no handles (the
    prefetch's query and some 200 Python calls a row)."""
    prefetch_related_objects(
        [record for record in records if not record.contact.name], contact_handles_prefetch()
    )


def labels_prefetch() -> Prefetch:
    """A conversation's labels by name."""
    return Prefetch("labels", queryset=Label.objects.order_by("name", "id"))


def labels(workspace_id: int) -> QuerySet[Label]:
    return Label.objects.filter(workspace_id=workspace_id).order_by("name", "id")


def canned_replies(workspace_id: int) -> QuerySet[CannedReply]:
    return CannedReply.objects.filter(workspace_id=workspace_id).order_by("shortcut")


def _filtered(workspace_id: int, user_id: int, flt: ConversationFilter) -> QuerySet[Conversation]:
    """The workspace's conversations that pass ``flt`` (in no order)."""
    qs: QuerySet[Conversation] = Conversation.objects.filter(workspace_id=workspace_id)
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.assignee == "me":
        qs = qs.filter(assignee_id=user_id)
    elif flt.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif flt.assignee:
        qs = qs.filter(assignee_id=int(flt.assignee))
    if flt.channel_id:
        qs = qs.filter(channel_id=flt.channel_id)
    if flt.label_id:
        qs = qs.filter(
            Exists(
                ConversationLabel.objects.filter(label_id=flt.label_id, conversation=OuterRef("pk"))
            )
        )
    if flt.only_ids is not None:
        qs = qs.filter(pk__in=flt.only_ids)
    if flt.q.strip():
        q = flt.q.strip()[:200]
        handle_match = ContactHandle.objects.filter(
            contact_id=OuterRef("contact_id"), value__icontains=q
        )
        qs = qs.filter(
            Q(contact__name__icontains=q)
            | Q(subject__icontains=q)
            | Q(preview__icontains=q)
            | Exists(handle_match)
        )
    qs = qs.annotate(is_unread=unread_expression(user_id))
    if flt.unread_only:
        qs = qs.filter(is_unread=True)
    if flt.waiting:
        qs = qs.filter(waiting_since__isnull=False)
    return qs


def conversations(
    workspace_id: int,
    user_id: int,
    flt: ConversationFilter,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    qs = _filtered(workspace_id, user_id, flt)
    key = "waiting_since" if flt.waiting else "last_message_at"
    ascending = flt.waiting or flt.oldest_first
    if cursor:
        at, pk = decode_cursor(cursor)
        if ascending:
            qs = qs.filter(Q(**{f"{key}__gt": at}) | Q(**{key: at}, pk__gt=pk))
        else:
            qs = qs.filter(Q(**{f"{key}__lt": at}) | Q(**{key: at}, pk__lt=pk))
    order = (key, "id") if ascending else (f"-{key}", "-id")
    rows = list(
        qs.select_related("channel", "contact", "assignee", "preview_author")
        .prefetch_related(contact_handles_prefetch(), labels_prefetch())
        .order_by(*order)[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], key), rows[-1].pk) if more and rows else None
    return Page(rows, next_cursor)


def conversation_for(workspace_id: int, user_id: int, conversation_id: int) -> Conversation | None:
    return (
        Conversation.objects.filter(workspace_id=workspace_id, pk=conversation_id)
        .annotate(is_unread=unread_expression(user_id))
        .select_related("channel", "contact", "assignee", "preview_author")
        .prefetch_related(contact_handles_prefetch(), labels_prefetch())
        .first()
    )


FOUND_REACH = 1000  # how far back a search result may open a thread at its message


def thread(
    conversation: Conversation,
    before: str | None = None,
    limit: int = 100,
    reaching: int | None = None,
) -> Page:
    """Messages oldest to newest; ``before`` pages back to older ones. ``reaching``: a
    message the page must hold (a search result opens the thread at it), if it is among
    the newest ``FOUND_REACH``."""
    qs = Message.objects.filter(conversation=conversation, workspace_id=conversation.workspace_id)
    found = qs.filter(pk=reaching).values_list("created_at", "pk").first() if reaching else None
    if found and not before:
        newer = qs.filter(Q(created_at__gt=found[0]) | Q(created_at=found[0], pk__gt=found[1]))
        limit = max(limit, min(newer.count() + 10, FOUND_REACH))
    if before:
        at, pk = decode_cursor(before)
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    rows = list(
        qs.select_related("author_user", "reply_to", "channel")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].pk) if more and rows else None
    rows.reverse()
    return Page(rows, next_cursor)


ACTIVE_STATUSES = ("open", "pending", "snoozed")


# The rule of ``unread_expression`` as a plain statement, for the sidebar's counts (see
# core.counts): not resolved, a client's message, and no read mark of this member at or after
# it. Parameters: the workspace, the ACTIVE_STATUSES, the member.
UNREAD_SELECT = (
    "SELECT 1 FROM inbox_conversation c WHERE c.workspace_id = %s"
    " AND c.status IN (%s, %s, %s) AND c.last_inbound_at IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM inbox_conversationread r WHERE r.conversation_id = c.id"
    " AND r.user_id = %s AND r.last_read_at >= c.last_inbound_at)"
)


def unread_selects(workspace_id: int, user_id: int, channel_ids: list[int]) -> dict[str, Select]:
    """The sidebar's unread conversations: ``all``, ``mine``, ``unassigned`` and per channel
    id, to be counted with ``core.counts.capped_counts`` (with the bell's and others)."""
    base = [workspace_id, *ACTIVE_STATUSES, user_id]
    selects: dict[str, Select] = {
        "all": (UNREAD_SELECT, base),
        "mine": (f"{UNREAD_SELECT} AND c.assignee_id = %s", [*base, user_id]),
        "unassigned": (f"{UNREAD_SELECT} AND c.assignee_id IS NULL", base),
    }
    for channel_id in channel_ids:
        selects[str(channel_id)] = (f"{UNREAD_SELECT} AND c.channel_id = %s", [*base, channel_id])
    return selects


def unread_counts(
    workspace_id: int, user_id: int, channel_ids: list[int] | None = None, cap: int = 99
) -> dict[str, int]:
    """Unread, not resolved conversations: ``all``, ``mine``, ``unassigned`` and per channel
    id (default: every channel of the workspace), each counted up to ``cap + 1``."""
    if channel_ids is None:
        channel_ids = list(channels(workspace_id).values_list("pk", flat=True))
    return capped_counts(unread_selects(workspace_id, user_id, channel_ids), cap)


def channels(workspace_id: int, removed: bool = False) -> QuerySet[ChannelAccount]:
    """The workspace's channels, removed ones left out (``removed``: only those)."""
    return ChannelAccount.objects.filter(
        workspace_id=workspace_id, removed_at__isnull=not removed
    ).order_by("kind", "name", "id")


def _contacts_with_handles() -> QuerySet[Contact]:
    return Contact.objects.prefetch_related(
        Prefetch("handles", queryset=ContactHandle.objects.order_by("id"))
    )


def contacts(
    workspace_id: int,
    q: str = "",
    cursor: str | None = None,
    limit: int = 50,
    exclude_id: int | None = None,
) -> Page:
    """Contacts, newest first, whose name or one of whose handles contains ``q``.

    The cursor is the last contact's id, as a string.
    """
    qs = _contacts_with_handles().filter(workspace_id=workspace_id)
    q = q.strip()[:200]
    if q:
        handle_match = ContactHandle.objects.filter(
            workspace_id=workspace_id, contact_id=OuterRef("pk"), value__icontains=q
        )
        qs = qs.filter(Q(name__icontains=q) | Exists(handle_match))
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    if cursor:
        if not cursor.isdigit():
            raise BadCursor("invalid cursor")
        qs = qs.filter(pk__lt=int(cursor))
    rows = list(qs.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].pk) if more and rows else None)


def contact_for(workspace_id: int, contact_id: int) -> Contact | None:
    return _contacts_with_handles().filter(workspace_id=workspace_id, pk=contact_id).first()


# --- notifications -----------------------------------------------------------------------


def notifications(
    workspace_id: int,
    user_id: int,
    unread_only: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """The member's notifications, newest first."""
    qs = Notification.objects.filter(workspace_id=workspace_id, user_id=user_id)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if cursor:
        at, pk = decode_cursor(cursor)
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    rows = list(
        qs.select_related("actor", "conversation__contact").order_by("-created_at", "-id")[
            : limit + 1
        ]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].pk) if more and rows else None
    return Page(rows, next_cursor)


def unread_notifications_select(workspace_id: int, user_id: int) -> Select:
    """The member's unread notifications (the bell), for ``core.counts.capped_counts``."""
    return (
        "SELECT 1 FROM inbox_notification WHERE user_id = %s AND workspace_id = %s"
        " AND read_at IS NULL",
        [user_id, workspace_id],
    )


def unread_notification_count(workspace_id: int, user_id: int, cap: int = 99) -> int:
    """Unread notifications, counted up to ``cap + 1`` (shown as "99+")."""
    return capped_counts({"n": unread_notifications_select(workspace_id, user_id)}, cap)["n"]
