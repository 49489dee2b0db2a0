"""The inbox's channels as a connector's worker service sees them (``ChannelDirectory`` in
``connectors/base.py``): email's IDLE supervisor lists the connected mailboxes, reads one,
and asks for its sync, without knowing the ORM, the task queue or database connections."""

from __future__ import annotations

from django.db import close_old_connections, connections
from huey.exceptions import TaskLockedException

from frontdesk.connectors.base import ChannelView, SyncBusy
from frontdesk.inbox.models import ChannelAccount, ChannelStatus
from frontdesk.inbox.sync import sync_channel


class InboxDirectory:
    def connected(self, kind: str) -> list[ChannelView]:
        close_old_connections()
        rows = ChannelAccount.objects.filter(kind=kind, status=ChannelStatus.CONNECTED)
        return [row.view() for row in rows.defer("credentials_encrypted")]

    def connected_one(self, channel_id: int) -> ChannelView | None:
        close_old_connections()
        row = ChannelAccount.objects.filter(pk=channel_id, status=ChannelStatus.CONNECTED).first()
        return row.view() if row is not None else None

    def sync_now(self, channel_id: int) -> None:
        close_old_connections()
        try:
            sync_channel.call_local(channel_id)
        except TaskLockedException:
            raise SyncBusy(f"channel {channel_id} is being synced") from None

    def let_go(self) -> None:
        connections.close_all()
