"""The free port a test or the demo starts a server on cannot be taken by an outgoing
connection between the pick and the server's bind (CI once saw the demo exit on that)."""

from __future__ import annotations

import socket

from frontdesk.ops import ports


def test_a_free_port_is_below_the_outgoing_range_and_binds():
    low, _ = ports._outgoing_range()
    picks = {ports.free_port() for _ in range(20)}
    assert all(ports.LOWEST <= p < low for p in picks), picks
    assert len(picks) > 1  # random: parallel workers rarely try the same one
    for port in picks:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_port_someone_listens_on_is_never_picked(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        real = ports.random.randrange
        tried = []

        def busy_first(low: int, high: int) -> int:
            tried.append(busy if not tried else real(low, high))
            return tried[-1]

        monkeypatch.setattr(ports.random, "randrange", busy_first)
        assert ports.free_port() != busy
        assert tried[0] == busy


def test_an_unusual_outgoing_range_falls_back_to_the_kernels_pick(monkeypatch):
    monkeypatch.setattr(ports, "_outgoing_range", lambda: (1024, 65535))
    port = ports.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
