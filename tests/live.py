"""Running the real `frontdesk` processes for end-to-end tests, benchmarks and screenshots.

No Django import here: benchmarks and scripts use it from outside a configured project.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from frontdesk.ops.ports import free_port

FRONTDESK = [sys.executable, "-m", "frontdesk"]
# The owner every live test's server is set up with (through the printed setup link).
OWNER_EMAIL, OWNER_PASSWORD = "owner@example.com", "owner-password-1"
SETUP_LINK = re.compile(r"(http://\S+/setup/[\w-]+/)")
# The log file each process started by ``running`` writes to, by pid (for failure messages).
LOG_OF: dict[int, Path] = {}


def base_env(data_dir: Path | str | None = None) -> dict[str, str]:
    """Embedded mode (no DATABASE_URL/REDIS_URL) on a data dir of its own."""
    dropped = ("DATABASE_URL", "REDIS_URL", "FRONTDESK_BASE_URL")  # links: its own port
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["FRONTDESK_DATA_DIR"] = str(data_dir or tempfile.mkdtemp(prefix="frontdesk-live-"))
    # The providers' stand-ins listen on loopback: a closed network's setting.
    env["FRONTDESK_FETCH_PRIVATE_ADDRESSES"] = "1"
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*FRONTDESK, *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"frontdesk {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def create_token(env: dict[str, str], email: str) -> str:
    return cli(env, "token", "create", "--email", email).strip().splitlines()[-1]


@contextmanager
def running(env: dict[str, str], *commands: list[str]) -> Iterator[list[subprocess.Popen]]:
    """Start `frontdesk` processes (output to a log file, so a full pipe never stalls them)."""
    log_dir = Path(env["FRONTDESK_DATA_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)
    logs = [open(log_dir / f"process-{i}.log", "a") for i in range(len(commands))]  # noqa: SIM115
    procs = [
        subprocess.Popen([*FRONTDESK, *c], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        for c, log in zip(commands, logs, strict=True)
    ]
    for i, p in enumerate(procs):
        LOG_OF[p.pid] = log_dir / f"process-{i}.log"
    try:
        yield procs
    finally:
        for p in procs:
            LOG_OF.pop(p.pid, None)
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()


@contextmanager
def embedded(
    env: dict[str, str], set_up: bool = True
) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """``frontdesk run`` on a free port, answering: yields its base URL and processes.

    On a fresh data dir it is first set up through the link it prints: workspace "My team"
    (slug ``my-team``) owned by ``OWNER_EMAIL`` (unless ``set_up`` is False)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(env, ["run", "--port", str(port)]) as procs:
        wait_until_up(base, procs)
        if set_up:
            set_up_owner(env)
        yield base, procs


def set_up_owner(env: dict[str, str]) -> None:
    """A fresh server's setup link used: "My team" owned by OWNER_EMAIL (once set up: nothing)."""
    if link := printed_setup_link(env):
        finish_setup(link, "My team", "owner", OWNER_EMAIL, OWNER_PASSWORD)


def printed_setup_link(env: dict[str, str]) -> str | None:
    """The setup link ``frontdesk run`` printed last (None: it printed none)."""
    log = Path(env["FRONTDESK_DATA_DIR"], "process-0.log").read_text()
    links = SETUP_LINK.findall(log.rsplit("Frontdesk is running at", 1)[-1])
    return links[-1] if links else None


def finish_setup(link: str, workspace: str, name: str, email: str, password: str) -> None:
    with httpx.Client(timeout=10) as client:
        page = client.get(link)
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert csrf, page.text
        done = client.post(
            link,
            data={
                "csrfmiddlewaretoken": csrf.group(1),
                "workspace": workspace,
                "name": name,
                "email": email,
                "password": password,
            },
        )
        assert done.status_code == 302, done.text


def wait_until_up(base: str, procs: list[subprocess.Popen], timeout: float = 120) -> None:
    """Wait for /healthz. Generous: on 2 cores, 4 test workers each starting a server and a
    browser can keep a start waiting past a minute; a server that exits fails at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(
                    f"{' '.join(map(str, p.args))} exited with {p.returncode}:\n{log_tail(p)}"
                )
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not answer within {timeout:.0f} s")


def log_tail(process: subprocess.Popen, lines: int = 30) -> str:
    """The last lines a process started by ``running`` wrote (its traceback, say)."""
    log = LOG_OF.get(process.pid)
    if log is None or not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def postgres_admin_url() -> str:
    """The server of ``DATABASE_URL``, its maintenance database (psycopg's spelling)."""
    url = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://")
    return url.rsplit("/", 1)[0] + "/postgres"


@contextmanager
def scale_mode(
    data_dir: Path,
    workspace: str = "Scale Co",
    owner: tuple[str, str] = ("ops@scale.test", "long-password-1"),
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, dict[str, str], str]]:
    """``frontdesk web`` and ``frontdesk worker --workers 2`` on PostgreSQL + Redis (from
    ``DATABASE_URL`` and ``REDIS_URL``), on a database and queue of their own, with workspace
    "Scale Co" owned by ops@scale.test (or ``workspace`` owned by ``owner``, email and
    password), ``extra_env`` added: yields the base URL, the environment and the database's
    name. Both processes know the base URL (``FRONTDESK_BASE_URL``): the worker makes links
    and webhook URLs too."""
    import psycopg

    name = f"frontdesk_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = base_env(data_dir) | (extra_env or {})
        env["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        env["FRONTDESK_QUEUE_NAME"] = name
        env["FRONTDESK_BASE_URL"] = base
        cli(env, "migrate", "--verbosity", "0")
        cli(
            env,
            "createworkspace",
            workspace,
            "--owner-email",
            owner[0],
            "--owner-password",
            owner[1],
        )
        with running(env, ["web", "--port", str(port)], ["worker", "--workers", "2"]) as procs:
            wait_until_up(base, procs)
            yield base, env, name
    finally:
        with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def api_channel(base: str, env: dict[str, str], callback_url: str, email: str = OWNER_EMAIL):
    """``email``'s token, an API client with it, and a new API channel."""
    token = cli(env, "token", "create", "--email", email).strip().splitlines()[-1]
    api = httpx.Client(
        base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    created = api.post(
        "/channels",
        json={
            "kind": "api",
            "provider": "api",
            "name": "Bot",
            "config": {"callback_url": callback_url},
        },
    )
    assert created.status_code == 201, created.text
    return token, api, created.json()
