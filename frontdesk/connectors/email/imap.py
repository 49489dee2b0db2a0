"""IMAP: log in (password or XOAUTH2), incremental sync of INBOX and Sent, APPEND to Sent.

Sync position per folder lives in ``channel.sync_state["folders"][role]``:
``uidvalidity``, ``high`` (every UID above it is new), and the backfill window still to
do, ``floor``..``low_done - 1``, which is walked newest first. The state is saved after
every batch, so a dropped connection resumes where it stopped; ingest's idempotency on
the Message-ID makes a re-fetched batch a no-op. When UIDVALIDITY changes the folder is
read again over the backfill window and ingest drops what it already holds.

The worker calls ``sync`` every minute; ``idle.py`` keeps an IDLE connection per mailbox
in the worker and calls the same sync as soon as the server announces new mail.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import os
import re
import socket
import ssl
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from frontdesk.connectors.base import (
    UNKNOWN_SENDER,
    UNKNOWN_SENDER_NAME,
    ImportProgress,
    InboundAttachment,
    InboundMessage,
    StatusUpdate,
    no_progress,
)
from frontdesk.connectors.email import oauth
from frontdesk.connectors.email.parse import parse
from frontdesk.connectors.email.providers import setting
from frontdesk.connectors.email.spool import spool_large_parts

if TYPE_CHECKING:
    from frontdesk.inbox.actions.ingest import IngestResult
    from frontdesk.inbox.models import ChannelAccount

log = logging.getLogger("frontdesk.email")

SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent", "[Gmail]/Sent Mail")


class MailboxError(Exception):
    """The mailbox could not be used; the message says exactly what failed."""

    def __init__(self, message: str, stage: str = "connect"):
        super().__init__(message)
        self.stage = stage


class LoginRefused(MailboxError):
    """Credentials were refused (a changed password, a revoked token)."""

    def __init__(self, message: str):
        super().__init__(message, stage="auth")


# The failures of the database this module still writes to (legacy: issue 11 moves its writes
# to the inbox's sync runner), for ``connector.describe_failure`` to name.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (DatabaseError,)


def _int_setting(name: str, default: int) -> int:
    try:
        return int(setting(name, str(default)))
    except ValueError:
        return default


def timeout() -> float:
    return float(setting("FRONTDESK_EMAIL_TIMEOUT", "20"))


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca := setting("FRONTDESK_EMAIL_CA_FILE"):
        context.load_verify_locations(ca)
    return context


def login_user(channel: ChannelAccount) -> str:
    return channel.config.get("username") or channel.config["address"]


def uses_oauth(channel: ChannelAccount) -> bool:
    return channel.config.get("auth") == "oauth"


@contextmanager
def connect(channel: ChannelAccount) -> Iterator[IMAPClient]:
    cfg = channel.config
    host, port, security = cfg["imap_host"], int(cfg["imap_port"]), cfg["imap_security"]
    try:
        client = IMAPClient(
            host,
            port=port,
            ssl=security == "tls",
            ssl_context=tls_context() if security == "tls" else None,
            timeout=timeout(),
        )
        if security == "starttls":
            client.starttls(tls_context())
    except socket.gaierror as exc:
        raise MailboxError(f"IMAP: cannot resolve {host}: {exc}", "dns") from None
    except ssl.SSLError as exc:
        raise MailboxError(f"IMAP: TLS with {host}:{port} failed: {exc}", "tls") from None
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"IMAP: cannot connect to {host}:{port}: {exc}", "connect") from None
    try:
        try:
            if uses_oauth(channel):
                try:
                    client.oauth2_login(login_user(channel), _token(channel))
                except LoginError:
                    # the server may drop a token before its announced expiry: refresh once
                    client.oauth2_login(login_user(channel), _token(channel, force=True))
            else:
                client.login(login_user(channel), channel.credentials.get("password", ""))
        except LoginError as exc:
            if "UNAVAILABLE" in _text(exc).upper():  # RFC 5530: a passing server problem
                raise MailboxError(
                    f"IMAP: {host} cannot log in now: {_text(exc)}", "auth"
                ) from None
            raise LoginRefused(f"IMAP: {host} refused the login: {_text(exc)}") from None
        yield client
    finally:
        try:
            client.logout()
        except Exception:  # the connection may already be gone
            try:
                client.shutdown()
            except Exception:
                log.debug("IMAP connection to %s already closed", host)


def _token(channel: ChannelAccount, force: bool = False) -> str:
    try:
        return oauth.access_token(channel, force=force)
    except oauth.OAuthError as exc:
        if exc.revoked:
            raise LoginRefused(f"OAuth: {exc}") from None
        raise MailboxError(f"OAuth: {exc}", "auth") from None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def find_sent(client: IMAPClient) -> str | None:
    try:
        found = client.find_special_folder(b"\\Sent")
    except (IMAPClientError, imaplib.IMAP4.error):
        found = None
    if found:
        return found
    names = {name for _, _, name in client.list_folders()}
    return next((n for n in SENT_NAMES if n in names), None)


def test_login(channel: ChannelAccount) -> list[str]:
    """Log in and open both folders; the folder names found (raises ``MailboxError``)."""
    with connect(channel) as client:
        try:
            client.select_folder("INBOX", readonly=True)
        except (IMAPClientError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"IMAP: cannot open INBOX: {exc}", "folder") from None
        sent = find_sent(client)
        return ["INBOX", *([sent] if sent else [])]


def append_sent(channel: ChannelAccount, raw: bytes) -> str | None:
    """File a copy of what SMTP sent in the Sent folder (providers that do not do it)."""
    with connect(channel) as client:
        folder = find_sent(client)
        if folder is None:
            folder = "Sent"
            client.create_folder(folder)
        client.append(folder, raw, flags=[b"\\Seen"])
        return folder


# --- sync --------------------------------------------------------------------------------


class SyncStats:
    def __init__(self) -> None:
        self.created = 0
        self.seen = 0
        self.skipped = 0
        self.bounces = 0


def sync_mailbox(
    channel: ChannelAccount,
    budget_seconds: float | None = None,
    progress: ImportProgress = no_progress,
) -> SyncStats:
    """Fetch what is new in INBOX and Sent, then continue the backfill (newest first); the
    backfill's count of messages goes to ``progress`` as it moves."""
    stats = SyncStats()
    budget = budget_seconds or float(setting("FRONTDESK_EMAIL_SYNC_SECONDS", "50"))
    deadline = time.monotonic() + budget
    with connect(channel) as client:
        sent = find_sent(client)
        folders = [("inbox", "INBOX")] + ([("sent", sent)] if sent else [])
        for role, folder in folders:
            _sync_folder(client, channel, role, folder, stats, deadline, progress)
    return stats


