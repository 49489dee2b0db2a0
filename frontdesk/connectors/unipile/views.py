"""Unipile's routes: the webhook, and the hosted-auth connect / reconnect flow.

``POST /webhooks/unipile/`` takes both API versions:

- v2: an Event ``{id, created_at, account_id, type, payload}`` (``message.new``,
  ``message.receipt.read``, ``account.status.*``, ``account.remove``) posted to the
  endpoint URL Frontdesk registered, whose ``token`` names the endpoint's channels; the
  body's ``account_id`` picks one of them. (Unipile signs v2 deliveries, but documents
  neither the header nor the scheme: the signature is not relied on.)
- v1: ``message_received``/``message_read``/``message_reaction`` and ``AccountStatus``
  bodies carrying the secret header Frontdesk registered for the channel.

Either way a wrong or missing token/secret answers 401 and stores nothing, and an
account is never matched to another workspace's channel.

``/connectors/unipile/connect/``: an admin picks the API version (v2 preselected) and
gives the API key (and, for v1, the DSN); Frontdesk keeps a ``connecting`` channel, asks
Unipile for a hosted-auth link whose callback carries a signed, single-use state, and
sends the admin there. v1 Unipile POSTs the new ``account_id`` to the ``notify_url``; v2
sends the admin back to the ``redirect_uri`` with it, and Frontdesk checks the account
with Unipile before trusting it. Either makes the channel ``connected`` and starts the
backfill.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from frontdesk.connectors.base import ConfigError
from frontdesk.connectors.http import json_object
from frontdesk.connectors.unipile.client import HostedLink, UnipileError, UnipileUnreachable
from frontdesk.connectors.unipile.connector import (
    API_VERSIONS,
    LINKEDIN,
    NETWORKS,
    SECRET_HEADER,
    TOKEN_PARAM,
    V2_STATUS,
    MalformedEvent,
    api_version,
    iso_ms,
    token_key,
)
from frontdesk.inbox.actions.channel import save_connection
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, DeliveryStatus, Direction, Message

log = logging.getLogger("frontdesk.unipile")
STATE_SALT = "frontdesk.unipile.hosted-auth"
STATE_MAX_AGE = 3600  # seconds a hosted-auth link (and its state) stays valid
_DUMMY_SECRET = secrets.token_urlsafe(32)


def urlpatterns():
    return [
        path("webhooks/unipile/", webhook, name="unipile_webhook"),
        path("connectors/unipile/connect/", connect, name="unipile_connect"),
        path("connectors/unipile/notify/", notify, name="unipile_notify"),
        path("connectors/unipile/<int:channel_id>/", status_page, name="unipile_status"),
        path("connectors/unipile/<int:channel_id>/reconnect/", reconnect, name="unipile_reconnect"),
    ]


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


# --- webhook ---------------------------------------------------------------------------
def channels_of_token(token: str) -> list[ChannelAccount]:
    """The v2 channels whose webhook endpoint URL carries this token."""
    if not token or len(token) > 200:
        return []
    return list(
        ChannelAccount.objects.filter(
            provider="unipile", config__api_version="v2", config__webhook_key=token_key(token)
        )
    )


def _json_object(request: HttpRequest) -> dict[str, Any] | HttpResponse:
    """The webhook's body as a JSON object, or the 400 answer saying why it is not one."""
    try:
        return json_object(request.body)
    except ValueError as exc:
        return _error(400, str(exc))


def v1_channels_with_secret(secret: str) -> list[ChannelAccount]:
    """The v1 channels whose webhook secret this is (constant-time compare): checked before
    the body is read, so an unauthenticated body is never parsed."""
    found = []
    for channel in ChannelAccount.objects.filter(provider="unipile").exclude(
        config__api_version="v2"
    ):
        expected = str(channel.credentials.get("webhook_secret") or _DUMMY_SECRET)
        if hmac.compare_digest(expected.encode(), secret.encode()):
            found.append(channel)
    return found


