"""Connecting a channel: ``save_connection`` stores what a connect flow set up (and starts
its first sync), and the flows under way at a provider are started (or restarted) and
finished, once.

A flow that leaves the app (OAuth consent, Unipile's hosted auth) keeps a
``PendingConnection`` instead of a channel: nothing shows in the sidebar until the provider
sends the person back with a grant. Starting the same flow again reuses the pending row
with a new state (the earlier link stops working); a row never finished expires after
``FRONTDESK_CONNECT_PENDING_MINUTES``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from frontdesk.connectors.base import ChannelView
from frontdesk.inbox import events
from frontdesk.inbox.actions.channel import remove_channel
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, PendingConnection
from frontdesk.inbox.sync import sync_channel

INVALID_STATE = (
    "This sign-in link is not valid: it was already used, replaced by a newer attempt, or "
    "changed on the way. Start again to connect the account."
)
EXPIRED = "This connection attempt took too long and expired. Start again to connect the account."


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
    channel.removed_at = None  # connecting a removed channel's account again brings it back
    with transaction.atomic():
        channel.save()
        events.channel_status(channel)
        if status == ChannelStatus.CONNECTED and channel.connector.capabilities.sync:
            transaction.on_commit(partial(sync_channel, channel.pk))
    return channel


def drop_left_connecting(
    workspace_id: int, provider: str, left_connecting: Callable[[ChannelView], bool]
) -> int:
    """A flow starts: the workspace's channels of this provider still "Connecting" that an
    older flow left, never given an account (``left_connecting``: the connector's), leave
    the sidebar; removed with nothing to undo at the provider. Returns how many."""
    removed = 0
    for stuck in ChannelAccount.objects.filter(
        workspace_id=workspace_id,
        provider=provider,
        status=ChannelStatus.CONNECTING,
        removed_at__isnull=True,
    ):
        if left_connecting(stuck.view()):
            remove_channel(stuck, at_provider=False)
            removed += 1
    return removed


def pending_ttl() -> timedelta:
    return timedelta(minutes=settings.FRONTDESK_CONNECT_PENDING_MINUTES)


def drop_expired() -> int:
    """Forget flows never finished in time."""
    deleted, _ = PendingConnection.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def start_pending(
    *,
    workspace_id: int,
    user_id: int | None,
    provider: str,
    kind: str,
    channel: ChannelAccount | None = None,
    name: str = "",
    config: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
) -> PendingConnection:
    """The pending connection for this flow, reused if one is under way, with a new state."""
    drop_expired()
    with transaction.atomic():
        pending = (
            PendingConnection.objects.select_for_update()
            .filter(workspace_id=workspace_id, provider=provider, kind=kind, channel=channel)
            .first()
        ) or PendingConnection(
            workspace_id=workspace_id, provider=provider, kind=kind, channel=channel
        )
        pending.started_by_id = user_id
        pending.name = name.strip()[:200]
        pending.config = config or {}
        pending.credentials = credentials or {}
        pending.state = secrets.token_urlsafe(32)
        pending.created_at = timezone.now()
        pending.expires_at = pending.created_at + pending_ttl()
        pending.save()
    return pending


def remember(pending: PendingConnection, **credentials: Any) -> None:
    """Keep more secrets for the finish (a PKCE verifier, a hosted-auth nonce)."""
    pending.credentials = {**pending.credentials, **credentials}
    pending.save(update_fields=["credentials_encrypted"])


def confirm_pending(
    state: str, provider: str, connect: Callable[[PendingConnection], ChannelAccount]
) -> ChannelAccount:
    """A provider confirms a flow server to server before the person's browser is back
    (Unipile v1 POSTs the new account to ``notify_url``): ``connect`` stores the channel now,
    under the pending row's lock. The row stays, marked confirmed and naming the channel,
    until the browser comes back and claims it (so the page can say what happened:
    ``config["reconnected"]`` when it named a channel already); a second confirmation is
    refused."""
    if not state or len(state) > 100:
        raise ActionRefused(INVALID_STATE)
    with transaction.atomic():
        pending = (
            PendingConnection.objects.select_for_update()
            .filter(state=state, provider=provider)
            .first()
        )
        if pending is None or pending.config.get("confirmed"):
            raise ActionRefused(INVALID_STATE)
        if pending.expired:
            raise ActionRefused(EXPIRED)
        reconnected = pending.channel_id is not None
        channel = connect(pending)
        pending.channel = channel
        pending.config = {**pending.config, "confirmed": True, "reconnected": reconnected}
        pending.save(update_fields=["channel", "config"])
    return channel


def claim_pending(
    workspace_id: int, state: str, provider: str | Collection[str] | None = None
) -> PendingConnection:
    """Take the pending connection this state names (of this provider, or one of these),
    once: a second use, another workspace's state or a changed one is refused in words a
    person can act on."""
    if not state or len(state) > 100:
        raise ActionRefused(INVALID_STATE)
    with transaction.atomic():
        rows = PendingConnection.objects.select_for_update().filter(
            workspace_id=workspace_id, state=state
        )
        if isinstance(provider, str):
            rows = rows.filter(provider=provider)
        elif provider is not None:
            rows = rows.filter(provider__in=list(provider))
        pending = rows.first()
        if pending is None:
            raise ActionRefused(INVALID_STATE)
        pending.delete()
    if pending.expired:
        raise ActionRefused(EXPIRED)
    return pending


def connect_account(
    channel: ChannelAccount,
    *,
    account_field: str,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, Any],
) -> ChannelAccount:
    """Save what a connect flow set up: on ``channel`` (being reconnected, or a new unsaved
    one). A workspace has one channel per provider account (``config[account_field]``; no
    field: no such check): a new channel for an account it already has is refused in words,
    and a removed channel of that account comes back instead of a second one."""
    account = str(config.get(account_field) or "") if account_field else ""
    with transaction.atomic():
        if channel.pk is None and account:
            same = ChannelAccount.objects.filter(
                workspace_id=channel.workspace_id,
                provider=channel.provider,
                **{f"config__{account_field}": account},
            )
            live = same.filter(removed_at__isnull=True).first()
            if live is not None:
                raise ActionRefused(f"This account is already connected here, as {live.name}.")
            earlier = same.order_by("-removed_at").first()
            channel = earlier or channel
        return save_connection(channel, name=name, config=config, credentials=credentials)
