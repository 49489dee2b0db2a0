"""The web server: uvicorn, in one process or several, each with its own listening socket.

Several web processes sharing one listening socket (uvicorn's ``--workers``) do not share
the connections: each wakes on a new connection and the first to call ``accept`` takes
every one waiting. Keep-alive clients (a provider's webhook sender, the browsers of a
team) then stay on the process that happened to be first: measured with 16 connections,
one process served all of them at a core's full use while the other idled. Here each
process listens on a socket of its own on the same port (``SO_REUSEPORT``), and the
kernel spreads new connections across them; the parent restarts a process that dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import socket
import time
from typing import Any

import uvicorn

APP = "frontdesk.asgi:application"
OPTIONS: dict[str, Any] = {
    "log_level": "warning",
    "proxy_headers": True,
    "lifespan": "off",
    # Longer than an HTTP client keeps an idle connection (httpx: 5 s, uvicorn's default
    # too): else the server may close one just as the client reuses it (reset by peer).
    "timeout_keep_alive": 75,
}
# A process that exits this soon after it started failed to start (a bad setting, the
# port): after this many in a row the parent gives up instead of restarting forever.
EARLY_EXIT_S = 10.0
EARLY_EXITS_ALLOWED = 3

log = logging.getLogger("frontdesk.web")


def serve(host: str, port: int, workers: int = 1) -> None:
    if workers <= 1:
        uvicorn.run(APP, host=host, port=port, **OPTIONS)
    else:
        _supervise(host, port, workers)


def listener(host: str, port: int) -> socket.socket:
    """A socket bound to the address, its port shared with the other web processes."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _web_process(host: str, port: int) -> None:
    """One web process (started by ``_supervise``): uvicorn on a socket of its own."""
    config = uvicorn.Config(APP, host=host, port=port, **OPTIONS)
    uvicorn.Server(config).run(sockets=[listener(host, port)])


def _supervise(host: str, port: int, workers: int) -> None:
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: Django set up anew

    def start() -> tuple[Any, float]:
        process = spawn.Process(target=_web_process, args=(host, port), name="frontdesk-web")
        process.start()
        return process, time.monotonic()

    stopping: list[int] = []  # the signal that asked to stop (Ctrl-C, a service manager)
    previous = {
        signum: signal.signal(signum, lambda signum, frame: stopping.append(signum))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    running = [start() for _ in range(workers)]
    early_exits = 0
    try:
        while not stopping:
            sentinels = [process.sentinel for process, _ in running]
            multiprocessing.connection.wait(sentinels, timeout=0.5)
            for i, (process, started) in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                early_exits = early_exits + 1 if time.monotonic() - started < EARLY_EXIT_S else 0
                if early_exits > EARLY_EXITS_ALLOWED:
                    raise SystemExit(
                        f"web processes keep exiting at start (code {process.exitcode})"
                    )
                log.warning(
                    "web process %s exited (code %s): starting another",
                    process.pid,
                    process.exitcode,
                )
                running[i] = start()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for process, _ in running:
            if process.is_alive():
                process.terminate()  # uvicorn finishes the requests in flight
        for process, _ in running:
            process.join(20)
            if process.is_alive():
                process.kill()
