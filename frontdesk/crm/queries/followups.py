"""Reading follow-ups: a member's list (overdue, today, upcoming, in their time zone), the
API's filtered pages, the open ones of one contact, lead or deal, and the sidebar's count."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from frontdesk.core.counts import Select, capped_counts
from frontdesk.crm.models import FollowUp
from frontdesk.crm.queries.paging import Sort, keyset_page
from frontdesk.inbox.queries import Page

BY_DUE = Sort("due_at")
BY_DONE = Sort("done_at", descending=True)
LIST_CAP = 200  # per section of "My follow-ups"


def _rows(workspace_id: int) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(workspace_id=workspace_id).select_related(
        "contact", "lead", "deal", "assignee"
    )


def followup_page(
    workspace_id: int,
    assignee_id: int | None,
    state: str,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> Page:
    """``state``: open (by due time), overdue (open and due by now) or done (latest first)."""
    qs = _rows(workspace_id)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if state == "done":
        return keyset_page(qs.filter(done_at__isnull=False), BY_DONE, cursor, limit)
    qs = qs.filter(done_at__isnull=True)
    if state == "overdue":
        qs = qs.filter(due_at__lte=now or timezone.now())
    return keyset_page(qs, BY_DUE, cursor, limit)


@dataclass
class MyFollowUps:
    overdue: list[FollowUp] = field(default_factory=list)
    today: list[FollowUp] = field(default_factory=list)
    upcoming: list[FollowUp] = field(default_factory=list)
    done: list[FollowUp] = field(default_factory=list)


def start_of_tomorrow(zone: ZoneInfo, now: datetime) -> datetime:
    local = timezone.localtime(now, zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)


def my_followups(
    workspace_id: int, user_id: int, zone: ZoneInfo, now: datetime | None = None
) -> MyFollowUps:
    """A member's open follow-ups split at now and at midnight in their zone, and the last
    few they finished."""
    now = now or timezone.now()
    mine = _rows(workspace_id).filter(assignee_id=user_id)
    tomorrow = start_of_tomorrow(zone, now)
    result = MyFollowUps()
    result.overdue = list(
        mine.filter(done_at__isnull=True, due_at__lte=now).order_by("due_at", "id")[:LIST_CAP]
    )
    result.today = list(
        mine.filter(done_at__isnull=True, due_at__gt=now, due_at__lt=tomorrow).order_by(
            "due_at", "id"
        )[:LIST_CAP]
    )
    result.upcoming = list(
        mine.filter(done_at__isnull=True, due_at__gte=tomorrow).order_by("due_at", "id")[:LIST_CAP]
    )
    result.done = list(mine.filter(done_at__isnull=False).order_by("-done_at", "-id")[:10])
    return result


def due_select(workspace_id: int, user_id: int, now: datetime | None = None) -> Select:
    """The member's open follow-ups due by now (the sidebar's badge), for
    ``core.counts.capped_counts``."""
    at = connection.ops.adapt_datetimefield_value(now or timezone.now())
    return (
        "SELECT 1 FROM crm_followup WHERE workspace_id = %s AND assignee_id = %s"
        " AND done_at IS NULL AND due_at <= %s",
        [workspace_id, user_id, at],
    )


def due_count(workspace_id: int, user_id: int, now: datetime | None = None, cap: int = 99) -> int:
    """How many of the member's open follow-ups are due by now, up to ``cap + 1``."""
    return capped_counts({"n": due_select(workspace_id, user_id, now)}, cap)["n"]


def open_for(
    workspace_id: int,
    *,
    contact_id: int | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
) -> list[FollowUp]:
    """The open follow-ups shown on a contact's, a lead's or a deal's page, soonest first."""
    qs = _rows(workspace_id).filter(done_at__isnull=True)
    if deal_id is not None:
        qs = qs.filter(deal_id=deal_id)
    elif lead_id is not None:
        qs = qs.filter(lead_id=lead_id)
    elif contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    else:
        return []
    return list(qs.order_by("due_at", "id")[:50])
