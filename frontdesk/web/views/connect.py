"""The one connect flow every connector's own connect page and redirect runs through.

A connector offers kinds of flow (``connectors/connect_flows.py``: a page of its own, one
that saves, a redirect, hosted auth, a popup), declares their routes (``connect_routes``:
its page, the callback the provider sends the browser back to, a hosted-auth flow's
continue, notify, return, status and reconnect URLs) and implements their pure steps; these
views ask which kinds it offers and do the rest: who may connect, the channel being
reconnected (``?channel=<id>`` or its "reconnect" route), the pending connection and its
single-use state, the page's CSP (``form-action`` to the consent pages only), saving the
channel through the inbox, and what the person is told. The app's plain form for
``connect_fields`` is ``channels.py``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from frontdesk.connectors.base import (
    ChannelSetup,
    ConfigError,
    ConnectionTried,
    Connector,
    ConnectRefused,
    PendingValues,
    ProviderCallError,
)
from frontdesk.connectors.connect_flows import (
    ConnectFlow,
    ConnectPage,
    HostedAuthFlow,
    PopupFlow,
    RedirectFlow,
    SavingPage,
)
from frontdesk.connectors.registry import CONNECTORS, get_connector
from frontdesk.core import csp
from frontdesk.inbox.actions.connections import (
    EXPIRED,
    INVALID_STATE,
    claim_pending,
    confirm_pending,
    connect_account,
    drop_left_connecting,
    remember,
    start_pending,
)
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, PendingConnection
from frontdesk.inbox.sync import store_page
from frontdesk.web.views.shell import shell_context

# The page form's action that leaves for the provider (its consent page) instead of saving.
LEAVE = "oauth"
# What the app itself keeps with a pending connection (never handed to the connector):
# the provider's link its "continue" page goes on to, and what ``confirm_pending`` marks.
CONTINUE_URL = "continue_url"
APP_CONFIG = ("confirmed", "reconnected")
# Said when a page's form asks to leave and the connector offers no redirect flow.
STAYS = "this channel connects without leaving Frontdesk"


def connect_urlpatterns() -> list[URLPattern]:
    """Every connector's connect routes, served here (a route several connectors declare,
    a shared callback, once: by the first)."""
    views: dict[str, Callable[..., HttpResponse]] = {
        "page": connect_page,
        "callback": callback,
        "popup": popup_done,
        "continue": continue_page,
        "notify": notify,
        "return": came_back,
        "status": status_page,
        "reconnect": reconnect,
    }
    patterns: dict[str, URLPattern] = {}
    for connector in CONNECTORS.values():
        if not isinstance(connector, ConnectFlow):
            continue
        for route in connector.connect_routes():
            if route.name not in patterns:
                patterns[route.name] = path(
                    route.path, views[route.step], {"provider": connector.provider}, name=route.name
                )
    return list(patterns.values())


def _offered[Flow: ConnectFlow](flow: Flow | None) -> Flow:
    """A route's connector as the kind of flow the route serves (``Kind.of(connector)``): a
    route of a kind the connector does not offer is not found."""
    if flow is None:
        raise Http404("no such way of connecting here")
    return flow


def _admin(request: HttpRequest):
    member = getattr(request, "membership", None)
    return member if member is not None and member.is_admin else None


def _not_admin(request: HttpRequest, connector: ConnectFlow, verb: str = "connect") -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}")
    return HttpResponse(f"Only owners and admins can {verb} {connector.connect_what}.", status=403)


def _problem(request: HttpRequest, text: str) -> HttpResponse:
    return render(request, "connectors/problem.html", {"problem": text}, status=400)


def _existing(request: HttpRequest, member, connector: Connector) -> ChannelAccount | None:
    """The channel being reconnected (``?channel=<id>``, of this workspace and provider;
    another is not found)."""
    channel_id = request.GET.get("channel") or request.POST.get("channel")
    if not channel_id or not str(channel_id).isdigit():
        return None
    return get_object_or_404(
        ChannelAccount,
        pk=int(channel_id),
        workspace_id=member.workspace_id,
        provider=connector.provider,
    )


def _urls(connector: ConnectFlow) -> dict[str, str]:
    """The connector's routes by step, as the provider reaches them (those naming no
    pending connection or channel)."""
    return {
        r.step: settings.BASE_URL + reverse(r.name)
        for r in connector.connect_routes()
        if "<" not in r.path
    }


def _route(connector: ConnectFlow, step: str) -> str:
    """The URL name of the connector's route for this step."""
    return next(r.name for r in connector.connect_routes() if r.step == step)


