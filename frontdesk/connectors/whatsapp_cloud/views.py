"""The connect page: a manual form (ids, token, app secret, a generated verify token) with
the webhook URL to paste into Meta's dashboard, "Test connection", and save.

``?channel=<id>`` reconnects an existing channel (new token or secret) instead of adding one.
Saving tests the connection first: a channel is only stored as connected when Meta accepted
the token for that phone number.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from frontdesk.connectors.base import ConfigError, SyncPage
from frontdesk.connectors.whatsapp_cloud import signup
from frontdesk.connectors.whatsapp_cloud.graph import (
    DEFAULT_GRAPH_URL,
    GraphError,
    GraphUnreachable,
)
from frontdesk.connectors.whatsapp_cloud.signup import meta_app
from frontdesk.core import csp
from frontdesk.inbox.actions.channel import save_connection
from frontdesk.inbox.models import ChannelAccount
from frontdesk.inbox.sync import store_page

FIELDS = ("name", "phone_number_id", "waba_id", "access_token", "app_secret", "verify_token")


def _templates_now(channel: ChannelAccount) -> None:
    """The approved templates at once, for the reply box (else the hourly sync tries again)."""
    from frontdesk.connectors.whatsapp_cloud.connector import fetch_templates

    with contextlib.suppress(GraphError, GraphUnreachable):
        templates = fetch_templates(channel)
        store_page(channel, SyncPage(cursor={**(channel.sync_state or {}), **templates}))


def _admin(request: HttpRequest):
    member = getattr(request, "membership", None)
    return member if member is not None and member.is_admin else None


def connect(request: HttpRequest) -> HttpResponse:
    from frontdesk.connectors.whatsapp_cloud.connector import (
        WhatsAppCloudConnector,
        check_connection,
    )

    if not request.user.is_authenticated:
        return redirect(f"{settings.LOGIN_URL}?next={request.path}")
    member = _admin(request)
    if member is None:
        return HttpResponse("Only owners and admins can connect accounts.", status=403)
    channel = None
    channel_id = request.GET.get("channel") or request.POST.get("channel")
    if channel_id and str(channel_id).isdigit():
        channel = get_object_or_404(
            ChannelAccount,
            pk=int(channel_id),
            workspace_id=member.workspace_id,
            provider=WhatsAppCloudConnector.provider,
        )
    form: dict[str, Any] = {name: "" for name in FIELDS}
    form["graph_url"] = ""
    form["mark_read"] = True
    if channel is not None:
        form.update(
            mark_read=bool(channel.config.get("mark_read", True)),
            name=channel.name,
            phone_number_id=channel.config.get("phone_number_id", ""),
            waba_id=channel.config.get("waba_id", ""),
            graph_url=channel.config.get("graph_url", ""),
        )
    else:
        form["verify_token"] = secrets.token_urlsafe(24)
    error = ""
    number: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        for name in (*FIELDS, "graph_url"):
            form[name] = str(request.POST.get(name, "")).strip()[:2000]
        connector = WhatsAppCloudConnector()
        form["mark_read"] = request.POST.get("mark_read") == "on"
        config: dict[str, Any] = {k: form[k] for k in FIELDS if k != "name"}
        config["mark_read"] = form["mark_read"]
        if form["graph_url"] and form["graph_url"].rstrip("/") != DEFAULT_GRAPH_URL:
            config["graph_url"] = form["graph_url"]
        if channel is not None:  # a blank secret keeps the stored one, never shown again
            stored = channel.credentials
            for name in ("access_token", "app_secret", "verify_token"):
                config[name] = config[name] or stored.get(name, "")
        try:
            setup = connector.setup(config)
            number = check_connection(
                setup.config["graph_url"],
                setup.credentials["access_token"],
                setup.config["phone_number_id"],
            )
        except ConfigError as exc:
            error, status = str(exc), 400
        except GraphError as exc:
            error = f"Meta refused: {exc.reason}" + (
                f" (fbtrace_id {exc.fbtrace_id})" if exc.fbtrace_id else ""
            )
            status = 400
        except GraphUnreachable as exc:
            error, status = str(exc), 502
        if not error and request.POST.get("action") == "save":
            if channel is None:
                channel = ChannelAccount(
                    workspace_id=member.workspace_id,
                    kind=connector.kind,
                    provider=connector.provider,
                )
            save_connection(
                channel,
                name=form["name"] or f"WhatsApp {(number or {}).get('display_phone_number', '')}",
                config={**(channel.config or {}), **setup.config},
                credentials=setup.credentials,
            )
            _templates_now(channel)
            messages.success(request, f"{channel.name} is connected.")
            return redirect("apps")
    return _page(request, form, channel, error, number, status)


def _page(
    request: HttpRequest,
    form: dict[str, Any],
    channel: ChannelAccount | None,
    error: str,
    number: dict[str, Any] | None,
    status: int,
) -> HttpResponse:
    app = meta_app()
    response = render(
        request,
        "connectors/whatsapp_cloud/connect.html",
        {
            "form": form,
            "channel": channel,
            "error": error,
            "number": number,
            "webhook_url": settings.BASE_URL + reverse("whatsapp_webhook"),
            "default_graph_url": DEFAULT_GRAPH_URL,
            "meta_app": app if channel is None else None,
        },
        status=status,
    )
    if app is not None and channel is None:
        # Facebook's JavaScript SDK (its script) runs the Embedded Signup popup and talks
        # to Facebook (frames, calls): exactly those origins, on this page only.
        csp.allow(
            response,
            script_src=[csp.origin(app.sdk_url)],
            frame_src=list(app.origins),
            connect_src=list(app.origins),
        )
        # The popup posts its result to the page that opened it: keep that link (the app's
        # "same-origin" would cut it), for the popups this page opens only.
        response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    return response


@require_POST
def embedded_signup(request: HttpRequest) -> HttpResponse:
    """The Embedded Signup popup finished: exchange its code and store the channel."""
    from frontdesk.connectors.whatsapp_cloud.connector import WhatsAppCloudConnector

    if not request.user.is_authenticated:
        return redirect(f"{settings.LOGIN_URL}?next={reverse('whatsapp_cloud_connect')}")
    member = _admin(request)
    if member is None:
        return HttpResponse("Only owners and admins can connect accounts.", status=403)
    app = meta_app()
    if app is None:
        return HttpResponse("Embedded Signup is not configured on this server.", status=404)
    code = str(request.POST.get("code", "")).strip()[:2000]
    waba_id = str(request.POST.get("waba_id", "")).strip()[:64]
    phone_number_id = str(request.POST.get("phone_number_id", "")).strip()[:64]
    name = str(request.POST.get("name", "")).strip()[:200]
    form: dict[str, Any] = {f: "" for f in (*FIELDS, "graph_url")}
    form.update(name=name, waba_id=waba_id, phone_number_id=phone_number_id)
    form["verify_token"] = app.verify_token
    if not code or not waba_id or not phone_number_id:
        return _page(
            request,
            form,
            None,
            "Meta's signup did not finish (no code, WABA id or phone number id came back).",
            None,
            400,
        )
    try:
        result = signup.complete(app, code, waba_id, phone_number_id)
    except ConfigError as exc:
        return _page(request, form, None, str(exc), None, 400)
    except GraphError as exc:
        return _page(request, form, None, f"Meta refused: {exc.reason}", None, 400)
    except GraphUnreachable as exc:
        return _page(request, form, None, str(exc), None, 502)
    connector = WhatsAppCloudConnector()
    channel = save_connection(
        ChannelAccount(
            workspace_id=member.workspace_id, kind=connector.kind, provider=connector.provider
        ),
        name=name or f"WhatsApp {result.number.get('display_phone_number', '')}",
        config=result.config,
        credentials=result.credentials,
    )
    _templates_now(channel)
    for warning in result.warnings:
        messages.warning(request, warning)
    messages.success(request, f"{channel.name} is connected.")
    return redirect("apps")