def _webhook_v2(request: HttpRequest, token: str) -> HttpResponse:
    channels = channels_of_token(token)
    if not channels:
        return _error(401, "unknown webhook token")
    body = _json_object(request)
    if isinstance(body, HttpResponse):
        return body
    account_id = body.get("account_id")
    if not isinstance(account_id, str) or not account_id or len(account_id) > 200:
        return _error(400, "account_id is required")
    channel = next((c for c in channels if c.config.get("account_id") == account_id), None)
    if channel is None:
        # Authentic, but for an account not connected here (one endpoint receives every
        # account of the Unipile application): acknowledge, store nothing.
        return JsonResponse({"ok": True, "ignored": "account not connected here"})
    kind = body.get("type")
    if not isinstance(kind, str):
        return _error(400, "type is required")
    connector = channel.connector
    if kind in V2_STATUS:
        connector.apply_account_status(channel, kind)
        return JsonResponse({"ok": True})
    if channel.status == ChannelStatus.DISCONNECTED:
        return JsonResponse({"ok": True, "ignored": "channel disconnected"})
    if kind == "message.new":
        return _message_received(channel, body)
    if kind == "message.receipt.read":
        # v2 read events carry ids only (migration-webhooks: "Reduced Event Payload"); the
        # key naming the message is not documented: ``message_id`` is read, and an event
        # without it is refused loudly rather than guessed at.
        payload = body.get("payload")
        message_id = payload.get("message_id") if isinstance(payload, dict) else None
        if not isinstance(message_id, str) or not message_id:
            log.error("unipile v2 read event without payload.message_id: keys %s", _keys(payload))
            return _error(400, "payload.message_id is required")
        return _message_read(channel, message_id)
    # "We may add more types at any time" (event-types-1): acknowledge and move on.
    return JsonResponse({"ok": True, "ignored": kind[:50]})


def _keys(value: Any) -> list[str]:
    return sorted(str(k)[:40] for k in value)[:20] if isinstance(value, dict) else []


def _message_received(channel: ChannelAccount, body: dict[str, Any]) -> HttpResponse:
    """One new message (v1 body, or a v2 event normalised to it): ingest it, or queue it
    when its attachments must be downloaded first."""
    connector = channel.connector
    try:
        item = connector.parse_webhook_message(channel, body)
    except MalformedEvent as exc:
        return _error(400, str(exc))
    except (UnipileError, UnipileUnreachable) as exc:  # looking up a sent message's chat
        return _error(503, f"Unipile could not be asked about the chat: {exc}")
    from frontdesk.inbox.messages import find_message

    if find_message(channel, item.provider_id) is not None:
        return JsonResponse({"ok": True, "duplicate": True})  # a retry, or our own reply echoed
    if item.extra["unipile"]["attachments"]:
        from frontdesk.connectors.unipile.tasks import ingest_with_attachments

        ingest_with_attachments(channel.pk, body)  # nothing written yet: no commit to wait for
        return JsonResponse({"ok": True, "queued": True}, status=202)
    from frontdesk.inbox.errors import ActionRefused

    try:
        result = connector.ingest_event(channel, item, enrich=True)
    except ActionRefused as exc:
        return _error(400, str(exc))
    return JsonResponse({"ok": True, "message_id": result.message.pk})


def _message_read(channel: ChannelAccount, message_id: str) -> HttpResponse:
    if Message.objects.filter(
        channel=channel, provider_id=message_id, direction=Direction.OUTBOUND
    ).exists():
        from frontdesk.connectors.base import StatusUpdate
        from frontdesk.inbox.actions.delivery import ingest_status

        ingest_status(channel, StatusUpdate(message_id, DeliveryStatus.READ))
    return JsonResponse({"ok": True})


@csrf_exempt
def webhook(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "POST only")
    token = request.GET.get(TOKEN_PARAM, "")
    if token:
        return _webhook_v2(request, token)
    secret = request.headers.get(SECRET_HEADER, "")
    if not secret:
        return _error(401, f"missing {SECRET_HEADER} header (v1) or endpoint token (v2)")
    channels = v1_channels_with_secret(secret)  # a v2 channel takes signed webhooks only
    if not channels:
        return _error(401, "unknown account or wrong secret")
    body = _json_object(request)
    if isinstance(body, HttpResponse):
        return body
    status_event = body.get("AccountStatus")
    source = status_event if isinstance(status_event, dict) else body
    account_id = source.get("account_id")
    if not isinstance(account_id, str) or not account_id or len(account_id) > 200:
        return _error(400, "account_id is required")
    channel = next((c for c in channels if c.config.get("account_id") == account_id), None)
    if channel is None:
        return _error(401, "unknown account or wrong secret")
    connector = channel.connector
    if isinstance(status_event, dict):
        message = status_event.get("message")
        if not isinstance(message, str):
            return _error(400, "AccountStatus.message is required")
        try:
            connector.apply_account_status(channel, message)
        except MalformedEvent as exc:
            return _error(400, str(exc))
        return JsonResponse({"ok": True})
    if channel.status == ChannelStatus.DISCONNECTED:
        return JsonResponse({"ok": True, "ignored": "channel disconnected"})
    event = body.get("event")
    if event == "message_received":
        return _message_received(channel, body)
    if event == "message_reaction":
        try:
            connector.apply_reaction(channel, body)
        except MalformedEvent as exc:
            return _error(400, str(exc))
        return JsonResponse({"ok": True})
    if event == "message_read":
        message_id = body.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            return _error(400, "message_id is required")
        return _message_read(channel, message_id)
    return JsonResponse({"ok": True, "ignored": str(event)[:50]})


