"""Full-text search: messages, notes and email subjects, and contacts (name, company,
handles), newest first, behind one function for SQLite (FTS5) and PostgreSQL (tsvector +
GIN). The database keeps the index in step with every write (triggers and a generated
column, migration inbox 0010): no code path that writes a message or a contact can forget
it.

"Newest 50 matches" is the known trap of a full-text index: it finds every match, then
sorts them all by time (a common word: hundreds of thousands of rows). So each search
first walks the workspace's newest rows through the time index and tests only those
(``WINDOW`` at most: cheap, and enough whenever the words are common); only when that
window holds too few matches, the words are rare enough that the index's full match set
is small, and it is sorted. bench/search.py measures both cases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from frontdesk.inbox import queries
from frontdesk.inbox.models import (
    Contact,
    Conversation,
    ConversationLabel,
    Message,
    MessageKind,
)
from frontdesk.inbox.queries import Page, contact_handles_prefetch

WINDOW = 2000  # newest rows tested one by one before the index's full match set is sorted
MAX_GROUPS = 8  # words or quoted phrases in one query
_WORD = re.compile(r"[^\W_]+")
_PHRASE_OR_WORD = re.compile(r'"([^"]*)"?|(\S+)')
# Where a stream's rows sit when two share a timestamp (the cursor's middle part).
_MESSAGE, _CONVERSATION = 1, 0
_RANK = 10**15  # the cursor packs (rank, id) into one number


@dataclass
class SearchFilter:
    channel_id: int | None = None
    status: str | None = None
    assignee: str | None = None  # "me", "none", or a user id
    label_id: int | None = None
    after: datetime | None = None
    before: datetime | None = None


@dataclass
class Hit:
    """One result: a message or note (``message`` set), or a conversation whose contact's
    name, company or handle matched (``message`` None)."""

    conversation: Conversation
    message: Message | None
    at: datetime
    snippet: SafeString


def parse(q: str) -> list[list[str]]:
    """The query as groups of words: a bare word is a group of one, a quoted phrase one
    group. Every group must match; the last word of each may be the start of a word."""
    groups: list[list[str]] = []
    for quoted, bare in _PHRASE_OR_WORD.findall(unicodedata.normalize("NFC", q)):
        words = _WORD.findall((quoted or bare).lower())
        if quoted and words:
            groups.append(words)
        else:
            groups.extend([w] for w in words)
    return groups[:MAX_GROUPS]


def _fts5(groups: list[list[str]]) -> str:
    return " ".join('"' + " ".join(words) + '"*' for words in groups)


def _tsquery(groups: list[list[str]]) -> str:
    def phrase(words: list[str]) -> str:
        return " <-> ".join([*(f"'{w}'" for w in words[:-1]), f"'{words[-1]}':*"])

    return " & ".join(phrase(words) for words in groups)


class _Index:
    """The vendor's side: which of some rows match, and a filter for all that match."""

    def __init__(self, groups: list[list[str]]):
        self.postgres = connection.vendor == "postgresql"
        self.expr = _tsquery(groups) if self.postgres else _fts5(groups)

    def _ids(self, sql: str, params: list[Any]) -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return {row[0] for row in cursor.fetchall()}

    def among(self, table: str, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        if self.postgres:
            return self._ids(
                f"SELECT id FROM {table} WHERE id = ANY(%s)"  # noqa: S608 (a constant)
                " AND search_vector @@ to_tsquery('simple', %s)",
                [ids, self.expr],
            )
        # FTS5 walks a rowid range cheaply; the window's ids are mostly one range.
        found = self._ids(
            f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH %s"  # noqa: S608
            " AND rowid BETWEEN %s AND %s",
            [self.expr, ids[0], ids[-1]],
        )
        return found.intersection(ids)

    def matching(self, table: str) -> RawSQL:
        if self.postgres:
            sql = f"SELECT id FROM {table} WHERE search_vector @@ to_tsquery('simple', %s)"  # noqa: S608
        else:
            sql = f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH %s"  # noqa: S608
        return RawSQL(sql, [self.expr])  # noqa: S611 (constant SQL, the query a parameter)

    def message_matches(self) -> Q | RawSQL:
        if self.postgres:  # the row's own column, so the planner may use either index
            return RawSQL(
                '"inbox_message"."search_vector" @@ to_tsquery(\'simple\', %s)',
                [self.expr],
                output_field=BooleanField(),
            )
        return Q(pk__in=self.matching("inbox_message"))


def _newest(
    ordered: QuerySet, at: str, key: str, among: Callable[[list[int]], set[int]], matching, n: int
) -> list[tuple[datetime, int]]:
    """(time, id) of the ``n`` newest rows of ``ordered`` (sorted by ``at`` then id, newest
    first) whose ``key`` matches: tested among the newest ``WINDOW`` first, else (few
    matches: rare words) all matches from the index, sorted."""
    window = list(ordered.values_list(at, "id", key)[:WINDOW])
    found = among(sorted({row[2] for row in window}))
    hits = [(row[0], row[1]) for row in window if row[2] in found][:n]
    if len(hits) >= n or len(window) < WINDOW:
        return hits
    last_at, last_id = window[-1][0], window[-1][1]
    older = ordered.filter(Q(**{f"{at}__lt": last_at}) | Q(**{at: last_at, "id__lt": last_id}))
    return hits + list(older.filter(matching).values_list(at, "id")[: n - len(hits)])


def _conversation_filter(flt: SearchFilter, user_id: int, prefix: str = "") -> Q:
    q = Q()
    if flt.channel_id:
        q &= Q(**{f"{prefix}channel_id": flt.channel_id})
    if flt.status:
        q &= Q(**{f"{prefix}status": flt.status})
    if flt.assignee == "me":
        q &= Q(**{f"{prefix}assignee_id": user_id})
    elif flt.assignee == "none":
        q &= Q(**{f"{prefix}assignee__isnull": True})
    elif flt.assignee:
        q &= Q(**{f"{prefix}assignee_id": int(flt.assignee)})
    if flt.label_id:
        labelled = ConversationLabel.objects.filter(
            label_id=flt.label_id, conversation=OuterRef(f"{prefix}pk" if prefix else "pk")
        )
        q &= Q(Exists(labelled))
    return q


def _before_cursor(at: str, rank: int, cursor: tuple[datetime, int, int] | None) -> Q:
    if cursor is None:
        return Q()
    c_at, c_rank, c_id = cursor
    if rank < c_rank:
        return Q(**{f"{at}__lte": c_at})
    if rank > c_rank:
        return Q(**{f"{at}__lt": c_at})
    return Q(**{f"{at}__lt": c_at}) | Q(**{at: c_at, "id__lt": c_id})


def encode_cursor(hit: Hit) -> str:
    rank = _MESSAGE if hit.message else _CONVERSATION
    key = hit.message.pk if hit.message else hit.conversation.pk
    return queries.encode_cursor(hit.at, rank * _RANK + key)


def decode_cursor(cursor: str) -> tuple[datetime, int, int]:
    at, packed = queries.decode_cursor(cursor)
    rank, key = divmod(packed, _RANK)
    if rank not in (_MESSAGE, _CONVERSATION):
        raise queries.BadCursor("invalid cursor")
    return at, rank, key


def search(
    workspace_id: int,
    user_id: int,
    q: str,
    flt: SearchFilter | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Messages, notes and conversations (by their contact) of one workspace matching
    every word of ``q``, newest first, as ``Hit`` items with highlighted snippets."""
    flt = flt or SearchFilter()
    groups = parse(q)
    if not groups:
        return Page([], None)
    position = decode_cursor(cursor) if cursor else None
    index = _Index(groups)

    messages = Message.objects.filter(
        Q(workspace_id=workspace_id, kind__in=(MessageKind.MESSAGE, MessageKind.NOTE)),
        _conversation_filter(flt, user_id, "conversation__"),
        _before_cursor("created_at", _MESSAGE, position),
    )
    conversations = Conversation.objects.filter(
        Q(workspace_id=workspace_id),
        _conversation_filter(flt, user_id),
        _before_cursor("last_message_at", _CONVERSATION, position),
    )
    if flt.after:
        messages = messages.filter(created_at__gte=flt.after)
        conversations = conversations.filter(last_message_at__gte=flt.after)
    if flt.before:
        messages = messages.filter(created_at__lt=flt.before)
        conversations = conversations.filter(last_message_at__lt=flt.before)

    message_rows = _newest(
        messages.order_by("-created_at", "-id"),
        "created_at",
        "id",
        lambda ids: index.among("inbox_message", ids),
        index.message_matches(),
        limit + 1,
    )
    conversation_rows = _newest(
        conversations.order_by("-last_message_at", "-id"),
        "last_message_at",
        "contact_id",
        lambda ids: index.among("inbox_contact", ids),
        Q(contact_id__in=index.matching("inbox_contact")),
        limit + 1,
    )
    merged = sorted(
        [(at, _MESSAGE, pk) for at, pk in message_rows]
        + [(at, _CONVERSATION, pk) for at, pk in conversation_rows],
        reverse=True,
    )
    more = len(merged) > limit
    hits = _load(workspace_id, merged[:limit], groups)
    return Page(hits, encode_cursor(hits[-1]) if more and hits else None)


def _load(workspace_id: int, rows: list[tuple[datetime, int, int]], groups) -> list[Hit]:
    message_ids = [pk for _, rank, pk in rows if rank == _MESSAGE]
    conversation_ids = [pk for _, rank, pk in rows if rank == _CONVERSATION]
    messages = Message.objects.filter(workspace_id=workspace_id, pk__in=message_ids)
    found_messages = {m.pk: m for m in messages}
    needed = {m.conversation_id for m in found_messages.values()} | set(conversation_ids)
    found_conversations = {
        c.pk: c
        for c in Conversation.objects.filter(workspace_id=workspace_id, pk__in=needed)
        .select_related("channel", "contact", "assignee")
        .prefetch_related(contact_handles_prefetch())
    }
    hits = []
    for at, rank, pk in rows:
        if rank == _MESSAGE:
            message = found_messages[pk]
            text = f"{message.subject} — {message.text}" if message.subject else message.text
            conversation = found_conversations[message.conversation_id]
            hits.append(Hit(conversation, message, at, highlight(text, groups)))
        else:
            conversation = found_conversations[pk]
            hits.append(
                Hit(conversation, None, at, highlight(contact_text(conversation.contact), groups))
            )
    return hits


def contact_text(contact: Contact) -> str:
    parts = [contact.name, contact.company, *(h.value for h in contact.handles.all())]
    return " · ".join(p for p in parts if p)


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def highlight(text: str, groups: list[list[str]], width: int = 180) -> SafeString:
    """``text`` cut to about ``width`` characters around the first matching word, escaped,
    each matching word in ``<mark>``."""
    flat = " ".join(unicodedata.normalize("NFC", text).split())
    wanted = tuple({_fold(w) for words in groups for w in words})
    spans = [m.span() for m in _WORD.finditer(flat) if _fold(m.group()).startswith(wanted)]
    start = 0
    if spans and spans[0][0] > width // 3:
        start = flat.rfind(" ", 0, spans[0][0] - width // 3) + 1
    end = len(flat) if len(flat) - start <= width else flat.rfind(" ", start, start + width)
    if end <= start:
        end = min(len(flat), start + width)
    out = ["…" if start else ""]
    at = start
    for s, e in spans:
        if s < start or e > end:
            continue
        out += [escape(flat[at:s]), "<mark>", escape(flat[s:e]), "</mark>"]
        at = e
    out += [escape(flat[at:end]), "…" if end < len(flat) else ""]
    return mark_safe("".join(out))  # noqa: S308 (every piece of text is escaped above)
