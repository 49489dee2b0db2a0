"""Credentials a provider refreshes (OAuth 2 access tokens), written by the inbox.

A connector says when its token is stale (``fresh``) and how to get new values from the
stored ones (``refresh``: the provider call, values out); the inbox makes the refreshes of
one channel take turns and stores the result. Several workers (the sync, IDLE, the outbox)
may need a new token at the same moment; with a provider that rotates refresh tokens, a
second refresh with the old one is refused, so they must share one refresh:

- in one process, a lock per channel; on PostgreSQL the channel row is locked as well
  (other processes wait); SQLite's embedded mode refreshes only in its one worker process;
- whoever waited rereads the row and uses a token refreshed meanwhile;
- the write is a compare-and-set: a grant stored by a reconnect during the refresh is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from frontdesk.core.crypto import encrypt_json

if TYPE_CHECKING:  # the model calls this module: the rows are read through type(channel)
    from frontdesk.inbox.models import ChannelAccount

Credentials = dict[str, Any]

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _refresh_lock(channel_id: int) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(channel_id, threading.Lock())


def _stored(channel: ChannelAccount, for_update: bool = False) -> Credentials:
    rows = type(channel).objects.filter(pk=channel.pk).only("id", "credentials_encrypted")
    row = (rows.select_for_update() if for_update else rows).get()
    return row.credentials


def refresh_credentials(
    channel: ChannelAccount,
    held: str | None,
    fresh: Callable[[Credentials], bool],
    refresh: Callable[[Credentials], Credentials],
) -> Credentials:
    """The channel's credentials with a usable ``access_token``: one refreshed by another
    worker since ``held`` (the token the caller holds) was read, else ``refresh(stored)``'s
    values merged into the stored ones and saved. Sets ``channel.credentials`` too. An
    unsaved channel (a connect page's test) is refreshed in memory only."""
    if not channel.pk:
        creds = channel.credentials
        creds.update(refresh(creds))
        channel.credentials = creds
        return creds
    hold_row = connection.features.has_select_for_update  # PostgreSQL: other processes wait
    with _refresh_lock(channel.pk), transaction.atomic() if hold_row else nullcontext():
        stored = _stored(channel, for_update=hold_row)
        if fresh(stored) and stored.get("access_token") != held:
            channel.credentials = stored  # refreshed by someone else while we waited
            return stored
        tokens = refresh(stored)
        with transaction.atomic():  # compare-and-set: keep what others stored meanwhile
            current = _stored(channel, for_update=True)
            if current.get("refresh_token") != stored.get("refresh_token"):
                tokens.pop("refresh_token", None)  # reconnected meanwhile: the new grant stays
                if fresh(current):
                    channel.credentials = current
                    return current
            current.update(tokens)
            type(channel).objects.filter(pk=channel.pk).update(
                credentials_encrypted=encrypt_json(current)
            )
    channel.credentials = current
    return current
