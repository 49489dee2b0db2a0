"""Teamwork pages and actions of the inbox (availability for auto-assignment)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from frontdesk.inbox.actions import routing
from frontdesk.web.access import current_member, member_required


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
