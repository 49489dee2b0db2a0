"""The one outbound write path: a transactional outbox drained by the worker.

A reply is written as a ``queued`` message in the same transaction as the user's action.
``deliver`` claims it with a lease, calls the connector outside any transaction, then
records the outcome. A crash mid-send leaves the lease to expire and the sweeper retries
with the same idempotency key, so nothing is lost and a provider that honours the key
never sends twice.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from frontdesk.connectors.base import (
    InboundAttachment,
    OutboundMessage,
    OutgoingAttachment,
    PermanentSendError,
    ReconnectNeeded,
    SendResult,
    TransientSendError,
)
from frontdesk.inbox.actions.channel import set_channel_status
from frontdesk.inbox.actions.conversation import assign
from frontdesk.inbox.actions.ingest import (
    PART_IDS,
    InvalidInbound,
    advance_status,
    apply_pending_statuses,
    check_text_length,
    conversation_with,
    default_thread_key,
    preview_of,
    publish_created,
    publish_status,
)
from frontdesk.inbox.actions.notifications import conversation_title, notify
from frontdesk.inbox.attachments import store_attachment
from frontdesk.inbox.mentions import MENTIONS, UnknownMember, mentioned_members, stored
from frontdesk.inbox.models import (
    ChannelAccount,
    ChannelStatus,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    MessagePart,
    NotificationKind,
)
from frontdesk.workspaces.models import User

log = logging.getLogger("frontdesk.send")


def _enqueue(message_id: int, delay: float | None = None) -> None:
    from frontdesk.inbox.tasks import deliver_message

    if delay:
        deliver_message.schedule((message_id,), delay=delay)
    else:
        deliver_message(message_id)


class ReplyBlocked(InvalidInbound):
    """The channel will not take a free-form message now (e.g. WhatsApp's 24-hour window)."""


def queue_reply(
    user: User,
    conversation: Conversation,
    text: str,
    attachments: list[InboundAttachment] | None = None,
    extra: dict | None = None,
    html: str = "",
) -> Message:
    """Write a reply as queued; the worker sends it once the transaction commits.

    Refused up front (``ReplyBlocked``) when the channel will not take this message now
    (``Connector.reply_blocked_reason``), or with a text or files the channel cannot take.
    ``html``: the same message as HTML, for a channel that takes it (``inbox.formatting``).
    """
    connector = conversation.channel.connector
    text = connector.reply_text((text or "").strip(), extra or {})
    if not text and not attachments:
        raise InvalidInbound("a reply needs text or an attachment")
    check_text_length(text)
    check_channel_limits(connector, text, attachments or [])
    if blocked := connector.reply_blocked_reason(conversation, extra or {}):
        raise ReplyBlocked(blocked)
    now = timezone.now()
    with transaction.atomic():
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
            last_message_at=now, preview=preview_of(text, "📎 attachment")
        )
        transaction.on_commit(lambda: _enqueue(message.pk))
        publish_created(message)
    return message


def check_channel_limits(connector, text: str, attachments: list[InboundAttachment]) -> None:
    """Refuse what the channel would refuse: a text over its limit (unless it splits long
    texts), a kind of file it does not take, a file over its size limit."""
    caps = connector.capabilities
    if caps.text_limit and not caps.splits_long_text and len(text) > caps.text_limit:
        raise InvalidInbound(
            f"{connector.kind_label or 'this channel'} takes at most {caps.text_limit:,} "
            f"characters in one message; this one has {len(text):,}"
        )
    for item in attachments:
        size = os.path.getsize(item.path) if item.path else len(item.data)
        refused = caps.attachment_refused(
            item.name, item.content_type, size, settings.FRONTDESK_MAX_ATTACHMENT_BYTES
        )
        if refused:
            raise InvalidInbound(refused)


def start_conversation(
    user: User,
    channel: ChannelAccount,
    handle: str,
    text: str,
    contact_name: str = "",
    extra: dict | None = None,
    html: str = "",
) -> Message:
    """Write first to someone. On a channel with subjects (email) every new message starts
    its own conversation; on a chat channel it continues the one conversation with them.
    A conversation nobody has yet is the sender's."""
    connector = channel.connector
    value = connector.normalize_handle(handle or "")
    if not value or len(value) > 320:
        raise InvalidInbound("a recipient handle of at most 320 characters is required")
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
        raise InvalidInbound("a note needs text")
    check_text_length(text)
    try:
        mentioned = mentioned_members(conversation.workspace_id, text, mentions)
    except UnknownMember as exc:
        raise InvalidInbound(str(exc)) from None
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
        publish_created(message)
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
            transaction.on_commit(lambda: _enqueue(message.pk))
            publish_status(message)


