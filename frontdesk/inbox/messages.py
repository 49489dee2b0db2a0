"""Finding a message by the provider's id, and the small rules every message write shares."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from frontdesk.connectors.base import ReplyParent
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, Message, MessageKind, MessagePart

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
    return found or reply_with_part(channel, provider_id, rows)


def reply_with_part(
    channel: ChannelAccount, provider_id: str, rows: QuerySet[Message] | None = None
) -> Message | None:
    """The reply one of whose parts has this provider id."""
    rows = Message.objects.select_related("conversation") if rows is None else rows
    part = MessagePart.objects.filter(channel=channel, provider_id=provider_id)
    message_id = part.values_list("message_id", flat=True).first()
    return rows.filter(pk=message_id).first() if message_id else None


def sent_parts(message: Message) -> tuple[str, ...]:
    """The parts of a reply the provider already accepted (``PART_IDS``), in order."""
    parts = message.extra.get(PART_IDS) if isinstance(message.extra, dict) else None
    return tuple(str(i or "") for i in parts or [])


def reply_parent(message: Message) -> ReplyParent | None:
    """The earlier message a reply answers: the one it quotes, else the newest one that no
    other message answers (two may share a timestamp: their references break the tie)."""
    rows = Message.objects.filter(
        conversation_id=message.conversation_id,
        kind=MessageKind.MESSAGE,
        provider_id__isnull=False,
    ).exclude(pk=message.pk)
    parent = None
    quoted = message.reply_to.provider_id if message.reply_to else ""
    if quoted:
        parent = rows.filter(provider_id=quoted).select_related("conversation").first()
    if parent is None:
        recent = list(rows.select_related("conversation").order_by("-created_at", "-id")[:20])
        answered = {str(r) for row in recent for r in (row.extra or {}).get("references") or []}
        parent = next((row for row in recent if row.provider_id not in answered), None) or (
            recent[0] if recent else None
        )
    if parent is None:
        return None
    earlier = (parent.extra or {}).get("references")
    if isinstance(earlier, list) and earlier:
        references = [str(r) for r in earlier]
    else:
        references = [
            str(r)
            for r in rows.filter(created_at__lt=parent.created_at)
            .order_by("-created_at")
            .values_list("provider_id", flat=True)[:20]
        ][::-1]
    return ReplyParent(
        provider_id=str(parent.provider_id),
        subject=parent.subject or parent.conversation.subject,
        references=tuple(references),
        sent_at=parent.sent_at or parent.created_at,
        author=parent.author_name or str((parent.extra or {}).get("from", "")),
        text=parent.text or "",
    )


def preview_of(text: str, fallback: str = "") -> str:
    """The conversation list's one-line preview of a message."""
    return " ".join((text or fallback).split())[:200]


def check_text_length(text: str) -> None:
    if len(text) > settings.FRONTDESK_MAX_TEXT_CHARS:
        raise ActionRefused(f"text is longer than {settings.FRONTDESK_MAX_TEXT_CHARS:,} characters")
