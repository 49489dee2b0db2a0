"""Apps & integrations (connected accounts) and the Settings hub."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from frontdesk.connectors.registry import CONNECTORS
from frontdesk.inbox.actions.channel import remove_channel as remove
from frontdesk.inbox.actions.channel import set_connected
from frontdesk.inbox.models import ChannelAccount
from frontdesk.web.access import current_member, member_required
from frontdesk.web.views.shell import shell_context
from frontdesk.workspaces.models import Membership


def _connect_options() -> list[dict[str, str]]:
    return [{"label": c.label, "kind": c.kind, "url": c.connect_url()} for c in CONNECTORS.values()]


@member_required
@require_GET
def apps(request: HttpRequest) -> HttpResponse:
    shell = shell_context(request)
    rows = []
    for channel in shell["channels"]:
        try:
            connector = channel.connector
            label, reconnect = connector.label, connector.reconnect_url(channel.view())
        except LookupError:  # a provider this install no longer has
            label, reconnect = channel.provider, None
        rows.append({"channel": channel, "label": label, "reconnect_url": reconnect})
    return render(
        request,
        "web/apps.html",
        {**shell, "rows": rows, "connect_options": _connect_options()},
    )


@member_required
@require_POST
def channel_connection(request: HttpRequest, channel_id: int) -> HttpResponse:
    member = current_member(request)
    if not member.is_admin:
        return HttpResponseForbidden("Only owners and admins can change connected accounts.")
    channel = _live_channel(member, channel_id)
    connect = request.POST.get("action") == "connect"
    set_connected(channel, connect)
    messages.success(request, f"{channel.name} {'connected' if connect else 'disconnected'}.")
    return redirect("apps")


@member_required
@require_POST
def remove_channel(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Remove a channel (owners and admins): its conversations stay readable."""
    member = current_member(request)
    if not member.is_admin:
        return HttpResponseForbidden("Only owners and admins can remove connected accounts.")
    removal = remove(_live_channel(member, channel_id))
    name = removal.channel.name
    messages.success(
        request,
        f"{name} is removed. Its conversations stay in the inbox, marked as from a removed"
        " channel." + (f" {removal.done}." if removal.done else ""),
    )
    if removal.problem:
        messages.warning(
            request,
            f"{removal.channel.connector.label} was not told that {name} is gone"
            f" ({removal.problem}). Remove the account, or Frontdesk's access to it, in"
            " the provider's own settings.",
        )
    return redirect("apps")


def _live_channel(member: Membership, channel_id: int) -> ChannelAccount:
    """A channel of the member's workspace that was not removed (else 404)."""
    return get_object_or_404(
        ChannelAccount, pk=channel_id, workspace_id=member.workspace_id, removed_at=None
    )


@member_required
@require_GET
def workspace_settings(request: HttpRequest) -> HttpResponse:
    """The settings hub: members, outgoing mail, your profile, the CRM's settings."""
    member = current_member(request)
    count = Membership.objects.filter(
        workspace_id=member.workspace_id, user__is_active=True
    ).count()
    return render(request, "web/settings.html", {**shell_context(request), "member_count": count})
