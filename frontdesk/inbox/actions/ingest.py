"""The one inbound write path: provider traffic becomes rows here, and only here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from frontdesk.connectors.base import InboundMessage
from frontdesk.core.rows import fetch_one, insert_row
from frontdesk.inbox import events
from frontdesk.inbox.actions.delivery import apply_pending_statuses
from frontdesk.inbox.actions.notifications import conversation_title, notify
from frontdesk.inbox.actions.routing import route
from frontdesk.inbox.actions.threads import conversation_of_inbound
from frontdesk.inbox.attachments import AttachmentTooLarge, keep_original, store_attachment
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.messages import check_text_length, find_message, preview_of, reply_with_part
from frontdesk.inbox.models import (
    ChannelAccount,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    NotificationKind,
)


@dataclass
class IngestResult:
    message: Message
    conversation: Conversation
    created: bool


def ingest(channel: ChannelAccount, item: InboundMessage) -> IngestResult:
    """Store one inbound (or sent-elsewhere) message; a repeat of a provider id is a no-op."""
    connector = channel.connector
    handle_value = connector.normalize_handle(item.handle)
    if not item.provider_id or len(item.provider_id) > 500:
        raise ActionRefused("a message needs a provider id of at most 500 characters")
    if not handle_value or len(handle_value) > 320:
        raise ActionRefused("a message needs a sender handle of at most 320 characters")
    check_text_length(item.text)
    if item.outbound:  # a provider's echo of a later part of one of our replies
        part_of = reply_with_part(channel, item.provider_id)
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


def _write(
    channel: ChannelAccount, handle_kind: str, handle_value: str, item: InboundMessage
) -> IngestResult:
    at = item.sent_at or timezone.now()
    conversation = conversation_of_inbound(channel, handle_kind, handle_value, item, at)
    reply_to = (
        find_message(channel, item.reply_to_provider_id) if item.reply_to_provider_id else None
    )
    keep_original(channel.pk, item)  # unless kept already: the row names it
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
        status=_imported_status(item),
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
    events.message_created(message)
    if not item.outbound:
        _tell_the_assignee(conversation, message)
        route(channel, conversation)
    return IngestResult(message, conversation, created=True)


def _imported_status(item: InboundMessage) -> str:
    """An outbound message's delivery state: what the provider says (read, delivered), else
    sent; an inbound message has none."""
    if not item.outbound:
        return ""
    if item.delivery in (DeliveryStatus.DELIVERED, DeliveryStatus.READ):
        return item.delivery
    return DeliveryStatus.SENT


def _tell_the_assignee(conversation: Conversation, message: Message) -> None:
    """A client's message in a conversation someone owns notifies them (folded into one
    unread notification per conversation, so a busy client is one line and one mail)."""
    if conversation.assignee_id is None:
        return
    shown = Conversation.objects.select_related("contact").get(pk=conversation.pk)
    notify(
        conversation.workspace_id,
        conversation.assignee_id,
        NotificationKind.NEW_MESSAGE,
        f"{conversation_title(shown)}: {shown.preview}",
        conversation_id=conversation.pk,
        message_id=message.pk,
    )


# What a new message changes on its conversation's list row, decided in the statement
# itself so the common case (a known conversation) never loads the row: the latest time
# and its preview only move forward (a history import brings older messages after newer
# ones; both databases read the old row on the right-hand side of SET), and an inbound
# message re-opens a resolved or snoozed conversation.
_TOUCH = (
    "UPDATE inbox_conversation SET"
    " preview = CASE WHEN last_message_at <= %s THEN %s ELSE preview END,"
    " preview_outbound = CASE WHEN last_message_at <= %s THEN %s ELSE preview_outbound END,"
    " preview_author_id = CASE WHEN last_message_at <= %s THEN NULL ELSE preview_author_id END,"
    " last_message_at = CASE WHEN last_message_at <= %s THEN %s ELSE last_message_at END,"
)
# The newest message decides whether the client waits for us: ours (sent from the phone or
# the mail client) ends the wait, theirs starts it unless it runs already (a resolved
# conversation's old wait is over: it starts anew).
_TOUCH_OUTBOUND = _TOUCH + (
    " waiting_since = CASE WHEN last_message_at <= %s THEN NULL ELSE waiting_since END"
)
_TOUCH_INBOUND = (
    _TOUCH + " waiting_since = CASE WHEN last_message_at <= %s THEN"
    " COALESCE(CASE WHEN status = %s THEN NULL ELSE waiting_since END, %s)"
    " ELSE waiting_since END,"
    " last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < %s"
    " THEN %s ELSE last_inbound_at END,"
    " snoozed_until = CASE WHEN status IN (%s, %s) THEN NULL ELSE snoozed_until END,"
    " status = CASE WHEN status IN (%s, %s) THEN %s ELSE status END"
)


_REOPENED = (ConversationStatus.RESOLVED, ConversationStatus.SNOOZED)
_REOPEN = [*_REOPENED, *_REOPENED, ConversationStatus.OPEN]


def _touch_conversation(conversation: Conversation, item: InboundMessage, at: datetime) -> None:
    preview = preview_of(item.text, item.subject or ("📎 attachment" if item.attachments else ""))
    when = connection.ops.adapt_datetimefield_value(at)
    if item.outbound:
        sql, params = _TOUCH_OUTBOUND, [when, preview, when, True, when, when, when, when]
    else:
        sql = _TOUCH_INBOUND
        waiting = [when, ConversationStatus.RESOLVED, when]
        params = [when, preview, when, False, when, when, when, *waiting, when, when, *_REOPEN]
    row = fetch_one(
        sql
        + " WHERE id = %s"
        + " RETURNING status, preview, preview_outbound, preview_author_id, assignee_id",
        [*params, conversation.pk],
    )
    # The row now holds values this object did not load: read them again when asked.
    for name in ("last_message_at", "last_inbound_at", "snoozed_until", "waiting_since"):
        conversation.__dict__.pop(name, None)
    if row:
        (
            conversation.status,
            conversation.preview,
            conversation.preview_outbound,
            conversation.preview_author_id,
            conversation.assignee_id,
        ) = row