def _values(pending: PendingConnection) -> PendingValues:
    return PendingValues(
        id=pending.pk,
        state=pending.state,
        kind=pending.kind,
        name=pending.name,
        config={k: v for k, v in (pending.config or {}).items() if k not in APP_CONFIG},
        credentials={k: v for k, v in (pending.credentials or {}).items() if k != CONTINUE_URL},
        expires_at=pending.expires_at,
        channel=pending.channel,
    )


def _store(
    connector: ConnectFlow,
    workspace_id: int,
    name: str,
    setup: ChannelSetup,
    existing: ChannelAccount | None,
) -> ChannelAccount:
    """Store the channel through the inbox (an account the workspace already has is
    refused: ``ConnectRefused``), and what the reply box needs at once."""
    try:
        channel = connect_account(  # which also starts the first sync at once
            existing
            or ChannelAccount(
                workspace_id=workspace_id, kind=connector.kind, provider=connector.provider
            ),
            account_field=connector.connect_account_field,
            name=name or connector.default_name(setup),
            config=setup.config,
            credentials=setup.credentials,
        )
    except ActionRefused as exc:
        raise ConnectRefused(str(exc)) from None
    first = connector.connected_page(channel.view())
    if first is not None:
        store_page(channel, first)
    return channel


def _tell(
    request: HttpRequest, connector: ConnectFlow, channel: ChannelAccount, again: bool
) -> None:
    if again and connector.says_connected_again:
        messages.success(request, f"{channel.name} is connected again.")
        return
    note = f"; {connector.connected_note}" if connector.connected_note else ""
    messages.success(request, f"{channel.name} is connected{note}.")


def _save(
    request: HttpRequest,
    member,
    connector: ConnectFlow,
    name: str,
    setup: ChannelSetup,
    existing: ChannelAccount | None,
    tried: ConnectionTried | None = None,
) -> ChannelAccount:
    """Store the channel through the inbox and tell the person."""
    channel = _store(
        connector, member.workspace_id, name or (tried.name if tried else ""), setup, existing
    )
    for warning in tried.warnings if tried else ():
        messages.warning(request, warning)
    _tell(request, connector, channel, again=existing is not None)
    return channel


def _leave(
    request: HttpRequest,
    member,
    page: ConnectPage,
    form: dict[str, Any],
    existing: ChannelAccount | None,
) -> HttpResponse:
    """Keep a pending connection (reused on a retry, with a new state) and send the browser
    to the provider (the kind the form chose, if it chose one)."""
    if not isinstance(page, RedirectFlow):
        raise ConfigError(STAYS)
    keep = page.connect_pending(form, request.POST)
    connector = _offered(RedirectFlow.of(page.for_kind(keep.kind or page.kind)))
    drop_left_connecting(member.workspace_id, connector.provider, connector.left_connecting)
    pending = start_pending(
        workspace_id=member.workspace_id,
        user_id=request.user.pk,
        provider=connector.provider,
        kind=connector.kind,
        channel=existing,
        name=keep.name,
        config=keep.config,
        credentials=keep.credentials,
    )
    return _go(connector, pending)


def _go(connector: RedirectFlow, pending: PendingConnection) -> HttpResponse:
    """Where the provider's flow starts: its page, or the app's page that goes on to it."""
    leave = connector.redirect_begin(_values(pending), _urls(connector))
    keep = {**leave.keep, **({CONTINUE_URL: leave.url} if leave.via_continue else {})}
    if keep:
        remember(pending, **keep)
    if leave.via_continue:
        return redirect(_route(connector, "continue"), pending.pk)
    return redirect(leave.url)


