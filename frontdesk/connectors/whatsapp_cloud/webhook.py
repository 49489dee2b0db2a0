"""``GET/POST /webhooks/whatsapp/`` as Meta sends them, read for the inbox's webhook door.

A delivery is split change by change on ``metadata.phone_number_id`` (the door routes
each to its channel). Its ``X-Hub-Signature-256`` must be the HMAC-SHA256 of the raw body
keyed with the app secret of the channel it names: a change naming a channel whose secret
did not sign the body is never stored, so one workspace can never write into another's.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings

from frontdesk.connectors.base import WebhookAnswer, WebhookRequest
from frontdesk.connectors.http import json_object, sha256_signature
from frontdesk.connectors.whatsapp_cloud.signup import meta_app

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort


def max_body_bytes() -> int:
    return int(getattr(settings, "FRONTDESK_WHATSAPP_MAX_WEBHOOK_BYTES", 3 * 1024 * 1024))


def handshake(request: WebhookRequest, channels: Sequence[ChannelPort]) -> WebhookAnswer:
    """Meta's subscription check: echo the challenge when the verify token is one of ours."""
    mode = request.query.get("hub.mode", "")
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    if mode != "subscribe" or not token or not challenge or len(challenge) > 200:
        return WebhookAnswer.plain(400, "bad verification request")
    app = meta_app()  # the Embedded Signup app's webhook is verified before any channel exists
    if app and app.verify_token and hmac.compare_digest(app.verify_token.encode(), token.encode()):
        return WebhookAnswer.plain(200, challenge)
    for channel in channels:
        expected = str(channel.credentials.get("verify_token") or "")
        if expected and hmac.compare_digest(expected.encode(), token.encode()):
            return WebhookAnswer.plain(200, challenge)
    return WebhookAnswer.plain(403, "verify token mismatch")


def split(request: WebhookRequest) -> list[tuple[str, Any]]:
    """The ``messages`` changes of a delivery, each with the phone number id it names."""
    if request.declared_length > max_body_bytes() or len(request.body) > max_body_bytes():
        raise WebhookAnswer.too_large()
    if not _signature(request).startswith("sha256=") or len(_signature(request)) != 71:
        raise WebhookAnswer.unsigned("missing or malformed X-Hub-Signature-256")
    try:  # the app secret to check the signature with depends on the body's phone number
        payload = json_object(request.body)
    except ValueError as exc:
        raise WebhookAnswer.unreadable(str(exc)) from None
    if payload.get("object") != "whatsapp_business_account":
        raise WebhookAnswer.ignored("not a whatsapp_business_account event")
    changes = []
    entries = payload.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        entry_changes = entry.get("changes")
        for change in entry_changes if isinstance(entry_changes, list) else []:
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            if not isinstance(metadata, dict):
                continue
            phone_number_id = str(metadata.get("phone_number_id") or "")[:64]
            if phone_number_id:
                changes.append((phone_number_id, value))
    return changes


def signed_by(channel: ChannelPort, request: WebhookRequest) -> bool:
    expected = sha256_signature(str(channel.credentials.get("app_secret") or ""), request.body)
    return hmac.compare_digest(expected.encode(), _signature(request).encode())


def _signature(request: WebhookRequest) -> str:
    return request.headers.get("X-Hub-Signature-256", "").strip().lower()  # hex in any case
