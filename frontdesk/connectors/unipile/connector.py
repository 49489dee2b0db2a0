"""LinkedIn and WhatsApp (by QR code) through Unipile's API, v2 or v1.

One connector serves both kinds: ``config["network"]`` picks LinkedIn (handles are
LinkedIn provider ids) or WhatsApp (handles are E.164 phone numbers). ``config
["api_version"]`` picks Unipile's API: ``"v2"`` (the default for new connections) or
``"v1"`` (a channel saved without the key is v1). The version changes the client
(``client.py``: paths, bodies, pages) and the objects read: v1 webhook bodies and listed
messages (``parse_event``, ``item_from_listed``) against v2 Message and Chat objects
(``item_from_v2``); ingest, backfill, send, error mapping and status handling are shared.

Inbound traffic arrives on ``POST /webhooks/unipile/`` (see ``views.py``): v1 webhooks
carry a per-channel secret header Frontdesk registered; v2 endpoints cannot carry custom
headers, and Unipile does not document how it signs v2 deliveries, so the endpoint is
registered with a secret token in its URL (``webhook_url``) and deliveries without it are
refused. ``sync`` registers the webhooks and backfills recent chats; ``send`` posts to the
chat or starts a new chat.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from frontdesk.connectors.base import (
    UNKNOWN_TOTAL,
    AttachmentRule,
    Capabilities,
    ChannelSetup,
    ChannelStateChange,
    ConfigError,
    Connector,
    InboundAttachment,
    InboundEvents,
    InboundMessage,
    OutboundMessage,
    PartsSent,
    PermanentSendError,
    ProfileUpdate,
    ProviderCallError,
    Reaction,
    ReconnectNeeded,
    SendResult,
    StatusUpdate,
    SyncPage,
    SyncRun,
    TransientSendError,
    WebhookAnswer,
    WebhookRequest,
    require,
    require_public_host,
)
from frontdesk.connectors.http import json_object, retry_after_seconds
from frontdesk.connectors.unipile.client import (
    SECRET_HEADER as SECRET_HEADER,  # re-exported: views and tests read it here
)
from frontdesk.connectors.unipile.client import (
    V2_DEFAULT_BASE,
    AttachmentTooBig,
    UnipileClient,
    UnipileError,
    UnipileUnreachable,
    client_for,
    dsn_root,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.urls import URLPattern, URLResolver

    from frontdesk.inbox.models import ChannelAccount

log = logging.getLogger("frontdesk.unipile")

API_VERSIONS = ("v2", "v1")
NETWORKS = {"linkedin": "LINKEDIN", "whatsapp": "WHATSAPP"}
DEFAULT_BACKFILL_DAYS = 30
TOKEN_PARAM = "token"  # v2: the secret token in the registered endpoint URL
_DUMMY_SECRET = secrets.token_urlsafe(32)  # compared when a channel has none: same timing


class MalformedEvent(ValueError):
    """A webhook body that cannot be understood (answered with 400)."""


def webhook_url(token: str = "") -> str:
    """Where Unipile posts: v2 endpoints carry their secret token in the URL."""
    base = f"{settings.BASE_URL}/webhooks/unipile/"
    return f"{base}?{TOKEN_PARAM}={token}" if token else base


def token_key(token: str) -> str:
    """What is stored in the (public) config to find the channels of a v2 endpoint token."""
    return hashlib.sha256(token.encode()).hexdigest()


def api_version(channel: ChannelAccount) -> str:
    """The channel's Unipile API version; channels saved before v2 existed are v1."""
    return "v2" if (channel.config or {}).get("api_version") == "v2" else "v1"


# v2 account events (https://developer.unipile.com/v2.0/reference/event-types-1 and
# /v2.0/docs/migration-webhooks) in the v1 vocabulary of ACCOUNT_STATES.
V2_STATUS = {
    "account.status.running": "OK",
    "account.status.disconnected": "CREDENTIALS",
    "account.status.errored": "ERROR",
    "account.status.paused": "PAUSED",
    "account.remove": "DELETED",
}

