"""A channel account's state: connected, in error, needing reconnection, disconnected."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from frontdesk.inbox import events
from frontdesk.inbox.models import ChannelAccount, ChannelStatus
from frontdesk.inbox.tasks import sync_channel


def set_channel_status(
    channel: ChannelAccount, status: str | None, error: str = ""
) -> ChannelAccount:
    """Record a channel's state (``None`` keeps the status, e.g. a passing sync error) and
    its last error, and tell the workspace: admins see "needs reconnection" at once."""
    with transaction.atomic():
        channel.status = status or channel.status
        channel.last_error = error[:2000]
        channel.save(update_fields=["status", "last_error"])
        events.channel_status(channel)
    return channel


def set_connected(channel: ChannelAccount, connected: bool) -> ChannelAccount:
    """Disconnect (stop syncing and sending) or connect again; clears the last error."""
    if connected:
        return set_channel_status(channel, ChannelStatus.CONNECTED)
    return set_channel_status(channel, ChannelStatus.DISCONNECTED, channel.last_error)


def save_connection(
    channel: ChannelAccount,
    *,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, Any],
    status: str = ChannelStatus.CONNECTED,
) -> ChannelAccount:
    """Store what a connect flow set up, for a new channel or a reconnect (the sync position
    is kept), and tell the workspace, so every open sidebar lists the channel at once. A
    connected channel that syncs starts its first sync at once (webhook registration, the
    history import), not at the next periodic round."""
    channel.name = name.strip()[:200]
    channel.config = config
    channel.credentials = credentials
    channel.status = status
    channel.last_error = ""
    with transaction.atomic():
        channel.save()
        events.channel_status(channel)
        if status == ChannelStatus.CONNECTED and channel.connector.capabilities.sync:
            transaction.on_commit(partial(sync_channel, channel.pk))
    return channel
