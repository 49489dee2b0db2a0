"""A real Dovecot IMAP server on a loopback port, with a throwaway config in a temp folder.

Plain-text login is allowed (loopback, ``ssl = no``). Users live in a passwd-file that the
tests extend (``add_user``); each test uses its own mailbox so one server serves the
whole session. XOAUTH2 logins are checked by Dovecot's ``oauth2`` passdb against the
local OAuth peer's introspection endpoint (``frontdesk/connectors/email/tests/oauth.py``).

Dovecot refuses to run its login process as root: as root it uses the Debian
``dovenull``/``dovecot`` users and a mail uid at or above ``first_valid_uid``.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from frontdesk.ops.ports import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_UID = 5000  # any uid >= first_valid_uid (500); needs no passwd entry


class Dovecot:
    def __init__(self, introspection_url: str = "", tls: tuple[str, str] | None = None) -> None:
        """``tls``: (certificate, key) files to serve implicit TLS and STARTTLS as well."""
        self.dir = Path(tempfile.mkdtemp(prefix="fd-dovecot-"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.host = "127.0.0.1"
        self._lock = threading.Lock()
        root = os.geteuid() == 0
        if root:
            uid = gid = MAIL_UID
            login_user, internal_user = "dovenull", "dovecot"
        else:
            uid, gid = os.geteuid(), os.getegid()
            login_user = internal_user = pwd.getpwuid(uid).pw_name
        self.uid, self.gid = uid, gid
        (self.dir / "home").mkdir()
        if root:
            os.chown(self.dir / "home", uid, gid)
        # Dovecot notices a changed passwd-file only after a delay: every mailbox a session
        # may use is written up front, and ``add_user`` hands them out.
        self._pool = [
            (f"u{n:04d}-{uuid.uuid4().hex[:6]}@example.test", uuid.uuid4().hex) for n in range(500)
        ]
        (self.dir / "passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self._pool)
        )
        oauth = ""
        mechanisms = "plain login"
        if introspection_url:
            (self.dir / "oauth2.conf").write_text(
                f"introspection_mode = post\nintrospection_url = {introspection_url}\n"
                "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
            )
            oauth = (
                "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {self.dir}/oauth2.conf\n}}\n"
            )
            mechanisms += " xoauth2 oauthbearer"
        config = f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/state
instance_name = fd-dovecot-{self.port}
protocols = imap
listen = 127.0.0.1
{f"ssl = yes{chr(10)}ssl_cert = <{tls[0]}{chr(10)}ssl_key = <{tls[1]}" if tls else "ssl = no"}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0 secs
log_path = {self.dir}/dovecot.log
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = {min(uid, 500) if not root else 500}
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
mail_max_userip_connections = 200
imap_idle_notify_interval = 1 secs
{oauth}passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {self.dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.dir}/passwd
  default_fields = uid={uid} gid={gid} home={self.dir}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = {self.tls_port}
  }}
}}
service imap {{
  process_limit = 64
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        (self.dir / "dovecot.conf").write_text(config)
        # In the foreground (-F) as our child, told to stop if this process dies (even when
        # killed), so a crashed or timed-out test run never leaves a Dovecot behind.
        self._err = open(self.dir / "start.err", "wb")  # noqa: SIM115 (open while it runs)
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.dir / "dovecot.conf")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            preexec_fn=_die_with_parent,
        )
        self._wait_ready()

    def log(self) -> str:
        try:
            return (self.dir / "dovecot.log").read_text()[-4000:]
        except OSError:
            return ""

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dovecot did not start: {(self.dir / 'start.err').read_text()}{self.log()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on {self.port}: {self.log()}")

    def add_user(self) -> tuple[str, str]:
        """A fresh, empty mailbox: (username, password)."""
        with self._lock:
            return self._pool.pop(0)

    def kick(self, user: str) -> str:
        """The server drops every IMAP connection of ``user`` (``doveadm kick``)."""
        result = subprocess.run(
            [shutil.which("doveadm") or "/usr/bin/doveadm", "-c", str(self.dir / "dovecot.conf"),
             "kick", user],
            capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return result.stdout + result.stderr

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._err.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _die_with_parent() -> None:
    """Linux: SIGTERM this child when the process that started it exits."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