# Unipile's account statuses (v1 vocabulary) as the channel's state and the error shown.
ACCOUNT_STATES = {
    "OK": ("connected", ""),
    "SYNC_SUCCESS": ("connected", ""),
    "RECONNECTED": ("connected", ""),
    "CREATION_SUCCESS": ("connected", ""),
    "CREDENTIALS": ("needs_reconnect", "Unipile lost the account's session: reconnect it"),
    "ERROR": ("error", "Unipile stopped syncing the account after an error"),
    "STOPPED": ("error", "Unipile stopped syncing the account"),
    "PAUSED": ("error", "Unipile paused the account: no active Unipile subscription"),
    "PERMISSIONS": (
        "needs_reconnect",
        "Unipile lacks a permission it needs on the account: reconnect it",
    ),
    "CREATION_FAIL": ("error", "Unipile could not add the account"),
    "CONNECTING": ("connecting", ""),
    "DELETED": ("disconnected", "the account was deleted in Unipile"),
}


def iso_ms(value: datetime) -> str:
    """Unipile's datetime filter format: ``YYYY-MM-DDTHH:MM:SS.sssZ``."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _str(value: Any, limit: int = 500) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def attachment_refs(value: Any, v2: bool = False) -> list[dict[str, Any]]:
    """Attachment descriptors from a v1 webhook (one object or a list, flags as strings) or
    listed message (``file_name``, ``unavailable``), or from a v2 Message (``filename``,
    ``is_unavailable``)."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    name_key, unavailable_key = (
        ("filename", "is_unavailable") if v2 else ("file_name", "unavailable")
    )
    refs: list[dict[str, Any]] = []
    for item in items[:20]:
        if not isinstance(item, dict) or not _str(item.get("id")):
            continue
        if str(item.get(unavailable_key)).lower() == "true":
            continue
        att_id = _str(item["id"])
        mimetype = _str(item.get("mimetype"), 200) or "application/octet-stream"
        name = _str(item.get(name_key), 200)
        if not name:
            ext = mimetype.split("/")[-1].split(";")[0] if "/" in mimetype else "bin"
            name = f"{_str(item.get('type'), 20) or 'file'}-{len(refs) + 1}.{ext}"
        size = item.get("file_size")
        refs.append(
            {
                "id": att_id,
                "name": name,
                "mimetype": mimetype,
                "size": int(size) if isinstance(size, int | float) else None,
            }
        )
    return refs


def chat_activity(chat: dict[str, Any]) -> datetime | None:
    """When a listed chat was last active: v1 ``timestamp``, v2 ``last_message_timestamp``
    (else ``updated_at``; v2 chats have no ``timestamp``)."""
    for key in ("timestamp", "last_message_timestamp", "updated_at"):
        found = parse_time(chat.get(key))
        if found:
            return found
    return None


def _v2_person(user: Any) -> tuple[str, str, dict[str, str]]:
    """A v2 User object's id, display name and profile links."""
    if not isinstance(user, dict):
        return "", "", {}
    profile = {
        "profile_url": _str(user.get("profile_url"), 1000),
        "picture_url": _str(user.get("public_picture_url"), 1000),
    }
    return (
        _str(user.get("id"), 320),
        _str(user.get("display_name"), 300),
        {k: v for k, v in profile.items() if v},
    )


def _profile_links(profile: dict[str, str]) -> ProfileUpdate | None:
    """A sender's picture and profile link as a message shows them (blanks filled)."""
    picture, url = profile.get("picture_url") or "", profile.get("profile_url") or ""
    return ProfileUpdate(picture=picture, url=url) if picture or url else None


