"""Writes WhatsApp's worker tasks still make themselves (media arriving later, a read
receipt noted): they move into inbox actions with the background pipeline (issue 11).
What a webhook says is written by the inbox's webhook door."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from frontdesk.connectors.base import InboundAttachment
from frontdesk.inbox import events
from frontdesk.inbox.attachments import store_attachment
from frontdesk.inbox.models import ChannelAccount, Message

log = logging.getLogger("frontdesk.whatsapp")


def set_media_state(message: Message, state: str, error: str = "", **more: Any) -> None:
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


def attach_media(message: Message, item: InboundAttachment) -> None:
    """Store media fetched after the message was ingested, once (a retry is a no-op)."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.extra.get("media", {}).get("state") == "stored":
            return
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


def note_read_receipt(message: Message) -> None:
    """Remember that WhatsApp was told this inbound message was read (so it is told once)."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        locked.extra = {**locked.extra, "read_receipt": timezone.now().isoformat()}
        locked.save(update_fields=["extra"])


def needs_reconnect(channel: ChannelAccount, reason: str) -> None:
    """Meta refused the token (error 190 ...): flag the channel and tell the workspace."""
    from frontdesk.inbox.actions.channel import set_channel_status
    from frontdesk.inbox.models import ChannelStatus

    set_channel_status(channel, ChannelStatus.NEEDS_RECONNECT, reason)