def _save_state(channel: ChannelAccount, progress: ImportProgress) -> None:
    """Save the sync position and report the backfill's progress (both folders)."""
    state = channel.sync_state
    state.pop("progress", None)  # the text earlier versions kept here
    type(channel).objects.filter(pk=channel.pk).update(sync_state=state)
    folders = state.get("folders", {}).values()
    total = sum(int(f.get("backfill_total", 0)) for f in folders)
    progress(sum(int(f.get("backfill_done", 0)) for f in folders), total)


def _sync_folder(
    client: IMAPClient,
    channel: ChannelAccount,
    role: str,
    folder: str,
    stats: SyncStats,
    deadline: float,
    progress: ImportProgress,
) -> None:
    try:
        info = client.select_folder(folder, readonly=True)
    except (IMAPClientError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"IMAP: cannot open {folder}: {exc}", "folder") from None
    validity = int(info.get(b"UIDVALIDITY", 0))
    folders = channel.sync_state.setdefault("folders", {})
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
        _save_state(channel, progress)
    outbound = role == "sent"

    # 1. new mail, oldest first
    new = [u for u in client.search(["UID", f"{state['high'] + 1}:*"]) if u > state["high"]]
    for batch in _batches(sorted(new)):
        if time.monotonic() > deadline:
            return
        _fetch_and_ingest(client, channel, batch, outbound, stats)
        state["high"] = max(state["high"], max(batch))
        _save_state(channel, progress)

    # 2. the backfill window, newest first
    if state["low_done"] > state["floor"]:
        rest = _window(client, since, f"{state['floor']}:{state['low_done'] - 1}")
        rest = sorted((u for u in rest if state["floor"] <= u < state["low_done"]), reverse=True)
        for batch in _batches(rest):
            if time.monotonic() > deadline:
                return
            _fetch_and_ingest(client, channel, batch, outbound, stats)
            state["low_done"] = min(batch)
            state["backfill_done"] = min(
                state["backfill_total"], state.get("backfill_done", 0) + len(batch)
            )
            _save_state(channel, progress)
        state["low_done"] = state["floor"]
        state["backfill_done"] = state["backfill_total"]
        _save_state(channel, progress)


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


