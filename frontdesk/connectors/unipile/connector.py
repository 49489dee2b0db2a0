"""LinkedIn and WhatsApp (by QR code) through Unipile's API, v2 or v1: the adapter.

One connector serves both kinds: ``config["network"]`` picks LinkedIn (handles are
LinkedIn provider ids) or WhatsApp (handles are E.164 phone numbers). ``config
["api_version"]`` picks Unipile's API: ``"v2"`` (the default for new connections) or
``"v1"`` (a channel saved without the key is v1). The version changes the client
(``client.py``: paths, bodies, pages) and the objects read (``parse.py``: v1 webhook
bodies and listed messages against v2 Message and Chat objects); send, error mapping and
status handling are shared.

Inbound traffic arrives on ``POST /webhooks/unipile/``, read by ``webhook.py``: v1
webhooks carry a per-channel secret header Frontdesk registered; v2 endpoints cannot
carry custom headers, and Unipile does not document how it signs v2 deliveries, so the
endpoint is registered with a secret token in its URL and deliveries without it are
refused. ``sync.py`` registers the webhooks and backfills recent chats; ``send`` posts to
the chat or starts a new chat.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from frontdesk.connectors.base import (
    AttachmentRule,
    Capabilities,
    ChannelSetup,
    ConfigError,
    ConnectNotice,
    ConnectPending,
    ConnectRedirect,
    ConnectRefused,
    ConnectRoute,
    Glyph,
    InboundAttachment,
    InboundEvents,
    InboundMessage,
    OutboundMessage,
    PartsSent,
    PendingValues,
    PermanentSendError,
    ProfileUpdate,
    ProviderCallError,
    ReconnectNeeded,
    SendResult,
    SyncPage,
    SyncRun,
    TransientSendError,
    WebhookAnswer,
    WebhookRequest,
    require,
    require_public_host,
)
from frontdesk.connectors.connect_flows import ConnectPage, HostedAuthFlow
from frontdesk.connectors.http import retry_after_seconds
from frontdesk.connectors.unipile import connect, sync, webhook
from frontdesk.connectors.unipile.client import (
    V2_DEFAULT_BASE,
    AttachmentTooBig,
    UnipileClient,
    UnipileError,
    UnipileUnreachable,
    api_version,
    client_for,
    dsn_root,
)
from frontdesk.connectors.unipile.connect import API_VERSIONS, NETWORKS
from frontdesk.connectors.unipile.parse import (
    MalformedEvent,
    chat_participant,
    message_ids,
    profile_links,
    profile_update,
)
from frontdesk.connectors.unipile.sync import DEFAULT_BACKFILL_DAYS

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

log = logging.getLogger("frontdesk.unipile")


class UnipileConnector(ConnectPage, HostedAuthFlow):
    provider = "unipile"
    kind = "linkedin"
    kinds = ("linkedin", "whatsapp")
    label = "LinkedIn or WhatsApp by QR code (Unipile)"
    handle_kind = "linkedin"  # the WhatsApp variant's: "phone"
    handle_kinds = {"linkedin": "LinkedIn", "phone": "Phone"}
    glyphs = {
        "linkedin": Glyph("in", "#dbeafe", "#1e40af"),
        "whatsapp": Glyph("WA", "#dcfce7", "#166534"),
    }
    capabilities = Capabilities(attachments=True, sync=True)
    connect_url_name = "unipile_connect"

    def for_kind(self, kind: str) -> UnipileConnector:
        return WHATSAPP if kind == "whatsapp" else LINKEDIN

    # --- configuration ----------------------------------------------------------------
    def validate(self, config: dict[str, Any], need_account: bool = True) -> ChannelSetup:
        version = str(config.get("api_version") or "v2").strip().lower()
        if version not in API_VERSIONS:
            raise ConfigError('api_version must be "v2" or "v1"')
        names = (["dsn"] if version == "v1" else []) + ["api_key"]
        require(config, *names, *(["account_id"] if need_account else []))
        dsn = dsn_root(str(config.get("dsn") or V2_DEFAULT_BASE))
        parts = urlsplit(dsn)
        if not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ConfigError(
                "dsn must be a host (and port) such as https://api1.unipile.com:13111"
            )
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ConfigError("dsn has an invalid port") from None
        require_public_host("dsn", parts.hostname, port)
        network = str(config.get("network") or self.kind).strip().lower()
        if network not in NETWORKS:
            raise ConfigError('network must be "linkedin" or "whatsapp"')
        if network != self.kind:
            raise ConfigError(f'network "{network}" does not match kind "{self.kind}"')
        days = config.get("backfill_days", DEFAULT_BACKFILL_DAYS)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
            raise ConfigError("backfill_days must be a whole number from 0 to 365")
        api_key = str(config["api_key"]).strip()
        if not api_key.isascii() or not api_key.isprintable() or len(api_key) > 500:
            raise ConfigError("api_key must be printable ASCII, as Unipile issues it")
        account_id = str(config.get("account_id") or "").strip()
        if len(account_id) > 200:
            raise ConfigError("account_id is too long")
        return ChannelSetup(
            config={
                "dsn": dsn,
                "account_id": account_id,
                "network": network,
                "api_version": version,
                "backfill_days": days,
            },
            credentials={
                "api_key": api_key,
                "webhook_secret": secrets.token_urlsafe(32),
            },
        )

    def setup(self, config: dict[str, Any]) -> ChannelSetup:
        return self.validate(config, need_account=True)

    def client(self, channel: ChannelPort) -> UnipileClient:
        return client_for(
            api_version(channel),
            channel.config.get("dsn", ""),
            channel.credentials.get("api_key", ""),
        )

    def revoke(self, channel: ChannelPort, others: Sequence[ChannelPort] = ()) -> str:
        """v1: the account is deleted at Unipile (``DELETE /api/v1/accounts/{id}``), unless
        another live channel holds the same account. v2: Frontdesk's contract documents no
        account removal, so the account stays in Unipile's dashboard; the webhook endpoint
        this channel registered is deleted when no other live channel on the same key uses
        it."""
        account_id = str(channel.config.get("account_id") or "")
        if not account_id:
            return ""  # never given an account: nothing at Unipile
        client = self.client(channel)
        same_key = [
            o
            for o in others
            if o.config.get("dsn", "") == channel.config.get("dsn", "")
            and api_version(o) == api_version(channel)
            and o.credentials.get("api_key") == channel.credentials.get("api_key")
        ]
        try:
            if api_version(channel) == "v1":
                if any(o.config.get("account_id") == account_id for o in same_key):
                    return ""
                try:
                    client.delete_account(account_id)
                except UnipileError as exc:
                    if exc.status != 404:  # already gone at Unipile: what removing wanted
                        raise
                return f"Unipile was asked to delete the {self.kind_label} account"
            endpoint = str(channel.credentials.get("webhook_endpoint_id") or "")
            if endpoint and not any(
                o.credentials.get("webhook_endpoint_id") == endpoint for o in same_key
            ):
                try:
                    client.delete_webhook_endpoint(endpoint)
                except UnipileError as exc:
                    if exc.status != 404:
                        raise
                return (
                    "Unipile's webhook endpoint for it was deleted; the account itself stays "
                    "in your Unipile dashboard (Unipile's v2 API documents no way to remove it)"
                )
            return ""
        except UnipileUnreachable as exc:
            raise ProviderCallError(str(exc), retry=True) from None
        except UnipileError as exc:
            raise ProviderCallError(f"Unipile answered HTTP {exc.status}: {exc.message}") from None

    def normalize_handle(self, value: str) -> str:
        return value.strip()

    def handle_for_attendee(self, provider_id: str) -> str:
        """The contact handle for a Unipile attendee provider id."""
        return self.normalize_handle(provider_id)

    def attendee_for_handle(self, handle: str) -> str:
        """The attendee id Unipile expects to start a chat with this handle."""
        return handle

    def reconnect_url(self, channel: ChannelPort) -> str | None:
        """The channel's own page: its status, import progress and the Reconnect button."""
        return reverse("unipile_status", args=[channel.pk])

    # --- connecting an account: hosted auth (``connect.py``; ``web/views/connect.py``) ---
    connect_template = "connectors/unipile/connect.html"
    continue_template = "connectors/unipile/continue.html"
    waiting_template = "connectors/unipile/waiting.html"
    status_template = "connectors/unipile/status.html"
    connected_note = "its messages are being imported"
    says_connected_again = True
    connect_account_field = "account_id"

    def connect_routes(self) -> list[ConnectRoute]:
        # Unipile has the notify and return URLs of links under way: they never change.
        return [
            ConnectRoute("page", "connectors/unipile/connect/", "unipile_connect"),
            ConnectRoute(
                "continue", "connectors/unipile/continue/<int:pending_id>/", "unipile_continue"
            ),
            ConnectRoute("notify", "connectors/unipile/notify/", "unipile_notify"),
            ConnectRoute("return", "connectors/unipile/return/", "unipile_return"),
            ConnectRoute("status", "connectors/unipile/<int:channel_id>/", "unipile_status"),
            ConnectRoute(
                "reconnect", "connectors/unipile/<int:channel_id>/reconnect/", "unipile_reconnect"
            ),
        ]

    def connect_form(
        self, existing: ChannelPort | None, posted: Mapping[str, str]
    ) -> dict[str, Any]:
        return connect.form(posted)

    def connect_page_context(
        self, form: Mapping[str, Any], existing: ChannelPort | None
    ) -> dict[str, Any]:
        return connect.page_context()

    def connect_pending(self, form: Mapping[str, Any], posted: Mapping[str, str]) -> ConnectPending:
        return connect.pending(self, form, posted)

    def reconnect_pending(self, channel: ChannelPort) -> ConnectPending:
        return connect.reconnect_pending(channel)

    def left_connecting(self, channel: ChannelPort) -> bool:
        """Channels left "Connecting" by the flow before pending connections (one per
        attempt, never given an account)."""
        return not channel.config.get("account_id")

    def redirect_begin(self, pending: PendingValues, urls: Mapping[str, str]) -> ConnectRedirect:
        return connect.begin(pending, urls)

    def redirect_refusal(
        self, params: Mapping[str, str], label: str, pending: PendingValues | None = None
    ) -> ConnectRefused | None:
        return connect.refusal(params, self.kind_label, pending)

    def notify_awaited(self, pending: PendingValues) -> bool:
        return connect.version(pending) == "v1"

    def redirect_complete(
        self, params: Mapping[str, str], pending: PendingValues, urls: Mapping[str, str]
    ) -> ChannelSetup:
        return connect.complete(params, pending, self.kind_label)

    def notify_read(self, params: Mapping[str, str], body: bytes) -> ConnectNotice:
        return connect.notice(params, body)

    def notify_complete(self, notice: ConnectNotice, pending: PendingValues) -> ChannelSetup:
        return connect.notice_complete(notice, pending)

    def status_context(self, channel: ChannelPort) -> dict[str, Any]:
        return {"backfill": (channel.sync_state or {}).get("backfill") or {}}

    # --- outbound ---------------------------------------------------------------------
    def send(
        self, channel: ChannelPort, message: OutboundMessage, parts_sent: PartsSent
    ) -> SendResult:
        client = self.client(channel)
        account_id = channel.config.get("account_id", "")
        files = []
        for a in message.attachments:
            try:
                files.append((a.name, Path(a.path).read_bytes(), a.content_type))
            except OSError as exc:
                raise PermanentSendError(f"attachment {a.name} cannot be read: {exc}") from None
        chat_id = message.thread_key
        # Unipile chat ids never hold a colon; Frontdesk's own thread keys for a conversation
        # without a chat yet do ("linkedin:<id>", "phone:<e164>"): start the chat then.
        try:
            if not chat_id or ":" in chat_id:
                if not message.to_handle:
                    raise PermanentSendError("the contact has no handle on this channel")
                data = client.start_chat(
                    account_id, self.attendee_for_handle(message.to_handle), message.text, files
                )
                # the chat we started becomes the conversation's thread (the outbox adopts it)
                started = str(data.get("chat_id") or "")
            else:
                started = ""
                data = client.send_message(
                    account_id, chat_id, message.text, files, quote_id=message.reply_to_provider_id
                )
        except UnipileUnreachable as exc:
            raise TransientSendError(str(exc)) from None
        except UnipileError as exc:
            if exc.status in (401, 403):
                raise ReconnectNeeded(f"Unipile refused the account: {exc.message}") from None
            if exc.status == 429 or exc.status >= 500:
                raise TransientSendError(
                    f"Unipile answered HTTP {exc.status}: {exc.message}",
                    retry_after=retry_after_seconds(exc.retry_after),
                ) from None
            raise PermanentSendError(f"Unipile refused the message: {exc.message}") from None
        ids = message_ids(data)
        if len(ids) > 1:  # v2: "some providers send attachments separately from the text"
            parts_sent(ids)
        return SendResult(provider_id=ids[0] if ids else None, thread_key=started)

    # --- inbound ----------------------------------------------------------------------

    def webhook_recipient(
        self, channel: ChannelPort, item: InboundMessage
    ) -> InboundMessage | None:
        """v2: a message the account sent in a chat never seen here goes to the chat's 1to1
        participant, asked of Unipile (``GET /v2/{account_id}/chats/{chat_id}``). v1 events
        name the attendees when they can: nobody is asked."""
        if api_version(channel) != "v2":
            return None
        try:
            chat = self.client(channel).get_chat(channel.config["account_id"], item.thread_key)
        except (UnipileError, UnipileUnreachable) as exc:
            why = f"Unipile could not be asked about the chat: {exc}"
            raise WebhookAnswer(503, {"error": why}) from None
        handle, name, profile = chat_participant(chat)
        if not handle:
            return None
        if not self.handle_for_attendee(handle):
            raise WebhookAnswer.unreadable(
                f"{handle[:40]!r} is not a valid {self.handle_kind} handle"
            )
        return replace(
            item,
            handle=self.handle_for_attendee(handle),
            contact_name=name,
            profile=profile_links(profile),
            extra={**item.extra, "unipile": {**item.extra["unipile"], **profile}},
        )

    # --- the webhook door (``inbox/webhooks.py``; deliveries read in ``webhook.py``) ----
    webhook_path = "webhooks/unipile/"
    webhook_name = "unipile_webhook"
    webhook_route_field = "account_id"
    webhook_route_label = "account"

    def webhook_keys(self, request: WebhookRequest) -> dict[str, str] | None:
        return webhook.keys(request)

    def webhook_signed_by(self, channel: ChannelPort, request: WebhookRequest) -> bool:
        return webhook.signed_by(channel, request)

    def webhook_unrouted(self, request: WebhookRequest) -> WebhookAnswer:
        if request.query.get(webhook.TOKEN_PARAM):  # one v2 endpoint hears every account of the app
            return super().webhook_unrouted(request)
        return WebhookAnswer.unsigned("unknown account or wrong secret")  # v1: per account

    def webhook_split(self, request: WebhookRequest) -> list[tuple[str, Any]]:
        return webhook.split(request)

    def webhook_events(self, channel: ChannelPort, part: Any) -> InboundEvents:
        connector = channel.connector  # the variant of the channel's network (its handles)
        if connector is not self:
            return connector.webhook_events(channel, part)
        try:
            if api_version(channel) == "v2":
                return webhook.v2_events(self, part)
            return webhook.v1_events(self, part)
        except MalformedEvent as exc:
            raise WebhookAnswer.unreadable(str(exc)) from None

    def fetch_attachments(self, channel: ChannelPort, item: InboundMessage) -> None:
        """Download the attachments an item refers to, from the channel's DSN only."""
        refs = item.extra.get("unipile", {}).get("attachments") or []
        limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
        client = self.client(channel)
        account_id = channel.config.get("account_id", "")
        chat_id = item.extra.get("unipile", {}).get("chat_id") or item.thread_key
        skipped = []
        for ref in refs:
            if ref.get("size") and ref["size"] > limit:
                skipped.append(f"{ref['name']}: {ref['size']} bytes is over the {limit}-byte limit")
                continue
            try:
                data = client.download_attachment(
                    account_id, chat_id, item.provider_id, ref["id"], limit
                )
            except AttachmentTooBig:
                skipped.append(f"{ref['name']}: over the {limit}-byte limit")
                continue
            except UnipileError as exc:
                if exc.status < 400 or exc.status in (404, 410, 413, 422):
                    skipped.append(f"{ref['name']}: not available ({exc.message})")
                    continue
                raise
            item.attachments.append(InboundAttachment(ref["name"], ref["mimetype"], data))
        if skipped:
            item.extra["skipped_attachments"] = skipped

    def enrich(self, channel: ChannelPort, handle: str) -> ProfileUpdate | None:
        """A LinkedIn contact's full profile (headline, company, picture, profile URL)."""
        try:
            profile = self.client(channel).user_profile(handle, channel.config["account_id"])
        except UnipileUnreachable:
            raise
        except UnipileError as exc:
            if exc.status == 429 or exc.status >= 500:
                raise
            log.info("no profile for %s: %s", handle, exc.message)
            return None
        return profile_update(profile, api_version(channel) == "v2")

    # --- webhooks registration and backfill ----------------------------------------------
    def register_webhooks(
        self,
        channel: ChannelPort,
        client: UnipileClient,
        siblings: Callable[[Mapping[str, Any]], list[dict[str, Any]]] = lambda config: [],
    ) -> tuple[list[str], SyncPage]:
        """Make sure Unipile posts this account's messages and status to Frontdesk
        (``sync.register_webhooks``)."""
        return sync.register_webhooks(self, channel, client, siblings)

    def sync_pages(self, channel: ChannelPort, run: SyncRun) -> Iterator[SyncPage]:
        return sync.pages(self, channel, run)


