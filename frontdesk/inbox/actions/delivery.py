"""A reply's delivery state: provider statuses (which only move forward), statuses that
arrive before their message, the parts of a reply the provider took as several, and a
provider echoing our own send back as a new message."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from frontdesk.connectors.base import InboundMessage, StatusUpdate
from frontdesk.inbox import events
from frontdesk.inbox.actions.threads import adopt_thread_key, default_thread_key
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.messages import PART_IDS, find_message, provider_ids
from frontdesk.inbox.models import (
    ChannelAccount,
    DeliveryStatus,
    Direction,
    Message,
    MessagePart,
    PendingStatus,
)

log = logging.getLogger("frontdesk.ingest")

# Delivery only moves forward; "failed" may replace queued or sent, nothing later.
_RANK = {
    "": -1,
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}


def advance_status(message: Message, status: str, error: str = "") -> bool:
    """Move a message's delivery state forward only. Returns whether it changed."""
    current = message.status
    if current == DeliveryStatus.FAILED:
        return False
    if status == DeliveryStatus.FAILED:
        if current not in ("", DeliveryStatus.QUEUED, DeliveryStatus.SENT):
            return False
        message.status, message.error = DeliveryStatus.FAILED, error or "failed"
        return True
    if status not in _RANK or _RANK[status] <= _RANK.get(current, -1):
        return False
    message.status = status
    return True


def ingest_status(channel: ChannelAccount, update: StatusUpdate) -> Message | None:
    """Apply a provider's delivery status; one for an unknown message is kept for later,
    and so is one for a part of a reply still in the outbox (applied once it is sent)."""
    if update.status not in (
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.FAILED,
    ):
        raise ActionRefused(f"unknown delivery status {update.status!r}")
    with transaction.atomic():
        message = find_message(channel, update.provider_id, for_update=True)
        if message is not None and message.direction == Direction.INBOUND:
            return None  # a delivery status only ever concerns what we sent
        if message is not None and message.status == DeliveryStatus.QUEUED:
            message = None  # a part of a reply still being sent
        if message is None:
            PendingStatus.objects.create(
                workspace_id=channel.workspace_id,
                channel=channel,
                provider_id=update.provider_id[:500],
                status=update.status,
                error=update.error,
            )
            log.info(
                "status %s for unknown message %s kept for later", update.status, update.provider_id
            )
            return None
        if advance_status(message, update.status, update.error):
            message.save(update_fields=["status", "error"])
            events.message_status(message)
        return message


def apply_pending_statuses(message: Message) -> None:
    """Apply statuses that arrived before this message (or one of its parts) had its id."""
    pending = list(
        PendingStatus.objects.filter(
            channel_id=message.channel_id, provider_id__in=provider_ids(message)
        )
    )
    if not pending:
        return
    changed = False
    for row in sorted(pending, key=lambda p: p.received_at):
        changed = advance_status(message, row.status, row.error) or changed
    PendingStatus.objects.filter(pk__in=[p.pk for p in pending]).delete()
    if changed:
        message.save(update_fields=["status", "error"])


def purge_pending_statuses(older_than: timedelta, batch: int = 1000, max_batches: int = 100) -> int:
    """Forget kept statuses whose message never came (e.g. sent by another app on the same
    number). Rows go in batches of ``batch``, each DELETE its own short statement, so a large
    backlog never holds a long lock; at most ``max_batches`` per call (the next run goes on).
    The oldest rows have the lowest ids, so each batch is found by a short walk of the key."""
    cutoff = timezone.now() - older_than
    total = 0
    for _ in range(max_batches):
        ids = list(
            PendingStatus.objects.filter(received_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if ids:
            total += PendingStatus.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < batch:
            break
    if total:
        log.info("forgot %d delivery statuses kept for messages that never arrived", total)
    return total


def record_sent_parts(message_id: int, ids: list[str]) -> None:
    """Keep the provider ids of the parts of a reply the provider accepted, committed at once.

    For a reply a provider takes as several requests without an idempotency key (a long
    text, several files, a new chat and then its files): a retry skips what is recorded,
    and a status, a reaction, a quote or an echo of any part finds the message
    (``MessagePart``, see ``messages.find_message``).
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


def sending_match(channel: ChannelAccount, item: InboundMessage) -> Message | None:
    """The reply a worker is sending right now that a message sent from the account echoes.

    Some providers report our own sends as new messages, sometimes before the send call has
    answered with the message id. The echo is that reply when it is an outbound message of
    this channel still being sent (queued, claimed by a worker, no provider id yet) with the
    same text, in this thread or, for a thread we are starting, in the contact's
    conversation that has no provider thread yet.
    """
    threads = Q(conversation__thread_key=item.thread_key)
    if item.handle:
        key = default_thread_key(channel.connector.handle_kind, item.handle)
        threads |= Q(conversation__thread_key=key)
    else:  # no recipient named: any conversation still waiting for its thread
        threads |= Q(conversation__thread_key__contains=":")
    return (
        Message.objects.filter(
            channel=channel,
            direction=Direction.OUTBOUND,
            status=DeliveryStatus.QUEUED,
            claimed_until__isnull=False,
            text=item.text,
        )
        .filter(Q(provider_id__isnull=True) | Q(provider_id=""))
        .filter(threads)
        .select_related("conversation")
        .order_by("created_at", "pk")
        .first()
    )


def claim_echo(channel: ChannelAccount, item: InboundMessage) -> Message | None:
    """Record an echoed provider id on the reply being sent (and the thread it started on its
    conversation); None when the item echoes no reply in flight."""
    with transaction.atomic():
        candidate = sending_match(channel, item)
        if candidate is None:
            return None
        locked = (
            Message.objects.select_for_update()
            .select_related("conversation")
            .filter(pk=candidate.pk, status=candidate.status)
            .first()
        )
        if locked is None or locked.provider_id:
            return None  # the send finished meanwhile: ingest finds it by its id
        if find_message(channel, item.provider_id) is not None:
            return None
        locked.provider_id = item.provider_id
        locked.save(update_fields=["provider_id"])
    if item.thread_key and ":" in locked.conversation.thread_key:
        adopt_thread_key(channel, locked.conversation_id, item.thread_key)
    return locked