# --- hosted auth -------------------------------------------------------------------------
def _admin(request: HttpRequest):
    member = getattr(request, "membership", None)
    if member is None or not member.is_admin:
        return None
    return member


def _hosted_link(channel: ChannelAccount, link_type: str) -> str:
    """Ask Unipile for a hosted-auth link; the notify_url carries a signed single-use state."""
    nonce = secrets.token_urlsafe(24)
    credentials = channel.credentials
    credentials["connect_nonce"] = nonce
    channel.credentials = credentials
    channel.save(update_fields=["credentials_encrypted"])
    state = signing.dumps({"c": channel.pk, "n": nonce, "t": link_type}, salt=STATE_SALT)
    base = settings.BASE_URL
    notify = f"{base}{reverse('unipile_notify')}"
    status_url = f"{base}{reverse('unipile_status', args=[channel.pk])}"
    return channel.connector.client(channel).hosted_link(
        HostedLink(
            provider=NETWORKS[channel.kind],
            expires_on=iso_ms(timezone.now() + timedelta(seconds=STATE_MAX_AGE)),
            return_url=notify if api_version(channel) == "v2" else status_url,
            failure_url=f"{status_url}?failed=1",
            notify_url=f"{notify}?state={state}",
            state=state,
            name=f"frontdesk-{channel.pk}",
            account_id=channel.config.get("account_id", "") if link_type == "reconnect" else "",
        )
    )


def connect(request: HttpRequest) -> HttpResponse:
    member = _admin(request)
    if member is None:
        if not request.user.is_authenticated:
            return redirect(f"{settings.LOGIN_URL}?next={request.path}")
        return HttpResponse("Only owners and admins can connect accounts.", status=403)
    form = {
        "network": request.POST.get("network", request.GET.get("network", "linkedin")),
        "name": request.POST.get("name", ""),
        "dsn": request.POST.get("dsn", ""),
        "api_version": request.POST.get("api_version", "v2"),
    }
    error = ""
    if request.method == "POST":
        connector = LINKEDIN.for_kind(form["network"]) if form["network"] in NETWORKS else None
        try:
            if connector is None:
                raise ConfigError('network must be "linkedin" or "whatsapp"')
            setup = connector.validate(
                {
                    "dsn": form["dsn"],
                    "api_key": request.POST.get("api_key", ""),
                    "network": form["network"],
                    "api_version": form["api_version"],
                },
                need_account=False,
            )
            # Wizards abandoned long ago leave "connecting" rows behind: drop them.
            ChannelAccount.objects.filter(
                workspace_id=member.workspace_id,
                provider="unipile",
                status=ChannelStatus.CONNECTING,
                config__account_id="",
                created_at__lt=timezone.now() - timedelta(seconds=STATE_MAX_AGE),
            ).delete()
            channel = save_connection(
                ChannelAccount(
                    workspace_id=member.workspace_id,
                    kind=connector.kind,
                    provider=connector.provider,
                ),
                name=form["name"] or connector.label,
                config=setup.config,
                credentials=setup.credentials,
                status=ChannelStatus.CONNECTING,
            )
            try:
                url = _hosted_link(channel, "create")
            except (UnipileError, UnipileUnreachable):
                channel.delete()
                raise
            return redirect(url)
        except ConfigError as exc:
            error = str(exc)
        except UnipileError as exc:
            error = f"Unipile refused: {exc.message}"
        except UnipileUnreachable as exc:
            error = str(exc)
    return render(
        request,
        "connectors/unipile/connect.html",
        {"form": form, "error": error, "networks": list(NETWORKS), "versions": API_VERSIONS},
        status=400 if error else 200,
    )


def reconnect(request: HttpRequest, channel_id: int) -> HttpResponse:
    member = _admin(request)
    if member is None:
        return HttpResponse("Only owners and admins can reconnect accounts.", status=403)
    if request.method != "POST":
        return HttpResponse(status=405)
    channel = get_object_or_404(
        ChannelAccount, pk=channel_id, workspace_id=member.workspace_id, provider="unipile"
    )
    if not channel.config.get("account_id"):
        return HttpResponse("This account was never connected; connect it again.", status=400)
    try:
        return redirect(_hosted_link(channel, "reconnect"))
    except UnipileError as exc:
        return HttpResponse(f"Unipile refused: {exc.message}", status=502)
    except UnipileUnreachable as exc:
        return HttpResponse(str(exc), status=502)


