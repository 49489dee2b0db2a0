"""Unipile's hosted-auth connect / reconnect flow (its webhook is served by the inbox's
webhook door, ``inbox/webhooks.py``, from what ``UnipileConnector`` reads).

``/connectors/unipile/connect/``: an admin picks the network and the API version (v2
preselected) and gives the API key (and, for v1, the DSN). Frontdesk keeps a *pending
connection* (no channel yet: an abandoned attempt leaves nothing in the sidebar, a retry
reuses it, it expires after ``FRONTDESK_CONNECT_PENDING_MINUTES``), asks Unipile for a
hosted-auth link whose callbacks carry the pending row's single-use state, and answers
with a page of its own (``continue/``) that goes on to the link with a GET navigation: the
link's origin is only known once Unipile has answered, and the app's CSP keeps
``form-action 'self'`` (which also governs where a form's answer may redirect).

Coming back: v1 Unipile POSTs ``{status, account_id, name}`` to ``notify/`` (the channel is
made then) and sends the browser to ``return/`` (``failed=1`` on its failure URL); v2 sends
the browser to ``return/`` with ``account_id``, ``provider`` and ``state``, and the account is
checked with Unipile before the channel is made. Either way the browser lands on Apps &
integrations with what happened, in words.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt

from frontdesk.connectors.base import ConfigError
from frontdesk.connectors.http import json_object
from frontdesk.connectors.unipile.client import (
    HostedLink,
    UnipileClient,
    UnipileError,
    UnipileUnreachable,
    client_for,
)
from frontdesk.connectors.unipile.connector import (
    API_VERSIONS,
    LINKEDIN,
    NETWORKS,
    iso_ms,
)
from frontdesk.inbox.actions.channel import remove_channel, save_connection
from frontdesk.inbox.actions.connections import (
    EXPIRED,
    INVALID_STATE,
    claim_pending,
    confirm_pending,
    remember,
    start_pending,
)
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, PendingConnection

log = logging.getLogger("frontdesk.unipile")
PROVIDER = "unipile"
# Where the browser is sent next; kept with the pending connection, never in the config.
HOSTED_URL = "hosted_url"


def urlpatterns():
    return [
        path("connectors/unipile/connect/", connect, name="unipile_connect"),
        path(
            "connectors/unipile/continue/<int:pending_id>/",
            continue_to_unipile,
            name="unipile_continue",
        ),
        path("connectors/unipile/notify/", notify, name="unipile_notify"),
        path("connectors/unipile/return/", came_back, name="unipile_return"),
        path("connectors/unipile/<int:channel_id>/", status_page, name="unipile_status"),
        path("connectors/unipile/<int:channel_id>/reconnect/", reconnect, name="unipile_reconnect"),
    ]


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _admin(request: HttpRequest):
    member = getattr(request, "membership", None)
    if member is None or not member.is_admin:
        return None
    return member


def _not_admin(request: HttpRequest, what: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}")
    return HttpResponse(f"Only owners and admins can {what} accounts.", status=403)


def _problem(request: HttpRequest, text: str) -> HttpResponse:
    return render(request, "connectors/problem.html", {"problem": text}, status=400)


# --- the pending connection and its link ----------------------------------------------------
def _version(pending: PendingConnection) -> str:
    source = pending.channel or pending
    return "v2" if (source.config or {}).get("api_version") == "v2" else "v1"


def _client(pending: PendingConnection) -> UnipileClient:
    source = pending.channel or pending
    return client_for(
        _version(pending),
        str(source.config.get("dsn") or ""),
        str(source.credentials.get("api_key") or ""),
    )


def notify_key(state: str) -> str:
    """The v1 ``notify_url``'s own secret: the browser sees the state (in the return URL),
    never this, so it cannot confirm an account in Unipile's place."""
    return salted_hmac("frontdesk.unipile.notify", state, algorithm="sha256").hexdigest()


def _hosted_link(pending: PendingConnection) -> HostedLink:
    base = settings.BASE_URL
    back = f"{base}{reverse('unipile_return')}"
    state = pending.state
    query = urlencode({"state": state})
    return HostedLink(
        provider=NETWORKS[pending.kind],
        expires_on=iso_ms(pending.expires_at),
        # v2 adds account_id, provider and state itself; v1 comes back to what it is given.
        return_url=back if _version(pending) == "v2" else f"{back}?{query}",
        failure_url=f"{back}?{query}&failed=1",
        notify_url=f"{base}{reverse('unipile_notify')}?{query}&key={notify_key(state)}",
        state=state,
        name=f"frontdesk-{pending.pk}",
        account_id=str(pending.channel.config.get("account_id") or "") if pending.channel else "",
    )


def _leave_for_unipile(pending: PendingConnection) -> HttpResponse:
    """Ask Unipile for the hosted-auth link and send the browser to our page that goes on
    to it (a same-origin redirect: allowed by ``form-action 'self'``)."""
    url = _client(pending).hosted_link(_hosted_link(pending))
    remember(pending, **{HOSTED_URL: url})
    return redirect("unipile_continue", pending.pk)


