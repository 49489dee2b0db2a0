"""Writing to a client: a reply, a first message, a note, a retry. Each reply is written as
a ``queued`` message in the user's transaction; the worker sends it (``inbox/outbox.py``)."""

from __future__ import annotations

import os
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from frontdesk.connectors.base import UNKNOWN_SENDER, Connector, InboundAttachment, ReplyContext
from frontdesk.inbox import events
from frontdesk.inbox.actions.conversation import assign
from frontdesk.inbox.actions.notifications import conversation_title, notify
from frontdesk.inbox.actions.threads import conversation_with, default_thread_key
from frontdesk.inbox.attachments import store_attachment
from frontdesk.inbox.errors import ActionRefused, ReplyBlocked, ReplyHeld
from frontdesk.inbox.mentions import MENTIONS, UnknownMember, mentioned_members, stored
from frontdesk.inbox.messages import check_text_length, preview_of
from frontdesk.inbox.models import (
    ChannelAccount,
    ContactHandle,
    Conversation,
    DeliveryStatus,
    Direction,
    HandleKind,
    Message,
    MessageKind,
    NotificationKind,
)
from frontdesk.inbox.outbox import enqueue
from frontdesk.workspaces.models import User

UNKNOWN_SENDER_REASON = (
    "Replying is off: this message came without a usable sender address (no From, or one"
    " that cannot be read), so there is nobody to reply to. You can still read it and add"
    " notes for the team."
)

REMOVED_CHANNEL_REASON = (
    "Replying is off: this conversation came through {name}, a channel that was removed."
    " Its history stays readable and you can add notes for the team; to write to this client"
    " again, start a new conversation on a connected channel."
)


def reply_closed(conversation: Conversation) -> str | None:
    """Why no reply at all can be sent in this conversation (notes still can), or None."""
    if conversation.channel.removed_at is not None:
        return REMOVED_CHANNEL_REASON.format(name=conversation.channel.name)
    if ContactHandle.objects.filter(
        contact_id=conversation.contact_id, value=UNKNOWN_SENDER
    ).exists():
        return UNKNOWN_SENDER_REASON
    return None


def reply_context(conversation: Conversation) -> ReplyContext:
    """What the channel's connector is told of the conversation a reply would go to."""
    return ReplyContext(last_inbound_at=conversation.last_inbound_at)


def reply_blocked(conversation: Conversation, extra: dict[str, Any] | None = None) -> str | None:
    """Why this reply cannot be sent now, in words for the composer; None when it can: the
    inbox's own reasons (``reply_closed``), then the channel's (a closed 24-hour window)."""
    return reply_closed(conversation) or conversation.channel.connector.reply_blocked_reason(
        reply_context(conversation), extra or {}
    )


def queue_reply(
    user: User,
    conversation: Conversation,
    text: str,
    attachments: list[InboundAttachment] | None = None,
    extra: dict[str, Any] | None = None,
    html: str = "",
    after_message_id: int | None = None,
) -> Message:
    """Write a reply as queued; the worker sends it once the transaction commits.

    ``after_message_id``: the newest message the member had seen. If the conversation has
    anything newer (the client's, a teammate's reply or note) the reply is held
    (``ReplyHeld`` with those messages) and nothing is queued. The conversation's row is
    locked first, so of two members replying at the same instant the second is held for
    the first's reply. A reply to a conversation nobody owns makes it the replier's when
    the workspace says so (``Workspace.assign_on_reply``).

    Refused up front (``ReplyBlocked``) when the channel will not take this message now
    (``reply_blocked``), or with a text or files the channel cannot take.
    ``html``: the same message as HTML, for a channel that takes it (``inbox.formatting``).
    """
    connector = conversation.channel.connector
    text = connector.reply_text((text or "").strip(), extra or {})
    if not text and not attachments:
        raise ActionRefused("a reply needs text or an attachment")
    check_text_length(text)
    check_channel_limits(connector, text, attachments or [])
    if blocked := reply_blocked(conversation, extra):
        raise ReplyBlocked(blocked)
    with transaction.atomic():
        locked = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("workspace")
            .only("assignee_id", "workspace__assign_on_reply")
            .get(pk=conversation.pk)
        )
        if after_message_id is not None:
            newer = newer_messages(conversation, user, after_message_id)
            if newer:
                raise ReplyHeld(newer)
        if locked.assignee_id is None and locked.workspace.assign_on_reply:
            # Before the reply, so the thread reads "assigned to Dana", then Dana's reply.
            conversation.assignee_id = None
            assign(user, conversation, user)
        now = timezone.now()
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            channel_id=conversation.channel_id,
            direction=Direction.OUTBOUND,
            kind=MessageKind.MESSAGE,
            author_user=user,
            author_name=user.display_name,
            text=text,
            html=html if connector.capabilities.html else "",
            subject=(extra or {}).get("subject", "")[:500],
            status=DeliveryStatus.QUEUED,
            extra=extra or {},
            next_attempt_at=now,
            created_at=now,
        )
        for item in attachments or []:
            store_attachment(message, item)
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=now,
            waiting_since=None,
            preview=preview_of(text, "📎 attachment"),
            preview_outbound=True,
            preview_author=user,
        )
        transaction.on_commit(lambda: enqueue(message.pk))
        events.message_created(message)
    return message


