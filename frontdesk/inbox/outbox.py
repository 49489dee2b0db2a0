"""The outbox: the worker's half of sending.

A reply is written as a ``queued`` message in the same transaction as the user's action
(``actions/send.py``). ``deliver`` claims it with a lease, calls the connector outside any
transaction, then records the outcome. While the send runs the lease is renewed
(``_keeping_lease``), so a slow call (a file's deadline is as long as the lease) is never
taken by a second worker. A crash mid-send stops the renewals, the lease expires and the
sweeper retries with the same idempotency key, so nothing is lost and a provider that
honours the key never sends twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from frontdesk.connectors.base import (
    OutboundMessage,
    OutgoingAttachment,
    PermanentSendError,
    ReconnectNeeded,
    SendResult,
    TransientSendError,
)
from frontdesk.inbox import events
from frontdesk.inbox.actions.channel import set_channel_status
from frontdesk.inbox.actions.delivery import (
    advance_status,
    apply_pending_statuses,
    record_sent_parts,
)
from frontdesk.inbox.actions.signatures import sender_name
from frontdesk.inbox.actions.threads import adopt_thread_key
from frontdesk.inbox.messages import reply_parent, sent_parts
from frontdesk.inbox.models import ChannelStatus, DeliveryStatus, Message

log = logging.getLogger("frontdesk.send")


@db_task()
def deliver_message(message_id: int) -> str:
    return deliver(message_id)


@db_periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    """Re-enqueue replies whose task was lost (a worker crash, a restart): the outbox is the truth."""
    due = due_for_delivery()
    for message_id in due:
        deliver_message(message_id)
    return len(due)


def enqueue(message_id: int, delay: float | None = None) -> None:
    """Hand a queued message to the worker (call it once the message is committed)."""
    if delay:
        deliver_message.schedule((message_id,), delay=delay)
    else:
        deliver_message(message_id)


def _lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=settings.FRONTDESK_SEND_LEASE_SECONDS)


def _claim(message_id: int) -> datetime | None:
    """Take the lease on a due, queued message and return its end; None if another worker
    has it or it is done."""
    now = timezone.now()
    lease = _lease_end()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(pk=message_id, status=DeliveryStatus.QUEUED)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .first()
        )
        if message is None:
            return None
        message.claimed_until = lease
        message.attempts += 1
        message.save(update_fields=["claimed_until", "attempts"])
    return lease


@contextmanager
def _keeping_lease(message_id: int, lease: datetime) -> Iterator[None]:
    """Renew the lease every third of its length while the block (the connector's send)
    runs. Each renewal moves the lease only if it is still the one this worker holds."""

    def renew() -> None:
        held = lease
        try:
            while not stopped.wait(settings.FRONTDESK_SEND_LEASE_SECONDS / 3):
                try:
                    longer = _lease_end()
                    if not Message.objects.filter(
                        pk=message_id, status=DeliveryStatus.QUEUED, claimed_until=held
                    ).update(claimed_until=longer):
                        return
                    held = longer
                except Exception:  # a dropped connection: try again at the next beat
                    log.warning("could not renew the send lease of message %s", message_id)
                    connection.close()
        finally:
            connection.close()

    stopped = threading.Event()
    beat = threading.Thread(target=renew, name=f"send-lease-{message_id}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stopped.set()
        beat.join()


def _outbound_for(message: Message) -> OutboundMessage:
    """Everything the connector needs to send this reply, so that it queries nothing."""
    conversation = message.conversation
    connector = message.channel.connector
    handle = conversation.contact.handles.filter(kind=connector.handle_kind).first()
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
        last_inbound_at=conversation.last_inbound_at,
        parent=reply_parent(message) if connector.wants_reply_parent else None,
        sent_parts=sent_parts(message),
        sender_name=sender_name(message),
    )


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    delay = min(settings.FRONTDESK_SEND_BACKOFF_BASE * (2 ** max(attempt - 1, 0)), 3600.0)
    return float(max(delay, retry_after or 0.0))


def deliver(message_id: int) -> str:
    """Send one queued message through its channel's connector. Returns the outcome."""
    lease = _claim(message_id)
    if lease is None:
        return "skipped"
    message = Message.objects.select_related(
        "conversation__contact", "channel__workspace", "reply_to", "author_user"
    ).get(pk=message_id)
    channel = message.channel
    try:
        with _keeping_lease(message_id, lease):
            result = channel.connector.send(
                channel.view(),
                _outbound_for(message),
                lambda ids: record_sent_parts(message_id, list(ids)),
            )
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
    if result.thread_key:
        adopt_thread_key(message.channel, message.conversation_id, result.thread_key)
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
        events.message_status(locked)
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
        transaction.on_commit(lambda: enqueue(message.pk, delay=delay))
    log.info("message %s: %s; retry %s in %.0fs", message.pk, reason, message.attempts + 1, delay)
    return "retry"


def _after_failure(message: Message, reason: str) -> str:
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        locked.claimed_until = None
        advance_status(locked, DeliveryStatus.FAILED, reason)
        locked.save(update_fields=["claimed_until", "status", "error"])
        events.message_status(locked)
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
