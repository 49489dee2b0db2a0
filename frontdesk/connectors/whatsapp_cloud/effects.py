"""Small writes a WhatsApp webhook needs beyond ``ingest``: media arriving later, a
number change, an ad referral kept on the contact. Each publishes an event. (Reactions
are the shared ``inbox.actions.reactions.set_reaction``.)"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from frontdesk.connectors.base import InboundAttachment
from frontdesk.inbox import events
from frontdesk.inbox.attachments import store_attachment
from frontdesk.inbox.models import ChannelAccount, Contact, ContactHandle, Conversation, Message

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


def change_number(channel: ChannelAccount, old: str, new: str) -> None:
    """The client moved to a new number: their phone handle follows (unless already known)."""
    with transaction.atomic():
        handle = ContactHandle.objects.filter(
            workspace_id=channel.workspace_id, kind="phone", value=old
        ).first()
        if handle is None:
            return
        try:
            with transaction.atomic():
                ContactHandle.objects.filter(pk=handle.pk).update(value=new)
        except IntegrityError:
            log.info("number change %s -> %s: the new number is already a contact", old, new)
            return
        # Conversations keyed on the old number (ingest's default thread key) follow it.
        for conversation in Conversation.objects.filter(
            workspace_id=channel.workspace_id,
            contact_id=handle.contact_id,
            thread_key=f"phone:{old}",
        ):
            if not Conversation.objects.filter(
                channel_id=conversation.channel_id, thread_key=f"phone:{new}"
            ).exists():
                Conversation.objects.filter(pk=conversation.pk).update(thread_key=f"phone:{new}")
        events.contact_updated(channel.workspace_id, handle.contact_id)


def keep_referral(contact: Contact, referral: dict[str, Any]) -> None:
    """The ad that brought the client in, kept on the contact (the first one is kept)."""
    if not referral or "whatsapp_referral" in (contact.custom_fields or {}):
        return
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if "whatsapp_referral" in (locked.custom_fields or {}):
            return
        locked.custom_fields = {**(locked.custom_fields or {}), "whatsapp_referral": referral}
        locked.save(update_fields=["custom_fields", "updated_at"])
        events.contact_updated(contact.workspace_id, contact.pk)


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