def _fetch_and_ingest(
    client: IMAPClient, channel: ChannelAccount, uids: list[int], outbound: bool, stats: SyncStats
) -> None:
    """One batch: sizes first, then small messages together and large ones one by one."""
    large = _int_setting("FRONTDESK_EMAIL_LARGE_BYTES", 5 * 1024 * 1024)
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    small = [u for u in uids if int(sizes.get(u, {}).get(b"RFC822.SIZE", 0)) <= large]
    big = [u for u in uids if u not in set(small)]
    for uid in big:  # downloaded outside any transaction; only storing it takes the write lock
        _one_large(client, channel, uid, int(sizes[uid][b"RFC822.SIZE"]), outbound, stats)
    for group in [small] if small else []:
        fetched = client.fetch(group, ["BODY.PEEK[]", "INTERNALDATE"])
        # Parse them outside the transaction, then store a few per transaction
        # (ingest_many): far fewer commits and a short write lock.
        step = _int_setting("FRONTDESK_EMAIL_COMMIT_EVERY", 20)
        for i in range(0, len(group), step):
            _store_batch(channel, group[i : i + step], fetched, outbound, stats)


def _store_batch(
    channel: ChannelAccount,
    uids: list[int],
    fetched: dict,
    outbound: bool,
    stats: SyncStats,
) -> None:
    """Parse and store these messages in one transaction. The database or the disk failing
    raises (nothing of the batch is kept, the sync position stays before it); a broken
    message is noted and skipped, as in ``_one``."""
    from frontdesk.inbox.actions.ingest import ingest_many

    prepared: list[tuple[int, InboundMessage]] = []
    for uid in uids:
        data = fetched.pop(uid, None)
        if not data or b"BODY[]" not in data:
            continue
        stats.seen += 1
        try:
            item = prepare_raw(
                channel, data[b"BODY[]"], outbound=outbound, received=data.get(b"INTERNALDATE")
            )
        except (OperationalError, InterfaceError, OSError):
            raise
        except Exception as exc:
            _failed(channel, uid, outbound, exc, stats)
            continue
        if isinstance(item, str):
            _count(item, stats)
        else:
            prepared.append((uid, item))
    if not prepared:
        return
    with transaction.atomic():
        results = ingest_many(channel, [item for _, item in prepared])
        for (uid, item), result in zip(prepared, results, strict=True):
            if isinstance(result, Exception):
                _failed(channel, uid, outbound, result, stats)
                continue
            try:  # a reused Message-ID with another body: stored under its own id
                outcome = _outcome(channel, item, result)
            except (OperationalError, InterfaceError, OSError):
                raise
            except Exception as exc:
                _failed(channel, uid, outbound, exc, stats)
                continue
            _count(outcome, stats)


def _failed(
    channel: ChannelAccount, uid: int, outbound: bool, exc: BaseException, stats: SyncStats
) -> None:
    """One broken message must not block the mailbox: note it (the last 20) and move on."""
    log.error("channel %s: message UID %s could not be stored", channel.pk, uid, exc_info=exc)
    failures = channel.sync_state.setdefault("failures", [])
    failures.append({"uid": uid, "outbound": outbound, "error": repr(exc)[:300]})
    del failures[:-20]
    stats.skipped += 1


def _count(outcome: str, stats: SyncStats) -> None:
    if outcome == "created":
        stats.created += 1
    elif outcome == "bounce":
        stats.bounces += 1
    elif outcome != "duplicate":
        stats.skipped += 1


def _one_large(
    client: IMAPClient,
    channel: ChannelAccount,
    uid: int,
    size: int,
    outbound: bool,
    stats: SyncStats,
) -> None:
    """A large message: fetched in slices to a file, its big parts decoded to files."""
    chunk = _int_setting("FRONTDESK_EMAIL_FETCH_SLICE", 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="frontdesk-mail-") as tmp:
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
        data = {b"BODY[]": spooled.reduced, b"INTERNALDATE": received}
        _one(channel, uid, data, outbound, stats, raw_file=path, spooled=spooled.files)


