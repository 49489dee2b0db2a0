"""Background tasks (Huey). Each is thin: the work lives in ``inbox.actions``; the outbox's
own tasks (``deliver_message``, ``sweep_outbox``) live beside it in ``inbox/outbox.py``."""

import os
from datetime import timedelta
from functools import partial

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

# Connectors define their own tasks (e.g. fetching attachments): importing the registry
# registers them with the worker, which only autodiscovers the apps' ``tasks`` modules.
import frontdesk.connectors.registry  # noqa: F401
from frontdesk.inbox.actions.conversation import wake_snoozed
from frontdesk.inbox.actions.delivery import purge_pending_statuses


@db_task(retries=3, retry_delay=60)
def copy_contact_avatar(contact_id: int, url: str) -> str:
    from frontdesk.inbox.avatars import copy_avatar

    return copy_avatar(contact_id, url)


@db_periodic_task(crontab(minute="*"))
def wake_snoozed_conversations() -> int:
    return wake_snoozed()


def pending_status_retention() -> timedelta:
    """How long a status for a message we do not know is kept (``FRONTDESK_PENDING_STATUS_DAYS``,
    default 7, at least 1: a reply may wait hours in the outbox before its id is known)."""
    days = getattr(settings, "FRONTDESK_PENDING_STATUS_DAYS", None)
    if days is None:
        days = os.environ.get("FRONTDESK_PENDING_STATUS_DAYS") or 7
    return timedelta(days=max(float(days), 1.0))


@db_periodic_task(crontab(minute="*/15"))
def forget_stale_pending_statuses() -> int:
    return purge_pending_statuses(pending_status_retention())


@db_task()
def sync_channel(channel_id: int) -> None:
    """One channel's sync; a lock keeps two workers from syncing the same account at once.
    A history import's progress is stored and shown live as the connector reports it."""
    from frontdesk.inbox.actions.channel import record_import_progress
    from frontdesk.inbox.models import ChannelAccount, ChannelStatus

    with lock_task(f"sync-channel-{channel_id}"):
        channel = ChannelAccount.objects.filter(
            pk=channel_id, status=ChannelStatus.CONNECTED
        ).first()
        if channel is not None:
            channel.connector.sync(channel, partial(record_import_progress, channel.pk))


@db_periodic_task(crontab(minute="*"))
def sync_channels() -> int:
    from frontdesk.inbox.models import ChannelAccount, ChannelStatus

    due = [
        c.pk
        for c in ChannelAccount.objects.filter(status=ChannelStatus.CONNECTED)
        if c.connector.capabilities.sync
    ]
    for channel_id in due:
        sync_channel(channel_id)
    return len(due)
