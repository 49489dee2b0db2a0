"""What every page around the inbox shares: the sidebar (channels and unread counts) and
the conversation list's filters, read from and written back to the query string."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import (
    HttpRequest,
)
from django.urls import reverse

from frontdesk.core.counts import capped_counts
from frontdesk.crm.queries.followups import due_count, due_select
from frontdesk.inbox import queries, search
from frontdesk.web.access import (
    current_member,
)
from frontdesk.workspaces.models import Membership

UNREAD_CAP = 99
STATUSES = ["open", "pending", "snoozed", "resolved"]

# --- list state --------------------------------------------------------------------------


class ListState:
    """The filters of the conversation list, read from and written back to the query string."""

    def __init__(self, params: Any):
        self.view = params.get("view", "all")
        if self.view not in ("all", "mine", "unassigned", "waiting"):
            self.view = "all"
        status = params.get("status", "open")
        self.status = status if status in [*STATUSES, "all"] else "open"
        assignee = params.get("assignee", "")
        self.assignee = assignee if assignee in ("me", "none") or assignee.isdigit() else ""
        channel = params.get("channel", "")
        self.channel = int(channel) if channel.isdigit() else None
        label = params.get("label", "")
        self.label = int(label) if label.isdigit() else None
        self.unread = params.get("unread") in ("1", "on", "true")
        self.sort = "oldest" if params.get("sort") == "oldest" else "newest"
        # The client wrote last and waits for us: the "Waiting longest" view, or a filter.
        self.waiting = self.view == "waiting" or params.get("waiting") in ("1", "on", "true")
        self.q = str(params.get("q", "")).strip()[:200]

    @property
    def filter(self) -> queries.ConversationFilter:
        assignee = self.assignee or {"mine": "me", "unassigned": "none"}.get(self.view)
        return queries.ConversationFilter(
            status=None if self.status == "all" else self.status,
            assignee=assignee,
            channel_id=self.channel,
            label_id=self.label,
            unread_only=self.unread,
            oldest_first=self.sort == "oldest",
            waiting=self.waiting,
            q=self.q,
        )

    @property
    def search_filter(self) -> search.SearchFilter:
        """The same filters for a search (which is always newest first)."""
        flt = self.filter
        return search.SearchFilter(
            channel_id=flt.channel_id,
            status=flt.status,
            assignee=flt.assignee,
            label_id=flt.label_id,
        )

    def params(self, **override: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "view": self.view,
            "status": self.status,
            "assignee": self.assignee,
            "channel": self.channel or "",
            "label": self.label or "",
            "unread": "1" if self.unread else "",
            "sort": self.sort,
            "waiting": "1" if self.waiting and self.view != "waiting" else "",
            "q": self.q,
        }
        values.update(override)
        defaults = {"view": "all", "status": "open", "sort": "newest"}
        return {
            k: str(v) for k, v in values.items() if v not in ("", None) and defaults.get(k) != v
        }

    @property
    def query(self) -> str:
        q = urlencode(self.params())
        return f"?{q}" if q else ""

    def link(self, **override: Any) -> str:
        q = urlencode(self.params(**override))
        return reverse("inbox") + (f"?{q}" if q else "")


def _shown(count: int) -> int | str:
    return f"{UNREAD_CAP}+" if count > UNREAD_CAP else count


def _counts(member: Membership, channel_ids: list[int], bell: bool, followups: bool) -> dict:
    """The sidebar's unread counts, and the bell's and the due follow-ups' when asked, in
    one statement (each a short capped read; see core.counts)."""
    ws, me = member.workspace_id, member.user_id
    selects = queries.unread_selects(ws, me, channel_ids)
    if bell:
        selects["bell"] = queries.unread_notifications_select(ws, me)
    if followups:
        selects["followups"] = due_select(ws, me)
    return capped_counts(selects, UNREAD_CAP)


def sidebar_context(member: Membership, bell: bool = False, followups: bool = False) -> dict:
    """The sidebar's channels, labels and unread counts; with ``bell`` and ``followups``
    also those counts (``notification_count``, ``followups_due``), from the same statement."""
    channels = list(queries.channels(member.workspace_id))
    counts = _counts(member, [c.pk for c in channels], bell, followups)
    context: dict[str, Any] = {
        "channels": channels,
        "all_labels": list(queries.labels(member.workspace_id)),
    }
    if bell:
        context["notification_count"] = _shown(counts.pop("bell"))
    if followups:
        context["followups_due"] = _shown(counts.pop("followups"))
    context["counts"] = {key: _shown(n) for key, n in counts.items()}
    return context


def bell_context(member: Membership) -> dict[str, Any]:
    """The bell's count of unread notifications."""
    count = queries.unread_notification_count(member.workspace_id, member.user_id, cap=UNREAD_CAP)
    return {"notification_count": _shown(count)}


def shell_context(request: HttpRequest) -> dict:
    """What every page around the inbox needs: the member and the sidebar."""
    member = current_member(request)
    return {
        "membership": member,
        "state": ListState({}),
        **sidebar_context(member, bell=True, followups=True),
    }


def followups_context(member: Membership) -> dict[str, Any]:
    """The sidebar's count of the member's follow-ups that are due now."""
    return {"followups_due": _shown(due_count(member.workspace_id, member.user_id, cap=UNREAD_CAP))}
