"""Connecting and disconnecting a channel account from the Apps & integrations page."""

from __future__ import annotations

from django.db import transaction

from frontdesk.inbox.models import ChannelAccount, ChannelStatus
from frontdesk.realtime.publish import publish


def set_connected(channel: ChannelAccount, connected: bool) -> ChannelAccount:
    """Disconnect (stop syncing and sending) or connect again; clears the last error."""
    status = ChannelStatus.CONNECTED if connected else ChannelStatus.DISCONNECTED
    with transaction.atomic():
        channel.status = status
        if connected:
            channel.last_error = ""
        channel.save(update_fields=["status", "last_error"])
        publish(channel.workspace_id, "channel.status", channel_id=channel.pk, status=status)
    return channel