def connect_page(request: HttpRequest, provider: str) -> HttpResponse:
    """The connector's own connect page: test, save, or leave for the provider's consent."""
    connector = _offered(ConnectPage.of(get_connector(provider)))
    member = _admin(request)
    if member is None:
        return _not_admin(request, connector)
    existing = _existing(request, member, connector)
    seen = existing.view() if existing is not None else None
    form = connector.connect_form(seen, request.POST)
    if request.method != "POST":
        return _page(request, connector, form, existing)
    try:
        # A page that does not save always leaves for the provider.
        if not isinstance(connector, SavingPage) or request.POST.get("action") == LEAVE:
            return _leave(request, member, connector, form, existing)
        action = request.POST.get("action", "save")
        setup = connector.page_setup(form, request.POST, seen)
        probe = ChannelAccount(provider=provider, kind=connector.kind, config=setup.config)
        probe.credentials = setup.credentials
        tried = connector.try_connection(probe.view())
        if action != "save":
            return _page(request, connector, form, existing, tried=tried)
        _save(request, member, connector, str(form.get("name") or ""), setup, existing, tried)
    except (ConfigError, ConnectRefused, ProviderCallError) as exc:
        return _page(request, connector, form, existing, refused=exc)
    return redirect("apps")


@require_POST
def popup_done(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider's popup (``PopupFlow.connect_popup``) finished: the page posts its
    answer here; the channel is made from it."""
    connector = _offered(PopupFlow.of(get_connector(provider)))
    member = _admin(request)
    if member is None:
        if not request.user.is_authenticated:
            return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': connector.connect_url()})}")
        return _not_admin(request, connector)
    if connector.connect_popup(None) is None:
        return HttpResponse(
            f"{connector.label}: this way of connecting is not configured on this server.",
            status=404,
        )
    name = request.POST.get("name", "").strip()[:200]
    try:
        setup, tried = connector.popup_complete(request.POST)
        _save(request, member, connector, name, setup, None, tried)
    except (ConfigError, ConnectRefused, ProviderCallError) as exc:
        form = connector.connect_form(None, request.POST)
        return _page(request, connector, form, None, refused=exc)
    return redirect("apps")


def _page(
    request: HttpRequest,
    connector: ConnectPage,
    form: dict[str, Any],
    existing: ChannelAccount | None,
    tried: ConnectionTried | None = None,
    refused: Exception | None = None,
) -> HttpResponse:
    """The connect page, with what a test found or why it failed (400; 502 when the
    provider could not be reached)."""
    error, status = "", 200
    seen = existing.view() if existing is not None else None
    if isinstance(refused, ProviderCallError):
        error, status = refused.reason, 502
    elif isinstance(refused, ConnectRefused):
        error, status = refused.words, 400
    elif refused is not None:
        error, status = str(refused), 400
    response = render(
        request,
        connector.connect_template,
        {
            **shell_context(request),
            **connector.connect_page_context(form, seen),
            **(tried.details if tried else {}),
            "connector": connector,
            "form": form,
            "error": error,
            "result": tried.words if tried else "",
            "existing": existing,
        },
        status=status,
    )
    consent = connector.connect_origins() if isinstance(connector, RedirectFlow) else []
    leaves_for = [csp.origin(url) or url for url in consent]
    if leaves_for:  # the form's POST is answered with a redirect to the consent page
        csp.allow(response, form_action=leaves_for)
    popup = connector.connect_popup(seen) if isinstance(connector, PopupFlow) else None
    if popup is not None:
        # The popup's script runs it and talks to the provider (frames, calls): exactly
        # those origins, on this page only.
        csp.allow(
            response,
            script_src=[csp.origin(popup.script)],
            frame_src=list(popup.origins),
            connect_src=list(popup.origins),
        )
        # The popup posts its result to the page that opened it: keep that link (the app's
        # "same-origin" would cut it), for the popups this page opens only.
        response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    return response


def callback(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider sends the browser back here: with a grant (approved), or an error
    (cancelled, refused). The state names the pending connection, usable once, whatever
    the answer: a cancelled attempt is forgotten too."""
    route_connector = _offered(RedirectFlow.of(get_connector(provider)))
    member = _admin(request)
    if member is None:
        return _not_admin(request, route_connector)
    # The providers whose flows come back here (several share one registered callback).
    here = request.resolver_match.url_name if request.resolver_match else ""
    served = {
        c.provider
        for c in CONNECTORS.values()
        if isinstance(c, RedirectFlow) and any(r.name == here for r in c.connect_routes())
    }
    refused = route_connector.redirect_refusal(request.GET, "The provider")
    try:
        pending = claim_pending(member.workspace_id, request.GET.get("state", ""), served)
    except ActionRefused as exc:
        if refused is None:
            return _problem(request, str(exc))
        pending = None
    connector = (
        _offered(RedirectFlow.of(get_connector(pending.provider).for_kind(pending.kind)))
        if pending
        else None
    )
    if connector is not None:
        refused = connector.redirect_refusal(request.GET, connector.label)
    if refused is not None:
        return _back_refused(request, refused)
    assert pending is not None and connector is not None
    try:
        setup = connector.redirect_complete(request.GET, _values(pending), _urls(connector))
        _save(request, member, connector, pending.name, setup, pending.channel)
    except ConnectRefused as exc:
        messages.error(request, exc.words)
    return redirect("apps")


def _back_refused(request: HttpRequest, refused: ConnectRefused) -> HttpResponse:
    """Back to Apps, told what the provider answered instead of a grant: a cancel as
    information, a refusal as an error."""
    (messages.info if refused.cancelled else messages.error)(request, refused.words)
    return redirect("apps")


# --- a hosted-auth flow: continue, notify, return, status, reconnect --------------------------
def continue_page(request: HttpRequest, provider: str, pending_id: int) -> HttpResponse:
    """The hand-over page: a link to the provider's page (``ConnectRedirect.via_continue``),
    followed at once by a script."""
    connector = _offered(HostedAuthFlow.of(get_connector(provider)))
    member = _admin(request)
    if member is None:
        return _not_admin(request, connector)
    pending = PendingConnection.objects.filter(
        pk=pending_id, workspace_id=member.workspace_id, provider=provider
    ).first()
    url = str(pending.credentials.get(CONTINUE_URL) or "") if pending else ""
    if pending is None or not url or pending.config.get("confirmed"):
        return _problem(request, INVALID_STATE)
    if pending.expired:
        return _problem(request, EXPIRED)
    connector = _offered(HostedAuthFlow.of(connector.for_kind(pending.kind)))
    return render(
        request, connector.continue_template, {"url": url, "network": connector.kind_label}
    )


@csrf_exempt
def notify(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider confirms a flow server to server: the channel is made now, under the
    pending connection's lock (which stays, confirmed, until the browser is back)."""
    if request.method != "POST":
        return JsonResponse({"detail": "POST only"}, status=405)
    connector = _offered(HostedAuthFlow.of(get_connector(provider)))
    try:
        notice = connector.notify_read(request.GET, request.body)
    except ConnectRefused as exc:
        return JsonResponse({"detail": exc.words}, status=400)

    def connect(pending: PendingConnection) -> ChannelAccount:
        variant = _offered(HostedAuthFlow.of(connector.for_kind(pending.kind)))
        try:
            setup = variant.notify_complete(notice, _values(pending))
            return _store(variant, pending.workspace_id, pending.name, setup, pending.channel)
        except ConnectRefused as exc:
            raise ActionRefused(exc.words) from None

    try:
        confirm_pending(notice.state, provider, connect)
    except ActionRefused as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return JsonResponse({"ok": True})


def came_back(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider sends the browser back here: refused or cancelled (the attempt is
    forgotten), confirmed by "notify" (or still awaited: a page that checks again), or
    with what makes the channel now (``redirect_complete``)."""
    connector = _offered(HostedAuthFlow.of(get_connector(provider)))
    member = _admin(request)
    if member is None:
        return _not_admin(request, connector)
    state = request.GET.get("state", "")
    pending = (
        PendingConnection.objects.filter(
            workspace_id=member.workspace_id, provider=provider, state=state
        ).first()
        if state and len(state) <= 100
        else None
    )
    if pending is None:
        return _problem(request, INVALID_STATE)
    connector = _offered(HostedAuthFlow.of(connector.for_kind(pending.kind)))
    confirmed = bool(pending.config.get("confirmed"))
    if not confirmed:
        kept = _values(pending)
        refused = connector.redirect_refusal(request.GET, connector.label, kept)
        if refused is not None:
            _forget(member.workspace_id, state, provider)
            return _back_refused(request, refused)
        if connector.notify_awaited(kept):
            if pending.expired:
                _forget(member.workspace_id, state, provider)
                return _problem(request, EXPIRED)
            return render(request, connector.waiting_template, {"network": connector.kind_label})
    try:
        pending = claim_pending(member.workspace_id, state, provider=provider)
    except ActionRefused as exc:
        return _problem(request, str(exc))
    if confirmed:
        if pending.channel is None:
            return _problem(request, INVALID_STATE)
        channel, again = pending.channel, bool(pending.config.get("reconnected"))
    else:
        try:
            setup = connector.redirect_complete(request.GET, _values(pending), _urls(connector))
            channel = _store(connector, member.workspace_id, pending.name, setup, pending.channel)
        except ConnectRefused as exc:
            return _problem(request, exc.words)
        again = pending.channel is not None
    _tell(request, connector, channel, again)
    return redirect("apps")


def _forget(workspace_id: int, state: str, provider: str) -> None:
    """Drop a pending connection that ended without an account (cancelled, refused)."""
    with contextlib.suppress(ActionRefused):  # already gone or expired: nothing to forget
        claim_pending(workspace_id, state, provider=provider)


def status_page(request: HttpRequest, provider: str, channel_id: int) -> HttpResponse:
    """A channel's own page: its status, what its import has done, and Reconnect."""
    member = getattr(request, "membership", None)
    if member is None:
        return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': request.path})}")
    channel = get_object_or_404(
        ChannelAccount, pk=channel_id, workspace_id=member.workspace_id, provider=provider
    )
    connector = _offered(HostedAuthFlow.of(get_connector(provider).for_kind(channel.kind)))
    return render(
        request,
        connector.status_template,
        {"channel": channel, **connector.status_context(channel.view())},
    )


def reconnect(request: HttpRequest, provider: str, channel_id: int) -> HttpResponse:
    """Start the flow again for this channel (the same account at the provider)."""
    connector = _offered(HostedAuthFlow.of(get_connector(provider)))
    member = _admin(request)
    if member is None:
        return _not_admin(request, connector, "reconnect")
    if request.method != "POST":
        return HttpResponse(status=405)
    channel = get_object_or_404(
        ChannelAccount,
        pk=channel_id,
        workspace_id=member.workspace_id,
        provider=provider,
        removed_at__isnull=True,
    )
    connector = _offered(HostedAuthFlow.of(connector.for_kind(channel.kind)))
    try:
        keep = connector.reconnect_pending(channel.view())
    except ConfigError as exc:
        return HttpResponse(str(exc), status=400)
    pending = start_pending(
        workspace_id=member.workspace_id,
        user_id=request.user.pk,
        provider=provider,
        kind=channel.kind,
        channel=channel,
        name=keep.name or channel.name,
        config=keep.config,
        credentials=keep.credentials,
    )
    try:
        return _go(connector, pending)
    except ConnectRefused as exc:
        messages.error(request, exc.words)
    except ConfigError as exc:
        messages.error(request, str(exc))
    return redirect(_route(connector, "status"), channel.pk)
