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
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from frontdesk.connectors.base import ProviderCallError, SyncPage, SyncRun
from frontdesk.inbox.actions.channel import record_import_progress, set_channel_status
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Message
from frontdesk.inbox.pipeline import apply

log = logging.getLogger("frontdesk.sync")


def run_sync(channel: ChannelAccount) -> int:
    """Run the channel's sync to its end, page by page; a ``ProviderCallError`` it raises is
    the channel's last error, and a refused credential flags it "needs reconnection". Any
    other exception propagates (the job logs it) after the pages before it were stored.
    Returns the number of pages stored."""
    connector = channel.connector
    stored = 0
    try:
        if not connector.syncs_in_pages():
            last = connector.sync(channel, partial(record_import_progress, channel.pk))
            if last is not None:
                store_page(channel, last)
            return 0
        for page in connector.sync_pages(channel, sync_run(channel)):
            store_page(channel, page)
            stored += 1
    except ProviderCallError as exc:
        status = ChannelStatus.NEEDS_RECONNECT if exc.reconnect else None
        set_channel_status(channel, status, exc.reason)
    return stored


def sync_run(channel: ChannelAccount) -> SyncRun:
    """What the connector's sync starts from: the stored cursor (a copy: the connector may
    change it freely) and the inbox's read-only answers."""
    return SyncRun(
        cursor=copy.deepcopy(channel.sync_state or {}),
        known=partial(_known, channel.pk),
        siblings=partial(_siblings, channel),
    )


def store_page(channel: ChannelAccount, page: SyncPage) -> None:
    """One page, its cursor and what else it changed, in one transaction."""
    with transaction.atomic():
        apply(channel, page.events)
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


def _known(channel_id: int, provider_ids: Sequence[str]) -> set[str]:
    found = Message.objects.filter(channel_id=channel_id, provider_id__in=list(provider_ids))
    return {pid for pid in found.values_list("provider_id", flat=True) if pid}


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
