"""Embedded mode's channel layer: in-memory groups, shared by every process of one install.

``frontdesk run`` serves HTTP from one process per core and runs the worker beside them.
A member's websocket lives in one process while the change it must hear about can happen
in any other. So every ``group_send`` goes out as one datagram to each process of this
data dir that serves websockets (Unix sockets in a private run directory), and each of
them hands what it receives to its own in-memory groups: the same path whether the
sender is a web request, a websocket or a worker thread, and no broker to run.

Sending never blocks the writer: a live event is a hint for the page, which reloads what
it shows when its socket reconnects. A full or vanished receiver is logged and skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import socket
import stat
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from channels.layers import InMemoryChannelLayer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

log = logging.getLogger("frontdesk.realtime")

SUFFIX = ".sock"
MAX_DATAGRAM = 1 << 20


@cache
def _run_dir(data_dir: str) -> Path:
    key = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"frontdesk-{os.getuid()}-{key}"
    path.mkdir(mode=0o700, exist_ok=True)
    # The temp dir is shared: use the directory only if it is ours and closed to others
    # (another local user could have made it first, to read or inject events).
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} is not a private directory of this user")
    return path


def run_dir() -> Path:
    """One private directory per data dir, short enough for a socket path."""
    return _run_dir(str(settings.DATA_DIR))


class ProcessGroupLayer(InMemoryChannelLayer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._listener: socket.socket | None = None
        self._listener_path: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def listen(self) -> None:
        """Receive the install's events on the running loop (this process serves sockets)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self.close_listener()
        run_dir().mkdir(mode=0o700, exist_ok=True)  # in case a temp cleaner removed it
        path = run_dir() / f"{os.getpid()}{SUFFIX}"
        path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.setblocking(False)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MAX_DATAGRAM * 4)
        listener.bind(str(path))
        loop.add_reader(listener.fileno(), self._receive, listener)
        self._listener, self._listener_path, self._loop = listener, path, loop

    def close_listener(self) -> None:
        if self._listener is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._listener.fileno())
        self._listener.close()
        if self._listener_path is not None:
            self._listener_path.unlink(missing_ok=True)
        self._listener = self._listener_path = self._loop = None

    def _receive(self, listener: socket.socket) -> None:
        while True:
            try:
                data = listener.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return
            try:
                group, message = json.loads(data)
            except ValueError:
                log.warning("ignored an unreadable event datagram")
                continue
            assert self._loop is not None
            self._loop.create_task(self._deliver(group, message))

    async def _deliver(self, group: str, message: dict[str, Any]) -> None:
        await InMemoryChannelLayer.group_send(self, group, message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.broadcast(group, message)

    def broadcast(self, group: str, message: dict[str, Any]) -> None:
        """Send to every serving process of this install, this one included; any thread."""
        data = json.dumps([group, message], cls=DjangoJSONEncoder).encode()
        if len(data) > MAX_DATAGRAM:
            log.warning("event for %s too large to send (%d bytes)", group, len(data))
            return
        try:
            entries = list(os.scandir(run_dir()))
        except FileNotFoundError:
            return  # no process of this install serves websockets
        except OSError as exc:
            log.error("live events are off: %s", exc)
            return
        for entry in entries:
            if not entry.name.endswith(SUFFIX):
                continue
            try:
                self._sender.sendto(data, entry.path)
            except ConnectionRefusedError:  # its process has gone
                Path(entry.path).unlink(missing_ok=True)
            except FileNotFoundError:
                pass
            except OSError as exc:  # BlockingIOError: the receiver is far behind
                log.warning("live event to %s dropped: %s", entry.name, exc)
