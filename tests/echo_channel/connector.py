"""Echo chat, a made-up chat service (its stand-in is ``peer.py``), as a Frontdesk channel.

The service, as documented by itself:

- A *room* has an id and a token. ``POST {server}/rooms/{room}/messages`` with
  ``Authorization: Bearer <token>``, ``Idempotency-Key`` and ``{"to", "text", "reply_to"}``
  sends a message and answers ``{"id": "..."}``; 401 a wrong token, 429/5xx try again later,
  other 4xx never.
- It posts what happens in the room to one webhook URL, signed
  ``X-Echo-Signature: sha256=<hex HMAC-SHA256 of the body>`` with the room's webhook secret:
  ``{"room": "...", "events": [{"type": "message", "id", "from", "name", "text",
  "reply_to"}, {"type": "status", "id", "status", "error"}]}``.

Only ``frontdesk.connectors.base`` and ``frontdesk.connectors.http`` are imported: values in,
values out. The inbox routes, stores, retries and publishes.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

import httpx

from frontdesk.connectors import http as outbound
from frontdesk.connectors.base import (
    Capabilities,
    ChannelSetup,
    ConfigError,
    ConnectField,
    Connector,
    Glyph,
    InboundEvents,
    InboundMessage,
    OutboundMessage,
    PartsSent,
    PermanentSendError,
    ReconnectNeeded,
    SendResult,
    StatusUpdate,
    TransientSendError,
    WebhookAnswer,
    WebhookRequest,
    require,
    require_public_http_url,
)

SIGNATURE_HEADER = "X-Echo-Signature"
STATUSES = {"sent", "delivered", "read", "failed"}


class EchoConnector(Connector):
    provider = "echo"
    kind = "echo"
    label = "Echo chat"
    kind_label = "Echo"
    # Its clients are Echo users: a kind of address of its own, declared here only.
    handle_kind = "echo"
    handle_kinds = {"echo": "Echo user"}
    capabilities = Capabilities(text_limit=4000)
    # Its mark in the sidebar, lists and Apps & integrations (pink "Ec").
    glyphs = {"echo": Glyph("Ec", "#fce7f3", "#9d174d")}

    # The app's own connect form asks for these (web/views/channels.py).
    connect_fields = (
        ConnectField("server_url", "Echo server", input_type="url", placeholder="https://"),
        ConnectField("room", "Room id"),
        ConnectField("token", "Room token", secret=True),
    )

    # The one webhook door (inbox/webhooks.py) serves it and routes by config["room"].
    webhook_path = "webhooks/echo/"
    webhook_name = "echo_webhook"
    webhook_route_field = "room"
    webhook_route_label = "room"

    def setup(self, config: dict[str, Any]) -> ChannelSetup:
        require(config, "server_url", "room", "token")
        server_url = require_public_http_url(config, "server_url").rstrip("/")
        room = str(config["room"]).strip()
        if len(room) > 100 or not room.replace("-", "").isalnum():
            raise ConfigError("room must be letters, digits and dashes (at most 100)")
        webhook_secret = secrets.token_urlsafe(32)
        return ChannelSetup(
            config={"server_url": server_url, "room": room},
            credentials={"token": str(config["token"]).strip(), "webhook_secret": webhook_secret},
            reveal_once={"webhook_secret": webhook_secret},
        )

    # --- inbound: values only ----------------------------------------------------------
    def webhook_split(self, request: WebhookRequest) -> list[tuple[str, Any]]:
        try:
            body = outbound.json_object(request.body)
        except ValueError:
            raise WebhookAnswer.unreadable("body is not a JSON object") from None
        room = body.get("room")
        if not isinstance(room, str) or not room:
            raise WebhookAnswer.unreadable("no room")
        return [(room, body)]

    def webhook_signed_by(self, channel: Any, request: WebhookRequest) -> bool:
        secret = str(channel.credentials.get("webhook_secret") or "")
        given = request.headers.get(SIGNATURE_HEADER) or ""
        expected = outbound.sha256_signature(secret, request.body)
        return bool(secret) and hmac.compare_digest(given, expected)

    def webhook_events(self, channel: Any, part: Any) -> InboundEvents:
        said = InboundEvents()
        for event in part.get("events") or []:
            if not isinstance(event, dict):
                continue
            if event.get("type") == "message" and event.get("id") and event.get("from"):
                said.messages.append(
                    InboundMessage(
                        provider_id=str(event["id"])[:500],
                        handle=self.normalize_handle(str(event["from"])),
                        text=str(event.get("text") or ""),
                        contact_name=str(event.get("name") or "")[:300],
                        reply_to_provider_id=str(event.get("reply_to") or "")[:500],
                    )
                )
            elif event.get("type") == "status" and event.get("status") in STATUSES:
                said.statuses.append(
                    StatusUpdate(
                        provider_id=str(event.get("id") or "")[:500],
                        status=str(event["status"]),
                        error=str(event.get("error") or "")[:500],
                    )
                )
        return said

    # --- outbound ----------------------------------------------------------------------
    # The reply box's own field, from this folder's templates/ (and its icon from static/).
    reply_form_template = "echo/reply_extra.html"

    def reply_extra(self, form: Mapping[str, str]) -> dict[str, Any]:
        return {"quiet": True} if form.get("x_quiet") == "1" else {}

    def send(self, channel: Any, message: OutboundMessage, parts_sent: PartsSent) -> SendResult:
        config, credentials = channel.config, channel.credentials
        url = f"{config['server_url']}/rooms/{config['room']}/messages"
        body: dict[str, Any] = {"to": message.to_handle, "text": message.text}
        if message.reply_to_provider_id:
            body["reply_to"] = message.reply_to_provider_id
        if message.extra.get("quiet"):
            body["quiet"] = True
        try:
            response = outbound.request(
                "POST",
                url,
                content=json.dumps(body).encode(),
                headers={
                    "Authorization": f"Bearer {credentials.get('token', '')}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": message.idempotency_key,
                },
            )
        except httpx.HTTPError as exc:
            raise TransientSendError(f"Echo server unreachable: {exc.__class__.__name__}") from None
        if response.status_code == 401:
            raise ReconnectNeeded("Echo refused the room token")
        if response.status_code == 429 or response.status_code >= 500:
            retry = outbound.retry_after_seconds(response.headers.get("Retry-After"))
            raise TransientSendError(f"Echo answered HTTP {response.status_code}", retry)
        if response.status_code >= 400:
            raise PermanentSendError(f"Echo refused the message (HTTP {response.status_code})")
        try:
            provider_id = str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise PermanentSendError("Echo answered without a message id") from None
        return SendResult(provider_id=provider_id)


# What FRONTDESK_CONNECTORS loads from this package (connectors/registry.py).
CONNECTORS = [EchoConnector()]
