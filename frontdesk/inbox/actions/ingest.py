"""The one inbound write path: provider traffic becomes rows here, and only here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from frontdesk.connectors.base import InboundMessage, StatusUpdate
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
    return _ingest(channel, item, None)


def ingest_many(
    channel: ChannelAccount, items: list[InboundMessage]
) -> list[IngestResult | Exception]:
    """Store several messages (a mail sync's batch), each exactly as ``ingest`` would.

    Run it inside a transaction. What ``ingest`` looks up per message (is it stored, the
    messages it references, its thread's conversation, the sender's contact) is read once
    for the whole batch and kept up to date as the batch is written; each item still
    gets its own savepoint. The database failing (``OperationalError``/``InterfaceError``)
    is raised at once, so the caller stops before that message; any other error is
    returned in the item's place, its writes undone (the lookups are then read afresh).
    """
    lookups = _Lookups.prefetch(channel, items)
    results: list[IngestResult | Exception] = []
    for item in items:
        try:
            results.append(_ingest(channel, item, lookups))
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:
            lookups.forget()  # what this item cached may have been rolled back
            results.append(exc)
    return results


@dataclass
class _Lookups:
    """A batch's reads: each map answers for the keys in its ``*_known`` set (a key that is
    known but absent is known not to exist); anything else is looked up as usual."""

    stored: dict[str, Message] = field(default_factory=dict)  # the batch's ids already stored
    # provider id -> (created_at, conversation id, message id) of messages items reference
    refs: dict[str, tuple[datetime, int, int]] = field(default_factory=dict)
    refs_known: set[str] = field(default_factory=set)
    threads: dict[str, Conversation] = field(default_factory=dict)
    threads_known: set[str] = field(default_factory=set)
    contacts: dict[str, Contact] = field(default_factory=dict)
    contacts_known: set[str] = field(default_factory=set)
    # one object per conversation, so every message of the batch sees the others' updates
    conversations: dict[int, Conversation] = field(default_factory=dict)

    @classmethod
    def prefetch(cls, channel: ChannelAccount, items: list[InboundMessage]) -> _Lookups:
        connector = channel.connector
        kind = connector.handle_kind
        ids = {i.provider_id for i in items if i.provider_id}
        refs = {r for i in items for r in i.references[-50:]} | ids
        refs |= {i.reply_to_provider_id for i in items if i.reply_to_provider_id}
        handles = {connector.normalize_handle(i.handle) for i in items}
        keys = {
            (i.thread_key or default_thread_key(kind, connector.normalize_handle(i.handle)))[:500]
            for i in items
        }
        found = cls(refs_known=refs, threads_known=keys, contacts_known=handles)
        for message in Message.objects.select_related("conversation").filter(
            channel=channel, provider_id__in=ids
        ):
            found.stored[message.provider_id or ""] = message
        for provider_id, created_at, conversation_id, pk in Message.objects.filter(
            channel=channel, provider_id__in=refs
        ).values_list("provider_id", "created_at", "conversation_id", "pk"):
            found.refs[provider_id or ""] = (created_at, conversation_id, pk)
        for conversation in Conversation.objects.filter(channel_id=channel.pk, thread_key__in=keys):
            found.threads[conversation.thread_key] = found.conversation(conversation)
        for handle in ContactHandle.objects.select_related("contact").filter(
            workspace_id=channel.workspace_id, kind=kind, value__in=handles
        ):
            found.contacts[handle.value] = handle.contact
        return found

    def conversation(self, conversation: Conversation) -> Conversation:
        return self.conversations.setdefault(conversation.pk, conversation)

    def conversation_by_id(self, conversation_id: int) -> Conversation:
        if conversation_id not in self.conversations:
            self.conversations[conversation_id] = Conversation.objects.get(pk=conversation_id)
        return self.conversations[conversation_id]

    def written(self, message: Message, conversation: Conversation) -> None:
        key = message.provider_id or ""
        self.stored[key] = message
        self.refs[key] = (message.created_at, conversation.pk, message.pk)
        self.conversation(conversation)

    def forget(self) -> None:
        for known in (self.refs_known, self.threads_known, self.contacts_known):
            known.clear()
        for found in (self.stored, self.refs, self.threads, self.contacts, self.conversations):
            found.clear()


def _ingest(
    channel: ChannelAccount, item: InboundMessage, lookups: _Lookups | None
) -> IngestResult:
    connector = channel.connector
    handle_value = connector.normalize_handle(item.handle)
    if not item.provider_id or len(item.provider_id) > 500:
        raise InvalidInbound("a message needs a provider id of at most 500 characters")
    if not handle_value or len(handle_value) > 320:
        raise InvalidInbound("a message needs a sender handle of at most 320 characters")
    check_text_length(item.text)
    if lookups is not None and (stored := lookups.stored.get(item.provider_id)) is not None:
        return IngestResult(stored, stored.conversation, created=False)

    # No look-before-insert: the unique (channel, provider id) constraint is the duplicate
    # check, so a new message costs one query less and a replay (or a concurrent ingest of
    # the same id) rolls the whole attempt back and returns the rows already stored.
    try:
        with transaction.atomic():
            result = _write(channel, connector.handle_kind, handle_value, item, lookups)
    except IntegrityError:
        existing = _find_message(channel, item.provider_id)
        if existing is None:
            raise
        return IngestResult(existing, existing.conversation, created=False)
    if lookups is not None:
        lookups.written(result.message, result.conversation)
    return result


def _find_message(channel: ChannelAccount, provider_id: str) -> Message | None:
    found = list(
        Message.objects.select_related("conversation").filter(
            channel=channel, provider_id=provider_id
        )[:1]
    )
    return found[0] if found else None


def _write(
    channel: ChannelAccount,
    handle_kind: str,
    handle_value: str,
    item: InboundMessage,
    lookups: _Lookups | None = None,
) -> IngestResult:
    at = item.sent_at or timezone.now()
    conversation = _conversation_for(channel, handle_kind, handle_value, item, at, lookups)
    reply_to, reply_to_id = None, None
    if lookups is not None and item.reply_to_provider_id in lookups.refs_known:
        reply_to_id = lookups.refs.get(item.reply_to_provider_id, (None, None, None))[2]
    elif item.reply_to_provider_id:
        reply_to = _find_message(channel, item.reply_to_provider_id)
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
    if reply_to_id is not None:
        message.reply_to_id = reply_to_id
    message.save(force_insert=True)
    skipped = []
    for attachment in item.attachments:
        try:
            store_attachment(message, attachment)
        except AttachmentTooLarge as exc:
            skipped.append(str(exc))
    if skipped:
        message.extra = {**message.extra, "skipped_attachments": skipped}
        message.save(update_fields=["extra"])

    changes: dict[str, object] = {
        "preview": preview_of(
            item.text, item.subject or ("📎 attachment" if item.attachments else "")
        )
    }
    if at >= conversation.last_message_at:
        changes["last_message_at"] = at
    if not item.outbound:
        if conversation.last_inbound_at is None or at > conversation.last_inbound_at:
            changes["last_inbound_at"] = at
        if conversation.status in (ConversationStatus.RESOLVED, ConversationStatus.SNOOZED):
            changes.update(status=ConversationStatus.OPEN, snoozed_until=None)
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    for field_name, value in changes.items():
        setattr(conversation, field_name, value)
    if item.outbound:
        apply_pending_statuses(message)
    publish_created(message)
    return IngestResult(message, conversation, created=True)


def _contact_for(
    channel: ChannelAccount, kind: str, value: str, name: str, lookups: _Lookups | None = None
) -> Contact:
    """The contact owning this handle in the workspace (from any channel), or a new one."""
    if lookups is not None and value in lookups.contacts_known:
        known: Contact | None = lookups.contacts.get(value)
    else:
        handle = (
            ContactHandle.objects.select_related("contact")
            .filter(workspace_id=channel.workspace_id, kind=kind, value=value)
            .first()
        )
        known = handle.contact if handle else None
    if known:
        contact = known
        if name and not contact.name:
            contact.name = name[:300]
            contact.save(update_fields=["name", "updated_at"])
        return contact
    contact = Contact.objects.create(workspace_id=channel.workspace_id, name=name[:300])
    try:
        with transaction.atomic():
            ContactHandle.objects.create(
                workspace_id=channel.workspace_id, contact=contact, kind=kind, value=value
            )
    except IntegrityError:
        contact.delete()
        contact = (
            ContactHandle.objects.select_related("contact")
            .get(workspace_id=channel.workspace_id, kind=kind, value=value)
            .contact
        )
    if lookups is not None:
        lookups.contacts[value] = contact
    return contact


def _conversation_for(
    channel: ChannelAccount,
    handle_kind: str,
    handle_value: str,
    item: InboundMessage,
    at,
    lookups: _Lookups | None = None,
) -> Conversation:
    """The conversation a message joins: one it references, its thread, or a new one.

    The default thread is the handle itself, so the common case (a known client writing
    again) costs one indexed lookup and never touches the contact tables.
    """
    refs = item.references[-50:]
    if lookups is not None and refs and lookups.refs_known.issuperset(refs):
        found = [lookups.refs[r] for r in refs if r in lookups.refs]
        if found:  # the latest message it references, as the query below picks it
            return lookups.conversation_by_id(max(found, key=lambda f: f[0])[1])
    elif item.references:
        earlier = (
            Message.objects.filter(channel=channel, provider_id__in=item.references[-50:])
            .select_related("conversation")
            .order_by("-created_at")
            .first()
        )
        if earlier:
            return earlier.conversation
    thread_key = item.thread_key or default_thread_key(handle_kind, handle_value)
    return conversation_with(
        channel, handle_kind, handle_value, item.contact_name, thread_key, item.subject, at, lookups
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
    lookups: _Lookups | None = None,
) -> Conversation:
    """The conversation of this thread on the channel, created (with its contact) if new."""
    thread_key = thread_key[:500]
    if lookups is not None and thread_key in lookups.threads_known:
        if thread_key not in lookups.threads:
            created = _new_conversation(
                channel, handle_kind, handle_value, contact_name, thread_key, subject, at, lookups
            )
            lookups.threads[thread_key] = lookups.conversation(created)
        return lookups.threads[thread_key]
    found = list(
        Conversation.objects.filter(channel_id=channel.pk, thread_key=thread_key).only(
            "id",
            "workspace_id",
            "channel_id",
            "contact_id",
            "status",
            "last_message_at",
            "last_inbound_at",
        )[:1]
    )
    if found:
        return found[0]
    return _new_conversation(
        channel, handle_kind, handle_value, contact_name, thread_key, subject, at
    )


def _new_conversation(
    channel: ChannelAccount,
    handle_kind: str,
    handle_value: str,
    contact_name: str,
    thread_key: str,
    subject: str = "",
    at=None,
    lookups: _Lookups | None = None,
) -> Conversation:
    contact = _contact_for(channel, handle_kind, handle_value, contact_name, lookups)
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                workspace_id=channel.workspace_id,
                channel=channel,
                contact=contact,
                thread_key=thread_key,
                subject=subject[:500],
                last_message_at=at or timezone.now(),
            )
    except IntegrityError:
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


def ingest_status(
    channel: ChannelAccount, update: StatusUpdate, part_of: int | None = None
) -> Message | None:
    """Apply a provider's delivery status; one for an unknown message is kept for later.

    ``part_of``: the message the provider says this id was sent for (e.g. WhatsApp's echoed
    callback data). It is used only if that message lists the id among its parts and has
    left the outbox (a status for a part of a queued reply waits until the reply is sent).
    """
    if update.status not in (
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.FAILED,
    ):
        raise InvalidInbound(f"unknown delivery status {update.status!r}")
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(channel=channel, provider_id=update.provider_id)
            .first()
        )
        if message is None and part_of is not None:
            message = _sent_with_part(channel, part_of, update.provider_id)
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


def _sent_with_part(channel: ChannelAccount, message_id: int, provider_id: str) -> Message | None:
    found = (
        Message.objects.select_for_update()
        .filter(pk=message_id, channel=channel, direction=Direction.OUTBOUND)
        .exclude(status=DeliveryStatus.QUEUED)
        .first()
    )
    if found is not None and provider_id in provider_ids(found):
        return found
    return None


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
