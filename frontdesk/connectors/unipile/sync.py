"""Unipile's side of a sync: the webhooks registered once (v1: two per account; v2: one
endpoint per workspace and API key), then the backfill of recent chats, page by page
(``Connector.sync_pages``; the inbox stores each page with its cursor).
"""

from __future__ import annotations

import copy
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from frontdesk.connectors.base import (
    UNKNOWN_TOTAL,
    InboundEvents,
    InboundMessage,
    ProviderCallError,
    SyncPage,
    SyncRun,
)
from frontdesk.connectors.unipile.client import (
    UnipileClient,
    UnipileError,
    UnipileUnreachable,
    api_version,
)
from frontdesk.connectors.unipile.parse import (
    MalformedEvent,
    chat_activity,
    iso_ms,
    listed_v1_message,
    parse_time,
    trimmed,
    v2_message,
)
from frontdesk.connectors.unipile.webhook import token_key, webhook_url

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort
    from frontdesk.connectors.unipile.connector import UnipileConnector

log = logging.getLogger("frontdesk.unipile")

DEFAULT_BACKFILL_DAYS = 30


def register_webhooks(
    connector: UnipileConnector,
    channel: ChannelPort,
    client: UnipileClient,
    siblings: Callable[[Mapping[str, Any]], list[dict[str, Any]]] = lambda config: [],
) -> tuple[list[str], SyncPage]:
    """Make sure Unipile posts this account's messages and status to Frontdesk: the
    webhook ids, and a page with the channel's new credentials and config when they
    changed (the inbox stores them).

    v1: two webhooks scoped to the account, carrying the channel's secret header. v2:
    one endpoint per workspace and API key (it receives every account of the Unipile
    application), registered with a secret token in its URL; the channels it serves
    share the token (``siblings``: the other v2 channels' credentials), and the token's
    hash in their config finds them."""
    credentials = dict(channel.credentials)
    before = dict(credentials)
    url = webhook_url()
    if api_version(channel) == "v2":
        if not credentials.get("webhook_token"):
            credentials.update(
                _v2_endpoint_of_key(channel, siblings)
                or {"webhook_token": secrets.token_urlsafe(32)}
            )
        url = webhook_url(credentials["webhook_token"])
    ids = client.register_webhooks(
        url, f"Frontdesk {channel.pk}", channel.config["account_id"], credentials
    )
    page = SyncPage()
    if credentials != before:
        page.credentials = credentials
        if credentials.get("webhook_token"):
            page.config = {
                **channel.config,
                "webhook_key": token_key(credentials["webhook_token"]),
            }
    return ids, page


def pages(connector: UnipileConnector, channel: ChannelPort, run: SyncRun) -> Iterator[SyncPage]:
    """Register the webhooks once, then backfill the window, page by page; the cursor
    (``sync_state``) holds the webhook ids and the backfill's position."""
    if not channel.config.get("account_id"):
        return
    state = copy.deepcopy(dict(run.cursor))
    client = connector.client(channel)
    try:
        # v2 channels registered before the endpoint token existed register again.
        unregistered = api_version(channel) == "v2" and not channel.config.get("webhook_key")
        if not state.get("webhooks") or unregistered:
            state["webhooks"], page = register_webhooks(connector, channel, client, run.siblings)
            page.cursor, page.synced = copy.deepcopy(state), True
            yield page
        if (state.get("backfill") or {}).get("status") != "done":
            yield from Backfill(connector, channel, client, state, run.known).pages()
            yield SyncPage(recovered=True)  # the failed attempt is behind us
    except UnipileUnreachable as exc:
        raise _sync_error(channel, str(exc)) from None
    except UnipileError as exc:
        if exc.status in (401, 403):
            error = f"Unipile refused the account: {exc.message}"
            raise _sync_error(channel, error, reconnect=True) from None
        raise _sync_error(channel, f"Unipile answered HTTP {exc.status}: {exc.message}") from None


def listed_item(
    connector: UnipileConnector,
    channel: ChannelPort,
    chat: dict[str, Any],
    message: dict[str, Any],
    people: dict[str, dict[str, Any]],
) -> InboundMessage | None:
    """One listed message of a listed chat, in the channel's version (None: unusable)."""
    if api_version(channel) == "v1":
        return listed_v1_message(connector, chat, message, people)
    try:
        return v2_message(connector, message, chat)
    except MalformedEvent as exc:
        log.warning("backfill skipped a v2 message of chat %s: %s", chat.get("id"), exc)
        return None