def status_page(request: HttpRequest, channel_id: int) -> HttpResponse:
    member = getattr(request, "membership", None)
    if member is None:
        return redirect(f"{settings.LOGIN_URL}?next={request.path}")
    channel = get_object_or_404(
        ChannelAccount, pk=channel_id, workspace_id=member.workspace_id, provider="unipile"
    )
    return render(
        request,
        "connectors/unipile/status.html",
        {
            "channel": channel,
            "backfill": (channel.sync_state or {}).get("backfill") or {},
            "failed": request.GET.get("failed") == "1",
        },
    )


def _nonce_matches(channel: ChannelAccount, nonce: str) -> bool:
    held = str(channel.credentials.get("connect_nonce") or "")
    return bool(held) and hmac.compare_digest(held.encode(), nonce.encode())


@csrf_exempt
def notify(request: HttpRequest) -> HttpResponse:
    """The hosted-auth callback. v1: Unipile POSTs ``{"status", "account_id", "name"}``.
    v2: the admin's browser comes back to ``redirect_uri`` with ``account_id`` in the query
    (https://developer.unipile.com/v2.0/docs/authenticate-with-hosted-auth, "Handle the
    callback"); the account is then looked up with Unipile before it is trusted."""
    if request.method not in ("POST", "GET"):
        return _error(405, "GET or POST only")
    try:
        state = signing.loads(request.GET.get("state", ""), salt=STATE_SALT, max_age=STATE_MAX_AGE)
        channel_id, nonce, link_type = int(state["c"]), str(state["n"]), str(state["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return _error(400, "invalid or expired state")
    if request.method == "GET":
        account_id: Any = request.GET.get("account_id")
        status: Any = "CREATION_SUCCESS" if link_type == "create" else "RECONNECTED"
    else:
        try:
            body = json_object(request.body)
        except ValueError as exc:
            return _error(400, str(exc))
        account_id = body.get("account_id")
        status = body.get("status")
    if not isinstance(account_id, str) or not account_id or len(account_id) > 200:
        if request.method == "GET" and channel_id:
            return redirect(f"{reverse('unipile_status', args=[channel_id])}?failed=1")
        return _error(400, "account_id is required")
    channel = ChannelAccount.objects.filter(pk=channel_id).first()
    if channel is None:
        return _error(400, "invalid state")
    version = api_version(channel)
    if request.method == "GET":  # a browser: the admin who started the wizard, logged in
        member = _admin(request)
        if member is None or member.workspace_id != channel.workspace_id:
            return _error(403, "log in as an admin of this workspace to finish connecting")
    if (request.method == "GET") != (version == "v2"):
        return _error(
            405, f"a {version} account is confirmed by {'GET' if version == 'v2' else 'POST'}"
        )
    if not _nonce_matches(channel, nonce):
        return _error(400, "this link was already used or replaced")
    if version == "v2":  # asked before the row is locked: no lock waits on Unipile
        try:  # the browser brought the id: Unipile must know it under this API key
            account = channel.connector.client(channel).get_account(account_id)
        except (UnipileError, UnipileUnreachable) as exc:
            return _error(400, f"Unipile does not confirm this account: {exc}")
        if str(account.get("id") or account_id) != account_id:
            return _error(400, "Unipile does not confirm this account")
    with transaction.atomic():
        channel = ChannelAccount.objects.select_for_update().filter(pk=channel_id).first()
        if channel is None:
            return _error(400, "invalid state")
        if not _nonce_matches(channel, nonce):  # single use: checked again under the lock
            return _error(400, "this link was already used or replaced")
        if link_type == "reconnect" and account_id != channel.config.get("account_id"):
            return _error(400, "a reconnection must keep the same account")
        if status not in ("CREATION_SUCCESS", "RECONNECTED"):
            return _error(400, f"unexpected status {str(status)[:40]!r}")
        taken = (
            ChannelAccount.objects.filter(
                workspace_id=channel.workspace_id, provider="unipile", config__account_id=account_id
            )
            .exclude(pk=channel.pk)
            .exists()
        )
        if taken:
            return _error(409, "this account is already connected in this workspace")
        credentials = channel.credentials
        credentials.pop("connect_nonce", None)
        channel.credentials = credentials
        channel.config = {**channel.config, "account_id": account_id}
        channel.status, channel.last_error = ChannelStatus.CONNECTED, ""
        channel.save(update_fields=["credentials_encrypted", "config", "status", "last_error"])
        from frontdesk.connectors.unipile.tasks import backfill_channel

        transaction.on_commit(lambda: backfill_channel(channel.pk))
    if request.method == "GET":
        return redirect(reverse("unipile_status", args=[channel.pk]))
    return JsonResponse({"ok": True})
