"""Publish one small event per change, after the transaction that made it commits.

Publishing must cost the writer almost nothing and must work from any thread (web
requests, Huey worker threads). Events are handed to an event loop without waiting:
the web server's own loop when this process serves websockets (so the in-memory layer
of embedded mode reaches its sockets safely), else a small background loop of our own
(a worker process publishing to Redis).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

log = logging.getLogger("frontdesk.realtime")

_server_loop: asyncio.AbstractEventLoop | None = None
_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_lock = threading.Lock()


def workspace_group(workspace_id: int) -> str:
    return f"workspace.{workspace_id}"


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called from the websocket consumer: this loop serves sockets in this process."""
    global _server_loop
    _server_loop = loop


def _background_loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    with _own_loop_lock:
        if _own_loop is None:
            _own_loop = asyncio.new_event_loop()
            threading.Thread(
                target=_own_loop.run_forever, name="frontdesk-publisher", daemon=True
            ).start()
        return _own_loop


def _loop_for(layer: Any) -> asyncio.AbstractEventLoop | None:
    if _server_loop is not None and _server_loop.is_running():
        return _server_loop
    if isinstance(layer, InMemoryChannelLayer):
        return None  # no socket is served by this process: nobody to tell
    return _background_loop()


def _report(future: Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("could not publish an event: %s", future.exception())


def publish(workspace_id: int, event_type: str, **data: Any) -> None:
    event = {"type": event_type, **data}

    def send() -> None:
        layer = get_channel_layer()
        loop = _loop_for(layer) if layer is not None else None
        if loop is None:
            return
        message = {"type": "fd.event", "event": event}
        # A lost live update must never undo or break the write: fire and forget.
        future = asyncio.run_coroutine_threadsafe(
            layer.group_send(workspace_group(workspace_id), message), loop
        )
        future.add_done_callback(_report)

    transaction.on_commit(send)