class Backfill:
    """Chats newest first, then each chat's messages, within the window; resumable by page.

    Progress lives in ``sync_state["backfill"]``: the chats cursor, the chats already done
    and, inside a chat, its messages cursor. A chat that gets a new message while the
    backfill runs jumps to the top of the list and could slip behind the cursor, so a
    catch-up pass lists the chats active since the start and finishes any not done.
    Ingest is idempotent on the message id, so pages seen twice store nothing twice.
    """

    MAX_CHAT_PAGES_PER_RUN = 20
    CHATS_PER_PAGE = 50
    MESSAGES_PER_PAGE = 100

    def __init__(
        self,
        connector: UnipileConnector,
        channel: ChannelPort,
        client: UnipileClient,
        state: dict[str, Any],
        known: Callable[[Sequence[str]], set[str]] = lambda ids: set(),
    ):
        self.connector = connector
        self.channel = channel
        self.client = client
        self.state = state
        self.known = known
        self.pending: list[InboundMessage] = []  # read since the last page
        bf = dict(state.get("backfill") or {})
        if not bf.get("since"):
            days = channel.config.get("backfill_days", DEFAULT_BACKFILL_DAYS)
            now = timezone.now()
            bf.update(
                status="running",
                phase="window",
                since=iso_ms(now - timedelta(days=days)),
                started=iso_ms(now - timedelta(seconds=5)),
                chats=0,
                messages=0,
                started_at=now.isoformat(),
            )
        self.bf = bf
        self.since = parse_time(bf["since"]) or timezone.now()

    def page(self) -> SyncPage:
        """The messages read since the last page, the position after them and the import's
        progress: Unipile's lists give no account-wide count of messages (v1 lists have
        none; v2's ``total_count`` counts one list, not the import), so the count goes
        without a total ("Importing: 1,240 messages so far") until the backfill is done."""
        self.state["backfill"] = self.bf
        items, self.pending = self.pending, []
        count = int(self.bf.get("messages") or 0)
        done = self.bf.get("status") == "done"
        return SyncPage(
            events=InboundEvents(messages=items),
            cursor=copy.deepcopy(self.state),
            synced=True,
            progress=(count, count if done else UNKNOWN_TOTAL),
        )

    def pages(self) -> Iterator[SyncPage]:
        yield self.page()
        done = set(self.bf.get("done_chats") or [])
        for _ in range(self.MAX_CHAT_PAGES_PER_RUN):
            phase = self.bf.get("phase", "window")
            # Chats come newest activity first; the pass ends at the first chat older than
            # its threshold. (The chats ``after`` filter is not used: it may mean "created
            # after", which would drop old chats with recent messages.)
            threshold = parse_time(self.bf["since"] if phase == "window" else self.bf["started"])
            page = self.client.list_chats(
                self.channel.config["account_id"],
                cursor=self.bf.get("chats_cursor"),
                limit=self.CHATS_PER_PAGE,
            )
            chats = [c for c in page.get("items") or [] if isinstance(c, dict)]
            reached_end = False
            for chat in chats:
                chat_id = trimmed(chat.get("id"))
                active = chat_activity(chat)
                if active and threshold and active < threshold:
                    reached_end = True
                    break
                if not chat_id or chat_id in done:
                    continue
                yield from self.backfill_chat(chat)
                done.add(chat_id)
                self.bf["fresh"] = self.bf.get("fresh", 0) + 1
                self.bf["done_chats"] = list(done)
                self.bf["chats"] = len(done)
                self.bf.pop("current_chat", None)
                self.bf.pop("messages_cursor", None)
                yield self.page()
            cursor = page.get("cursor")
            if cursor and chats and not reached_end:
                self.bf["chats_cursor"] = cursor
                yield self.page()
                continue
            self.bf.pop("chats_cursor", None)
            if phase == "window" or self.bf.get("fresh"):
                self.bf.update(phase="catch-up", fresh=0)  # until a pass finds nothing new
                yield self.page()
                continue
            self.bf.update(status="done", finished_at=timezone.now().isoformat())
            self.bf.pop("done_chats", None)
            yield self.page()
            return

    def backfill_chat(self, chat: dict[str, Any]) -> Iterator[SyncPage]:
        chat_id = trimmed(chat.get("id"))
        if not chat_id:
            return
        account_id = self.channel.config["account_id"]
        people = {
            trimmed(a.get("provider_id"), 320): a
            for a in self.client.chat_attendees(account_id, chat_id)
            if trimmed(a.get("provider_id"), 320)
        }
        cursor = self.bf.get("messages_cursor") if self.bf.get("current_chat") == chat_id else None
        self.bf["current_chat"] = chat_id
        for _ in range(1000):
            page = self.client.list_messages(
                account_id,
                chat_id,
                cursor=cursor,
                after=self.bf["since"],
                limit=self.MESSAGES_PER_PAGE,
            )
            listed = [m for m in page.get("items") or [] if isinstance(m, dict)]
            # One question per page: what webhooks already brought in.
            known = self.known([trimmed(m.get("id")) for m in listed])
            older = 0  # newest first: a page all before the window ends the chat (v2 has no
            # ``after`` filter to do it for us)
            for message in listed:
                item = listed_item(self.connector, self.channel, chat, message, people)
                if item is not None and item.sent_at and item.sent_at < self.since:
                    older += 1
                    continue
                if item is None:
                    continue
                if item.provider_id in known:
                    continue  # a webhook got here first: nothing to download
                self.connector.fetch_attachments(self.channel, item)
                item.fetch_first = False  # its files are here: stored whole, with its page
                self.pending.append(item)  # a refused item is logged and skipped by the inbox
                self.bf["messages"] = self.bf.get("messages", 0) + 1
            cursor = page.get("cursor")
            if not cursor or (listed and older == len(listed)):
                return
            self.bf["messages_cursor"] = cursor
            yield self.page()


def _v2_endpoint_of_key(
    channel: ChannelPort, siblings: Callable[[Mapping[str, Any]], list[dict[str, Any]]]
) -> dict[str, str]:
    """The webhook endpoint (token, id and signing secret) another v2 channel of this
    workspace on the same base URL and API key already registered, so it is not registered
    twice. (Workspaces never share one: each gets its own deliveries, with its own token.)"""
    keys = ("webhook_token", "webhook_endpoint_id", "webhook_signing_secret")
    for credentials in siblings({"api_version": "v2", "dsn": channel.config.get("dsn", "")}):
        if credentials.get("api_key") == channel.credentials.get("api_key") and credentials.get(
            "webhook_token"
        ):
            return {k: credentials[k] for k in keys if credentials.get(k)}
    return {}


def _sync_error(channel: ChannelPort, error: str, reconnect: bool = False) -> ProviderCallError:
    """What a failed sync raises: the inbox's sync job records it on the channel."""
    log.warning("unipile channel %s: %s", channel.pk, error)
    return ProviderCallError(error, reconnect=reconnect)
