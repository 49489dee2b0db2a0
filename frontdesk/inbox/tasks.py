"""Background tasks (Huey). Each is thin: the work lives in ``inbox.actions``; the outbox's
own tasks (``deliver_message``, ``sweep_outbox``) live beside it in ``inbox/outbox.py``."""

import logging
import os
from datetime import timedelta

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

# Connectors define their own tasks (e.g. fetching attachments): importing the registry
# registers them with the worker, which only autodiscovers the apps' ``tasks`` modules.
import frontdesk.connectors.registry  # noqa: F401
from frontdesk.connectors.base import ProviderCallError
from frontdesk.inbox.actions.delivery import purge_pending_statuses
from frontdesk.inbox.actions.media import (
    attach_media,
    note_read_receipt,
    set_media_state,
    unread_receipt_candidate,
)
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Message

log = logging.getLogger("frontdesk.tasks")


@db_task(retries=3, retry_delay=60)
def copy_contact_avatar(contact_id: int, url: str) -> str:
    from frontdesk.inbox.avatars import copy_avatar

    return copy_avatar(contact_id, url)


@db_periodic_task(crontab(minute="*"))
def wake_snoozed_conversations() -> int:
    from frontdesk.inbox.actions.conversation import wake_snoozed  # imports this module

    return wake_snoozed()


@db_periodic_task(crontab(minute="*"))
def mail_notification_digests() -> int:
    """Each member with a notification due by email gets one digest of what waits for them."""
    from frontdesk.inbox.actions.notification_mail import mail_digests

    with lock_task("notification-digests"):
        return mail_digests()


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
    with lock_task(f"sync-channel-{channel_id}"):
        channel = ChannelAccount.objects.filter(
            pk=channel_id, status=ChannelStatus.CONNECTED
        ).first()
        if channel is not None:
            run_sync(channel)


def run_sync(channel: ChannelAccount) -> None:
    """The channel's sync, page by page (``inbox/sync.py``)."""
    from frontdesk.inbox.sync import run_sync as run  # imports this module

    run(channel)


@db_periodic_task(crontab(minute="*"))
def sync_channels() -> int:
    due = [
        c.pk
        for c in ChannelAccount.objects.filter(status=ChannelStatus.CONNECTED)
        if c.connector.capabilities.sync
    ]
    for channel_id in due:
        sync_channel(channel_id)
    return len(due)


@db_task()
def fetch_media(message_id: int, attempt: int = 1) -> str:
    """Download one stored message's media (``Connector.download``) and attach it; retried
    with the connector's backoff, refused at once when it can never work. The message shows
    the file pending, then stored or failed with why."""
    from frontdesk.inbox.actions.channel import set_channel_status  # imports this module

    message = Message.objects.select_related("channel").filter(pk=message_id).first()
    media = (message.extra.get("media") if message is not None else None) or {}
    if message is None or not media:
        return "gone"
    if media.get("state") == "stored":
        return "stored"
    channel = message.channel
    connector = channel.connector
    try:
        item = connector.download(channel, media)
    except ProviderCallError as exc:
        if exc.reconnect:
            set_channel_status(channel, ChannelStatus.NEEDS_RECONNECT, exc.reason)
        policy = connector.download_policy()
        if not exc.retry:
            log.warning("media of message %s refused: %s", message_id, exc.reason)
            set_media_state(message, "failed", exc.reason)
            return "failed"
        if attempt >= policy.attempts:
            set_media_state(message, "failed", f"{exc.reason} (gave up after {attempt} attempts)")
            return "failed"
        set_media_state(message, "pending", exc.reason, attempts=attempt)
        fetch_media.schedule((message_id, attempt + 1), delay=policy.delay(attempt))
        return "retry"
    attach_media(message, item)
    return "stored"


def queue_read_receipt(conversation_id: int, channel: ChannelAccount) -> None:
    """A member read the conversation: tell the client, once per message, where the channel
    sends read receipts (run after commit; cheap when it does not)."""
    if not channel.connector.read_receipts_on(channel):
        return
    latest = unread_receipt_candidate(conversation_id)
    if latest is not None:
        send_read_receipt(latest.pk)


@db_task()
def send_read_receipt(message_id: int) -> str:
    """Tell the provider the client's message was read (``Connector.mark_read``); best
    effort, not retried."""
    message = Message.objects.select_related("channel").filter(pk=message_id).first()
    if message is None or not message.provider_id or message.extra.get("read_receipt"):
        return "skipped"
    channel = message.channel
    try:
        channel.connector.mark_read(channel, message.provider_id)
    except ProviderCallError as exc:
        log.info("read receipt for message %s not sent: %s", message_id, exc.reason)
        return "failed"
    note_read_receipt(message)
    return "sent"
