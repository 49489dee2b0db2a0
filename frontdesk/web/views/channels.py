"""The app's own connect flow: a connector that declares ``connect_fields`` (and no connect
page of its own) is connected here, at ``/apps/<provider>/connect/``. The form asks for its
fields, ``Connector.setup`` checks them, the inbox stores the channel; a secret the channel
was given is shown once. Nothing here knows a provider."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from frontdesk.connectors.base import ConfigError, Connector
from frontdesk.connectors.registry import CONNECTORS
from frontdesk.inbox.actions.connections import save_connection
from frontdesk.inbox.models import ChannelAccount
from frontdesk.web.access import current_member, member_required
from frontdesk.web.views.shell import shell_context


def _form_connector(provider: str) -> Connector:
    connector = CONNECTORS.get(provider)
    if connector is None or not connector.connect_fields or connector.connect_url_name:
        raise Http404("no such connect form")
    return connector


@member_required
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest, provider: str) -> HttpResponse:
    member = current_member(request)
    connector = _form_connector(provider)
    if not member.is_admin:
        return HttpResponseForbidden("Only owners and admins can connect accounts.")
    values = {f.name: "" for f in connector.connect_fields} | {"name": ""}
    page: dict[str, Any] = {"connector": connector, "fields": connector.connect_fields}
    if request.method == "POST":
        values |= {
            k: request.POST.get(k, "").strip()[:2000] for k in values if not _secret(connector, k)
        }
        config = {f.name: request.POST.get(f.name, "").strip() for f in connector.connect_fields}
        try:
            setup = connector.setup(config)
        except ConfigError as exc:
            return _page(request, page | {"form": values, "error": str(exc)}, status=400)
        channel = save_connection(
            ChannelAccount(
                workspace_id=member.workspace_id, kind=connector.kind, provider=connector.provider
            ),
            name=values["name"] or connector.label,
            config=setup.config,
            credentials=setup.credentials,
        )
        if setup.reveal_once:
            reveal = [
                (key.replace("_", " ").capitalize(), key, value)
                for key, value in setup.reveal_once.items()
            ]
            return _page(request, page | {"channel": channel, "reveal": reveal})
        messages.success(request, f"{channel.name} is connected.")
        return redirect("apps")
    return _page(request, page | {"form": values})


def _secret(connector: Connector, name: str) -> bool:
    return any(f.name == name and f.secret for f in connector.connect_fields)


def _page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    form = context.get("form") or {}
    context["rows"] = [(f, form.get(f.name, "")) for f in context["fields"]]
    return render(
        request, "web/channel_connect.html", {**shell_context(request), **context}, status=status
    )
