"""``frontdesk run`` with two web processes: keep-alive connections are spread over both
(each listens on a socket of its own), and a web process that dies is replaced."""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from pathlib import Path

import httpx

from tests.live import base_env, embedded


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4: the parent's pid
                found.append(int(entry))
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # gone meanwhile (the killed web process, reaped)
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _tcp_inodes(port: int, state: str) -> set[int]:
    """Inodes of the TCP sockets on this local port in this state (0A listening, 01 open)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(int(fields[9]))
    return inodes


def web_processes(run_pid: int, port: int) -> list[int]:
    """The children of ``frontdesk run`` listening on its port."""
    listening = _tcp_inodes(port, "0A")
    return [pid for pid in _children(run_pid) if _socket_inodes(pid) & listening]


def test_connections_are_spread_over_the_web_processes_and_a_dead_one_is_replaced(tmp_path):
    env = base_env(tmp_path / "data") | {"FRONTDESK_WEB_PROCESSES": "2"}
    with embedded(env, set_up=False) as (base, procs):
        port = int(base.rsplit(":", 1)[1])
        web = web_processes(procs[0].pid, port)
        assert len(web) == 2
        # Sixteen keep-alive connections opened at once, as a provider's sender does: both
        # processes hold some (all on one by chance: 2 in 65,536). With one shared socket
        # the first process to wake accepted them all.
        connections = [socket.socket() for _ in range(16)]
        for connection in connections:  # the handshakes all under way before any is accepted
            connection.setblocking(False)
            connection.connect_ex(("127.0.0.1", port))
        for connection in connections:
            select.select([], [connection], [], 10)
            connection.setblocking(True)
            connection.settimeout(10)
        try:
            for connection in connections:
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for connection in connections:
                assert connection.recv(1024).startswith(b"HTTP/1.1 200")
            open_ = _tcp_inodes(port, "01")
            held = {pid: len(_socket_inodes(pid) & open_) for pid in web}
            assert all(held.values()), f"connections per web process: {held}"
        finally:
            for connection in connections:
                connection.close()

        os.kill(web[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = web_processes(procs[0].pid, port)
            if len(now) == 2 and web[0] not in now:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"no web process replaced the killed one: {now}")
        assert web[1] in now
        with httpx.Client(base_url=base, timeout=10) as client:
            assert all(client.get("/healthz").status_code == 200 for _ in range(4))
