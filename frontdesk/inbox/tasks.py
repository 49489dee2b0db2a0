"""Background tasks (Huey). Each is thin: the work lives in ``inbox.actions``."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

# Connectors define their own tasks (e.g. fetching attachments): importing the registry
# registers them with the worker, which only autodiscovers the apps' ``tasks`` modules.
import frontdesk.connectors.registry  # noqa: F401
from frontdesk.inbox.actions.conversation import wake_snoozed
from frontdesk.inbox.actions.send import deliver, due_for_delivery


@db_task()
def deliver_message(message_id: int) -> str:
    return deliver(message_id)


@db_periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    """Re-enqueue replies whose task was lost (a worker crash, a restart): the outbox is the truth."""
    due = due_for_delivery()
    for message_id in due:
        deliver_message(message_id)
    return len(due)


@db_periodic_task(crontab(minute="*"))
def wake_snoozed_conversations() -> int:
    return wake_snoozed()


@db_task()
def sync_channel(channel_id: int) -> None:
    """One channel's sync; a lock keeps two workers from syncing the same account at once."""
    from frontdesk.inbox.models import ChannelAccount, ChannelStatus

    with lock_task(f"sync-channel-{channel_id}"):
        channel = ChannelAccount.objects.filter(
            pk=channel_id, status=ChannelStatus.CONNECTED
        ).first()
        if channel is not None:
            channel.connector.sync(channel)


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
