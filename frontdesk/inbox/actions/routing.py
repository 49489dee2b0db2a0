"""Auto-assignment: new work on a channel goes to one of its chosen members who is available.

Per channel (``ChannelAccount.auto_assign``, off by default): ``round_robin`` takes the
members in turn, ``least_open`` the one with the fewest open conversations; an optional
``cap`` skips whoever already has that many open conversations; ``member_ids`` narrows the
members (default: every active member). A returning client goes back to whoever had their
last conversation, if still available and under the cap.

Concurrency: the channel's row and then the candidates' membership rows (in id order) are
locked before counting, so two messages arriving at once never give two members the same
conversation, never pass a cap, and the round robin never repeats a turn.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from frontdesk.inbox import events
from frontdesk.inbox.actions.conversation import event_line
from frontdesk.inbox.actions.notifications import conversation_title, notify
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import (
    ChannelAccount,
    Conversation,
    ConversationStatus,
    NotificationKind,
)
from frontdesk.workspaces.models import Membership, User

MODES = ("off", "round_robin", "least_open")
OPEN = (ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.SNOOZED)


def clean_settings(workspace_id: int, raw: dict[str, Any]) -> dict[str, Any]:
    """The channel's auto-assignment settings as given, checked (``ActionRefused`` says why)."""
    mode = raw.get("mode", "off")
    if mode not in MODES:
        raise ActionRefused(f"auto_assign mode must be one of {', '.join(MODES)}")
    cap = raw.get("cap")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        raise ActionRefused("auto_assign cap must be a whole number of at least 1, or null")
    member_ids = raw.get("member_ids")
    if member_ids is not None:
        if not isinstance(member_ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in member_ids
        ):
            raise ActionRefused("auto_assign member_ids must be a list of member ids, or null")
        known = set(
            Membership.objects.filter(
                workspace_id=workspace_id, user_id__in=member_ids
            ).values_list("user_id", flat=True)
        )
        if unknown := sorted(set(member_ids) - known):
            raise ActionRefused(f"not members of this workspace: {unknown}")
        member_ids = sorted(set(member_ids))
    return {"mode": mode, "cap": cap, "member_ids": member_ids}


def set_auto_assign(channel: ChannelAccount, raw: dict[str, Any]) -> ChannelAccount:
    cleaned = clean_settings(channel.workspace_id, raw)
    with transaction.atomic():
        locked = ChannelAccount.objects.select_for_update().get(pk=channel.pk)
        locked.auto_assign = {**cleaned, "last_user_id": locked.auto_assign.get("last_user_id")}
        locked.save(update_fields=["auto_assign"])
    channel.auto_assign = locked.auto_assign
    return channel


def set_available(member: Membership, available: bool) -> Membership:
    """A member says they are available for new work (or away)."""
    with transaction.atomic():
        Membership.objects.filter(pk=member.pk).update(available=available)
        member.available = available
        events.member_availability(member.workspace_id, member.user_id, available)
    return member


def route(channel: ChannelAccount, conversation: Conversation) -> User | None:
    """Give an unassigned conversation to a member by its channel's rule (within the
    caller's transaction); the member chosen, or None (off, nobody available, all capped)."""
    if (channel.auto_assign or {}).get("mode", "off") == "off":
        return None  # the common case costs nothing
    if _assignee(conversation) is not None:
        return None
    channel = ChannelAccount.objects.select_for_update().get(pk=channel.pk)
    rule = channel.auto_assign
    if rule.get("mode", "off") == "off" or _assignee(conversation) is not None:
        return None  # (read again under the lock: a message just before may have routed it)
    candidates = _candidates(channel.workspace_id, rule.get("member_ids"))
    if not candidates:
        return None
    cap = rule.get("cap")
    open_counts = _open_counts(channel.workspace_id, candidates)
    eligible = [u for u in candidates if cap is None or open_counts.get(u, 0) < cap]
    if not eligible:
        return None
    chosen = _previous_assignee(conversation, eligible)
    if chosen is None and rule.get("mode") == "least_open":
        chosen = min(eligible, key=lambda u: (open_counts.get(u, 0), u))
    elif chosen is None:
        last = rule.get("last_user_id") or 0
        chosen = next((u for u in eligible if u > last), eligible[0])
        channel.auto_assign = {**rule, "last_user_id": chosen}
        channel.save(update_fields=["auto_assign"])
    return _assign(conversation, chosen)


def _assignee(conversation: Conversation) -> int | None:
    row = Conversation.objects.filter(pk=conversation.pk).values_list("assignee_id", flat=True)
    return row[0] if row else None


def _candidates(workspace_id: int, member_ids: list[int] | None) -> list[int]:
    """The available, active members who may get work, their membership rows locked."""
    rows = Membership.objects.filter(
        workspace_id=workspace_id, available=True, user__is_active=True
    )
    if member_ids is not None:
        rows = rows.filter(user_id__in=member_ids)
    locked = rows.select_for_update(of=("self",)).order_by("pk").values_list("user_id", flat=True)
    return sorted(locked)


def _open_counts(workspace_id: int, user_ids: list[int]) -> dict[int, int]:
    return dict(
        Conversation.objects.filter(
            workspace_id=workspace_id, assignee_id__in=user_ids, status__in=OPEN
        )
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )


def _previous_assignee(conversation: Conversation, eligible: list[int]) -> int | None:
    """Who had this client's latest other conversation, if they may take this one."""
    previous = (
        Conversation.objects.filter(
            workspace_id=conversation.workspace_id, contact_id=conversation.contact_id
        )
        .exclude(pk=conversation.pk)
        .filter(~Q(assignee_id=None))
        .order_by("-last_message_at", "-pk")
        .values_list("assignee_id", flat=True)[:1]
    )
    return previous[0] if previous and previous[0] in eligible else None


def _assign(conversation: Conversation, user_id: int) -> User:
    user = User.objects.get(pk=user_id)
    Conversation.objects.filter(pk=conversation.pk).update(assignee_id=user_id)
    conversation.assignee_id = user_id
    line = event_line(
        conversation,
        None,
        f"Assigned to {user.display_name} automatically",
        action="assigned",
        assignee_id=user_id,
        auto=True,
    )
    line.save()
    events.conversation_assigned(conversation, user_id, line.pk)
    notify(
        conversation.workspace_id,
        user_id,
        NotificationKind.ASSIGNED,
        f"You were assigned {conversation_title(conversation)} automatically",
        conversation_id=conversation.pk,
    )
    return user
