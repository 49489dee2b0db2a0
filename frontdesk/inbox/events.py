"""Every event the inbox emits, one function each, published only after the transaction
that made the change commits (``realtime.publish``). This module is the only way inbox
code reaches the websocket: the payload of each event type is written once, here.

The page's script (``web/static/frontdesk/app.js``) reacts to each ``type``; the payloads
carry ids, never content, so a page fetches what it may see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from frontdesk.realtime import publish as realtime

if TYPE_CHECKING:
    from frontdesk.inbox.models import ChannelAccount, Conversation, Message, Notification


def message_created(message: Message) -> None:
    """A message, reply, note or event line was added to a conversation."""
    realtime.publish(
        message.workspace_id,
        "message.created",
        conversation_id=message.conversation_id,
        message_id=message.pk,
        channel_id=message.channel_id,
        direction=message.direction,
    )


def message_updated(message: Message) -> None:
    """Something shown on the message changed (a reaction, media that arrived ...)."""
    realtime.publish(
        message.workspace_id,
        "message.updated",
        conversation_id=message.conversation_id,
        message_id=message.pk,
    )


def message_status(message: Message) -> None:
    """A reply's delivery state moved (queued, sent, delivered, read, failed)."""
    realtime.publish(
        message.workspace_id,
        "message.status",
        conversation_id=message.conversation_id,
        message_id=message.pk,
        status=message.status,
        error=message.error,
    )


def member_availability(workspace_id: int, user_id: int, available: bool) -> None:
    """A member set themselves available for new work, or away."""
    realtime.publish(workspace_id, "member.availability", user_id=user_id, available=available)


def conversation_assigned(
    conversation: Conversation, assignee_id: int | None, message_id: int
) -> None:
    """The conversation got an owner (or none); ``message_id`` is the event line saying so."""
    realtime.publish(
        conversation.workspace_id,
        "conversation.assigned",
        conversation_id=conversation.pk,
        assignee_id=assignee_id,
        message_id=message_id,
    )


def conversation_status(
    conversation: Conversation, status: str, message_id: int | None = None
) -> None:
    """Open, pending, snoozed or resolved; ``message_id`` is the event line of a member's
    change (a snooze that ends by itself has none)."""
    data: dict[str, Any] = {"conversation_id": conversation.pk, "status": status}
    if message_id is not None:
        data["message_id"] = message_id
    realtime.publish(conversation.workspace_id, "conversation.status", **data)


def conversation_labels(conversation: Conversation, message_id: int) -> None:
    """Labels were added to or removed from the conversation (``message_id``: the line)."""
    realtime.publish(
        conversation.workspace_id,
        "conversation.labels",
        conversation_id=conversation.pk,
        message_id=message_id,
    )


def labels_changed(workspace_id: int) -> None:
    """A label was renamed, recoloured or deleted: the sidebar and rows show it again."""
    realtime.publish(workspace_id, "labels.changed")


def conversation_read(conversation: Conversation, user_id: int) -> None:
    """One member read the conversation (their unread counts change, nobody else's)."""
    realtime.publish(
        conversation.workspace_id,
        "conversation.read",
        conversation_id=conversation.pk,
        user_id=user_id,
    )


def contact_updated(workspace_id: int, contact_id: int) -> None:
    """A contact's name, picture, profile or addresses changed."""
    realtime.publish(workspace_id, "contact.updated", contact_id=contact_id)


def contact_merged(
    workspace_id: int, contact_id: int, merged_contact_id: int, conversations: list[dict[str, int]]
) -> None:
    """``merged_contact_id`` was folded into ``contact_id``; ``conversations`` are the kept
    contact's conversations, each ``{"id", "message_id"}`` with the event line saying so."""
    realtime.publish(
        workspace_id,
        "contact.merged",
        contact_id=contact_id,
        merged_contact_id=merged_contact_id,
        conversations=conversations,
    )


def channel_progress(channel: ChannelAccount) -> None:
    """A channel's history import moved on, or finished (``text`` empty, ``synced_at``)."""
    synced = channel.last_synced_at
    realtime.publish(
        channel.workspace_id,
        "channel.progress",
        channel_id=channel.pk,
        text=channel.import_text,
        synced_at=synced.isoformat() if synced else None,
    )


def channel_status(channel: ChannelAccount) -> None:
    """A channel was connected, reconnected, disconnected or failed (its last error)."""
    realtime.publish(
        channel.workspace_id,
        "channel.status",
        channel_id=channel.pk,
        status=channel.status,
        error=channel.last_error,
    )


def notification_created(notification: Notification) -> None:
    """A member got a notification (or an unread one was updated); only they show it."""
    realtime.publish(
        notification.workspace_id,
        "notification.created",
        user_id=notification.user_id,
        notification_id=notification.pk,
        kind=notification.kind,
    )


def notification_read(workspace_id: int, user_id: int) -> None:
    """Some of a member's notifications were read: their bell recounts."""
    realtime.publish(workspace_id, "notification.read", user_id=user_id)
