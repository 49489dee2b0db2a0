"""Teamwork pages and actions of the inbox: availability for auto-assignment, labels, the
list's bulk actions, canned replies."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from frontdesk.inbox import queries
from frontdesk.inbox.actions import bulk, canned, labels, routing
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import LABEL_COLORS, CannedReply, Label
from frontdesk.web.access import (
    conversation_or_404,
    current_member,
    member_required,
    workspace_members,
)
from frontdesk.web.views.shell import shell_context
from frontdesk.workspaces.models import Membership
from frontdesk.workspaces.services import set_assign_on_reply


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


@member_required
def assignment_settings(request: HttpRequest) -> HttpResponse:
    """Settings > Assignment (owners and admins): each channel's auto-assignment (off, round
    robin or fewest open; which members; a cap per member) and whether a reply to an
    unassigned conversation assigns it to the replier."""
    member = current_member(request)
    if not member.is_admin:
        return HttpResponseForbidden("Only owners and admins change assignment.")
    if request.method == "POST":
        if request.POST.get("action") == "reply":
            on = request.POST.get("assign_on_reply") == "1"
            set_assign_on_reply(member.workspace_id, on)
            messages.success(
                request,
                "A reply to an unassigned conversation now assigns it to the replier."
                if on
                else "A reply no longer assigns the conversation.",
            )
            return redirect("assignment_settings")
        channel = get_object_or_404(
            queries.channels(member.workspace_id), pk=request.POST.get("channel") or 0
        )
        cap = request.POST.get("cap", "").strip()
        rule = {
            "mode": request.POST.get("mode", "off"),
            "cap": int(cap) if cap.isdigit() else (cap or None),
            "member_ids": (
                [int(x) for x in request.POST.getlist("members") if x.isdigit()]
                if request.POST.get("who") == "chosen"
                else None
            ),
        }
        try:
            if rule["member_ids"] == [] and rule["mode"] != "off":
                raise ActionRefused("tick at least one member, or choose every member")
            routing.set_auto_assign(channel, rule)
        except ActionRefused as exc:
            text = str(exc).replace("auto_assign cap", "the cap")
            messages.error(request, f"{channel.name}: {text[:1].upper() + text[1:]}.")
        else:
            messages.success(request, f"{channel.name}: auto-assignment saved.")
        return redirect(f"{reverse('assignment_settings')}#channel-{channel.pk}")
    members = workspace_members(member)
    away = set(
        Membership.objects.filter(workspace_id=member.workspace_id, available=False).values_list(
            "user_id", flat=True
        )
    )
    channels = [
        {"channel": c, "rule": {"mode": "off", "cap": None, "member_ids": None, **c.auto_assign}}
        for c in queries.channels(member.workspace_id)
    ]
    return render(
        request,
        "web/team/assignment.html",
        {
            **shell_context(request),
            "assign_channels": channels,
            "members": members,
            "away": away,
            "assign_on_reply": member.workspace.assign_on_reply,
        },
    )


_BULK_DONE = {
    "assign": "assigned",
    "label": "labelled",
    "unlabel": "unlabelled",
    "resolved": "resolved",
    "open": "reopened",
    "pending": "marked as pending",
}


@member_required
@require_POST
def bulk_change(request: HttpRequest) -> HttpResponse:
    """The list's selection: ``ids`` and ``do`` as ``assign:<user id>|me|none``,
    ``label:<id>``, ``unlabel:<id>`` or ``status:resolved|open|pending``."""
    member = current_member(request)
    ids = [int(x) for x in request.POST.getlist("ids") if x.isdigit()]
    what, _, value = request.POST.get("do", "").partition(":")
    change = bulk.BulkChange()
    if what == "assign":
        change.assign = True
        change.assignee_id = member.user_id if value == "me" else _number(value)
    elif what in ("label", "unlabel") and value.isdigit():
        setattr(change, "add_label_ids" if what == "label" else "remove_label_ids", [int(value)])
    elif what == "status":
        change.status = value
    try:
        rows = bulk.apply(member.user, member.workspace_id, ids, change)
    except ActionRefused as exc:
        text, status = str(exc)[:1].upper() + str(exc)[1:] + ".", 400
    else:
        count = len(rows)
        done = _BULK_DONE.get(value if what == "status" else what, "changed")
        text, status = f"{count} conversation{'s' if count != 1 else ''} {done}.", 200
    if request.headers.get("HX-Request"):
        return JsonResponse({"text": text}, status=status)
    (messages.success if status == 200 else messages.error)(request, text)
    back = request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    return redirect(back if safe else "inbox")


def _number(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@member_required
def canned_settings(request: HttpRequest) -> HttpResponse:
    """Settings > Canned replies: the team's saved answers (every member keeps them)."""
    member = current_member(request)
    if request.method == "POST":
        action = request.POST.get("action", "")
        shortcut, title, text = (request.POST.get(k, "") for k in ("shortcut", "title", "text"))
        row = None
        if action != "create":
            row = get_object_or_404(
                CannedReply, pk=request.POST.get("canned") or 0, workspace_id=member.workspace_id
            )
        try:
            if row is not None and action == "delete":
                canned.delete_canned(row)
                messages.success(request, f"/{row.shortcut} deleted.")
            else:
                row = canned.save_canned(
                    member.workspace_id, shortcut, title, text, author=member.user, row=row
                )
                messages.success(request, f"/{row.shortcut} saved.")
        except ActionRefused as exc:
            messages.error(request, str(exc)[:1].upper() + str(exc)[1:] + ".")
            typed = {"shortcut": shortcut, "title": title, "text": text, "canned": row and row.pk}
            request.session["canned-typed"] = typed
        return redirect("canned_settings")
    return render(
        request,
        "web/team/canned.html",
        {
            **shell_context(request),
            "canned_replies": queries.canned_replies(member.workspace_id),
            "variables": canned.VARIABLES,
            "typed": request.session.pop("canned-typed", {}),
            "text_limit": canned.TEXT_LIMIT,
        },
    )


@member_required
@require_GET
def canned_for_conversation(request: HttpRequest, conversation_id: int) -> JsonResponse:
    """The reply box's picker: every canned reply with its variables filled for this
    conversation's contact and the member writing."""
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    values = canned.values_for(conversation, member.user)
    items = [
        {"shortcut": row.shortcut, "title": row.title, "text": canned.fill(row.text, values)}
        for row in queries.canned_replies(member.workspace_id)[:500]
    ]
    return JsonResponse({"items": items})
