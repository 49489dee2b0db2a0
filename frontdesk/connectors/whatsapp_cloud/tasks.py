"""Worker tasks of the WhatsApp connector (imported by the connector so Huey registers them)."""

from __future__ import annotations

import logging

from django.conf import settings
from huey.contrib.djhuey import db_task

from frontdesk.connectors.whatsapp_cloud import effects
from frontdesk.connectors.whatsapp_cloud.media import MediaRefused, MediaRetry, fetch

log = logging.getLogger("frontdesk.whatsapp")


def media_attempts() -> int:
    return int(getattr(settings, "FRONTDESK_WHATSAPP_MEDIA_ATTEMPTS", 5))


def media_delay(attempt: int) -> float:
    base = float(getattr(settings, "FRONTDESK_WHATSAPP_MEDIA_RETRY_SECONDS", 15))
    return min(base * (2 ** max(attempt - 1, 0)), 3600.0)


@db_task()
def fetch_media(message_id: int, attempt: int = 1) -> str:
    """Download one inbound message's media; retried with backoff, refused ones fail at once."""
    from frontdesk.inbox.models import Message

    message = Message.objects.select_related("channel").filter(pk=message_id).first()
    if message is None or not message.extra.get("media"):
        return "gone"
    try:
        return fetch(message)
    except MediaRefused as exc:
        log.warning("media of message %s refused: %s", message_id, exc)
        effects.set_media_state(message, "failed", str(exc))
        return "failed"
    except MediaRetry as exc:
        if attempt >= media_attempts():
            effects.set_media_state(message, "failed", f"{exc} (gave up after {attempt} attempts)")
            return "failed"
        effects.set_media_state(message, "pending", str(exc), attempts=attempt)
        fetch_media.schedule((message_id, attempt + 1), delay=media_delay(attempt))
        return "retry"


@db_task()
def send_read_receipt(message_id: int) -> str:
    """Tell WhatsApp the client's message was read (blue ticks); best effort, not retried."""
    from frontdesk.connectors.whatsapp_cloud.connector import graph_for
    from frontdesk.connectors.whatsapp_cloud.graph import GraphError, GraphUnreachable
    from frontdesk.inbox.models import Message

    message = Message.objects.select_related("channel").filter(pk=message_id).first()
    if message is None or not message.provider_id or message.extra.get("read_receipt"):
        return "skipped"
    channel = message.channel
    try:
        graph_for(channel).post(
            f"{channel.config['phone_number_id']}/messages",
            json={
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": message.provider_id,
            },
        )
    except (GraphError, GraphUnreachable) as exc:
        log.info("read receipt for message %s not sent: %s", message_id, exc)
        return "failed"
    effects.note_read_receipt(message)
    return "sent"
