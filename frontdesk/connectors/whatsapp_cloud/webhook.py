"""``GET/POST /webhooks/whatsapp/``: Meta's verification handshake and signed deliveries.

A delivery is routed change by change on ``metadata.phone_number_id``. Its
``X-Hub-Signature-256`` must be the HMAC-SHA256 of the raw body keyed with the app secret
of the channel it names: a change naming a channel whose secret did not sign the body is
never stored, so one workspace can never write into another's channel.
"""

from __future__ import annotations

import hmac
import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from frontdesk.connectors.http import json_object, sha256_signature
from frontdesk.connectors.whatsapp_cloud import effects
from frontdesk.connectors.whatsapp_cloud.parse import parse_value
from frontdesk.inbox.actions.delivery import ingest_status
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.actions.reactions import set_reaction
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, ChannelStatus

log = logging.getLogger("frontdesk.whatsapp")

PROVIDER = "whatsapp_cloud"


def max_body_bytes() -> int:
    return int(getattr(settings, "FRONTDESK_WHATSAPP_MAX_WEBHOOK_BYTES", 3 * 1024 * 1024))


def _channels() -> Any:
    return ChannelAccount.objects.filter(provider=PROVIDER).exclude(
        status=ChannelStatus.DISCONNECTED
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _verify(request)
    return _deliver(request)


def _verify(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    if mode != "subscribe" or not token or not challenge or len(challenge) > 200:
        return HttpResponse("bad verification request", status=400, content_type="text/plain")
    from frontdesk.connectors.whatsapp_cloud.signup import meta_app

    app = meta_app()  # the Embedded Signup app's webhook is verified before any channel exists
    if app and app.verify_token and hmac.compare_digest(app.verify_token.encode(), token.encode()):
        return HttpResponse(challenge, content_type="text/plain")
    for channel in _channels().only("credentials_encrypted"):
        expected = str(channel.credentials.get("verify_token") or "")
        if expected and hmac.compare_digest(expected.encode(), token.encode()):
            return HttpResponse(challenge, content_type="text/plain")
    log.warning("webhook verification with an unknown verify token")
    return HttpResponse("verify token mismatch", status=403, content_type="text/plain")


def _deliver(request: HttpRequest) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_body_bytes():
        return JsonResponse({"error": "payload too large"}, status=413)
    body = request.body
    if len(body) > max_body_bytes():
        return JsonResponse({"error": "payload too large"}, status=413)
    given = request.headers.get("X-Hub-Signature-256", "").strip().lower()  # hex in any case
    if not given.startswith("sha256=") or len(given) != 71:
        return JsonResponse({"error": "missing or malformed X-Hub-Signature-256"}, status=401)
    try:  # the app secret to check the signature with depends on the body's phone number
        payload = json_object(body)
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if payload.get("object") != "whatsapp_business_account":
        return JsonResponse({"ok": True, "ignored": "not a whatsapp_business_account event"})

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
    ids = {pid for pid, _ in changes}
    if not ids:
        return JsonResponse({"ok": True})
    candidates = list(_channels().filter(config__phone_number_id__in=sorted(ids)))
    if not candidates:
        log.warning("webhook for unknown phone number id(s) %s ignored", ", ".join(sorted(ids)))
        return JsonResponse({"ok": True, "ignored": "unknown phone number id"})
    signed_by = [
        c
        for c in candidates
        if hmac.compare_digest(
            sha256_signature(str(c.credentials.get("app_secret") or ""), body).encode(),
            given.encode(),
        )
    ]
    if not signed_by:
        log.warning("webhook with a bad signature for %s refused", ", ".join(sorted(ids)))
        return JsonResponse({"error": "signature mismatch"}, status=401)
    by_phone: dict[str, list[ChannelAccount]] = {}
    for channel in signed_by:
        by_phone.setdefault(str(channel.config.get("phone_number_id")), []).append(channel)
    for phone_number_id, value in changes:
        targets = by_phone.get(phone_number_id)
        if not targets:
            log.warning(
                "change for %s not signed by that channel's app secret: ignored", phone_number_id
            )
            continue
        if len(targets) > 1:
            # One number lives in one workspace: the connected, most recently connected
            # channel gets it; a stale copy elsewhere (in error, awaiting reconnection) never does.
            log.warning(
                "phone number id %s is on %d channels: routed to one", phone_number_id, len(targets)
            )
        process_value(max(targets, key=_routing_rank), value)
    return JsonResponse({"ok": True})


def _routing_rank(channel: ChannelAccount) -> tuple[bool, Any, int]:
    return (channel.status == ChannelStatus.CONNECTED, channel.created_at, channel.pk)


def process_value(channel: ChannelAccount, value: dict[str, Any]) -> None:
    """Store everything one change carries: messages, reactions, number changes, statuses."""
    from frontdesk.connectors.whatsapp_cloud.tasks import fetch_media

    parsed = parse_value(value)
    for item, media in parsed.messages:
        try:
            result = ingest(channel, item)
        except ActionRefused as exc:
            log.warning("whatsapp message %s not stored: %s", item.provider_id[:80], exc)
            continue
        if not result.created:
            continue
        if item.extra.get("referral"):
            effects.keep_referral(result.conversation.contact, item.extra["referral"])
        if media is not None:
            transaction.on_commit(partial(fetch_media, result.message.pk))
    for change in parsed.number_changes:
        effects.change_number(channel, change.old, change.new)
    for reaction in parsed.reactions:
        if reaction.message_id and reaction.by:
            set_reaction(channel, reaction.message_id, reaction.by, reaction.emoji, reaction.at)
    for update in parsed.statuses:
        try:
            ingest_status(channel, update)
        except ActionRefused as exc:
            log.warning("whatsapp status not applied: %s", exc)
    for error in parsed.errors:
        log.warning("WhatsApp reported an error on channel %s: %s", channel.pk, error)
