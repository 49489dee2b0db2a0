"""The one write WhatsApp's template sync still makes itself (a refused token flags the
channel): it goes with the sync port (issue 11). Media and read receipts are inbox jobs
(``inbox/tasks.py``); what a webhook says is written by the inbox's webhook door."""

from __future__ import annotations

from frontdesk.inbox.models import ChannelAccount


def needs_reconnect(channel: ChannelAccount, reason: str) -> None:
    """Meta refused the token (error 190 ...): flag the channel and tell the workspace."""
    from frontdesk.inbox.actions.channel import set_channel_status
    from frontdesk.inbox.models import ChannelStatus

    set_channel_status(channel, ChannelStatus.NEEDS_RECONNECT, reason)
