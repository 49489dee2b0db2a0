"""A free loopback port for a server started in a child process (the demo's peers, tests)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 10_000


def _outgoing_range() -> tuple[int, int]:
    """The kernel's source ports for outgoing connections (Linux's default when unreadable)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on, chosen below the kernel's range for outgoing connections.

    ``bind(0)`` hands out a port from that same range, so between the check and the server's
    own bind any outgoing connection (a browser's, a database client's) may take it as its
    source port, and the server fails with "address already in use": seen in CI. Below the
    range only a listener takes a port; the pick is random so parallel test workers rarely
    try the same one, and each pick is checked by binding it."""
    low, _ = _outgoing_range()
    if low > LOWEST + 1000:
        for _ in range(200):
            port = random.randrange(LOWEST, low)
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:  # an unusual range: the kernel's pick
        s.bind((host, 0))
        return s.getsockname()[1]
