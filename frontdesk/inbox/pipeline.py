"""What provider traffic says, written by the inbox: ``apply`` takes the values a connector
read (from a webhook or a sync) and calls the action for each; the jobs here finish what
cannot be done while the provider waits for its answer (attachments to download before a
message is stored, a sender's full profile). Connectors only read and fetch."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import Any

from django.db import InterfaceError, OperationalError, transaction
from huey.contrib.djhuey import db_task

from frontdesk.connectors.base import InboundEvents, InboundMessage, WebhookAnswer
from frontdesk.inbox.actions.channel import set_channel_status
from frontdesk.inbox.actions.contacts import (
    change_handle,
    keep_contact_facts,
    profile_complete,
    update_profile,
)
from frontdesk.inbox.actions.delivery import claim_echo, ingest_status
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.actions.reactions import set_reaction
from frontdesk.inbox.actions.threads import recipient_in_thread
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.messages import find_message
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Contact
from frontdesk.inbox.tasks import fetch_media

log = logging.getLogger("frontdesk.webhooks")


def apply(channel: ChannelAccount, said: InboundEvents, skip_unstorable: bool = False) -> bool:
    """Write everything a piece of provider traffic says: messages, handle changes,
    reactions, statuses, the account's state; problems the provider reported are logged.
    Returns whether a message was left to a job (its attachments are downloaded first).
    ``skip_unstorable``: see ``SyncPage``."""
    deferred = store_messages(channel, said.messages, skip_unstorable)
    for change in said.handle_changes:
        change_handle(channel, change.kind, change.old, change.new)
    for reaction in said.reactions:
        if reaction.message_id and reaction.by:
            set_reaction(
                channel,
                reaction.message_id,
                reaction.by,
                reaction.emoji,
                reaction.at,
                reaction.name,
            )
    for update in said.statuses:
        try:
            ingest_status(channel, update)
        except ActionRefused as exc:
            log.warning("%s status not applied: %s", channel.provider, exc)
    for state in said.channel_states:
        if channel.status == ChannelStatus.DISCONNECTED and state.status != channel.status:
            continue  # an admin disconnected it here; the provider's news does not reconnect it
        set_channel_status(channel, state.status, state.error)
    for problem in said.problems:
        log.warning("%s reported an error on channel %s: %s", channel.provider, channel.pk, problem)
    return deferred


def store_messages(
    channel: ChannelAccount, items: list[InboundMessage], skip_unstorable: bool = False
) -> bool:
    """Store each message, or leave it to a job when its attachments come first (returns
    whether one was left). With ``skip_unstorable`` a message that cannot be stored is
    logged and skipped, its writes undone alone; the database failing still fails all."""
    if not skip_unstorable:
        return _store_each(channel, items)
    deferred = False
    for item in items:
        try:
            with transaction.atomic():
                deferred = _store_each(channel, [item]) or deferred
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:
            log.error(
                "%s message %s on channel %s could not be stored; skipped",
                channel.provider,
                item.provider_id[:80],
                channel.pk,
                exc_info=exc,
            )
    return deferred


def _store_each(channel: ChannelAccount, items: list[InboundMessage]) -> bool:
    deferred = False
    for item in items:
        if item.outbound and not item.handle:
            addressed = addressed_or_claimed(channel, item)
            if addressed is None:
                continue  # it was the reply being sent: that reply has its id now
            item = addressed
        if item.fetch_first and find_message(channel, item.provider_id) is None:
            ingest_with_attachments(channel.pk, item)
            deferred = True
            continue
        store_message(channel, item)
    return deferred


def addressed_or_claimed(channel: ChannelAccount, item: InboundMessage) -> InboundMessage | None:
    """An outbound message whose provider did not say who it went to, with its recipient:
    the contact of the thread's conversation, else the one the provider names when asked
    (``Connector.webhook_recipient``). Else it can only be our own reply being sent right
    now, echoed before the send call answered (a new chat): that reply takes its id and
    None is returned. A message nobody can place is refused (400)."""
    handle = recipient_in_thread(channel, item.thread_key)
    if handle:
        return replace(item, handle=handle)
    asked: InboundMessage | None = channel.connector.webhook_recipient(channel.view(), item)
    if asked is not None and asked.handle:
        return asked
    if claim_echo(channel, item) is not None:
        return None
    raise WebhookAnswer.unreadable("no recipient known for a sent message")


def store_message(channel: ChannelAccount, item: InboundMessage) -> bool:
    """Ingest one message (an echo of a reply being sent completes that reply instead), and
    what it says about its sender. Returns whether a message was created."""
    if item.outbound and claim_echo(channel, item) is not None:
        return False
    try:
        result = ingest(channel, item)
    except ActionRefused as exc:
        log.warning("%s message %s not stored: %s", channel.provider, item.provider_id[:80], exc)
        return False
    if not result.created:
        return False
    if item.contact_facts or (not item.outbound and (item.profile is not None or item.enrich)):
        contact = result.conversation.contact  # loaded only when there is something to tell it
        if item.contact_facts:
            keep_contact_facts(contact, item.contact_facts)
        if item.profile is not None and not item.outbound:
            update_profile(contact, item.profile)
        if item.enrich and not item.outbound and not profile_complete(contact):
            enrich_contact(channel.pk, contact.pk, item.handle)  # ingest committed the contact
    if item.fetch_later:
        transaction.on_commit(partial(fetch_media, result.message.pk))
    return True


@db_task(retries=5, retry_delay=30, context=True)
def ingest_with_attachments(channel_id: int, item: InboundMessage, task: Any = None) -> str:
    """Download a message's attachments (``Connector.fetch_attachments``), then store it whole.
    Downloads are retried; when the last attempt still fails the message is stored without
    them (noted on it), never dropped."""
    channel = ChannelAccount.objects.filter(pk=channel_id).first()
    if channel is None or channel.status == ChannelStatus.DISCONNECTED:
        return "gone"
    if find_message(channel, item.provider_id) is not None:
        return "duplicate"
    try:
        channel.connector.fetch_attachments(channel.view(), item)
    except Exception as exc:
        if task is None or task.retries:
            raise  # Huey tries again later
        item.attachments = []
        item.extra["skipped_attachments"] = [f"attachments could not be downloaded: {exc}"[:500]]
    return "created" if store_message(channel, item) else "duplicate"


@db_task(retries=2, retry_delay=60)
def enrich_contact(channel_id: int, contact_id: int, handle: str) -> str:
    """Fill a contact's blanks from the provider's full profile of them, once."""
    channel = ChannelAccount.objects.filter(pk=channel_id).first()
    if channel is None:
        return "gone"
    contact = Contact.objects.filter(pk=contact_id, workspace_id=channel.workspace_id).first()
    if contact is None or profile_complete(contact):
        return "skipped"
    update = channel.connector.enrich(channel.view(), handle)
    if update is None:
        return "unavailable"
    update_profile(contact, update)
    return "enriched"
