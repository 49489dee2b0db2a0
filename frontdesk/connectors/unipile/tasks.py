"""The connect flow's backfill task (imported by ``connector`` so Huey knows it); a pushed
message's attachments and a contact's profile are inbox jobs (``inbox/pipeline.py``)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task, lock_task
from huey.exceptions import TaskLockedException


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
