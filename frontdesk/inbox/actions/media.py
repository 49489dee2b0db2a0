"""Media that arrives after its message (``InboundMessage.fetch_later``), and read receipts
sent for inbound messages: the writes of the inbox's ``fetch_media`` and
``send_read_receipt`` jobs (``inbox/tasks.py``), which call the connector for the rest."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from frontdesk.connectors.base import InboundAttachment
from frontdesk.inbox import events
from frontdesk.inbox.attachments import store_attachment
from frontdesk.inbox.models import Message


def set_media_state(message: Message, state: str, error: str = "", **more: Any) -> None:
    """Show where the download of a message's media stands (pending, failed, with why)."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        media = {**locked.extra.get("media", {}), "state": state, **more}
        if error:
            media["error"] = error[:500]
        else:
            media.pop("error", None)
        locked.extra = {**locked.extra, "media": media}
        locked.save(update_fields=["extra"])
        message.extra = locked.extra
        events.message_updated(locked)


def attach_media(message: Message, item: InboundAttachment) -> bool:
    """Store media fetched after the message was ingested, once (a retry is a no-op).
    Returns whether it was stored now."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.extra.get("media", {}).get("state") == "stored":
            return False
        attachment = store_attachment(locked, item)
        media = {
            **locked.extra.get("media", {}),
            "state": "stored",
            "attachment_id": attachment.pk,
        }
        media.pop("error", None)
        locked.extra = {**locked.extra, "media": media}
        locked.save(update_fields=["extra"])
        message.extra = locked.extra
        events.message_updated(locked)
    return True


def note_read_receipt(message: Message) -> None:
    """Remember that the provider was told this inbound message was read (told once)."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        locked.extra = {**locked.extra, "read_receipt": timezone.now().isoformat()}
        locked.save(update_fields=["extra"])
        message.extra = locked.extra


def unread_receipt_candidate(conversation_id: int) -> Message | None:
    """The client's latest message in the conversation, if the provider was not yet told it
    was read (a receipt for it covers the earlier ones)."""
    latest = (
        Message.objects.filter(
            conversation_id=conversation_id, direction="inbound", provider_id__isnull=False
        )
        .order_by("-created_at", "-id")
        .only("pk", "extra")
        .first()
    )
    if latest is None or latest.extra.get("read_receipt"):
        return None
    return latest