HELD_SHOWN = 20


def newer_messages(conversation: Conversation, user: User, after_message_id: int) -> list[Message]:
    """What was added to the conversation after ``after_message_id`` that the member did
    not write: the client's messages, teammates' replies and notes (not event lines), oldest
    first, at most ``HELD_SHOWN``."""
    return list(
        Message.objects.filter(
            conversation_id=conversation.pk,
            workspace_id=conversation.workspace_id,
            pk__gt=after_message_id,
            kind__in=[MessageKind.MESSAGE, MessageKind.NOTE],
        )
        .exclude(direction=Direction.OUTBOUND, author_user_id=user.pk)
        .select_related("author_user", "reply_to", "conversation__contact")
        .prefetch_related("attachments")
        .order_by("pk")[:HELD_SHOWN]
    )


def check_channel_limits(
    connector: Connector, text: str, attachments: list[InboundAttachment]
) -> None:
    """Refuse what the channel would refuse: a text over its limit (unless it splits long
    texts), a kind of file it does not take, a file over its size limit."""
    caps = connector.capabilities
    if caps.text_limit and not caps.splits_long_text and len(text) > caps.text_limit:
        raise ActionRefused(
            f"{connector.kind_label or 'this channel'} takes at most {caps.text_limit:,} "
            f"characters in one message; this one has {len(text):,}"
        )
    for item in attachments:
        size = os.path.getsize(item.path) if item.path else len(item.data)
        refused = caps.attachment_refused(
            item.name, item.content_type, size, settings.FRONTDESK_MAX_ATTACHMENT_BYTES
        )
        if refused:
            raise ActionRefused(refused)


# What a recipient is on each kind of channel, for the words of a refusal.
_HANDLE_WORDS: dict[str, str] = {
    HandleKind.EMAIL: "an email address",
    HandleKind.PHONE: "a phone number with its country code (+44 20 7946 0958)",
    HandleKind.LINKEDIN: "a LinkedIn member id",
}


def recipient(connector: Connector, handle: str) -> str:
    """The channel's form of a typed recipient, or a refusal saying what it takes."""
    typed = (handle or "").strip()
    if not typed:
        raise ActionRefused("Write who it goes to: a recipient is required.")
    value = connector.normalize_handle(typed)
    valid = bool(value) and len(value) <= 320
    if valid and connector.handle_kind == HandleKind.EMAIL:
        try:
            validate_email(value)
        except ValidationError:
            valid = False
    if not valid:
        what = _HANDLE_WORDS.get(connector.handle_kind, "an id of at most 320 characters")
        raise ActionRefused(f"“{typed[:80]}” is not {what}.")
    return value


def start_conversation(
    user: User,
    channel: ChannelAccount,
    handle: str,
    text: str,
    contact_name: str = "",
    extra: dict[str, Any] | None = None,
    html: str = "",
) -> Message:
    """Write first to someone. On a channel with subjects (email) every new message starts
    its own conversation; on a chat channel it continues the one conversation with them.
    A conversation nobody has yet is the sender's."""
    connector = channel.connector
    value = recipient(connector, handle)
    thread_key = default_thread_key(connector.handle_kind, value)
    if connector.capabilities.subject:
        thread_key = f"{thread_key}:{uuid.uuid4().hex}"
    with transaction.atomic():
        conversation = conversation_with(
            channel,
            connector.handle_kind,
            value,
            contact_name[:300],
            thread_key,
            subject=str((extra or {}).get("subject") or ""),
        )
        message = queue_reply(user, conversation, text, extra=extra, html=html)
        if conversation.assignee_id is None:
            assign(user, conversation, user)
        return message


def add_note(
    user: User, conversation: Conversation, text: str, mentions: list[int] | None = None
) -> Message:
    """An internal note: seen by the team, never sent to the client.

    The members it mentions (``mentions``, user ids; by default every ``@Display Name`` in
    the text) are kept on the note and notified.
    """
    text = (text or "").strip()
    if not text:
        raise ActionRefused("a note needs text")
    check_text_length(text)
    try:
        mentioned = mentioned_members(conversation.workspace_id, text, mentions)
    except UnknownMember as exc:
        raise ActionRefused(str(exc)) from None
    with transaction.atomic():
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            channel_id=conversation.channel_id,
            direction=Direction.OUTBOUND,
            kind=MessageKind.NOTE,
            author_user=user,
            author_name=user.display_name,
            text=text,
            extra={MENTIONS: stored(mentioned)} if mentioned else {},
        )
        events.message_created(message)
        for person in mentioned:
            notify(
                conversation.workspace_id,
                person.pk,
                NotificationKind.MENTION,
                f"{user.display_name} mentioned you in {conversation_title(conversation)}: "
                + preview_of(text),
                actor_id=user.pk,
                conversation_id=conversation.pk,
                message_id=message.pk,
            )
    return message


def retry(message: Message) -> None:
    """Put a failed reply back in the outbox (the user pressed Retry)."""
    if closed := reply_closed(message.conversation):
        raise ActionRefused(closed)
    with transaction.atomic():
        updated = Message.objects.filter(pk=message.pk, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.QUEUED,
            error="",
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_until=None,
        )
        if updated:
            message.refresh_from_db()
            transaction.on_commit(lambda: enqueue(message.pk))
            events.message_status(message)
