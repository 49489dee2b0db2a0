"""Full-text search: messages, notes and email subjects, and contacts (name, company,
handles), newest first, behind one function for SQLite (FTS5) and PostgreSQL (tsvector +
GIN). The database keeps the index in step with every write (triggers and a generated
column, migration inbox 0010): no code path that writes a message or a contact can forget
it.

"Newest 50 matches" is the known trap of a full-text index: it finds every match, then
sorts them all by time (a common word: hundreds of thousands of rows). Here neither
database sorts more than a bounded number of rows:

- SQLite: the FTS5 rowid of a message sorts by time (``(unix seconds << 31) + id``), so
  matches are read newest first straight from the index, in batches, until enough pass
  the filters.
- PostgreSQL: one statement walks the workspace's newest ``WINDOW`` messages through the
  time index, tests each row's ``search_vector`` and stops at the 50th match (a common
  word reads a few hundred rows). Fewer than 50 in the window means the words are rare,
  and only then does the GIN index's full match set get sorted (a few thousand at most).

Contacts (a workspace has far fewer) match through the newest ``CONTACT_WINDOW`` conversations the
same way. bench/search.py measures each case on a million messages.
"""

from __future__ import annotations

import re
import unicodedata
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
FIRST_BATCH = 250  # SQLite: matches read at first, then four times more each time
CONTACT_WINDOW = 500  # newest conversations whose contacts are tested one by one
FALLBACK_CAP = 20_000  # matching contacts whose conversations are sorted in Python
MAX_GROUPS = 8  # words or quoted phrases in one query
_WORD = re.compile(r"[^\W_]+")
_PHRASE_OR_WORD = re.compile(r'"([^"]*)"?|(\S+)')
# Where a stream's rows sit when two share a timestamp (the cursor's middle part).
_MESSAGE, _CONVERSATION = 1, 0
_RANK = 10**15  # the cursor packs (rank, id) into one number
_ID_BITS = 31  # SQLite's message index: rowid = (unix seconds << 31) + message id
_ID_MASK = (1 << _ID_BITS) - 1


def _index_key(key: int) -> int:
    """A bound on the index's rowid, kept within SQLite's 64-bit integers: a time asked for
    far in the past or future (the year 1706, 9999) is before or after every message."""
    return max(-(1 << 63), min(key, (1 << 63) - 1))


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
        # FTS5 walks a rowid range cheaply (contacts: rowid = id).
        found = self._ids(
            f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH %s"  # noqa: S608
            " AND rowid BETWEEN %s AND %s",
            [self.expr, ids[0], ids[-1]],
        )
        return found.intersection(ids)

    def matching_ids(self, table: str, limit: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(self.matching(table).sql + " LIMIT %s", [self.expr, limit])
            return [row[0] for row in cursor.fetchall()]

    def matching(self, table: str) -> RawSQL:
        if self.postgres:
            sql = f"SELECT id FROM {table} WHERE search_vector @@ to_tsquery('simple', %s)"  # noqa: S608
        else:
            sql = f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH %s"  # noqa: S608
        return RawSQL(sql, [self.expr])  # noqa: S611 (constant SQL, the query a parameter)

    def newest_messages(
        self, ordered: QuerySet, flt: SearchFilter, position: tuple | None, n: int
    ) -> list[tuple[datetime, int]]:
        """(created_at, id) of the ``n`` newest messages of ``ordered`` that match."""
        if self.postgres:
            return self._postgres_messages(ordered, n)
        return self._sqlite_messages(ordered, flt, position, n)

    def _postgres_messages(self, ordered: QuerySet, n: int) -> list[tuple[datetime, int]]:
        # One statement: the newest WINDOW rows through the time index, each tested on its
        # own column. No ORDER BY outside: the executor pulls rows one by one and stops at
        # the n-th match, so a common word reads ~n/frequency rows (sorted here).
        match = RawSQL(
            '"inbox_message"."search_vector" @@ to_tsquery(\'simple\', %s)',
            [self.expr],
            output_field=BooleanField(),
        )
        window = ordered.annotate(fd_hit=match).values_list("created_at", "id", "fd_hit")
        sql, params = window[:WINDOW].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT created_at, id FROM ({sql}) w WHERE fd_hit LIMIT %s",  # noqa: S608
                [*params, n],
            )
            hits = sorted(((row[0], row[1]) for row in cursor.fetchall()), reverse=True)
        edge = list(ordered.values_list("created_at", "id")[WINDOW - 1 : WINDOW])
        if len(hits) >= n or not edge:
            return hits
        # Fewer than n among the newest WINDOW: the words are rare, so all their matches
        # (GIN) sorted by time are few. Only those older than the window are left.
        at, pk = edge[0]
        older = ordered.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk)).filter(match)
        return hits + list(older.values_list("created_at", "id")[: n - len(hits)])

    def _sqlite_messages(
        self, ordered: QuerySet, flt: SearchFilter, position: tuple | None, n: int
    ) -> list[tuple[datetime, int]]:
        # The index's rowid sorts by time (migration inbox 0014): matches come newest
        # first, in growing batches, until n pass the filters.
        bounds = [at for at in (position[0] if position else None, flt.before) if at]
        high = _index_key((int(min(bounds).timestamp()) + 1) << _ID_BITS) if bounds else None
        low = _index_key(int(flt.after.timestamp()) << _ID_BITS) if flt.after else None
        hits: list[tuple[datetime, int]] = []
        size = FIRST_BATCH
        while True:
            sql = "SELECT rowid FROM inbox_message_fts WHERE inbox_message_fts MATCH %s"
            params: list[Any] = [self.expr]
            if high is not None:
                sql, params = sql + " AND rowid < %s", [*params, high]
            if low is not None:
                sql, params = sql + " AND rowid >= %s", [*params, low]
            with connection.cursor() as cursor:
                cursor.execute(sql + " ORDER BY rowid DESC LIMIT %s", [*params, size])
                keys = [row[0] for row in cursor.fetchall()]
            ids = [key & _ID_MASK for key in keys]
            # No ORDER BY here: SQLite would walk the time index instead of fetching the ids.
            found = ordered.filter(pk__in=ids).order_by().values_list("created_at", "id")
            hits += found if ids else []
            if len(hits) >= n or len(keys) < size:
                return sorted(hits, reverse=True)[:n]
            high, size = keys[-1], min(size * 4, 8000)


