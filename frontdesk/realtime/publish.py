"""Publish one small event per change, after the transaction that made it commits.

Publishing must cost the writer almost nothing and must work from any thread (web
requests, Huey worker threads). Embedded mode's layer sends datagrams straight from the
calling thread (see ``layer.py``); a Redis layer is driven from a small background loop
of this process, so no caller waits on the network.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from frontdesk.realtime.layer import ProcessGroupLayer

log = logging.getLogger("frontdesk.realtime")

_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_lock = threading.Lock()


def workspace_group(workspace_id: int) -> str:
    return f"workspace.{workspace_id}"


def _background_loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    with _own_loop_lock:
        if _own_loop is None:
            _own_loop = asyncio.new_event_loop()
            threading.Thread(
                target=_own_loop.run_forever, name="frontdesk-publisher", daemon=True
            ).start()
        return _own_loop


def _report(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("could not publish an event: %s", future.exception())


def publish(workspace_id: int, event_type: str, **data: Any) -> None:
    event = {"type": event_type, **data}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        group, message = workspace_group(workspace_id), {"type": "fd.event", "event": event}
        if isinstance(layer, ProcessGroupLayer):
            layer.broadcast(group, message)
            return
        # A lost live update must never undo or break the write: fire and forget.
        future = asyncio.run_coroutine_threadsafe(
            layer.group_send(group, message), _background_loop()
        )
        future.add_done_callback(_report)

    transaction.on_commit(send)
