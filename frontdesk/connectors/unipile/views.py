"""Unipile's hosted-auth connect / reconnect flow (its webhook is served by the inbox's
webhook door, ``inbox/webhooks.py``, from what ``UnipileConnector`` reads).

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
    api_version,
    iso_ms,
)
from frontdesk.inbox.actions.channel import save_connection
from frontdesk.inbox.models import ChannelAccount, ChannelStatus

log = logging.getLogger("frontdesk.unipile")
STATE_SALT = "frontdesk.unipile.hosted-auth"
STATE_MAX_AGE = 3600  # seconds a hosted-auth link (and its state) stays valid


def urlpatterns():
    return [
        path("connectors/unipile/connect/", connect, name="unipile_connect"),
        path("connectors/unipile/notify/", notify, name="unipile_notify"),
        path("connectors/unipile/<int:channel_id>/", status_page, name="unipile_status"),
        path("connectors/unipile/<int:channel_id>/reconnect/", reconnect, name="unipile_reconnect"),
    ]


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


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
