"""IMAP, the sync: incremental sync of INBOX and Sent over ``client.py``'s session.

The sync reads and never writes the inbox's rows: ``sync_pages`` yields one ``SyncPage``
per fetched batch (its messages, the bounces it read as delivery statuses, the new sync
position and the backfill's progress), which the inbox stores in one transaction before
the next batch is fetched. What it must know of the inbox it asks through ``SyncRun``.

The sync position (the cursor) per folder is ``cursor["folders"][role]``: ``uidvalidity``,
``high`` (every UID above it is new), and the backfill window still to do,
``floor``..``low_done - 1``, which is walked newest first. A page that fails is stored not
at all, so the next sync reads that batch again; a dropped connection resumes where the
last stored page left it. When UIDVALIDITY changes the folder is read again over the
backfill window and what the inbox already holds is skipped.

The worker syncs every minute; ``idle.py`` keeps an IDLE connection per mailbox in the
worker and asks for the same sync as soon as the server announces new mail.
"""

from __future__ import annotations

import copy
import imaplib
import logging
import os
import tempfile
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from frontdesk.connectors.base import (
    UNKNOWN_SENDER,
    UNKNOWN_SENDER_NAME,
    InboundAttachment,
    InboundEvents,
    InboundMessage,
    InboundOriginal,
    StatusUpdate,
    SyncPage,
    SyncRun,
)
from frontdesk.connectors.email.client import MailboxError, connect, find_sent
from frontdesk.connectors.email.message_ids import our_message
from frontdesk.connectors.email.parse import ParsedEmail, parse
from frontdesk.connectors.email.providers import setting
from frontdesk.connectors.email.spool import spool_large_parts

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

log = logging.getLogger("frontdesk.email")


def _int_setting(name: str, default: int) -> int:
    try:
        return int(setting(name, str(default)))
    except ValueError:
        return default


class SyncStats:
    def __init__(self) -> None:
        self.handed = 0  # messages handed to the inbox to store
        self.seen = 0
        self.skipped = 0
        self.duplicates = 0
        self.bounces = 0


def sync_pages(
    channel: ChannelPort, run: SyncRun, budget_seconds: float | None = None
) -> Generator[SyncPage, None, SyncStats]:
    """Fetch what is new in INBOX and Sent, then continue the backfill (newest first): one
    page per batch, each carrying the position after it and the backfill's progress."""
    state = dict(run.cursor)
    state.pop("progress", None)  # the text earlier versions kept here
    reader = Reader(channel, run, state)
    budget = budget_seconds or float(setting("FRONTDESK_EMAIL_SYNC_SECONDS", "50"))
    deadline = time.monotonic() + budget
    with connect(channel) as client:
        sent = find_sent(client)
        folders = [("inbox", "INBOX")] + ([("sent", sent)] if sent else [])
        for role, folder in folders:
            yield from _sync_folder(client, channel, reader, role, folder, deadline)
    return reader.stats


def _page(state: dict[str, Any], events: InboundEvents | None = None) -> SyncPage:
    """A page: what a batch read, the position after it and the backfill's progress (both
    folders)."""
    folders = state.get("folders", {}).values()
    total = sum(int(f.get("backfill_total", 0)) for f in folders)
    done = sum(int(f.get("backfill_done", 0)) for f in folders)
    return SyncPage(
        events=events or InboundEvents(),
        cursor=copy.deepcopy(state),
        progress=(done, total),
        skip_unstorable=True,  # one broken mail never holds the mailbox back
    )