class UnipileConnector(Connector):
    provider = "unipile"
    kind = "linkedin"
    kinds = ("linkedin", "whatsapp")
    label = "LinkedIn or WhatsApp by QR code (Unipile)"
    handle_kind = "linkedin"
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

    def client(self, channel: ChannelAccount) -> UnipileClient:
        return client_for(
            api_version(channel),
            channel.config.get("dsn", ""),
            channel.credentials.get("api_key", ""),
        )

    def revoke(self, channel: ChannelAccount, others: Sequence[ChannelAccount] = ()) -> str:
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

    def reconnect_url(self, channel: ChannelAccount) -> str | None:
        """The channel's own page: its status, import progress and the Reconnect button."""
        from django.urls import reverse

        return reverse("unipile_status", args=[channel.pk])

    def urlpatterns(self) -> list[URLPattern | URLResolver]:
        from frontdesk.connectors.unipile import views

        return views.urlpatterns()

    # --- outbound ---------------------------------------------------------------------
    def send(
        self, channel: ChannelAccount, message: OutboundMessage, parts_sent: PartsSent
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
        ids = _message_ids(data)
        if len(ids) > 1:  # v2: "some providers send attachments separately from the text"
            parts_sent(ids)
        return SendResult(provider_id=ids[0] if ids else None, thread_key=started)

    # --- inbound ----------------------------------------------------------------------
    def parse_event(self, channel: ChannelAccount, event: dict[str, Any]) -> InboundMessage:
        """A ``message_received`` webhook as an ``InboundMessage`` (attachments not yet fetched)."""
        message_id = _str(event.get("message_id"))
        chat_id = _str(event.get("chat_id"))
        if not message_id or not chat_id:
            raise MalformedEvent("message_id and chat_id are required")
        sender = event.get("sender")
        if not isinstance(sender, dict):
            raise MalformedEvent("sender must be an object")
        sender_id = _str(sender.get("attendee_provider_id"), 320)
        if not sender_id:
            raise MalformedEvent("sender.attendee_provider_id is required")
        text = event.get("message")
        if text is not None and not isinstance(text, str):
            raise MalformedEvent("message must be a string")
        info = event.get("account_info") if isinstance(event.get("account_info"), dict) else {}
        owner = _str((info or {}).get("user_id"), 320)
        outbound = event.get("is_sender") in (True, 1, "true", "1") or (
            bool(owner) and sender_id == owner
        )
        name = _str(sender.get("attendee_name"), 300)
        profile = {
            "profile_url": _str(sender.get("attendee_profile_url"), 1000),
            "picture_url": _str(sender.get("attendee_picture_url"), 1000),
        }
        if outbound:
            other = None
            attendees = event.get("attendees")
            for attendee in attendees if isinstance(attendees, list) else []:
                if not isinstance(attendee, dict):
                    continue
                pid = _str(attendee.get("attendee_provider_id"), 320)
                if pid and pid not in (sender_id, owner):
                    other = attendee
                    break
            if other is not None:
                handle = _str(other.get("attendee_provider_id"), 320)
                name = _str(other.get("attendee_name"), 300)
                profile = {"profile_url": _str(other.get("attendee_profile_url"), 1000)}
            else:  # no other attendee named: the chat's own conversation knows them
                handle = self.recipient_of_sent(channel, chat_id, text or "")
                name, profile = "", {}
                if not handle:
                    raise MalformedEvent("no recipient known for a sent message")
        else:
            handle = sender_id
        if not self.handle_for_attendee(handle):
            raise MalformedEvent(f"{handle[:40]!r} is not a valid {self.handle_kind} handle")
        quoted = event.get("quoted") if isinstance(event.get("quoted"), dict) else {}
        return InboundMessage(
            provider_id=message_id,
            handle=self.handle_for_attendee(handle),
            text=text or "",
            contact_name=name,
            thread_key=chat_id,
            reply_to_provider_id=_str((quoted or {}).get("id")),
            sent_at=parse_time(event.get("timestamp")),
            outbound=outbound,
            profile=_profile_links(profile),
            extra={
                "unipile": {
                    "chat_id": chat_id,
                    "attachments": attachment_refs(event.get("attachments")),
                    **{k: v for k, v in profile.items() if v},
                }
            },
        )

    def parse_v2_event(self, channel: ChannelAccount, event: dict[str, Any]) -> InboundMessage:
        """A v2 ``message.new`` Event (its payload is the Message object: V2EV, V2MIG)."""
        payload = event.get("payload")
        if not isinstance(payload, dict):
            raise MalformedEvent("payload must be an object")
        return self.item_from_v2(channel, payload)

    def item_from_v2(
        self, channel: ChannelAccount, message: dict[str, Any], chat: dict[str, Any] | None = None
    ) -> InboundMessage:
        """A v2 Message object (webhook payload or listed message) as an ``InboundMessage``.

        Fields (unipile-python ``GetMessagesList200ResponseDataInner``): ``id``, ``chat_id``,
        ``sender_id``, ``text``, ``timestamp``, ``is_sender``, ``sender`` (a User:
        ``display_name``, ``profile_url``, ``public_picture_url``), ``attachments``
        (``filename``, ``is_unavailable``), ``quoted``. A message the account sent goes to
        the chat's 1to1 participant: the listed ``chat``'s ``user_id`` and ``user``, else
        the chat's conversation here, else ``GET /v2/{account_id}/chats/{chat_id}``.
        """
        message_id = _str(message.get("id"))
        chat_id = _str(message.get("chat_id")) or _str((chat or {}).get("id"))
        if not message_id or not chat_id:
            raise MalformedEvent("payload.id and payload.chat_id are required")
        text = message.get("text")
        if text is not None and not isinstance(text, str):
            raise MalformedEvent("payload.text must be a string")
        sender_id, name, profile = _v2_person(message.get("sender"))
        sender_id = _str(message.get("sender_id"), 320) or sender_id
        outbound = message.get("is_sender") is True
        if outbound:
            handle, name, profile = "", "", {}
            if chat is None:
                handle = self.recipient_of_sent(channel, chat_id, None)
                if not handle:
                    chat = self.client(channel).get_chat(channel.config["account_id"], chat_id)
            if chat is not None:
                handle, name, profile = _v2_person(chat.get("user"))
                handle = _str(chat.get("user_id"), 320) or handle
            if not handle:
                raise MalformedEvent("no recipient known for a sent message")
        else:
            handle = sender_id
            if not handle:
                raise MalformedEvent("payload.sender_id is required")
        if not self.handle_for_attendee(handle):
            raise MalformedEvent(f"{handle[:40]!r} is not a valid {self.handle_kind} handle")
        quoted = message.get("quoted") if isinstance(message.get("quoted"), dict) else {}
        return InboundMessage(
            provider_id=message_id,
            handle=self.handle_for_attendee(handle),
            text=text or "",
            contact_name=name,
            thread_key=chat_id,
            reply_to_provider_id=_str((quoted or {}).get("id")),
            sent_at=parse_time(message.get("timestamp")),
            outbound=outbound,
            delivery=_seen(message) if outbound else "",
            profile=_profile_links(profile),
            extra={
                "unipile": {
                    "chat_id": chat_id,
                    "attachments": attachment_refs(message.get("attachments"), v2=True),
                    **profile,
                }
            },
        )

    def recipient_of_sent(self, channel: ChannelAccount, chat_id: str, text: str | None) -> str:
        """Who a message sent from the account went to, when the event does not say: the
        chat's conversation, else (``text`` given) the conversation of a reply being sent
        right now with that text (our own new chat echoed before the send answered)."""
        from frontdesk.inbox.actions.delivery import sending_match
        from frontdesk.inbox.models import Conversation

        conversation = (
            Conversation.objects.filter(channel=channel, thread_key=chat_id)
            .select_related("contact")
            .first()
        )
        if conversation is None and text is not None:
            echo = InboundMessage(provider_id="", handle="", text=text, thread_key=chat_id)
            sending = sending_match(channel, echo)
            conversation = sending.conversation if sending else None
        if conversation is not None:
            found = conversation.contact.handles.filter(kind=self.handle_kind).first()
            if found:
                return found.value
        return ""

    def parse_webhook_message(
        self, channel: ChannelAccount, body: dict[str, Any]
    ) -> InboundMessage:
        """A new-message webhook body of the channel's version."""
        if api_version(channel) == "v2":
            return self.parse_v2_event(channel, body)
        return self.parse_event(channel, body)

    # --- the webhook door (``inbox/webhooks.py``) --------------------------------------
    # v2: an Event ``{id, created_at, account_id, type, payload}`` posted to the endpoint URL
    # Frontdesk registered, whose ``token`` names the endpoint's channels (Unipile signs v2
    # deliveries but documents neither the header nor the scheme: the token is relied on).
    # v1: ``message_received``/``message_read``/``message_reaction`` and ``AccountStatus``
    # bodies carrying the secret header Frontdesk registered for the channel. Either way the
    # body's ``account_id`` picks the channel among those the token or secret names.
    webhook_path = "webhooks/unipile/"
    webhook_name = "unipile_webhook"
    webhook_route_field = "account_id"
    webhook_route_label = "account"

    def webhook_keys(self, request: WebhookRequest) -> dict[str, str] | None:
        token = request.query.get(TOKEN_PARAM, "")
        if token:
            if len(token) > 200:
                raise WebhookAnswer.unsigned("unknown webhook token")
            return {"api_version": "v2", "webhook_key": token_key(token)}
        if not request.headers.get(SECRET_HEADER, ""):
            raise WebhookAnswer.unsigned(
                f"missing {SECRET_HEADER} header (v1) or endpoint token (v2)"
            )
        return {}  # v1: the secret is compared with every v1 channel's, in constant time

    def webhook_signed_by(self, channel: ChannelAccount, request: WebhookRequest) -> bool:
        token = request.query.get(TOKEN_PARAM, "")
        if token:
            expected = str(channel.config.get("webhook_key") or "")
            return api_version(channel) == "v2" and hmac.compare_digest(
                expected.encode(), token_key(token).encode()
            )
        if api_version(channel) == "v2":
            return False  # a v2 channel takes its endpoint's deliveries only
        expected = str(channel.credentials.get("webhook_secret") or _DUMMY_SECRET)
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(expected.encode(), given.encode())

    def webhook_unrouted(self, request: WebhookRequest) -> WebhookAnswer:
        if request.query.get(TOKEN_PARAM):  # one v2 endpoint hears every account of the app
            return super().webhook_unrouted(request)
        return WebhookAnswer.unsigned("unknown account or wrong secret")  # v1: per account

    def webhook_split(self, request: WebhookRequest) -> list[tuple[str, Any]]:
        if request.method != "POST":
            raise WebhookAnswer(405, {"error": "POST only"})
        try:
            body = json_object(request.body)
        except ValueError as exc:
            raise WebhookAnswer.unreadable(str(exc)) from None
        status = body.get("AccountStatus")
        account_id = (status if isinstance(status, dict) else body).get("account_id")
        if not isinstance(account_id, str) or not account_id or len(account_id) > 200:
            raise WebhookAnswer.unreadable("account_id is required")
        return [(account_id, body)]

    def webhook_events(self, channel: ChannelAccount, part: Any) -> InboundEvents:
        connector = channel.connector  # the variant of the channel's network (its handles)
        if connector is not self:
            return connector.webhook_events(channel, part)
        try:
            if api_version(channel) == "v2":
                return self._v2_events(channel, part)
            return self._v1_events(channel, part)
        except MalformedEvent as exc:
            raise WebhookAnswer.unreadable(str(exc)) from None
        except (UnipileError, UnipileUnreachable) as exc:  # looking up a sent message's chat
            why = f"Unipile could not be asked about the chat: {exc}"
            raise WebhookAnswer(503, {"error": why}) from None

    def _v2_events(self, channel: ChannelAccount, body: dict[str, Any]) -> InboundEvents:
        kind = body.get("type")
        if not isinstance(kind, str):
            raise MalformedEvent("type is required")
        if kind in V2_STATUS:
            return InboundEvents(channel_states=[self.account_state(kind)])
        if kind == "message.new":
            return InboundEvents(messages=[self._pushed(self.parse_v2_event(channel, body))])
        if kind == "message.receipt.read":
            # v2 read events carry ids only (migration-webhooks: "Reduced Event Payload");
            # the key naming the message is not documented: ``message_id`` is read, and an
            # event without it is refused loudly rather than guessed at.
            payload = body.get("payload")
            message_id = payload.get("message_id") if isinstance(payload, dict) else None
            if not isinstance(message_id, str) or not message_id:
                keys = (
                    sorted(str(k)[:40] for k in payload)[:20] if isinstance(payload, dict) else []
                )
                log.error("unipile v2 read event without payload.message_id: keys %s", keys)
                raise MalformedEvent("payload.message_id is required")
            return InboundEvents(statuses=[StatusUpdate(message_id, "read")])
        # "We may add more types at any time" (event-types-1): acknowledge and move on.
        raise WebhookAnswer.ignored(kind[:50])

    def _v1_events(self, channel: ChannelAccount, body: dict[str, Any]) -> InboundEvents:
        status = body.get("AccountStatus")
        if isinstance(status, dict):
            message = status.get("message")
            if not isinstance(message, str):
                raise MalformedEvent("AccountStatus.message is required")
            return InboundEvents(channel_states=[self.account_state(message)])
        event = body.get("event")
        if event == "message_received":
            return InboundEvents(messages=[self._pushed(self.parse_event(channel, body))])
        if event == "message_reaction":
            message_id, who = _str(body.get("message_id")), body.get("reaction_sender")
            if not message_id or not isinstance(who, dict):
                raise MalformedEvent("message_id and reaction_sender are required")
            reaction = Reaction(
                message_id=message_id,
                by=_str(who.get("attendee_provider_id"), 320),
                emoji=_str(body.get("reaction"), 32),  # empty: the sender took it back
                at=None,
                name=_str(who.get("attendee_name"), 300),
            )
            return InboundEvents(reactions=[reaction])
        if event == "message_read":
            read = body.get("message_id")
            if not isinstance(read, str) or not read:
                raise MalformedEvent("message_id is required")
            return InboundEvents(statuses=[StatusUpdate(read, "read")])
        raise WebhookAnswer.ignored(str(event)[:50])

    def _pushed(self, item: InboundMessage) -> InboundMessage:
        """A pushed message: its attachments are downloaded before it is stored, and a new
        LinkedIn sender's profile is read once (not during the backfill: LinkedIn limits
        profile views)."""
        item.fetch_first = bool(item.extra["unipile"]["attachments"])
        item.enrich = self.handle_kind == "linkedin"
        return item

    def fetch_attachments(self, channel: ChannelAccount, item: InboundMessage) -> None:
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

    def account_state(self, status: str) -> ChannelStateChange:
        """An account status event (v1 ``AccountStatus.message``, v2 event type) as a value."""
        status = V2_STATUS.get(status, status).upper()
        if status not in ACCOUNT_STATES:
            raise MalformedEvent(f"unknown account status {status!r}")
        return ChannelStateChange(*ACCOUNT_STATES[status])

    def enrich(self, channel: ChannelAccount, handle: str) -> ProfileUpdate | None:
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
        channel: ChannelAccount,
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

    def sync_pages(self, channel: ChannelAccount, run: SyncRun) -> Iterator[SyncPage]:
        """Register the webhooks once, then backfill the window, page by page; the cursor
        (``sync_state``) holds the webhook ids and the backfill's position."""
        if not channel.config.get("account_id"):
            return
        state = copy.deepcopy(dict(run.cursor))
        client = self.client(channel)
        try:
            # v2 channels registered before the endpoint token existed register again.
            unregistered = api_version(channel) == "v2" and not channel.config.get("webhook_key")
            if not state.get("webhooks") or unregistered:
                state["webhooks"], page = self.register_webhooks(channel, client, run.siblings)
                page.cursor, page.synced = copy.deepcopy(state), True
                yield page
            if (state.get("backfill") or {}).get("status") != "done":
                yield from Backfill(self, channel, client, state, run.known).pages()
                yield SyncPage(recovered=True)  # the failed attempt is behind us
        except UnipileUnreachable as exc:
            raise _sync_error(channel, str(exc)) from None
        except UnipileError as exc:
            if exc.status in (401, 403):
                error = f"Unipile refused the account: {exc.message}"
                raise _sync_error(channel, error, reconnect=True) from None
            raise _sync_error(
                channel, f"Unipile answered HTTP {exc.status}: {exc.message}"
            ) from None

    # --- the backfill's view of one listed message ------------------------------------------
    def listed_item(
        self,
        channel: ChannelAccount,
        chat: dict[str, Any],
        message: dict[str, Any],
        people: dict[str, dict[str, Any]],
    ) -> InboundMessage | None:
        """One listed message of a listed chat, in the channel's version (None: unusable)."""
        if api_version(channel) == "v1":
            return self.item_from_listed(chat, message, people)
        try:
            return self.item_from_v2(channel, message, chat)
        except MalformedEvent as exc:
            log.warning("backfill skipped a v2 message of chat %s: %s", chat.get("id"), exc)
            return None

    def item_from_listed(
        self, chat: dict[str, Any], message: dict[str, Any], people: dict[str, dict[str, Any]]
    ) -> InboundMessage | None:
        """A v1 listed message (``GET /chats/{id}/messages``) of a v1 listed chat."""
        message_id = _str(message.get("id"))
        sender_id = _str(message.get("sender_id"), 320)
        if not message_id:
            return None
        outbound = message.get("is_sender") in (True, 1, "true", "1")
        if outbound:
            others = [p for p, a in people.items() if not a.get("is_self")]
            handle = others[0] if others else _str(chat.get("attendee_provider_id"), 320)
        else:
            handle = sender_id
        if not handle:
            return None
        person = people.get(handle, {})
        text = message.get("text")
        quoted = message.get("quoted") if isinstance(message.get("quoted"), dict) else {}
        return InboundMessage(
            provider_id=message_id,
            handle=self.handle_for_attendee(handle),
            text=text if isinstance(text, str) else "",
            contact_name=_str(
                person.get("name")
                or (
                    chat.get("name")
                    if handle == _str(chat.get("attendee_provider_id"), 320)
                    else ""
                ),
                300,
            ),
            thread_key=_str(chat.get("id")),
            reply_to_provider_id=_str((quoted or {}).get("id")),
            sent_at=parse_time(message.get("timestamp")),
            outbound=outbound,
            delivery=_seen(message) if outbound else "",
            profile=_profile_links(
                {k: _str(person.get(k), 1000) for k in ("profile_url", "picture_url")}
            ),
            extra={
                "unipile": {
                    "chat_id": _str(chat.get("id")),
                    "attachments": attachment_refs(message.get("attachments")),
                    **(
                        {"profile_url": _str(person.get("profile_url"), 1000)}
                        if person.get("profile_url")
                        else {}
                    ),
                    **(
                        {"picture_url": _str(person.get("picture_url"), 1000)}
                        if person.get("picture_url") and not outbound
                        else {}
                    ),
                }
            },
        )


def _seen(message: dict[str, Any]) -> str:
    """A message the account sent, as Unipile lists it: "read" when the other side has seen
    it (v2 ``is_seen``; v1 ``seen``, which for a sent message means read by the recipient,
    where the network tells), "delivered" when v2 says ``is_delivered``, else "" (sent)."""
    if message.get("is_seen") is True or message.get("seen") in (True, 1, "1", "true"):
        return "read"
    return "delivered" if message.get("is_delivered") is True else ""


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

    def __init__(self, connector, channel, client, state, known=lambda ids: set()):
        self.connector = connector
        self.channel = channel
        self.client = client
        self.state = state
        self.known: Callable[[Sequence[str]], set[str]] = known
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
                chat_id = _str(chat.get("id"))
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
        chat_id = _str(chat.get("id"))
        if not chat_id:
            return
        account_id = self.channel.config["account_id"]
        people = {
            _str(a.get("provider_id"), 320): a
            for a in self.client.chat_attendees(account_id, chat_id)
            if _str(a.get("provider_id"), 320)
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
            known = self.known([_str(m.get("id")) for m in listed])
            older = 0  # newest first: a page all before the window ends the chat (v2 has no
            # ``after`` filter to do it for us)
            for message in listed:
                item = self.connector.listed_item(self.channel, chat, message, people)
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
    channel: ChannelAccount, siblings: Callable[[Mapping[str, Any]], list[dict[str, Any]]]
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


def _sync_error(channel: ChannelAccount, error: str, reconnect: bool = False) -> ProviderCallError:
    """What a failed sync raises: the inbox's sync job records it on the channel."""
    log.warning("unipile channel %s: %s", channel.pk, error)
    return ProviderCallError(error, reconnect=reconnect)


def _message_ids(answer: dict[str, Any]) -> list[str]:
    """The sent message's id (v1), or ids (v2's ``message_id`` may be a list)."""
    found = answer.get("message_id")
    values = found if isinstance(found, list) else [found]
    return [str(v)[:500] for v in values if isinstance(v, str | int) and str(v)]


def profile_update(profile: dict[str, Any], v2: bool) -> ProfileUpdate:
    """What a profile says, whichever version answered. v1 (OAS1 ``GET /users/{id}``):
    ``profile_picture_url``, ``headline``, ``work_experience``; v2
    (``GetUserProfile200Response``): ``public_picture_url``, ``description`` (the headline
    LinkedIn shows under the name), no work history without sections."""
    jobs = [j for j in profile.get("work_experience") or [] if isinstance(j, dict)]
    current = next((j for j in jobs if j.get("current")), jobs[0] if jobs else None)
    public = _str(profile.get("public_identifier"), 200)
    names = (_str(profile.get("first_name"), 150), _str(profile.get("last_name"), 150))
    return ProfileUpdate(
        name=" ".join(p for p in names if p),
        picture=_str(profile.get("public_picture_url" if v2 else "profile_picture_url"), 1000),
        company=_str((current or {}).get("company"), 300),
        headline=_str(profile.get("description" if v2 else "headline"), 500),
        url=f"https://www.linkedin.com/in/{public}/" if public else "",
        location=_str(profile.get("location"), 200),
        complete=True,
    )


# What FRONTDESK_CONNECTORS loads from this package (connectors/registry.py).
CONNECTORS = [UnipileConnector()]
