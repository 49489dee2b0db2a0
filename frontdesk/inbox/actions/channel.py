"""A channel account's state: connected, in error, needing reconnection, disconnected."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from frontdesk.connectors.base import ProviderCallError
from frontdesk.inbox import events
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import (
    ChannelAccount,
    ChannelStatus,
    DeliveryStatus,
    Direction,
    Message,
)

log = logging.getLogger(__name__)


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


REMOVED_REASON = "not sent: the channel was removed"


def set_connected(channel: ChannelAccount, connected: bool) -> ChannelAccount:
    """Disconnect (stop syncing and sending) or connect again; clears the last error."""
    if channel.removed_at is not None:
        raise ActionRefused(f"{channel.name} was removed; connect the account again instead.")
    if connected:
        return set_channel_status(channel, ChannelStatus.CONNECTED)
    return set_channel_status(channel, ChannelStatus.DISCONNECTED, channel.last_error)


@dataclass(frozen=True)
class Removal:
    """A removed channel, and what its provider was told: ``done`` what was undone there
    ("" nothing to undo), ``problem`` why the provider could not be told ("" it was)."""

    channel: ChannelAccount
    done: str = ""
    problem: str = ""


def remove_channel(channel: ChannelAccount, *, at_provider: bool = True) -> Removal:
    """Remove a channel for good: disconnected, its credentials erased, gone from the
    sidebar and Apps; replies still queued on it fail with the reason. Its conversations
    and messages stay (the row is kept, so every foreign key and idempotency key holds on
    both databases) and read as from a removed channel.

    First the connector undoes at the provider what connecting set up
    (``Connector.revoke``: a revoked grant, a deleted account link), while the credentials
    are still there. A provider that cannot be reached or refuses never keeps the channel
    here: the problem is logged, kept as the removed channel's last error, and returned."""
    done, problem = "", ""
    if at_provider and channel.removed_at is None:
        others = list(
            ChannelAccount.objects.filter(provider=channel.provider, removed_at=None).exclude(
                pk=channel.pk
            )
        )
        try:
            done = channel.connector.revoke(channel.view(), [o.view() for o in others])
        except ProviderCallError as exc:
            problem = exc.reason
        except Exception as exc:  # a connector's bug must not keep a channel an admin removes
            log.exception("channel %s: revoking at the provider failed", channel.pk)
            problem = f"an unexpected error ({exc.__class__.__name__})"
        if problem:
            log.warning(
                "channel %s removed, but its provider was not told: %s", channel.pk, problem
            )
    with transaction.atomic():
        locked = ChannelAccount.objects.select_for_update().get(pk=channel.pk)
        if locked.removed_at is not None:
            return Removal(locked)
        locked.removed_at = timezone.now()
        locked.status = ChannelStatus.DISCONNECTED
        locked.credentials = {}
        locked.last_error = f"Not undone at the provider: {problem}"[:2000] if problem else ""
        locked.save(update_fields=["removed_at", "status", "credentials_encrypted", "last_error"])
        for message in Message.objects.filter(
            channel=locked, direction=Direction.OUTBOUND, status=DeliveryStatus.QUEUED
        ):
            message.status, message.error, message.claimed_until = (
                DeliveryStatus.FAILED,
                REMOVED_REASON,
                None,
            )
            message.save(update_fields=["status", "error", "claimed_until"])
            events.message_status(message)
        events.channel_status(locked)
    return Removal(locked, done, problem)


def record_import_progress(channel_id: int, done: int, total: int) -> None:
    """A connector's report on its history import (``ImportProgress``): stored for the Apps
    page and the sidebar and told to the workspace live. ``done >= total`` ends the import:
    the channel was synced now. A report with no import running and none starting is a
    no-op (most syncs have nothing to import). A negative total (``UNKNOWN_TOTAL``): the
    provider gives none, so the count is shown without one."""
    channel = ChannelAccount.objects.filter(pk=channel_id).first()
    if channel is None:
        return
    if total < 0 or done < total:
        channel.import_progress = {"done": max(done, 0), "total": total if total >= 0 else None}
        channel.save(update_fields=["import_progress"])
    elif channel.import_progress is not None:
        channel.import_progress, channel.last_synced_at = None, timezone.now()
        channel.save(update_fields=["import_progress", "last_synced_at"])
    else:
        return
    events.channel_progress(channel)