# Unipile's standard attachment limit, whatever the network.
UNIPILE_FILES = (AttachmentRule(("*/*",), 15 * 1024 * 1024, "files up to 15 MB"),)


class UnipileLinkedInConnector(UnipileConnector):
    label = "LinkedIn (Unipile)"
    kind_label = "LinkedIn"
    # LinkedIn refuses a message over 8,000 characters (Unipile: errors/too_many_characters).
    capabilities = Capabilities(
        attachments=True, sync=True, text_limit=8000, attachment_rules=UNIPILE_FILES
    )


class UnipileWhatsAppConnector(UnipileConnector):
    kind = "whatsapp"
    label = "WhatsApp by QR code (Unipile)"
    kind_label = "WhatsApp"
    handle_kind = "phone"
    capabilities = Capabilities(
        attachments=True, sync=True, markup="whatsapp", attachment_rules=UNIPILE_FILES
    )

    def normalize_handle(self, value: str) -> str:
        """E.164: ``33612345678@s.whatsapp.net`` and ``+33 6 12 34 56 78`` both give ``+33612345678``."""
        value = value.strip().split("@", 1)[0]
        digits = re.sub(r"\D", "", value)
        if value.startswith("00"):
            digits = digits[2:]
        return f"+{digits}" if 6 <= len(digits) <= 15 else ""

    def handle_for_attendee(self, provider_id: str) -> str:
        return self.normalize_handle(provider_id)

    def attendee_for_handle(self, handle: str) -> str:
        return handle.lstrip("+") + "@s.whatsapp.net"


LINKEDIN = UnipileLinkedInConnector()
WHATSAPP = UnipileWhatsAppConnector()


# What FRONTDESK_CONNECTORS loads from this package (connectors/registry.py).
CONNECTORS = [UnipileConnector()]
