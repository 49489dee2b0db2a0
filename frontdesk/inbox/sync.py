"""The sync runner: the inbox's side of ``Connector.sync_pages``.

A connector's sync reads the provider and yields ``SyncPage`` values; nothing it does writes.
Each page is stored here in ONE transaction: its messages (through ``pipeline.apply``, the
webhook door's writer), the new cursor (``sync_state``), refreshed credentials or config,
the import progress. The events the page's writes emit go out when it commits. A page that
fails rolls back whole: the cursor stays where the last stored page left it, so the next run
reads the same page again and no message is lost. One page per transaction also keeps
SQLite's single writer free between pages while the connector calls the provider.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from frontdesk.connectors.base import ProviderCallError, SyncPage, SyncRun
from frontdesk.connectors.registry import get_connector
from frontdesk.inbox.actions.channel import record_import_progress, set_channel_status
from frontdesk.inbox.attachments import keep_original
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Direction, Message
from frontdesk.inbox.pipeline import apply

log = logging.getLogger("frontdesk.sync")


@db_task()
def sync_channel(channel_id: int) -> None:
    """One channel's sync (the worker's job); a lock keeps two workers from syncing the same
    account at once. A history import's progress is stored and shown live as the connector
    reports it."""
    with lock_task(f"sync-channel-{channel_id}"):
        channel = ChannelAccount.objects.filter(
            pk=channel_id, status=ChannelStatus.CONNECTED
        ).first()
        if channel is not None:
            run_sync(channel)


@db_periodic_task(crontab(minute="*"))
def sync_channels() -> int:
    """Queue a sync of every connected channel whose connector syncs (read: three columns a
    channel, not its row with credentials and cursor)."""
    connected = ChannelAccount.objects.filter(status=ChannelStatus.CONNECTED)
    due = [
        pk
        for pk, provider, kind in connected.values_list("pk", "provider", "kind")
        if get_connector(provider).for_kind(kind).capabilities.sync
    ]
    for channel_id in due:
        sync_channel(channel_id)
    return len(due)


def run_sync(channel: ChannelAccount) -> int:
    """Run the channel's sync to its end, page by page; a ``ProviderCallError`` it raises is
    the channel's last error, and a refused credential flags it "needs reconnection". A page
    the database or the disk fails to store is the last error too (the next run reads it
    again from the cursor before it). Any other exception propagates (the job logs it) after
    the pages before it were stored. Returns the number of pages stored."""
    connector = channel.connector
    stored = 0
    pages = connector.sync_pages(channel.view(), sync_run(channel))
    try:
        for page in pages:
            try:
                store_page(channel, page)
            except (DatabaseError, OSError) as exc:
                log.warning("channel %s: a sync page could not be stored", channel.pk, exc_info=exc)
                kind = "the database" if isinstance(exc, DatabaseError) else "the disk"
                detail = f"{type(exc).__qualname__}: {exc}" if str(exc) else type(exc).__qualname__
                set_channel_status(
                    channel,
                    None,
                    f"sync failed: {kind} failed ({detail}); the next sync retries from the "
                    "same point",
                )
                break
            stored += 1
    except ProviderCallError as exc:
        status = ChannelStatus.NEEDS_RECONNECT if exc.reconnect else None
        set_channel_status(channel, status, exc.reason)
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()  # a generator left mid-sync lets go of its connection now
    return stored


def sync_run(channel: ChannelAccount) -> SyncRun:
    """What the connector's sync starts from: the stored cursor (a copy: the connector may
    change it freely) and the inbox's read-only answers."""
    return SyncRun(
        cursor=copy.deepcopy(channel.sync_state or {}),
        known=partial(_known, channel.pk),
        siblings=partial(_siblings, channel),
        held=partial(_held, channel.pk),
        sent=partial(_sent, channel.pk),
        ours=partial(_ours, channel.pk),
    )


def store_page(channel: ChannelAccount, page: SyncPage) -> None:
    """One page, its cursor and what else it changed, in one transaction. The messages'
    originals are kept first, outside it (large files; a disk failing fails the page)."""
    for item in page.events.messages:
        keep_original(channel.pk, item)
    with transaction.atomic():
        apply(channel, page.events, skip_unstorable=page.skip_unstorable)
        fields: list[str] = []
        if page.cursor is not None:
            channel.sync_state = page.cursor
            fields.append("sync_state")
        if page.credentials is not None:
            channel.credentials = page.credentials
            fields.append("credentials_encrypted")
        if page.config is not None:
            channel.config = page.config
            fields.append("config")
        if page.synced:
            channel.last_synced_at = timezone.now()
            fields.append("last_synced_at")
        if fields:
            channel.save(update_fields=fields)
        if page.progress is not None:
            record_import_progress(channel.pk, *page.progress)
        if page.recovered and channel.last_error and channel.status == ChannelStatus.CONNECTED:
            set_channel_status(channel, None, "")  # the failed attempt is behind us


def _known(channel_id: int, provider_ids: Sequence[str], **only: Any) -> set[str]:
    found = Message.objects.filter(
        channel_id=channel_id, provider_id__in=list(provider_ids), **only
    )
    return {pid for pid in found.values_list("provider_id", flat=True) if pid}


_EXTRA_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _held(channel_id: int, provider_ids: Sequence[str], key: str) -> dict[str, Any]:
    if not _EXTRA_KEY.match(key):
        raise ValueError(f"not a key of extra: {key!r}")
    found = Message.objects.filter(channel_id=channel_id, provider_id__in=list(provider_ids))
    return {pid: value for pid, value in found.values_list("provider_id", f"extra__{key}") if pid}


def _sent(channel_id: int, provider_ids: Sequence[str]) -> set[str]:
    return _known(channel_id, provider_ids, direction=Direction.OUTBOUND)


def _ours(channel_id: int, message_ids: Sequence[int]) -> set[int]:
    found = Message.objects.filter(channel_id=channel_id, pk__in=list(message_ids))
    return set(found.values_list("pk", flat=True))


def _siblings(channel: ChannelAccount, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    others = (
        ChannelAccount.objects.filter(
            workspace_id=channel.workspace_id,
            provider=channel.provider,
            **{f"config__{k}": v for k, v in config.items()},
        )
        .exclude(pk=channel.pk)
        .order_by("pk")
    )
    return [other.credentials for other in others]