# --- connect, continue, reconnect -----------------------------------------------------------
def connect(request: HttpRequest) -> HttpResponse:
    member = _admin(request)
    if member is None:
        return _not_admin(request, "connect")
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
            _drop_stuck_channels(member.workspace_id)
            pending = start_pending(
                workspace_id=member.workspace_id,
                user_id=request.user.pk,
                provider=PROVIDER,
                kind=connector.kind,
                name=form["name"] or connector.label,
                config=setup.config,
                credentials=setup.credentials,
            )
            return _leave_for_unipile(pending)
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


def _drop_stuck_channels(workspace_id: int) -> None:
    """Channels left "Connecting" by the flow before pending connections (one per attempt,
    never given an account) leave the sidebar."""
    for stuck in ChannelAccount.objects.filter(
        workspace_id=workspace_id,
        provider=PROVIDER,
        status=ChannelStatus.CONNECTING,
        config__account_id="",
        removed_at__isnull=True,
    ):
        remove_channel(stuck, at_provider=False)  # never given an account: nothing there


def continue_to_unipile(request: HttpRequest, pending_id: int) -> HttpResponse:
    """The hand-over page: a link to Unipile's page, followed at once by a script."""
    member = _admin(request)
    if member is None:
        return _not_admin(request, "connect")
    pending = PendingConnection.objects.filter(
        pk=pending_id, workspace_id=member.workspace_id, provider=PROVIDER
    ).first()
    url = str(pending.credentials.get(HOSTED_URL) or "") if pending else ""
    if pending is None or not url or pending.config.get("confirmed"):
        return _problem(request, INVALID_STATE)
    if pending.expired:
        return _problem(request, EXPIRED)
    return render(
        request,
        "connectors/unipile/continue.html",
        {"url": url, "network": LINKEDIN.for_kind(pending.kind).kind_label},
    )


def reconnect(request: HttpRequest, channel_id: int) -> HttpResponse:
    member = _admin(request)
    if member is None:
        return _not_admin(request, "reconnect")
    if request.method != "POST":
        return HttpResponse(status=405)
    channel = get_object_or_404(
        ChannelAccount,
        pk=channel_id,
        workspace_id=member.workspace_id,
        provider=PROVIDER,
        removed_at__isnull=True,
    )
    if not channel.config.get("account_id"):
        return HttpResponse("This account was never connected; connect it again.", status=400)
    pending = start_pending(
        workspace_id=member.workspace_id,
        user_id=request.user.pk,
        provider=PROVIDER,
        kind=channel.kind,
        channel=channel,
        name=channel.name,
        config={"reconnect": True},
    )
    try:
        return _leave_for_unipile(pending)
    except UnipileError as exc:
        messages.error(request, f"Unipile refused: {exc.message}")
    except UnipileUnreachable as exc:
        messages.error(request, str(exc))
    return redirect("unipile_status", channel.pk)


def status_page(request: HttpRequest, channel_id: int) -> HttpResponse:
    member = getattr(request, "membership", None)
    if member is None:
        return redirect(f"{settings.LOGIN_URL}?next={request.path}")
    channel = get_object_or_404(
        ChannelAccount, pk=channel_id, workspace_id=member.workspace_id, provider=PROVIDER
    )
    return render(
        request,
        "connectors/unipile/status.html",
        {"channel": channel, "backfill": (channel.sync_state or {}).get("backfill") or {}},
    )


# --- coming back ----------------------------------------------------------------------------
def _connect_account(pending: PendingConnection, account_id: str, status: str) -> ChannelAccount:
    """The channel for the account Unipile connected (inside a transaction): the channel
    being reconnected (the same account only), or a new one (one per account and
    workspace; a removed channel of the account comes back)."""
    if pending.channel_id is not None:
        channel = ChannelAccount.objects.select_for_update().get(pk=pending.channel_id)
        if status != "RECONNECTED" or account_id != channel.config.get("account_id"):
            raise ActionRefused(
                f"Unipile reconnected another account than {channel.name}'s: nothing was changed."
            )
        return save_connection(
            channel, name=channel.name, config=channel.config, credentials=channel.credentials
        )
    if status != "CREATION_SUCCESS":
        raise ActionRefused(f"Unipile answered {status[:40]!r} instead of a new account.")
    existing = ChannelAccount.objects.filter(
        workspace_id=pending.workspace_id, provider=PROVIDER, config__account_id=account_id
    ).first()
    if existing is not None and existing.removed_at is None:
        raise ActionRefused(f"This account is already connected here, as {existing.name}.")
    config = {k: v for k, v in pending.config.items() if k != "confirmed"}
    credentials = {k: v for k, v in pending.credentials.items() if k != HOSTED_URL}
    return save_connection(
        existing
        or ChannelAccount(workspace_id=pending.workspace_id, kind=pending.kind, provider=PROVIDER),
        name=pending.name,
        config={**config, "account_id": account_id},
        credentials=credentials,
    )


