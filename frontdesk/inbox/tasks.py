"""The jobs the inbox's writers queue (Huey): a contact's avatar copy, a message's media
fetch, a read receipt. The actions and the pipeline import this module to queue them, so it
imports only the work the jobs run, never a module that queues one. The jobs that run the
writers themselves sit above them: the channel sync beside its runner (``inbox/sync.py``),
the periodic rounds in ``inbox/periodic.py``, the outbox's in ``inbox/outbox.py``."""

import logging

from django.db import transaction
from huey.contrib.djhuey import db_task

# Connectors define their own tasks (e.g. fetching attachments): importing the registry
# registers them with the worker, which only autodiscovers the apps' ``tasks`` modules.
import frontdesk.connectors.registry  # noqa: F401
from frontdesk.connectors.base import ProviderCallError
from frontdesk.inbox.actions.channel import set_channel_status
from frontdesk.inbox.actions.media import (
    attach_media,
    note_read_receipt,
    set_media_state,
    unread_receipt_candidate,
)
from frontdesk.inbox.avatars import copy_avatar
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Contact, Message

log = logging.getLogger("frontdesk.tasks")


def copy_later(contact: Contact) -> None:
    """After this transaction commits, have the worker copy the contact's ``avatar_url``
    (``inbox/avatars.py``)."""
    contact_id, url = contact.pk, contact.avatar_url
    if url.startswith("https://"):
        transaction.on_commit(lambda: copy_contact_avatar(contact_id, url))


@db_task(retries=3, retry_delay=60)
def copy_contact_avatar(contact_id: int, url: str) -> str:
    return copy_avatar(contact_id, url)


@db_task()
def fetch_media(message_id: int, attempt: int = 1) -> str:
    """Download one stored message's media (``Connector.download``) and attach it; retried
    with the connector's backoff, refused at once when it can never work. The message shows
    the file pending, then stored or failed with why."""
    message = Message.objects.select_related("channel").filter(pk=message_id).first()
    media = (message.extra.get("media") if message is not None else None) or {}
    if message is None or not media:
        return "gone"
    if media.get("state") == "stored":
        return "stored"
    channel = message.channel
    connector = channel.connector
    try:
        item = connector.download(channel.view(), media)
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
    if not channel.connector.read_receipts_on(channel.view()):
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
        channel.connector.mark_read(channel.view(), message.provider_id)
    except ProviderCallError as exc:
        log.info("read receipt for message %s not sent: %s", message_id, exc.reason)
        return "failed"
    note_read_receipt(message)
    return "sent"
