"""Teamwork pages and actions of the inbox: availability for auto-assignment, labels."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from frontdesk.inbox.actions import labels, routing
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import LABEL_COLORS, Label
from frontdesk.web.access import current_member, member_required
from frontdesk.web.views.shell import shell_context


@member_required
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    """The member goes available for new work, or away (the sidebar's switch)."""
    member = current_member(request)
    routing.set_available(member, request.POST.get("available") == "1")
    if request.headers.get("HX-Request"):
        return render(request, "web/team/_availability.html", {"available": member.available})
    back = request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return redirect(back if safe else "inbox")


@member_required
def label_settings(request: HttpRequest) -> HttpResponse:
    """Settings > Labels: everyone sees them; owners and admins add, change and delete."""
    member = current_member(request)
    if request.method == "POST":
        if not member.is_admin:
            return HttpResponseForbidden("Only owners and admins change labels.")
        action = request.POST.get("action", "")
        name, color = request.POST.get("name", ""), request.POST.get("color", "")
        try:
            if action == "create":
                label = labels.create_label(member.workspace_id, name, color)
                messages.success(request, f"Label “{label.name}” added.")
            else:
                label = get_object_or_404(
                    Label, pk=request.POST.get("label") or 0, workspace_id=member.workspace_id
                )
                if action == "delete":
                    labels.delete_label(label)
                    messages.success(request, f"Label “{label.name}” deleted.")
                else:
                    labels.update_label(label, name, color)
                    messages.success(request, f"Label “{label.name}” saved.")
        except ActionRefused as exc:
            messages.error(request, str(exc)[:1].upper() + str(exc)[1:] + ".")
        return redirect("label_settings")
    return render(
        request,
        "web/team/labels.html",
        {**shell_context(request), "colors": LABEL_COLORS.items(), "limit": labels.NAME_LIMIT},
    )