def _account_id(value: Any) -> str:
    return value if isinstance(value, str) and 0 < len(value) <= 200 else ""


@csrf_exempt
def notify(request: HttpRequest) -> HttpResponse:
    """v1: Unipile POSTs ``{"status", "account_id", "name"}`` here once the account is
    connected (https://developer.unipile.com/docs/hosted-auth); the channel is made now."""
    if request.method != "POST":
        return _error(405, "POST only")
    state = request.GET.get("state", "")
    if not hmac.compare_digest(request.GET.get("key", "").encode(), notify_key(state).encode()):
        return _error(400, INVALID_STATE)
    try:
        body = json_object(request.body)
    except ValueError as exc:
        return _error(400, str(exc))
    account_id, status = _account_id(body.get("account_id")), body.get("status")
    if not account_id:
        return _error(400, "account_id is required")
    if status not in ("CREATION_SUCCESS", "RECONNECTED"):
        return _error(400, f"unexpected status {str(status)[:40]!r}")

    def connect_v1(pending: PendingConnection) -> ChannelAccount:
        if _version(pending) != "v1":
            raise ActionRefused("a v2 account is confirmed by its redirect, not by notify_url")
        return _connect_account(pending, account_id, str(status))

    try:
        confirm_pending(state, PROVIDER, connect_v1)
    except ActionRefused as exc:
        return _error(400, str(exc))
    return JsonResponse({"ok": True})


def came_back(request: HttpRequest) -> HttpResponse:
    """Unipile sends the admin's browser back here: v2 with ``account_id`` (approved) or
    without (cancelled, refused); v1 to the success URL (``notify`` has made the channel,
    or is about to) or the failure URL (``failed=1``)."""
    member = _admin(request)
    if member is None:
        return _not_admin(request, "connect")
    state = request.GET.get("state", "")
    pending = (
        PendingConnection.objects.filter(
            workspace_id=member.workspace_id, provider=PROVIDER, state=state
        ).first()
        if state and len(state) <= 100
        else None
    )
    if pending is None:
        return _problem(request, INVALID_STATE)
    network = LINKEDIN.for_kind(pending.kind).kind_label
    v2 = _version(pending) == "v2"
    account_id = _account_id(request.GET.get("account_id")) if v2 else ""
    confirmed = bool(pending.config.get("confirmed"))
    if not confirmed and (request.GET.get("failed") == "1" or (v2 and not account_id)):
        _forget(member.workspace_id, state)
        detail = str(request.GET.get("error_title") or request.GET.get("error") or "")[:300]
        if detail:
            messages.error(
                request, f"Unipile did not connect the {network} account: {detail.rstrip('.')}."
            )
        else:
            messages.error(
                request,
                f"Unipile did not connect the {network} account (cancelled, or the login was "
                "refused): nothing was connected. Try again when you are ready.",
            )
        return redirect("apps")
    if not v2 and not confirmed:
        if pending.expired:
            _forget(member.workspace_id, state)
            return _problem(request, EXPIRED)
        return render(request, "connectors/unipile/waiting.html", {"network": network})
    try:
        pending = claim_pending(member.workspace_id, state, provider=PROVIDER)
    except ActionRefused as exc:
        return _problem(request, str(exc))
    reconnecting = bool(pending.config.get("reconnect"))
    if v2:
        try:  # the browser brought the id: Unipile must know it under this API key
            account = _client(pending).get_account(account_id)
            if str(account.get("id") or account_id) != account_id:
                raise UnipileError(400, "another account was returned")
        except (UnipileError, UnipileUnreachable) as exc:
            log.info("v2 account %s not confirmed: %s", account_id, exc)
            return _problem(
                request,
                f"Unipile does not confirm this {network} account, so nothing was connected. "
                "Start again to connect it.",
            )
        try:
            with transaction.atomic():
                status = "RECONNECTED" if reconnecting else "CREATION_SUCCESS"
                channel = _connect_account(pending, account_id, status)
        except ActionRefused as exc:
            return _problem(request, str(exc))
    elif pending.channel is not None:  # confirmed: notify made it
        channel = pending.channel
    else:
        return _problem(request, INVALID_STATE)
    if reconnecting:
        messages.success(request, f"{channel.name} is connected again.")
    else:
        messages.success(request, f"{channel.name} is connected; its messages are being imported.")
    return redirect("apps")


def _forget(workspace_id: int, state: str) -> None:
    """Drop a pending connection that ended without an account (cancelled, refused)."""
    with contextlib.suppress(ActionRefused):  # already gone or expired: nothing to forget
        claim_pending(workspace_id, state, provider=PROVIDER)
