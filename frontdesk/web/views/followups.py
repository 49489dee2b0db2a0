"""Follow-ups on the pages: "My follow-ups" (overdue, today, upcoming, in the member's time
zone), the follow-ups block of a contact's, a lead's and a deal's page with its small form
("Tomorrow 9:00", "Next Monday 9:00" or a date and time), and the buttons that finish,
snooze, reschedule or reassign one.

Every time a member types or reads here is in their own zone (``User.zone``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from frontdesk.crm.actions import followups as actions
from frontdesk.crm.actions.values import UNSET, CrmError
from frontdesk.crm.queries import followups as queries
from frontdesk.web.access import current_member, form_error, member_required, workspace_members
from frontdesk.web.views import crm_timeline
from frontdesk.web.views.shell import followups_context, shell_context

MORNING = time(9, 0)
QUICK_CHOICES = [("tomorrow", "Tomorrow 9:00"), ("monday", "Next Monday 9:00"), ("custom", "Pick")]
SNOOZES = [("hour", "In 1 hour"), ("tomorrow", "Tomorrow 9:00"), ("monday", "Next Monday 9:00")]


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def due_from(choice: str, raw_date: str, raw_time: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The due time a form's choice names, in the member's zone."""
    today = timezone.localtime(now, zone).date()
    if choice == "hour":
        return now + timedelta(hours=1)
    if choice == "tomorrow":
        return _at(today + timedelta(days=1), MORNING, zone)
    if choice == "monday":
        return _at(today + timedelta(days=7 - today.weekday()), MORNING, zone)
    try:
        day = date.fromisoformat(raw_date.strip())
    except ValueError:
        raise CrmError("pick the day from the calendar") from None
    try:
        at = time.fromisoformat(raw_time.strip()) if raw_time.strip() else MORNING
    except ValueError:
        raise CrmError("type the time as hours and minutes, such as 14:30") from None
    return _at(day, at.replace(tzinfo=None), zone)


def _assignee(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else UNSET if raw is None else None


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect(default)


_KEYS = {
    "contacts": "contact_id",
    "leads": "lead_id",
    "deals": "deal_id",
    "conversations": "conversation_id",
}


def _listed(record: crm_timeline.Record) -> dict[str, int | None]:
    """Which open follow-ups a block lists: a conversation's panel lists its contact's."""
    if record.kind == "conversations":
        return {"contact_id": record.contact_id}
    return {_KEYS[record.kind]: record.pk}


def block_context(request: HttpRequest, record: crm_timeline.Record) -> dict[str, Any]:
    """What the follow-ups block of a record's page (or a conversation's panel) shows."""
    member = current_member(request)
    return {
        "record": record,
        "back": record.page_url,
        "followups": queries.open_for(member.workspace_id, **_listed(record)),
        "members": workspace_members(member),
        "quick_choices": QUICK_CHOICES,
        "snoozes": SNOOZES,
        "now": timezone.now(),
    }


@member_required
@require_POST
def followup_add(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    """Schedule one from a record's page; answers the refreshed block (htmx) or the page."""
    member = current_member(request)
    record = crm_timeline.record_for(request, kind, record_id)
    key = _KEYS[record.kind]
    post = request.POST
    try:
        due_at = due_from(
            post.get("when", "tomorrow"),
            post.get("date", ""),
            post.get("time", ""),
            member.user.zone,
            timezone.now(),
        )
        actions.create_followup(
            member.workspace_id,
            member.user,
            due_at,
            post.get("note", ""),
            assignee_id=_assignee(post.get("assignee")),
            **{key: record.pk},
        )
    except CrmError as exc:
        return form_error(request, str(exc), "#crm-fu-error")
    if request.headers.get("HX-Request"):
        return render(request, "web/crm/_followups.html", block_context(request, record))
    return redirect(record.page_url)


@member_required
@require_POST
def followup_change(request: HttpRequest, followup_id: int) -> HttpResponse:
    """One button or small form on a follow-up: done, undo, snooze, reschedule, reassign."""
    member = current_member(request)
    post = request.POST
    action = post.get("action", "")
    fields: dict[str, Any] = {}
    try:
        if action in ("done", "undo"):
            fields["done"] = action == "done"
        elif action == "snooze":
            fields["due_at"] = due_from(
                post.get("when", ""), "", "", member.user.zone, timezone.now()
            )
        elif action == "reschedule":
            fields["due_at"] = due_from(
                "custom",
                post.get("date", ""),
                post.get("time", ""),
                member.user.zone,
                timezone.now(),
            )
        elif action == "reassign":
            fields["assignee_id"] = _assignee(post.get("assignee", ""))
        else:
            raise CrmError("unknown action")
        actions.update_followup(member.workspace_id, followup_id, member.user, **fields)
    except actions.FollowUpNotFound:
        return HttpResponse("No such follow-up.", status=404)
    except CrmError as exc:
        return form_error(request, str(exc), f"#crm-fu-{followup_id}-error")
    return _back(request, "/followups/")


@member_required
@require_GET
def followups_count(request: HttpRequest) -> HttpResponse:
    """The sidebar's count of due follow-ups (the number only: it goes inside the count
    that asked, which stays in place), fetched again when one of the member's follow-ups
    changes (the ``followups.changed`` event) or the socket reconnects. The count staying
    in place matters: a change that comes while an answer is on its way queues its own
    request on it, and htmx drops the requests of an element that was swapped out, so the
    count would stay on the earlier answer."""
    return render(
        request, "web/crm/_followups_due.html", followups_context(current_member(request))
    )


@member_required
@require_GET
def my_followups(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    zone = member.user.zone
    now = timezone.now()
    mine = queries.my_followups(member.workspace_id, member.user_id, zone, now)
    sections = [
        ("overdue", "Overdue", mine.overdue),
        ("today", "Today", mine.today),
        ("upcoming", "Upcoming", mine.upcoming),
    ]
    return render(
        request,
        "web/crm/followups.html",
        {
            **shell_context(request),
            "sections": sections,
            "done": mine.done,
            "members": workspace_members(member),
            "snoozes": SNOOZES,
            "zone": zone,
            "now": now,
            "open_count": len(mine.overdue) + len(mine.today) + len(mine.upcoming),
        },
    )
