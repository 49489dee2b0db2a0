"""``POST /webhooks/unipile/`` as Unipile sends it, read for the inbox's webhook door.

v2: an Event ``{id, created_at, account_id, type, payload}`` posted to the endpoint URL
Frontdesk registered, whose ``token`` names the endpoint's channels (Unipile signs v2
deliveries but documents neither the header nor the scheme: the token is relied on). v1:
``message_received``/``message_read``/``message_reaction`` and ``AccountStatus`` bodies
carrying the secret header Frontdesk registered for the channel. Either way the body's
``account_id`` picks the channel among those the token or secret names.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings

from frontdesk.connectors.base import (
    InboundEvents,
    InboundMessage,
    Reaction,
    StatusUpdate,
    WebhookAnswer,
    WebhookRequest,
)
from frontdesk.connectors.http import json_object
from frontdesk.connectors.unipile.client import SECRET_HEADER, api_version
from frontdesk.connectors.unipile.parse import (
    V2_STATUS,
    MalformedEvent,
    account_state,
    trimmed,
    v1_message,
    v2_event_message,
)

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort
    from frontdesk.connectors.unipile.connector import UnipileConnector

log = logging.getLogger("frontdesk.unipile")

TOKEN_PARAM = "token"  # v2: the secret token in the registered endpoint URL
_DUMMY_SECRET = secrets.token_urlsafe(32)  # compared when a channel has none: same timing


def webhook_url(token: str = "") -> str:
    """Where Unipile posts: v2 endpoints carry their secret token in the URL."""
    base = f"{settings.BASE_URL}/webhooks/unipile/"
    return f"{base}?{TOKEN_PARAM}={token}" if token else base


def token_key(token: str) -> str:
    """What is stored in the (public) config to find the channels of a v2 endpoint token."""
    return hashlib.sha256(token.encode()).hexdigest()


def keys(request: WebhookRequest) -> dict[str, str] | None:
    token = request.query.get(TOKEN_PARAM, "")
    if token:
        if len(token) > 200:
            raise WebhookAnswer.unsigned("unknown webhook token")
        return {"api_version": "v2", "webhook_key": token_key(token)}
    if not request.headers.get(SECRET_HEADER, ""):
        raise WebhookAnswer.unsigned(f"missing {SECRET_HEADER} header (v1) or endpoint token (v2)")
    return {}  # v1: the secret is compared with every v1 channel's, in constant time


def signed_by(channel: ChannelPort, request: WebhookRequest) -> bool:
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


def split(request: WebhookRequest) -> list[tuple[str, Any]]:
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


def v2_events(connector: UnipileConnector, body: dict[str, Any]) -> InboundEvents:
    kind = body.get("type")
    if not isinstance(kind, str):
        raise MalformedEvent("type is required")
    if kind in V2_STATUS:
        return InboundEvents(channel_states=[account_state(kind)])
    if kind == "message.new":
        return InboundEvents(messages=[pushed(connector, v2_event_message(connector, body))])
    if kind == "message.receipt.read":
        # v2 read events carry ids only (migration-webhooks: "Reduced Event Payload");
        # the key naming the message is not documented: ``message_id`` is read, and an
        # event without it is refused loudly rather than guessed at.
        payload = body.get("payload")
        message_id = payload.get("message_id") if isinstance(payload, dict) else None
        if not isinstance(message_id, str) or not message_id:
            names = sorted(str(k)[:40] for k in payload)[:20] if isinstance(payload, dict) else []
            log.error("unipile v2 read event without payload.message_id: keys %s", names)
            raise MalformedEvent("payload.message_id is required")
        return InboundEvents(statuses=[StatusUpdate(message_id, "read")])
    # "We may add more types at any time" (event-types-1): acknowledge and move on.
    raise WebhookAnswer.ignored(kind[:50])


def v1_events(connector: UnipileConnector, body: dict[str, Any]) -> InboundEvents:
    status = body.get("AccountStatus")
    if isinstance(status, dict):
        message = status.get("message")
        if not isinstance(message, str):
            raise MalformedEvent("AccountStatus.message is required")
        return InboundEvents(channel_states=[account_state(message)])
    event = body.get("event")
    if event == "message_received":
        return InboundEvents(messages=[pushed(connector, v1_message(connector, body))])
    if event == "message_reaction":
        message_id, who = trimmed(body.get("message_id")), body.get("reaction_sender")
        if not message_id or not isinstance(who, dict):
            raise MalformedEvent("message_id and reaction_sender are required")
        reaction = Reaction(
            message_id=message_id,
            by=trimmed(who.get("attendee_provider_id"), 320),
            emoji=trimmed(body.get("reaction"), 32),  # empty: the sender took it back
            at=None,
            name=trimmed(who.get("attendee_name"), 300),
        )
        return InboundEvents(reactions=[reaction])
    if event == "message_read":
        read = body.get("message_id")
        if not isinstance(read, str) or not read:
            raise MalformedEvent("message_id is required")
        return InboundEvents(statuses=[StatusUpdate(read, "read")])
    raise WebhookAnswer.ignored(str(event)[:50])


def pushed(connector: UnipileConnector, item: InboundMessage) -> InboundMessage:
    """A pushed message: its attachments are downloaded before it is stored, and a new
    LinkedIn sender's profile is read once (not during the backfill: LinkedIn limits
    profile views)."""
    item.fetch_first = bool(item.extra["unipile"]["attachments"])
    item.enrich = connector.handle_kind == "linkedin"
    return item
