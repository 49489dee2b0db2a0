"""The one inbound write path: provider traffic becomes rows here, and only here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from frontdesk.connectors.base import InboundMessage, StatusUpdate
from frontdesk.core.rows import fetch_one, insert_row
from frontdesk.inbox.attachments import AttachmentTooLarge, store_attachment
from frontdesk.inbox.models import (
    ChannelAccount,
    Contact,
    ContactHandle,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    MessagePart,
    PendingStatus,
)
from frontdesk.realtime.publish import publish

log = logging.getLogger("frontdesk.ingest")

# Delivery only moves forward; "failed" may replace queued or sent, nothing later.
_RANK = {
    "": -1,
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}


@dataclass
class IngestResult:
    message: Message
    conversation: Conversation
    created: bool


class InvalidInbound(ValueError):
    """Input that cannot become a message (the caller answers 400)."""


def preview_of(text: str, fallback: str = "") -> str:
    return " ".join((text or fallback).split())[:200]


def ingest(channel: ChannelAccount, item: InboundMessage) -> IngestResult:
    """Store one inbound (or sent-elsewhere) message; a repeat of a provider id is a no-op."""
    connector = channel.connector
    handle_value = connector.normalize_handle(item.handle)
    if not item.provider_id or len(item.provider_id) > 500:
        raise InvalidInbound("a message needs a provider id of at most 500 characters")
    if not handle_value or len(handle_value) > 320:
        raise InvalidInbound("a message needs a sender handle of at most 320 characters")
    check_text_length(item.text)
    if item.outbound:  # a provider's echo of a later part of one of our replies
        part_of = _reply_with_part(channel, item.provider_id)
        if part_of is not None:
            return IngestResult(part_of, part_of.conversation, created=False)

    # No look-before-insert: the unique (channel, provider id) constraint is the duplicate
    # check, so a new message costs one query less and a replay (or a concurrent ingest of
    # the same id) rolls the whole attempt back and returns the rows already stored.
    try:
        with transaction.atomic():
            result = _write(channel, connector.handle_kind, handle_value, item)
    except IntegrityError:
        existing = find_message(channel, item.provider_id)
        if existing is None:
            raise
        return IngestResult(existing, existing.conversation, created=False)
    return result


def ingest_many(
    channel: ChannelAccount, items: list[InboundMessage]
) -> list[IngestResult | Exception]:
    """Store several messages (a mail sync's batch), each exactly as ``ingest`` would.

    Run it inside a transaction, so the batch commits once. The database failing
    (``OperationalError``/``InterfaceError``) is raised at once, so the caller stops before
    that message; any other error is returned in the item's place, its writes undone.
    """
    results: list[IngestResult | Exception] = []
    for item in items:
        try:
            results.append(ingest(channel, item))
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:
            results.append(exc)
    return results


def _write(
    channel: ChannelAccount, handle_kind: str, handle_value: str, item: InboundMessage
) -> IngestResult:
    at = item.sent_at or timezone.now()
    conversation = _conversation_for(channel, handle_kind, handle_value, item, at)
    reply_to = (
        find_message(channel, item.reply_to_provider_id) if item.reply_to_provider_id else None
    )
    message = Message(
        workspace_id=channel.workspace_id,
        conversation=conversation,
        channel=channel,
        direction=Direction.OUTBOUND if item.outbound else Direction.INBOUND,
        author_name=item.contact_name if not item.outbound else "",
        text=item.text,
        html=item.html,
        subject=item.subject[:500],
        provider_id=item.provider_id,
        reply_to=reply_to,
        status=DeliveryStatus.SENT if item.outbound else "",
        extra=item.extra,
        sent_at=item.sent_at,
        created_at=at,
    )
    insert_row(message)
    skipped = []
    for attachment in item.attachments:
        try:
            store_attachment(message, attachment)
        except AttachmentTooLarge as exc:
            skipped.append(str(exc))
    if skipped:
        message.extra = {**message.extra, "skipped_attachments": skipped}
        message.save(update_fields=["extra"])

    _touch_conversation(conversation, item, at)
    if item.outbound:
        apply_pending_statuses(message)
    publish_created(message)
    return IngestResult(message, conversation, created=True)


# What a new message changes on its conversation's list row, decided in the statement
# itself so the common case (a known conversation) never loads the row: the latest time
# only moves forward, and an inbound message re-opens a resolved or snoozed conversation.
_TOUCH = (
    "UPDATE inbox_conversation SET preview = %s,"
    " last_message_at = CASE WHEN last_message_at <= %s THEN %s ELSE last_message_at END"
)
_TOUCH_INBOUND = (
    _TOUCH + ","
    " last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < %s"
    " THEN %s ELSE last_inbound_at END,"
    " snoozed_until = CASE WHEN status IN (%s, %s) THEN NULL ELSE snoozed_until END,"
    " status = CASE WHEN status IN (%s, %s) THEN %s ELSE status END"
)


_REOPENED = (ConversationStatus.RESOLVED, ConversationStatus.SNOOZED)
_REOPEN = [*_REOPENED, *_REOPENED, ConversationStatus.OPEN]


def _touch_conversation(conversation: Conversation, item: InboundMessage, at) -> None:
    preview = preview_of(item.text, item.subject or ("📎 attachment" if item.attachments else ""))
    when = connection.ops.adapt_datetimefield_value(at)
    if item.outbound:
        sql, params = _TOUCH, [preview, when, when]
    else:
        sql, params = _TOUCH_INBOUND, [preview, when, when, when, when, *_REOPEN]
    row = fetch_one(sql + " WHERE id = %s RETURNING status", [*params, conversation.pk])
    # The row now holds values this object did not load: read them again when asked.
    for name in ("last_message_at", "last_inbound_at", "snoozed_until"):
        conversation.__dict__.pop(name, None)
    conversation.preview = preview
    conversation.status = row[0] if row else conversation.status


def _contact_for(channel: ChannelAccount, kind: str, value: str, name: str) -> Contact:
    """The contact owning this handle in the workspace (from any channel), or a new one."""
    found = _handle_owner(channel.workspace_id, kind, value)
    if found:
        if name and not found.name:
            found.name = name[:300]
            found.save(update_fields=["name", "updated_at"])
        return found
    contact = Contact(workspace_id=channel.workspace_id, name=name[:300])
    insert_row(contact)
    handle = ContactHandle(
        workspace_id=channel.workspace_id, contact=contact, kind=kind, value=value
    )
    if insert_row(handle, if_absent=True):
        return contact
    contact.delete()  # a concurrent message from the same person created the contact first
    owner = _handle_owner(channel.workspace_id, kind, value)
    assert owner is not None
    return owner


def _handle_owner(workspace_id: int, kind: str, value: str) -> Contact | None:
    row = fetch_one(
        "SELECT c.id, c.name FROM inbox_contacthandle h JOIN inbox_contact c ON c.id = h.contact_id"
        " WHERE h.workspace_id = %s AND h.kind = %s AND h.value = %s",
        [workspace_id, kind, value],
    )
    if row is None:
        return None
    return Contact.from_db(
        "default", ["id", "workspace_id", "name"], (row[0], workspace_id, row[1])
    )


_LATEST_REFERENCED = (
    "SELECT m.conversation_id, c.contact_id FROM inbox_message m"
    " JOIN inbox_conversation c ON c.id = m.conversation_id"
    " WHERE m.channel_id = %s AND m.provider_id IN ({marks})"
    " ORDER BY m.created_at DESC LIMIT 1"
)


def _conversation_for(
    channel: ChannelAccount, handle_kind: str, handle_value: str, item: InboundMessage, at
) -> Conversation:
    """The conversation a message joins: one it references, its thread, or a new one.

    The default thread is the handle itself, so the common case (a known client writing
    again) costs one indexed lookup and never touches the contact tables.
    """
    if item.references:
        # the conversation of the latest message it references (one row, no ORM: this ran
        # for most replies and was the costliest statement of a mail sync)
        refs = list(dict.fromkeys(item.references[-50:]))
        marks = ", ".join(["%s"] * len(refs))  # placeholders only; the ids are parameters
        found = fetch_one(_LATEST_REFERENCED.format(marks=marks), [channel.pk, *refs])
        if found:
            return Conversation.from_db(
                "default",
                ["id", "workspace_id", "channel_id", "contact_id"],
                (found[0], channel.workspace_id, channel.pk, found[1]),
            )
    thread_key = item.thread_key or default_thread_key(handle_kind, handle_value)
    return conversation_with(
        channel, handle_kind, handle_value, item.contact_name, thread_key, item.subject, at
    )


def default_thread_key(handle_kind: str, handle_value: str) -> str:
    """One conversation per person on a channel, unless the provider names its threads."""
    return f"{handle_kind}:{handle_value}"


def conversation_with(
    channel: ChannelAccount,
    handle_kind: str,
    handle_value: str,
    contact_name: str,
    thread_key: str,
    subject: str = "",
    at=None,
) -> Conversation:
    """The conversation of this thread on the channel, created (with its contact) if new."""
    thread_key = thread_key[:500]
    found = fetch_one(
        "SELECT id, contact_id FROM inbox_conversation WHERE channel_id = %s AND thread_key = %s",
        [channel.pk, thread_key],
    )
    if found:
        conversation_id, contact_id = found
        return Conversation.from_db(
            "default",
            ["id", "workspace_id", "channel_id", "contact_id"],
            (conversation_id, channel.workspace_id, channel.pk, contact_id),
        )
    contact = _contact_for(channel, handle_kind, handle_value, contact_name)
    conversation = Conversation(
        workspace_id=channel.workspace_id,
        channel=channel,
        contact=contact,
        thread_key=thread_key,
        subject=subject[:500],
        last_message_at=at or timezone.now(),
    )
    if insert_row(conversation, if_absent=True):
        return conversation
    # A concurrent message of the same thread created it first.
    return Conversation.objects.get(channel=channel, thread_key=thread_key)


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


# A reply the provider took as several messages (a long text, several files) lists every
# part's id here, in order; its ``provider_id`` is the first part's.
PART_IDS = "part_ids"


def provider_ids(message: Message) -> list[str]:
    """The message's provider id and those of all its parts."""
    parts = message.extra.get(PART_IDS) if isinstance(message.extra, dict) else None
    ids = [message.provider_id or ""] + [str(p) for p in parts or [] if p]
    return list(dict.fromkeys(i for i in ids if i))


def find_message(
    channel: ChannelAccount, provider_id: str, for_update: bool = False
) -> Message | None:
    """The message with this provider id on the channel, or the reply it is a part of
    (``MessagePart``: a reply the provider took as several messages)."""
    rows = (
        Message.objects.select_for_update()
        if for_update
        else Message.objects.select_related("conversation")
    )
    found = rows.filter(channel=channel, provider_id=provider_id).first()
    return found or _reply_with_part(channel, provider_id, rows)


def _reply_with_part(channel: ChannelAccount, provider_id: str, rows=None) -> Message | None:
    rows = Message.objects.select_related("conversation") if rows is None else rows
    part = MessagePart.objects.filter(channel=channel, provider_id=provider_id)
    message_id = part.values_list("message_id", flat=True).first()
    return rows.filter(pk=message_id).first() if message_id else None


def ingest_status(channel: ChannelAccount, update: StatusUpdate) -> Message | None:
    """Apply a provider's delivery status; one for an unknown message is kept for later,
    and so is one for a part of a reply still in the outbox (applied once it is sent)."""
    if update.status not in (
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.FAILED,
    ):
        raise InvalidInbound(f"unknown delivery status {update.status!r}")
    with transaction.atomic():
        message = find_message(channel, update.provider_id, for_update=True)
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
            publish_status(message)
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


def publish_created(message: Message) -> None:
    publish(
        message.workspace_id,
        "message.created",
        conversation_id=message.conversation_id,
        message_id=message.pk,
        channel_id=message.channel_id,
        direction=message.direction,
    )


def publish_updated(message: Message) -> None:
    """Something shown on the message changed (a reaction, media that arrived ...)."""
    publish(
        message.workspace_id,
        "message.updated",
        conversation_id=message.conversation_id,
        message_id=message.pk,
    )


def check_text_length(text: str) -> None:
    if len(text) > settings.FRONTDESK_MAX_TEXT_CHARS:
        raise InvalidInbound(f"text is longer than {settings.FRONTDESK_MAX_TEXT_CHARS} characters")


def publish_status(message: Message) -> None:
    publish(
        message.workspace_id,
        "message.status",
        conversation_id=message.conversation_id,
        message_id=message.pk,
        status=message.status,
        error=message.error,
    )
