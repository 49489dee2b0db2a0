"""The API channel: external systems post messages in; replies are POSTed to a callback.

Outbound body: ``{"event": "message.created", "channel_id", "conversation_id",
"message_id", "to": {"handle"}, "text", "html", "attachments": [...]}`` (``html``: the
reply's formatting from the web composer, empty otherwise; ``text`` is always plain), signed with
``X-Frontdesk-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` using the channel
secret. The ``Idempotency-Key`` header stays the same across retries of one message.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

import httpx

from frontdesk.connectors import http as outbound
from frontdesk.connectors.base import (
    Capabilities,
    ChannelSetup,
    Connector,
    Glyph,
    OutboundMessage,
    PartsSent,
    PermanentSendError,
    SendResult,
    TransientSendError,
    require_public_http_url,
)
from frontdesk.connectors.http import retry_after_seconds, sha256_signature

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort


class ApiConnector(Connector):
    provider = "api"
    kind = "api"
    label = "API channel"
    kind_label = "API"
    sent_outside_label = "sent through the API"
    handle_kind = "external"
    handle_kinds = {"external": "External id"}
    glyphs = {"api": Glyph("API", "#ede9fe", "#5b21b6")}
    # The callback receives the composer's formatting as "html" beside the plain "text".
    capabilities = Capabilities(attachments=True, html=True, api_inbound=True)

    def setup(self, config: dict[str, Any]) -> ChannelSetup:
        callback_url = require_public_http_url(config, "callback_url")
        secret = secrets.token_urlsafe(32)
        return ChannelSetup(
            config={"callback_url": callback_url},
            credentials={"secret": secret},
            reveal_once={"secret": secret},
        )

    def send(
        self, channel: ChannelPort, message: OutboundMessage, parts_sent: PartsSent
    ) -> SendResult:
        body = json.dumps(
            {
                "event": "message.created",
                "channel_id": channel.pk,
                "conversation_id": message.conversation_id,
                "message_id": message.message_id,
                "to": {"handle": message.to_handle},
                "text": message.text,
                "html": message.html,
                "attachments": [
                    {
                        "id": a.id,
                        "name": a.name,
                        "size": a.size,
                        "content_type": a.content_type,
                        "url": a.url,
                    }
                    for a in message.attachments
                ],
            },
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Frontdesk",
            "X-Frontdesk-Signature": sha256_signature(channel.credentials["secret"], body),
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            response = outbound.request(
                "POST", channel.config["callback_url"], content=body, headers=headers
            )
        except httpx.TimeoutException:
            raise TransientSendError("the callback URL did not answer in time") from None
        except httpx.HTTPError as exc:
            raise TransientSendError(f"could not reach the callback URL: {exc}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSendError(
                f"callback answered HTTP {response.status_code}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if response.status_code >= 400:
            raise PermanentSendError(
                f"callback refused the message: HTTP {response.status_code} {response.text[:300]}".strip()
            )
        return SendResult(provider_id=_provider_id(response))


def _provider_id(response: httpx.Response) -> str | None:
    """The receiver may answer ``{"id": ...}`` to give its own id for later status updates."""
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value)[:500] if value not in (None, "") else None


# What FRONTDESK_CONNECTORS loads from this package (connectors/registry.py).
CONNECTORS = [ApiConnector()]