def _claim(message_id: int) -> bool:
    """Take the lease on a due, queued message; False if another worker has it or it is done."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.FRONTDESK_SEND_LEASE_SECONDS)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(pk=message_id, status=DeliveryStatus.QUEUED)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .first()
        )
        if message is None:
            return False
        message.claimed_until = lease
        message.attempts += 1
        message.save(update_fields=["claimed_until", "attempts"])
    return True


def _outbound_for(message: Message) -> OutboundMessage:
    conversation = message.conversation
    handle = conversation.contact.handles.filter(kind=message.channel.connector.handle_kind).first()
    return OutboundMessage(
        message_id=message.pk,
        conversation_id=conversation.pk,
        to_handle=handle.value if handle else "",
        thread_key=conversation.thread_key,
        text=message.text,
        html=message.html,
        subject=message.subject,
        reply_to_provider_id=message.reply_to.provider_id or "" if message.reply_to else "",
        attachments=[
            OutgoingAttachment(
                id=a.pk,
                name=a.name,
                content_type=a.content_type,
                size=a.size,
                path=a.file.path,
                url=f"{settings.BASE_URL}/files/{a.pk}/",
            )
            for a in message.attachments.all()
        ],
        extra=message.extra,
    )


def record_sent_parts(message_id: int, ids: list[str]) -> None:
    """Keep the provider ids of the parts of a reply the provider accepted, committed at once.

    For a reply a provider takes as several requests without an idempotency key (a long
    text, several files, a new chat and then its files): a retry skips what is recorded,
    and a status, a reaction, a quote or an echo of any part finds the message
    (``MessagePart``, see ``ingest.find_message``).
    """
    with transaction.atomic():
        locked = (
            Message.objects.select_for_update()
            .only("pk", "extra", "workspace_id", "channel_id")
            .get(pk=message_id)
        )
        locked.extra = {**locked.extra, PART_IDS: list(ids)}
        locked.save(update_fields=["extra"])
        MessagePart.objects.bulk_create(
            [
                MessagePart(
                    workspace_id=locked.workspace_id,
                    channel_id=locked.channel_id,
                    message_id=locked.pk,
                    provider_id=i[:500],
                )
                for i in ids
                if i
            ],
            ignore_conflicts=True,
        )


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    delay = min(settings.FRONTDESK_SEND_BACKOFF_BASE * (2 ** max(attempt - 1, 0)), 3600.0)
    return max(delay, retry_after or 0.0)


def deliver(message_id: int) -> str:
    """Send one queued message through its channel's connector. Returns the outcome."""
    if not _claim(message_id):
        return "skipped"
    message = Message.objects.select_related("conversation__contact", "channel", "reply_to").get(
        pk=message_id
    )
    channel = message.channel
    try:
        result = channel.connector.send(channel, _outbound_for(message))
    except TransientSendError as exc:
        return _after_transient(message, exc.reason, exc.retry_after)
    except PermanentSendError as exc:
        if isinstance(exc, ReconnectNeeded):
            set_channel_status(channel, ChannelStatus.NEEDS_RECONNECT, exc.reason)
        return _after_failure(message, exc.reason)
    except Exception as exc:  # a connector bug must not kill the worker or lose the reply
        log.exception("connector %s raised while sending message %s", channel.provider, message_id)
        return _after_transient(message, f"unexpected error: {exc.__class__.__name__}", None)
    return _after_success(message, result)


def _after_success(message: Message, result: SendResult) -> str:
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        locked.claimed_until = None
        locked.error = ""
        advance_status(locked, DeliveryStatus.SENT)
        locked.provider_id = result.provider_id
        try:
            with transaction.atomic():
                locked.save(update_fields=["claimed_until", "error", "status", "provider_id"])
        except IntegrityError:
            # The provider reused an id we already hold: keep the send, drop the id.
            log.warning(
                "provider id %s already used on channel %s", result.provider_id, locked.channel_id
            )
            locked.provider_id = None
            locked.save(update_fields=["claimed_until", "error", "status", "provider_id"])
        if locked.provider_id:
            apply_pending_statuses(locked)
        publish_status(locked)
    return "sent"


def _after_transient(message: Message, reason: str, retry_after: float | None) -> str:
    if message.attempts >= settings.FRONTDESK_SEND_MAX_ATTEMPTS:
        return _after_failure(message, f"{reason} (gave up after {message.attempts} attempts)")
    delay = backoff_seconds(message.attempts, retry_after)
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=DeliveryStatus.QUEUED).update(
            claimed_until=None,
            error=reason,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        transaction.on_commit(lambda: _enqueue(message.pk, delay=delay))
    log.info("message %s: %s; retry %s in %.0fs", message.pk, reason, message.attempts + 1, delay)
    return "retry"


def _after_failure(message: Message, reason: str) -> str:
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        locked.claimed_until = None
        advance_status(locked, DeliveryStatus.FAILED, reason)
        locked.save(update_fields=["claimed_until", "status", "error"])
        publish_status(locked)
    return "failed"


def due_for_delivery(limit: int = 500) -> list[int]:
    """Queued messages whose time has come and whose lease (if any) has run out."""
    now = timezone.now()
    return list(
        Message.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
