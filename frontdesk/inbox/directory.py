"""The inbox's channels as a connector's worker service sees them (``ChannelDirectory`` in
``connectors/base.py``): email's IDLE supervisor lists the connected mailboxes, reads one,
and asks for its sync, without knowing the ORM, the task queue or database connections."""

from __future__ import annotations

from django.db import close_old_connections, connections
from huey.exceptions import TaskLockedException

from frontdesk.connectors.base import SyncBusy
from frontdesk.inbox.models import ChannelAccount, ChannelStatus
from frontdesk.inbox.sync import sync_channel


class InboxDirectory:
    def connected(self, kind: str) -> list[ChannelAccount]:
        close_old_connections()
        return list(
            ChannelAccount.objects.filter(kind=kind, status=ChannelStatus.CONNECTED).only(
                "id", "kind", "provider", "config"
            )
        )

    def connected_one(self, channel_id: int) -> ChannelAccount | None:
        close_old_connections()
        return ChannelAccount.objects.filter(pk=channel_id, status=ChannelStatus.CONNECTED).first()

    def sync_now(self, channel_id: int) -> None:
        close_old_connections()
        try:
            sync_channel.call_local(channel_id)
        except TaskLockedException:
            raise SyncBusy(f"channel {channel_id} is being synced") from None

    def let_go(self) -> None:
        connections.close_all()
