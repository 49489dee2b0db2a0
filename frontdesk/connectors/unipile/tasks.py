"""Worker tasks of the Unipile connector (imported by ``connector`` so Huey knows them)."""

from __future__ import annotations

from typing import Any

from huey.contrib.djhuey import db_task, lock_task
from huey.exceptions import TaskLockedException


@db_task(retries=5, retry_delay=30, context=True)
def ingest_with_attachments(channel_id: int, event: dict[str, Any], task: Any = None) -> str:
    """Download a webhook message's attachments from Unipile, then ingest it whole (``event``:
    the webhook body as received, of the channel's API version).

    Downloads are retried; when the last attempt still fails the message is stored without
    them (noted on it), never dropped.
    """
    from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Message

    channel = ChannelAccount.objects.filter(pk=channel_id, provider="unipile").first()
    if channel is None or channel.status == ChannelStatus.DISCONNECTED:
        return "gone"
    connector = channel.connector
    item = connector.parse_webhook_message(channel, event)
    if Message.objects.filter(channel=channel, provider_id=item.provider_id).exists():
        return "duplicate"
    try:
        connector.fetch_attachments(channel, item)
    except Exception as exc:
        if task is None or task.retries:
            raise  # Huey tries again later
        item.attachments = []
        item.extra["skipped_attachments"] = [f"attachments could not be downloaded: {exc}"[:500]]
    result = connector.ingest_event(channel, item, enrich=True)
    return "created" if result.created else "duplicate"


@db_task()
def backfill_channel(channel_id: int) -> None:
    """Run the connect-time backfill now instead of waiting for the periodic sync."""
    from frontdesk.inbox.models import ChannelAccount, ChannelStatus

    try:
        with lock_task(f"sync-channel-{channel_id}"):
            channel = ChannelAccount.objects.filter(
                pk=channel_id, provider="unipile", status=ChannelStatus.CONNECTED
            ).first()
            if channel is not None:
                channel.connector.sync(channel)
    except TaskLockedException:
        pass  # the periodic sync is already on it


@db_task(retries=2, retry_delay=60)
def enrich_contact(channel_id: int, contact_id: int, provider_id: str) -> str:
    """Fill a LinkedIn contact's blanks (headline, company, picture, profile URL) once."""
    from frontdesk.inbox.models import ChannelAccount, Contact

    channel = ChannelAccount.objects.filter(pk=channel_id, provider="unipile").first()
    if channel is None:
        return "gone"
    contact = Contact.objects.filter(pk=contact_id, workspace_id=channel.workspace_id).first()
    if contact is None or (contact.custom_fields or {}).get("linkedin_enriched_at"):
        return "skipped"
    return channel.connector.enrich_contact(channel, contact, provider_id)