def _newest_conversations(ordered: QuerySet, index: _Index, n: int) -> list[tuple[datetime, int]]:
    """(last_message_at, id) of the ``n`` newest conversations of ``ordered`` whose contact
    matches: tested among the newest ``CONTACT_WINDOW`` first, else (few matches: rare
    words) all matching contacts' conversations, sorted."""
    window = list(ordered.values_list("last_message_at", "id", "contact_id")[:CONTACT_WINDOW])
    found = index.among("inbox_contact", sorted({row[2] for row in window}))
    hits = [(row[0], row[1]) for row in window if row[2] in found][:n]
    if len(hits) >= n or len(window) < CONTACT_WINDOW:
        return hits
    at, pk = window[-1][0], window[-1][1]
    older = ordered.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=pk))
    contact_ids = index.matching_ids("inbox_contact", FALLBACK_CAP)
    if len(contact_ids) < FALLBACK_CAP:  # all of them: their conversations, sorted here
        rows = older.filter(contact_id__in=contact_ids).order_by()
        return (
            hits + sorted(rows.values_list("last_message_at", "id"), reverse=True)[: n - len(hits)]
        )
    rows = older.filter(contact_id__in=index.matching("inbox_contact"))
    return hits + list(rows.values_list("last_message_at", "id")[: n - len(hits)])


def _conversation_filter(flt: SearchFilter, user_id: int) -> Q:
    q = Q()
    if flt.channel_id:
        q &= Q(channel_id=flt.channel_id)
    if flt.status:
        q &= Q(status=flt.status)
    if flt.assignee == "me":
        q &= Q(assignee_id=user_id)
    elif flt.assignee == "none":
        q &= Q(assignee__isnull=True)
    elif flt.assignee:
        q &= Q(assignee_id=int(flt.assignee))
    if flt.label_id:
        labelled = ConversationLabel.objects.filter(
            label_id=flt.label_id, conversation=OuterRef("pk")
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
        _before_cursor("created_at", _MESSAGE, position),
    )
    if by_conversation := _conversation_filter(flt, user_id):
        # The conversations that pass, found once (a hash the walk probes), rather than
        # each message's conversation looked up in turn.
        chosen = Conversation.objects.filter(by_conversation, workspace_id=workspace_id)
        messages = messages.filter(conversation_id__in=chosen.values("id"))
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

    message_rows = index.newest_messages(
        messages.order_by("-created_at", "-id"), flt, position, limit + 1
    )
    conversation_rows = _newest_conversations(
        conversations.order_by("-last_message_at", "-id"), index, limit + 1
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