def _sync_folder(
    client: IMAPClient,
    channel: ChannelPort,
    reader: Reader,
    role: str,
    folder: str,
    deadline: float,
) -> Iterator[SyncPage]:
    try:
        info = client.select_folder(folder, readonly=True)
    except (IMAPClientError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"IMAP: cannot open {folder}: {exc}", "folder") from None
    validity = int(info.get(b"UIDVALIDITY", 0))
    folders = reader.state.setdefault("folders", {})
    state = folders.get(role)
    days = int(channel.config.get("backfill_days") or 30)
    since = (datetime.now(UTC) - timedelta(days=days)).date()
    if not state or state.get("uidvalidity") != validity:
        uids = _window(client, since)
        uidnext = int(info.get(b"UIDNEXT", 1))
        high = max(uids[-1] if uids else 0, uidnext - 1)
        state = {
            "folder": folder,
            "uidvalidity": validity,
            "high": high,
            "floor": uids[0] if uids else high + 1,
            "low_done": high + 1,
            "backfill_total": len(uids),
            "backfill_done": 0,
            "resets": (state or {}).get("resets", 0) + (1 if state else 0),
        }
        folders[role] = state
        yield _page(reader.state)
    outbound = role == "sent"

    # 1. new mail, oldest first
    new = [u for u in client.search(["UID", f"{state['high'] + 1}:*"]) if u > state["high"]]
    for batch in _batches(sorted(new)):
        if time.monotonic() > deadline:
            return
        with _read_batch(client, reader, batch, outbound) as events:
            state["high"] = max(state["high"], max(batch))
            yield _page(reader.state, events)  # stored before the batch's files go

    # 2. the backfill window, newest first
    if state["low_done"] > state["floor"]:
        rest = _window(client, since, f"{state['floor']}:{state['low_done'] - 1}")
        rest = sorted((u for u in rest if state["floor"] <= u < state["low_done"]), reverse=True)
        for batch in _batches(rest):
            if time.monotonic() > deadline:
                return
            with _read_batch(client, reader, batch, outbound) as events:
                state["low_done"] = min(batch)
                state["backfill_done"] = min(
                    state["backfill_total"], state.get("backfill_done", 0) + len(batch)
                )
                yield _page(reader.state, events)
        state["low_done"] = state["floor"]
        state["backfill_done"] = state["backfill_total"]
        yield _page(reader.state)


def _window(client: IMAPClient, since: Any, uid_range: str = "") -> list[int]:
    """UIDs in the backfill window, by the message's Date (by arrival when it has none)."""
    scope = ["UID", uid_range] if uid_range else []
    dated = client.search([*scope, "SENTSINCE", since])
    undated = client.search([*scope, "NOT", "HEADER", "Date", "", "SINCE", since])
    return sorted(set(dated) | set(undated))


def _batches(uids: list[int]) -> Iterator[list[int]]:
    size = _int_setting("FRONTDESK_EMAIL_FETCH_BATCH", 100)
    for i in range(0, len(uids), size):
        yield uids[i : i + size]


@dataclass
class Raw:
    """One message as fetched: for a large one ``data`` is the reduced message of
    ``spool.py``, ``raw_file`` the whole message on disk and ``spooled`` the files its big
    parts were decoded into."""

    uid: int
    data: bytes
    received: Any = None
    outbound: bool = False
    raw_file: str = ""
    spooled: dict[str, str] | None = None


