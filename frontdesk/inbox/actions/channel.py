"""A channel account's state: connected, in error, needing reconnection, disconnected."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from frontdesk.inbox.models import ChannelAccount, ChannelStatus
from frontdesk.realtime.publish import publish


def set_channel_status(
    channel: ChannelAccount, status: str | None, error: str = ""
) -> ChannelAccount:
    """Record a channel's state (``None`` keeps the status, e.g. a passing sync error) and
    its last error, and tell the workspace: admins see "needs reconnection" at once."""
    with transaction.atomic():
        channel.status = status or channel.status
        channel.last_error = error[:2000]
        channel.save(update_fields=["status", "last_error"])
        publish(
            channel.workspace_id,
            "channel.status",
            channel_id=channel.pk,
            status=channel.status,
            error=channel.last_error,
        )
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
    config: dict,
    credentials: dict,
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
        publish(
            channel.workspace_id, "channel.status", channel_id=channel.pk, status=status, error=""
        )
        if status == ChannelStatus.CONNECTED and channel.connector.capabilities.sync:
            transaction.on_commit(partial(_sync_now, channel.pk))
    return channel


def _sync_now(channel_id: int) -> None:
    from frontdesk.inbox.tasks import sync_channel  # the tasks module imports the actions

    sync_channel(channel_id)