def _one(
    channel: ChannelAccount,
    uid: int,
    data: dict | None,
    outbound: bool,
    stats: SyncStats,
    raw_file: str = "",
    spooled: dict[str, str] | None = None,
) -> None:
    if not data or b"BODY[]" not in data:
        return
    stats.seen += 1
    try:
        outcome = ingest_raw(
            channel,
            data[b"BODY[]"],
            outbound=outbound,
            received=data.get(b"INTERNALDATE"),
            raw_file=raw_file,
            spooled=spooled,
        )
    except (OperationalError, InterfaceError, OSError):
        # The database or the disk failed, not the message: stop here so the sync position
        # does not move past it; the next sync fetches it again (ingest is idempotent).
        raise
    except Exception as exc:
        _failed(channel, uid, outbound, exc, stats)
        return
    _count(outcome, stats)


_OUR_ID = re.compile(r"^frontdesk\.(\d+)\.([0-9a-f]{20})@")


def _sent_by_us(channel: ChannelAccount, message_id: str) -> bool:
    """A Message-ID ``smtp.message_id_for`` made for a message of this channel."""
    from frontdesk.connectors.email.smtp import message_id_for
    from frontdesk.inbox.models import Message

    found = _OUR_ID.match(message_id)
    if not found or message_id_for(channel, int(found.group(1))) != message_id:
        return False
    return Message.objects.filter(pk=int(found.group(1)), channel=channel).exists()


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ingest_raw(
    channel: ChannelAccount,
    raw: bytes,
    outbound: bool = False,
    received: Any = None,
    raw_file: str = "",
    spooled: dict[str, str] | None = None,
) -> str:
    """Parse one raw message and hand it to ingest. Returns what happened to it.

    For a large message ``raw`` is the reduced message of ``spool.py``, ``raw_file`` the
    whole message on disk and ``spooled`` the files its big parts were decoded into."""
    from frontdesk.inbox.actions.ingest import ingest

    item = prepare_raw(channel, raw, outbound, received, raw_file, spooled)
    if isinstance(item, str):
        return item
    # The raw copy was hashed and stored before: the transaction (the database's one
    # writer) holds only the rows. One broken message never undoes the others.
    with transaction.atomic():
        return _outcome(channel, item, ingest(channel, item))


def _outcome(channel: ChannelAccount, item: InboundMessage, result: IngestResult) -> str:
    from frontdesk.inbox.actions.ingest import ingest

    if not result.created:
        # Same Message-ID: the same mail again (a resync, a copy in another folder), or a
        # different mail from a sender that reuses ids; the latter is kept under its own id.
        held = (result.message.extra or {}).get("sha256")
        digest = item.extra["sha256"]
        if held and held != digest:
            item.provider_id = f"{item.extra['message_id']}#{digest[:16]}"[:500]
            result = ingest(channel, item)
    return "created" if result.created else "duplicate"


def prepare_raw(
    channel: ChannelAccount,
    raw: bytes,
    outbound: bool = False,
    received: Any = None,
    raw_file: str = "",
    spooled: dict[str, str] | None = None,
) -> InboundMessage | str:
    """Parse one raw message, store the raw copy, and say what to ingest: the message, or
    why it is not one ("bounce" (applied here), "auto-reply", "ours", "own", "no-address").
    Inbound mail with no usable sender is kept under ``UNKNOWN_SENDER``."""
    from django.conf import settings

    from frontdesk.inbox.actions.delivery import ingest_status
    from frontdesk.inbox.models import Direction, Message

    parsed = parse(raw)
    own = channel.config.get("address", "").lower()
    if parsed.bounce and not outbound:
        original = parsed.bounce.original_message_id
        if Message.objects.filter(
            channel=channel, provider_id=original, direction=Direction.OUTBOUND
        ).exists():
            ingest_status(channel, StatusUpdate(original, "failed", parsed.bounce.reason[:1000]))
            return "bounce"
    if parsed.auto_reply and not outbound and not parsed.bounce:
        return "auto-reply"
    if outbound:
        if _sent_by_us(channel, parsed.message_id):
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
    digest = _file_digest(raw_file) if raw_file else hashlib.sha256(raw).hexdigest()
    raw_key = f"email/raw/{channel.pk}/{digest[:2]}/{digest}.eml"
    if not default_storage.exists(raw_key):  # a resync stores nothing twice
        if raw_file:
            with open(raw_file, "rb") as fh:
                raw_key = default_storage.save(raw_key, File(fh))
        else:
            raw_key = default_storage.save(raw_key, ContentFile(raw))
    sent_at = parsed.date
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
        "raw_key": raw_key,
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
    item = InboundMessage(
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
                path=(spooled or {}).get(a.spooled, "") if a.spooled else "",
            )
            for a in parsed.attachments
        ],
        extra=extra,
    )
    return item
