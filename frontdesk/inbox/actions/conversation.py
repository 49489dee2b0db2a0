"""Assigning, changing status, and reading: each writes, leaves a quiet event line, publishes."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from frontdesk.inbox import events
from frontdesk.inbox.actions.notifications import (
    conversation_title,
    mark_conversation_read,
    notify,
)
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import (
    Conversation,
    ConversationRead,
    ConversationStatus,
    Direction,
    Message,
    MessageKind,
    NotificationKind,
)
from frontdesk.inbox.tasks import queue_read_receipt
from frontdesk.workspaces.models import User
from frontdesk.workspaces.services import active_member


def event_line(conversation: Conversation, actor: User | None, text: str, **extra: Any) -> Message:
    """A quiet line in the thread about what a member (or the system) did; not saved yet."""
    return Message(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=Direction.OUTBOUND,
        kind=MessageKind.EVENT,
        author_user=actor,
        author_name=actor.display_name if actor else "",
        text=text,
        extra=extra,
    )


def _event_line(conversation: Conversation, actor: User, text: str, **extra: Any) -> Message:
    message = event_line(conversation, actor, text, **extra)
    message.save()
    return message


def assign(actor: User, conversation: Conversation, assignee: User | None) -> Conversation:
    """Give the conversation an owner (or none). The assignee must be in the workspace."""
    if assignee is not None and active_member(conversation.workspace_id, assignee.pk) is None:
        raise ActionRefused("that person is not a member of this workspace")
    if conversation.assignee_id == (assignee.pk if assignee else None):
        return conversation
    with transaction.atomic():
        conversation.assignee = assignee
        conversation.save(update_fields=["assignee"])
        if assignee is None:
            text = f"{actor.display_name} unassigned this conversation"
        elif assignee.pk == actor.pk:
            text = f"{actor.display_name} took this conversation"
        else:
            text = f"{actor.display_name} assigned this to {assignee.display_name}"
        event = _event_line(
            conversation,
            actor,
            text,
            action="assigned",
            assignee_id=assignee.pk if assignee else None,
        )
        events.conversation_assigned(conversation, assignee.pk if assignee else None, event.pk)
        if assignee is not None:
            notify(
                conversation.workspace_id,
                assignee.pk,
                NotificationKind.ASSIGNED,
                f"{actor.display_name} assigned you {conversation_title(conversation)}",
                actor_id=actor.pk,
                conversation_id=conversation.pk,
            )
    return conversation


_STATUS_WORDS = {
    ConversationStatus.OPEN: "reopened",
    ConversationStatus.PENDING: "marked as pending",
    ConversationStatus.SNOOZED: "snoozed",
    ConversationStatus.RESOLVED: "resolved",
}


def set_status(
    actor: User, conversation: Conversation, status: str, snoozed_until: datetime | None = None
) -> Conversation:
    if status not in ConversationStatus.values:
        raise ActionRefused(f"status must be one of {', '.join(ConversationStatus.values)}")
    if status == ConversationStatus.SNOOZED:
        if snoozed_until is None or snoozed_until <= timezone.now():
            raise ActionRefused("snoozing needs a time in the future")
    else:
        snoozed_until = None
    if conversation.status == status and conversation.snoozed_until == snoozed_until:
        return conversation
    with transaction.atomic():
        conversation.status = status
        conversation.snoozed_until = snoozed_until
        conversation.save(update_fields=["status", "snoozed_until"])
        text = f"{actor.display_name} {_STATUS_WORDS[ConversationStatus(status)]} this conversation"
        extra: dict[str, Any] = {"action": "status", "status": status}
        if snoozed_until:
            # The text keeps UTC for the API; the thread shows ``until`` in each reader's zone.
            text += f" until {snoozed_until:%Y-%m-%d %H:%M} UTC"
            extra["until"] = snoozed_until.isoformat()
        event = _event_line(conversation, actor, text, **extra)
        events.conversation_status(conversation, status, event.pk)
    return conversation


def wake_snoozed() -> int:
    """Re-open conversations whose snooze time has passed (a periodic task)."""
    now = timezone.now()
    woken = 0
    for conversation in Conversation.objects.filter(
        status=ConversationStatus.SNOOZED, snoozed_until__lte=now
    ).select_related("contact"):
        with transaction.atomic():
            updated = Conversation.objects.filter(
                pk=conversation.pk, status=ConversationStatus.SNOOZED
            ).update(status=ConversationStatus.OPEN, snoozed_until=None)
            if updated:
                woken += 1
                events.conversation_status(conversation, ConversationStatus.OPEN)
                notify(
                    conversation.workspace_id,
                    conversation.assignee_id or _snoozed_by(conversation),
                    NotificationKind.SNOOZE_ENDED,
                    f"Snooze ended: {conversation_title(conversation)}",
                    conversation_id=conversation.pk,
                )
    return woken


def _snoozed_by(conversation: Conversation) -> int | None:
    """Who last snoozed the conversation (told when it wakes if nobody owns it)."""
    return (
        Message.objects.filter(
            conversation=conversation,
            kind=MessageKind.EVENT,
            extra__action="status",
            extra__status=ConversationStatus.SNOOZED,
        )
        .order_by("-created_at", "-id")
        .values_list("author_user_id", flat=True)
        .first()
    )


def mark_read(user: User, conversation: Conversation) -> None:
    """Mark the conversation read for this member only."""
    now = timezone.now()
    with transaction.atomic():
        ConversationRead.objects.update_or_create(
            conversation=conversation,
            user=user,
            defaults={"last_read_at": now, "workspace_id": conversation.workspace_id},
        )
        mark_conversation_read(conversation.workspace_id, user.pk, conversation.pk)
        events.conversation_read(conversation, user.pk)
        transaction.on_commit(
            partial(queue_read_receipt, conversation.pk, conversation.channel), robust=True
        )
