"""`frontdesk demo` and `frontdesk run` on a port that is taken: refused at once, in words,
before anything else is printed (no "Frontdesk demo at ..." that then fails)."""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests.live import FRONTDESK, base_env


@pytest.mark.parametrize("command", ["demo", "run"])
def test_a_busy_port_is_reported_before_anything_else(tmp_path, command):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*FRONTDESK, command, "--port", str(port)],
            env=base_env(tmp_path / "data"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert done.stdout == ""
    assert f"Port {port} on 127.0.0.1 is in use" in done.stderr
    assert "Traceback" not in done.stderr
