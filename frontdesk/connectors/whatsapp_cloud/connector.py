"""WhatsApp through Meta's WhatsApp Business Cloud API.

Config (``POST /api/v1/channels``): ``{"phone_number_id", "waba_id", "access_token",
"app_secret", "verify_token", "graph_url"?}``. The phone number id, WABA id and Graph API
root are public config; the token, app secret and verify token are encrypted credentials.
Inbound traffic arrives at ``/webhooks/whatsapp/`` (see ``webhook.py``); media is fetched by
the inbox's ``fetch_media`` job through ``download`` (``media.py``); approved templates are synced from
``/{waba-id}/message_templates`` by ``sync.py`` (hourly).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.utils import timezone

from frontdesk.connectors.base import (
    AttachmentRule,
    Capabilities,
    ChannelSetup,
    ConfigError,
    ConnectionTried,
    ConnectPopup,
    ConnectRoute,
    Glyph,
    InboundAttachment,
    InboundEvents,
    OutboundMessage,
    OutgoingAttachment,
    PartsSent,
    PermanentSendError,
    ProviderCallError,
    ReconnectNeeded,
    ReplyContext,
    RetryPolicy,
    SendResult,
    SyncPage,
    SyncRun,
    TransientSendError,
    WebhookAnswer,
    WebhookRequest,
    require,
    require_public_host,
    require_public_http_url,
)
from frontdesk.connectors.connect_flows import PopupFlow, SavingPage
from frontdesk.connectors.whatsapp_cloud import connect, sync, webhook
from frontdesk.connectors.whatsapp_cloud.client import (
    DEFAULT_GRAPH_URL,
    Graph,
    GraphError,
    GraphUnreachable,
    check_connection,
    graph_for,
)
from frontdesk.connectors.whatsapp_cloud.media import fetch as media_fetch
from frontdesk.connectors.whatsapp_cloud.parse import e164, parse_value
from frontdesk.connectors.whatsapp_cloud.sync import (
    TEMPLATE_SALT,
    VARIABLE,
    fetch_templates,
    template_variables,
)

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

log = logging.getLogger("frontdesk.whatsapp")

WINDOW = timedelta(hours=24)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
_ID = re.compile(r"^[0-9]{1,40}$")
_MB = 1024 * 1024
# What the Cloud API takes ("Supported media types" in Meta's reference); anything else is
# refused by Meta, so the reply box refuses it first.
MEDIA_RULES = (
    AttachmentRule(("image/jpeg", "image/png"), 5 * _MB, "photos (JPEG, PNG) up to 5 MB"),
    AttachmentRule(("video/mp4", "video/3gpp"), 16 * _MB, "videos (MP4, 3GP) up to 16 MB"),
    AttachmentRule(
        ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"),
        16 * _MB,
        "audio (AAC, AMR, MP3, M4A, OGG) up to 16 MB",
    ),
    AttachmentRule(("image/webp",), 500 * 1024, "stickers (WEBP) up to 500 KB"),
    AttachmentRule(
        (
            "application/pdf",
            "text/plain",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        100 * _MB,
        "documents (PDF, TXT, Word, Excel, PowerPoint)",
    ),
)


@dataclass
class _Part:
    """One Graph message of a reply; a file part gets its media id when it is uploaded."""

    body: dict[str, Any]
    attachment: OutgoingAttachment | None = None


def window_closed_reason(last_inbound_at) -> str | None:
    if last_inbound_at is None:
        return (
            "This client has not written on WhatsApp yet: WhatsApp only allows an approved "
            "template as the first message."
        )
    closed_at = last_inbound_at + WINDOW
    if timezone.now() >= closed_at:
        return (
            f"The 24-hour window closed at {closed_at:%Y-%m-%d %H:%M} UTC: WhatsApp only allows "
            "an approved template until the client writes again."
        )
    return None


def _media_type(content_type: str) -> str:
    ct = content_type.split(";")[0].strip().lower()
    if ct in ("image/jpeg", "image/png"):
        return "image"
    if ct == "image/webp":
        return "sticker"
    if ct in ("video/mp4", "video/3gpp"):
        return "video"
    if ct.startswith("audio/"):
        return "audio"
    return "document"


def _media_hosts(config: dict[str, Any]) -> dict[str, Any]:
    """Optional extra hosts inbound media may be downloaded from (Meta's CDN by default)."""
    hosts = config.get("media_hosts")
    if hosts is None:
        return {}
    if not isinstance(hosts, list) or len(hosts) > 10:
        raise ConfigError("media_hosts must be a list of at most 10 host names")
    clean = [str(h).strip().lower() for h in hosts]
    if any(not re.fullmatch(r"[a-z0-9.-]+(:[0-9]{1,5})?", h) for h in clean):
        raise ConfigError("media_hosts must be plain host names (e.g. lookaside.fbsbx.com)")
    for host in clean:
        name, _, port = host.partition(":")
        require_public_host("media_hosts", name, int(port or 443))
    return {"media_hosts": clean}


def render_template(body: str, params: list[str] | dict[str, str]) -> str:
    """The template's body text with its ``{{1}}`` / ``{{name}}`` variables filled in."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if isinstance(params, dict):
            return str(params.get(key, match.group(0)))
        if key.isdigit() and 0 < int(key) <= len(params):
            return str(params[int(key) - 1])
        return match.group(0)

    return VARIABLE.sub(fill, body or "")


class WhatsAppCloudConnector(SavingPage, PopupFlow):
    provider = "whatsapp_cloud"
    kind = "whatsapp"
    label = "WhatsApp (Cloud API)"
    kind_label = "WhatsApp"
    handle_kind = "phone"
    handle_kinds = {"phone": "Phone"}
    glyphs = {"whatsapp": Glyph("WA", "#dcfce7", "#166534")}
    capabilities = Capabilities(
        attachments=True,
        templates=True,
        read_receipts=True,
        reply_window_hours=24,
        sync=True,
        markup="whatsapp",
        text_limit=TEXT_LIMIT,
        splits_long_text=True,
        attachment_rules=MEDIA_RULES,
    )
    connect_url_name = "whatsapp_cloud_connect"

    # --- setup -------------------------------------------------------------------------
    def setup(self, config: dict[str, Any]) -> ChannelSetup:
        require(config, "phone_number_id", "waba_id", "access_token", "app_secret", "verify_token")
        phone_number_id = str(config["phone_number_id"]).strip()
        waba_id = str(config["waba_id"]).strip()
        for name, value in (("phone_number_id", phone_number_id), ("waba_id", waba_id)):
            if not _ID.match(value):
                raise ConfigError(f"{name} must be the numeric id shown in Meta's dashboard")
        graph_url = DEFAULT_GRAPH_URL
        if str(config.get("graph_url") or "").strip():
            graph_url = require_public_http_url(config, "graph_url").rstrip("/")
        for name in ("access_token", "app_secret", "verify_token"):
            if len(str(config[name]).strip()) > 2000:
                raise ConfigError(f"{name} is too long")
        return ChannelSetup(
            config={
                "phone_number_id": phone_number_id,
                "waba_id": waba_id,
                "graph_url": graph_url,
                "mark_read": bool(config.get("mark_read", True)),
                **_media_hosts(config),
            },
            credentials={
                "access_token": str(config["access_token"]).strip(),
                "app_secret": str(config["app_secret"]).strip(),
                "verify_token": str(config["verify_token"]).strip(),
            },
        )

    def normalize_handle(self, value: str) -> str:
        return e164(value)

    # --- the webhook door: Meta's deliveries, read (``webhook.py``, ``parse.py``) -------
    webhook_path = "webhooks/whatsapp/"
    webhook_name = "whatsapp_webhook"
    webhook_route_field = "phone_number_id"
    webhook_route_label = "phone number id"

    def webhook_handshake(
        self, request: WebhookRequest, channels: Sequence[ChannelPort]
    ) -> WebhookAnswer:
        return webhook.handshake(request, channels)

    def webhook_split(self, request: WebhookRequest) -> list[tuple[str, Any]]:
        return webhook.split(request)

    def webhook_signed_by(self, channel: ChannelPort, request: WebhookRequest) -> bool:
        return webhook.signed_by(channel, request)

    def webhook_events(self, channel: ChannelPort, part: Any) -> InboundEvents:
        return parse_value(part)

    def download(self, channel: ChannelPort, media: Mapping[str, Any]) -> InboundAttachment:
        return media_fetch(channel, graph_for(channel), media)

    def download_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=int(getattr(settings, "FRONTDESK_WHATSAPP_MEDIA_ATTEMPTS", 5)),
            first_delay_s=float(getattr(settings, "FRONTDESK_WHATSAPP_MEDIA_RETRY_SECONDS", 15)),
        )

    # --- the connect page (``connect.py``; the app's ``web/views/connect.py`` drives it) ---
    connect_template = "connectors/whatsapp_cloud/connect.html"

    def connect_routes(self) -> list[ConnectRoute]:
        return [
            ConnectRoute("page", "apps/whatsapp-cloud/connect/", "whatsapp_cloud_connect"),
            ConnectRoute(
                "popup", "apps/whatsapp-cloud/embedded-signup/", "whatsapp_cloud_embedded_signup"
            ),
        ]

    def connect_form(
        self, existing: ChannelPort | None, posted: Mapping[str, str]
    ) -> dict[str, Any]:
        return connect.form(existing, posted)

    def connect_page_context(
        self, form: Mapping[str, Any], existing: ChannelPort | None
    ) -> dict[str, Any]:
        return connect.page_context(form, existing)

    def page_setup(
        self, form: Mapping[str, Any], posted: Mapping[str, str], existing: ChannelPort | None
    ) -> ChannelSetup:
        return connect.setup_from_form(self, form, existing)

    def try_connection(self, channel: ChannelPort) -> ConnectionTried:
        return connect.try_number(
            lambda: check_connection(
                channel.config["graph_url"],
                channel.credentials["access_token"],
                channel.config["phone_number_id"],
            )
        )

    def connect_popup(self, existing: ChannelPort | None) -> ConnectPopup | None:
        return connect.popup() if existing is None else None

    def popup_complete(self, posted: Mapping[str, str]) -> tuple[ChannelSetup, ConnectionTried]:
        return connect.popup_complete(posted, self.setup)

    def connected_page(self, channel: ChannelPort) -> SyncPage | None:
        return connect.templates_now(channel, fetch_templates)

    # --- the reply box: templates ------------------------------------------------------
    reply_form_template = "connectors/whatsapp_cloud/reply_extra.html"

    def reply_extra(self, form: Mapping[str, str]) -> dict[str, Any]:
        """A chosen approved template and its variables (``x_template``, ``x_var_<name>``)."""
        token = str(form.get("x_template") or "")
        if not token:
            return {}
        try:
            chosen = signing.loads(token, salt=TEMPLATE_SALT)
        except signing.BadSignature:
            return {}
        body = str(chosen.get("body") or "")
        names = template_variables(body)
        values = {n: str(form.get(f"x_var_{n}") or "").strip()[:1000] for n in names}
        params: list[str] | dict[str, str]
        params = [values[n] for n in names] if all(n.isdigit() for n in names) else values
        return {
            "template": {
                "name": str(chosen["name"]),
                "language": str(chosen["language"]),
                "params": params,
                "text": render_template(body, params),
            }
        }

    # --- the 24-hour window ------------------------------------------------------------
    def reply_blocked_reason(
        self, reply: ReplyContext, extra: Mapping[str, Any] | None = None
    ) -> str | None:
        if (extra or {}).get("template"):
            return None  # an approved template may open a conversation at any time
        return window_closed_reason(reply.last_inbound_at)

    def reply_text(self, text: str, extra: Mapping[str, Any]) -> str:
        template = extra.get("template")
        if not text and isinstance(template, dict):
            return str(template.get("text") or "").strip()  # shown as its filled-in text
        return text

    # --- removal -----------------------------------------------------------------------
    def revoke(self, channel: ChannelPort, others: Sequence[ChannelPort] = ()) -> str:
        """The app stops taking the WhatsApp Business Account's webhooks (``DELETE
        /{waba-id}/subscribed_apps``, Graph API "WhatsApp Business Account Subscribed
        Apps"), unless another live channel is on the same account. The number, the
        account and the access token stay the business's own, in Meta's Business Manager."""
        waba_id = str(channel.config.get("waba_id") or "")
        if not waba_id or not channel.credentials.get("access_token"):
            return ""
        root = channel.config.get("graph_url") or DEFAULT_GRAPH_URL
        if any(
            o.config.get("waba_id") == waba_id
            and (o.config.get("graph_url") or DEFAULT_GRAPH_URL) == root
            for o in others
        ):
            return ""
        try:
            graph_for(channel).request("DELETE", f"{waba_id}/subscribed_apps")
        except GraphError as exc:
            raise ProviderCallError(exc.reason, retry=exc.transient) from None
        except GraphUnreachable as exc:
            raise ProviderCallError(str(exc), retry=True) from None
        return "Meta no longer sends this WhatsApp Business Account's messages to Frontdesk"

    # --- read receipts -----------------------------------------------------------------
    def read_receipts_on(self, channel: ChannelPort) -> bool:
        return bool(channel.config.get("mark_read", True))

    def mark_read(self, channel: ChannelPort, provider_id: str) -> None:
        """Blue ticks: marks this message and every earlier one read."""
        try:
            graph_for(channel).post(
                f"{channel.config['phone_number_id']}/messages",
                json={"messaging_product": "whatsapp", "status": "read", "message_id": provider_id},
            )
        except GraphError as exc:
            raise ProviderCallError(
                exc.reason, retry=exc.transient, reconnect=exc.needs_reconnect
            ) from None
        except GraphUnreachable as exc:
            raise ProviderCallError(str(exc), retry=True) from None

    # --- sending -----------------------------------------------------------------------
    def send(
        self, channel: ChannelPort, message: OutboundMessage, parts_sent: PartsSent
    ) -> SendResult:
        """Send the reply as one Graph message, or several (a long text, several files).

        Graph has no idempotency key, so each part it accepts is reported (``parts_sent``:
        the outbox commits it before the next part goes) and a retry skips the parts already
        taken (``message.sent_parts``): a failure on part 2 never sends part 1 twice. The
        recorded parts let a status, a reaction or a quote of any part find the reply.
        """
        to = e164(message.to_handle).lstrip("+")
        if not to:
            raise PermanentSendError("this contact has no WhatsApp number")
        graph = graph_for(channel)
        phone_number_id = channel.config["phone_number_id"]
        accepted = list(message.sent_parts)
        parts: list[_Part] = []
        ids: list[str] = []

        def which(reason: str) -> str:  # which part failed, when some already went
            return f"part {len(ids) + 1} of {len(parts)}: {reason}" if ids else reason

        try:
            parts = self._parts(message, to)
            ids = accepted[: len(parts)]
            for part in parts[len(ids) :]:
                body = part.body
                if part.attachment is not None:  # uploaded only when its part is due
                    body[body["type"]]["id"] = self._upload(channel, graph, part.attachment)
                answer = graph.post(f"{phone_number_id}/messages", json=body)
                sent = answer.get("messages") or [{}]
                ids.append(str(sent[0].get("id") or ""))
                if len(parts) > 1:
                    parts_sent(ids)
        except GraphUnreachable as exc:
            raise TransientSendError(which(str(exc))) from None
        except GraphError as exc:
            if exc.needs_reconnect:  # the outbox marks the channel (one place for every connector)
                raise ReconnectNeeded(which(exc.reason)) from None
            if exc.transient:
                raise TransientSendError(which(exc.reason)) from None
            raise PermanentSendError(which(exc.reason)) from None
        return SendResult(provider_id=ids[0] or None if ids else None)

    def _parts(self, message: OutboundMessage, to: str) -> list[_Part]:
        """The Graph messages this reply becomes, in order (the same on every attempt)."""
        base: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        }
        if message.reply_to_provider_id:
            base["context"] = {"message_id": message.reply_to_provider_id}
        template = message.extra.get("template")
        if isinstance(template, dict) and template.get("name"):
            return [_Part({**base, "type": "template", "template": self._template_body(template)})]
        reaction = message.extra.get("reaction")
        if isinstance(reaction, dict) and reaction.get("message_id"):
            body = {
                **base,
                "type": "reaction",
                "reaction": {
                    "message_id": str(reaction["message_id"]),
                    "emoji": str(reaction.get("emoji") or ""),
                },
            }
            body.pop("context", None)
            return [_Part(body)]
        if reason := window_closed_reason(message.last_inbound_at):
            raise PermanentSendError(reason)
        media_parts: list[_Part] = []
        text = message.text
        for attachment in sorted(message.attachments, key=lambda a: a.id):
            media_type = _media_type(attachment.content_type)
            media: dict[str, Any] = {}
            if media_type == "document":
                media["filename"] = attachment.name
            if text and len(text) <= CAPTION_LIMIT and media_type in ("image", "video", "document"):
                media["caption"], text = text, ""  # a short text rides on the first file
            media_parts.append(_Part({**base, "type": media_type, media_type: media}, attachment))
        # WhatsApp caps a text at 4,096 characters: a longer reply goes in several parts.
        parts = [
            _Part(
                {
                    **base,
                    "type": "text",
                    "text": {"preview_url": True, "body": text[i : i + TEXT_LIMIT]},
                }
            )
            for i in range(0, len(text), TEXT_LIMIT)
        ] + media_parts
        if not parts:
            raise PermanentSendError("nothing to send")
        return parts

    def _upload(self, channel: ChannelPort, graph: Graph, attachment: OutgoingAttachment) -> str:
        data = Path(attachment.path).read_bytes()
        answer = graph.request(
            "POST",
            f"{channel.config['phone_number_id']}/media",
            data={"messaging_product": "whatsapp", "type": attachment.content_type},
            files={"file": (attachment.name, data, attachment.content_type)},
        )
        media_id = str(answer.get("id") or "")
        if not media_id:
            raise PermanentSendError("WhatsApp did not return a media id for the upload")
        return media_id

    @staticmethod
    def _template_body(template: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": str(template["name"]),
            "language": {"code": str(template.get("language") or "en_US")},
        }
        if isinstance(template.get("components"), list):
            body["components"] = template["components"]
        else:
            params = template.get("params") or []
            if isinstance(params, dict):
                parameters = [
                    {"type": "text", "parameter_name": str(k), "text": str(v)}
                    for k, v in params.items()
                ]
            else:
                parameters = [{"type": "text", "text": str(p)} for p in params]
            if parameters:
                body["components"] = [{"type": "body", "parameters": parameters}]
        return body

    # --- templates and the connection check --------------------------------------------
    def sync_pages(self, channel: ChannelPort, run: SyncRun) -> Iterator[SyncPage]:
        """The approved templates, hourly, as one page (the inbox stores them in
        ``sync_state``); after a failure, not again for a while."""
        return sync.template_pages(channel, run)


# What FRONTDESK_CONNECTORS loads from this package (connectors/registry.py).
CONNECTORS = [WhatsAppCloudConnector()]
