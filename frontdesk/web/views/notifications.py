"""The bell: a member's notifications (a page, the sidebar's panel and its live count).

Opening a notification is a POST (it marks it read), then a redirect to what it is about.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from frontdesk.inbox import queries
from frontdesk.inbox.actions import notifications as notification_actions
from frontdesk.inbox.models import Notification
from frontdesk.web.access import current_member, member_required
from frontdesk.web.views.shell import bell_context, shell_context
from frontdesk.workspaces.models import Membership

PANEL_SIZE = 20
PAGE_SIZE = 50


def notification_url(row: Notification) -> str:
    """Where a notification leads: the message or conversation, else the lead or deal."""
    if row.conversation_id:
        url = reverse("conversation", args=[row.conversation_id])
        return f"{url}?m={row.message_id}" if row.message_id else url
    for name, pk in (("deal", row.deal_id), ("lead", row.lead_id)):
        if pk:
            try:
                return reverse(name, args=[pk])
            except NoReverseMatch:  # a CRM page this install does not have yet
                continue
    if row.followup_id:
        return reverse("followups")
    return reverse("notifications")


def _items(member: Membership, limit: int, cursor: str | None = None) -> tuple[list, str | None]:
    try:
        page = queries.notifications(
            member.workspace_id, member.user_id, cursor=cursor, limit=limit
        )
    except queries.BadCursor:
        raise Http404("bad cursor") from None
    return [(n, notification_url(n)) for n in page.items], page.next_cursor


@member_required
@require_GET
def notifications_page(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    items, next_cursor = _items(member, PAGE_SIZE, request.GET.get("cursor") or None)
    return render(
        request,
        "web/notifications/page.html",
        {**shell_context(request), "items": items, "next_cursor": next_cursor},
    )


def _panel(request: HttpRequest, member: Membership, oob: bool = False) -> HttpResponse:
    items, more = _items(member, PANEL_SIZE)
    return render(
        request,
        "web/notifications/_panel.html",
        {"items": items, "more": bool(more), "oob": oob, **bell_context(member)},
    )


@member_required
@require_GET
def panel(request: HttpRequest) -> HttpResponse:
    return _panel(request, current_member(request))


@member_required
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    return render(request, "web/notifications/_bell.html", bell_context(current_member(request)))


@member_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark one (``id``) or all (``all``) read; back to where the form was."""
    member = current_member(request)
    raw = request.POST.get("id", "")
    ids = [int(raw)] if raw.isdigit() else None
    if ids is None and request.POST.get("all") != "1":
        return HttpResponse("Say which notification, or all.", status=400)
    notification_actions.mark_read(member.workspace_id, member.user_id, ids)
    if request.headers.get("HX-Request"):  # the panel again, and the bell's count with it
        return _panel(request, member, oob=True)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("notifications")
    return redirect(back)


@member_required
@require_POST
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    member = current_member(request)
    row = get_object_or_404(
        Notification,
        pk=notification_id,
        workspace_id=member.workspace_id,
        user_id=member.user_id,
    )
    notification_actions.mark_read(member.workspace_id, member.user_id, [row.pk])
    return redirect(notification_url(row))
