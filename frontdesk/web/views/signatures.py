"""Email signatures and sender names: each member's own signature, and per email channel
(admins) the name replies are sent under and a team signature for members without one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from frontdesk.inbox.actions import signatures
from frontdesk.inbox.models import ChannelAccount
from frontdesk.web.access import current_member, member_required
from frontdesk.web.views.shell import shell_context


def _signature_channels(workspace_id: int) -> list[ChannelAccount]:
    channels = ChannelAccount.objects.filter(workspace_id=workspace_id).order_by("name")
    return [c for c in channels if signatures.carries_signature(c)]


@member_required
def signature_settings(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    channels = _signature_channels(member.workspace_id)
    if request.method == "POST":
        if request.POST.get("action") == "channel":
            if not member.is_admin:
                messages.error(request, "Only admins change a channel's sender name.")
                return redirect("signature_settings")
            channel = next((c for c in channels if str(c.pk) == request.POST.get("channel")), None)
            if channel is None:
                messages.error(request, "That channel is not in this workspace.")
                return redirect("signature_settings")
            signatures.set_channel_identity(
                channel,
                from_name=request.POST.get("from_name", ""),
                signature=request.POST.get("signature", ""),
            )
            messages.success(request, f"{channel.name}'s sender name and signature are saved.")
        else:
            signatures.set_own_signature(member, request.POST.get("signature", ""))
            messages.success(request, "Your signature is saved.")
        return redirect("signature_settings")
    ctx = {
        **shell_context(request),
        "signature_channels": channels,
        "limit": signatures.SIGNATURE_LIMIT,
        "name_limit": signatures.SENDER_NAME_LIMIT,
    }
    return render(request, "web/people/signatures.html", ctx)