@contextmanager
def _read_batch(
    client: IMAPClient, reader: Reader, uids: list[int], outbound: bool
) -> Iterator[InboundEvents]:
    """One batch read into a page's events: sizes first, then small messages together and
    large ones one by one (to files, which last until the page is stored)."""
    large = _int_setting("FRONTDESK_EMAIL_LARGE_BYTES", 5 * 1024 * 1024)
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    small = [u for u in uids if int(sizes.get(u, {}).get(b"RFC822.SIZE", 0)) <= large]
    big = [u for u in uids if u not in set(small)]
    with tempfile.TemporaryDirectory(prefix="frontdesk-mail-") as tmp:
        raws: list[Raw] = []
        for uid in big:
            folder = os.path.join(tmp, str(uid))
            os.mkdir(folder)
            raws.append(_fetch_large(client, uid, int(sizes[uid][b"RFC822.SIZE"]), folder))
        if small:
            fetched = client.fetch(small, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in small:
                data = fetched.pop(uid, None)
                if data and b"BODY[]" in data:
                    raws.append(Raw(uid, data[b"BODY[]"], data.get(b"INTERNALDATE")))
        for item in raws:
            item.outbound = outbound
        yield reader.read(raws)


def _fetch_large(client: IMAPClient, uid: int, size: int, tmp: str) -> Raw:
    """A large message: fetched in slices to a file, its big parts decoded to files."""
    chunk = _int_setting("FRONTDESK_EMAIL_FETCH_SLICE", 1024 * 1024)
    path = os.path.join(tmp, "raw.eml")
    with open(path, "wb") as fh:
        offset = 0
        while offset < size:
            got = client.fetch([uid], [f"BODY.PEEK[]<{offset}.{chunk}>"])
            piece = got.get(uid, {}).get(f"BODY[]<{offset}>".encode())
            if not piece:
                break
            fh.write(piece)
            offset += len(piece)
    received = client.fetch([uid], ["INTERNALDATE"]).get(uid, {}).get(b"INTERNALDATE")
    with open(path, "rb") as fh:
        spooled = spool_large_parts(fh, tmp)
    return Raw(uid, spooled.reduced, received, raw_file=path, spooled=spooled.files)


class Reader:
    """Turns fetched messages into what the inbox stores (values only), asking the inbox
    (``SyncRun``) what it holds. Each message's fate is kept in ``outcomes``: "new" (handed
    over), "duplicate", "bounce" (a delivery status), "auto-reply", "ours", "own",
    "no-address" or "failed" (noted in the cursor's ``failures``, the last 20)."""

    def __init__(self, channel: ChannelPort, run: SyncRun, state: dict[str, Any]):
        self.channel = channel
        self.run = run
        self.state = state
        self.stats = SyncStats()
        self.outcomes: list[str] = []

    def read(self, raws: list[Raw]) -> InboundEvents:
        parsed: list[tuple[Raw, ParsedEmail]] = []
        for raw in raws:
            self.stats.seen += 1
            try:
                parsed.append((raw, parse(raw.data)))
            except Exception as exc:
                self._failed(raw, exc)
        bounced = [p.bounce.original_message_id for r, p in parsed if p.bounce and not r.outbound]
        sent = self.run.sent(bounced) if bounced else set()
        candidates = {r.uid: our_message(self.channel, p.message_id) for r, p in parsed}
        asked = [pk for r, p in parsed if r.outbound and (pk := candidates[r.uid]) is not None]
        ours = self.run.ours(asked) if asked else set()
        events = InboundEvents()
        items: list[InboundMessage] = []
        for raw, mail in parsed:
            try:
                item = self._item(raw, mail, sent, candidates[raw.uid] in ours, events)
            except OSError:
                raise  # the disk failed, not the message: the page is not stored
            except Exception as exc:
                self._failed(raw, exc)
                continue
            if isinstance(item, str):
                self._note(item)
            else:
                items.append(item)
        events.messages = self._new(items)
        return events

    def _item(
        self,
        raw: Raw,
        parsed: ParsedEmail,
        sent: set[str],
        ours: bool,
        events: InboundEvents,
    ) -> InboundMessage | str:
        if parsed.bounce and not raw.outbound:
            original = parsed.bounce.original_message_id
            if original in sent:
                events.statuses.append(
                    StatusUpdate(original, "failed", parsed.bounce.reason[:1000])
                )
                return "bounce"
        return prepare(self.channel, parsed, raw, ours)

    def _new(self, items: list[InboundMessage]) -> list[InboundMessage]:
        """The messages the inbox does not hold yet. One it holds under the same Message-ID
        is the same mail again (a resync, a copy in another folder), or a different mail from
        a sender that reuses ids: that one is kept under its own id (``<id>#<digest>``)."""
        held = self.run.held([i.provider_id for i in items], "sha256") if items else {}
        in_page: dict[str, str] = {}
        renamed: list[InboundMessage] = []
        out: list[InboundMessage] = []
        for item in items:
            digest = item.extra["sha256"]
            pid = item.provider_id
            if pid in in_page or pid in held:
                other = in_page[pid] if pid in in_page else held[pid]
                if not other or other == digest:
                    self._note("duplicate")
                    continue
                item.provider_id = f"{item.extra['message_id']}#{digest[:16]}"[:500]
                if item.provider_id in in_page:
                    self._note("duplicate")
                    continue
                renamed.append(item)
            in_page[item.provider_id] = digest
            out.append(item)
        again = self.run.known([i.provider_id for i in renamed]) if renamed else set()
        for item in out:
            if item.provider_id in again:
                self._note("duplicate")
            else:
                self._note("new")
        return [i for i in out if i.provider_id not in again]

    def _note(self, outcome: str) -> None:
        self.outcomes.append(outcome)
        if outcome == "new":
            self.stats.handed += 1
        elif outcome == "duplicate":
            self.stats.duplicates += 1
        elif outcome == "bounce":
            self.stats.bounces += 1
        else:
            self.stats.skipped += 1

    def _failed(self, raw: Raw, exc: BaseException) -> None:
        """One broken message must not block the mailbox: note it (the last 20) and move on."""
        log.error(
            "channel %s: message UID %s could not be read", self.channel.pk, raw.uid, exc_info=exc
        )
        failures = self.state.setdefault("failures", [])
        failures.append({"uid": raw.uid, "outbound": raw.outbound, "error": repr(exc)[:300]})
        del failures[:-20]
        self.outcomes.append("failed")
        self.stats.skipped += 1


def prepare(
    channel: ChannelPort, parsed: ParsedEmail, raw: Raw, ours: bool = False
) -> InboundMessage | str:
    """Say what to store of one parsed message (with its raw copy, which the inbox keeps),
    or why it is not one: "auto-reply", "ours" (``ours``: its Message-ID names a
    message of ours: our own reply filed in Sent), "own", "no-address". Inbound mail with
    no usable sender is kept under ``UNKNOWN_SENDER``."""
    outbound = raw.outbound
    own = channel.config.get("address", "").lower()
    if parsed.auto_reply and not outbound and not parsed.bounce:
        return "auto-reply"
    if outbound:
        if ours:
            return "ours"  # our own reply filed in Sent: its outbox row already stands for it
        handle = next((a for a in [*parsed.to, *parsed.cc] if a != own), "")
    else:
        handle = parsed.from_address
        if handle == own:
            return "own"  # our own message delivered back to us: the Sent folder has it
        if not handle:  # no From, or one without a usable address: kept, never replied to
            handle = UNKNOWN_SENDER
    if not handle:
        return "no-address"
    limit = settings.FRONTDESK_MAX_TEXT_CHARS
    sent_at = parsed.date
    received = raw.received
    if sent_at is None and isinstance(received, datetime):
        sent_at = received if received.tzinfo else received.replace(tzinfo=UTC)
    if sent_at is not None and sent_at > timezone.now() + timedelta(days=1):
        sent_at = None  # a date in the future would pin the conversation to the top
    extra: dict[str, Any] = {
        "message_id": parsed.message_id,
        "references": parsed.references[-20:],
        "from": parsed.from_address,
        "to": parsed.to,
        "cc": parsed.cc,
        "sha256": parsed.body_hash,
    }
    if parsed.recipients_total > len(parsed.to) + len(parsed.cc):
        extra["recipients_total"] = parsed.recipients_total
    if parsed.full_text.strip() != parsed.text.strip():
        extra["full_text"] = parsed.full_text[:limit]
    if parsed.html_quoted_at:
        extra["html_quoted_at"] = parsed.html_quoted_at
    if parsed.list_id:
        extra["list_id"] = parsed.list_id
    if parsed.auto_reply:
        extra["auto_reply"] = parsed.auto_reply
    if parsed.bounce:
        extra["bounce"] = parsed.bounce.reason[:1000]
    if parsed.remote_images:
        extra["remote_images"] = parsed.remote_images
    if parsed.message_id_missing:
        extra["message_id_missing"] = True
    if parsed.defects:
        extra["defects"] = parsed.defects
    if handle == UNKNOWN_SENDER:
        extra["unknown_sender"] = parsed.from_header or "(no From header)"
    inline = {a.content_id: a.name for a in parsed.attachments if a.content_id}
    if inline:
        extra["inline_cids"] = inline
    root = parsed.references[0] if parsed.references else parsed.message_id
    spooled = raw.spooled or {}
    return InboundMessage(
        provider_id=parsed.message_id,
        handle=handle,
        text=parsed.text[:limit],
        html=parsed.html,
        subject=parsed.subject,
        contact_name=""
        if outbound
        else (UNKNOWN_SENDER_NAME if handle == UNKNOWN_SENDER else parsed.from_name),
        thread_key=f"email:{root}"[:500],
        references=parsed.references,
        reply_to_provider_id=parsed.in_reply_to,
        sent_at=sent_at,
        outbound=outbound,
        attachments=[
            InboundAttachment(
                name=a.name,
                content_type=a.content_type,
                data=a.data,
                path=spooled.get(a.spooled, "") if a.spooled else "",
            )
            for a in parsed.attachments
        ],
        extra=extra,
        # kept whole by the inbox (``extra["raw_key"]``); a large one from its file, which
        # lasts until the page is stored (``_read_batch``)
        original=InboundOriginal(
            "email/raw", ".eml", path=raw.raw_file, data=b"" if raw.raw_file else raw.data
        ),
    )
