"""IMAP IDLE: new mail shows up within seconds, without holding a worker thread per mailbox.

One ``IdleSupervisor`` runs beside the Huey consumer (``frontdesk run`` and ``frontdesk
worker`` start it, see ``ops/management/commands/_serve.py``). Every
``FRONTDESK_EMAIL_IDLE_RESCAN_SECONDS`` (10) it reads the connected email channels and
keeps one ``Watcher`` thread per mailbox: it logs in, selects INBOX read-only and sits in
IDLE. When the server announces new mail (``EXISTS``/``RECENT``), the watcher runs the
channel's normal sync (``ChannelDirectory.sync_now``, under the same lock as the worker's
minute sync): this module never writes a message itself, and reads the channels only
through the inbox's ``ChannelDirectory``.

- IDLE is ended and issued again every ``FRONTDESK_EMAIL_IDLE_RENEW_SECONDS`` (600, under
  the 29 minutes of RFC 2177 and under common NAT idle timeouts); that round trip also
  tells a silently dead connection from a quiet one.
- A dropped connection, a refused login or a server error only affects that mailbox: its
  watcher reconnects after 1, 2, 4 ... up to 300 seconds (reset once a connection has
  lived a minute), and on reconnecting syncs at once if the inbox moved meanwhile.
- Gmail ends a session logged in with OAuth when its access token expires (about an hour):
  that is one more reconnect, with a refreshed token.
- Servers without IDLE are left to the worker's sync every minute, which keeps running for
  every mailbox anyway (it also covers the Sent folder and the backfill).
- At most ``FRONTDESK_EMAIL_IDLE_SYNCS`` (2) syncs started by IDLE run at the same time.
- ``FRONTDESK_EMAIL_IDLE=0`` turns it off (polling only).
- With several worker processes (scale mode, Redis), each mailbox is watched by one of them:
  a lease per mailbox in Redis, renewed at every rescan, expiring after three missed ones,
  so providers see one IDLE connection per mailbox and another worker takes a mailbox over
  when its holder stops or dies (``Leases``).

Watchers are daemon threads that check for a stop every few seconds and have their socket
shut down on ``stop()``, so stopping the worker never waits on a mailbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import socket
import threading
import time
import uuid
from typing import Any

import redis
from django.conf import settings

from frontdesk.connectors.base import ChannelDirectory, SyncBusy
from frontdesk.connectors.email.client import LoginRefused, connect, timeout
from frontdesk.connectors.email.providers import setting

log = logging.getLogger("frontdesk.email.idle")

CHECK_SECONDS = 5.0  # longest single wait in IDLE before looking at the stop flag again
HEALTHY_SECONDS = 60.0  # a connection that lived this long resets the backoff
MAX_BACKOFF = 300.0
LOCK_WAIT_SECONDS = 120.0  # how long a wake-up waits for a sync already running to finish


def _float_setting(name: str, default: float) -> float:
    try:
        return float(setting(name, str(default)))
    except ValueError:
        return default


def enabled() -> bool:
    return setting("FRONTDESK_EMAIL_IDLE", "1").strip().lower() not in ("0", "false", "no", "off")


def _changed(responses: list[Any]) -> bool:
    """New mail: ``(n, b"EXISTS")`` or ``(n, b"RECENT")`` among the untagged responses."""
    return any(
        isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses
    )


def _bye(responses: list[Any]) -> bool:
    return any(isinstance(r, tuple) and r and r[0] == b"BYE" for r in responses)


class ConnectionLost(Exception):
    pass


class Watcher(threading.Thread):
    """One mailbox's IDLE connection, in its own daemon thread."""

    def __init__(self, channel_id: int, fingerprint: str, supervisor: IdleSupervisor) -> None:
        super().__init__(name=f"frontdesk-idle-{channel_id}", daemon=True)
        self.channel_id = channel_id
        self.fingerprint = fingerprint
        self.supervisor = supervisor
        self.stop_event = threading.Event()
        self.idling = threading.Event()  # set while the connection sits in IDLE
        self.state = "starting"  # idle | backoff | no-idle | gone | stopped
        self.connections = 0  # connections that reached IDLE
        self.syncs = 0
        self.renewals = 0
        self.last_error = ""
        self._sock: socket.socket | None = None

    # -- control -------------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()
        sock = self._sock
        if sock is not None:  # wake a wait in IDLE at once
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @property
    def stopped(self) -> bool:
        return self.stop_event.is_set()

    def run(self) -> None:
        backoff = 0.0
        while not self.stopped:
            started = time.monotonic()
            try:
                outcome = self._session()
            except LoginRefused as exc:
                # the minute sync marks the mailbox "needs reconnection"; then we are stopped
                self.last_error = str(exc)
                backoff = MAX_BACKOFF / 2
                outcome = "retry"
            except Exception as exc:  # a dropped connection, a server's odd answer, the DB
                self.last_error = f"{type(exc).__name__}: {exc}"
                if not self.stopped:
                    log.info("channel %s: IDLE connection lost: %s", self.channel_id, exc)
                outcome = "retry"
            finally:
                self.idling.clear()
                self._sock = None
                self.supervisor.directory.let_go()  # this thread's database connection
            if outcome in ("no-idle", "gone") or self.stopped:
                self.state = outcome if not self.stopped else "stopped"
                return
            if time.monotonic() - started >= HEALTHY_SECONDS:
                backoff = 0.0
            backoff = min(max(backoff * 2, 1.0), MAX_BACKOFF)
            self.state = "backoff"
            self.stop_event.wait(backoff * random.uniform(0.8, 1.2))  # jitter
        self.state = "stopped"

    # -- one connection ------------------------------------------------------------------

    def _channel(self):
        return self.supervisor.directory.connected_one(self.channel_id)

    def _session(self) -> str:
        channel = self._channel()
        if channel is None:
            return "gone"
        self.supervisor.directory.let_go()  # hold no database connection while waiting in IDLE
        renew = max(_float_setting("FRONTDESK_EMAIL_IDLE_RENEW_SECONDS", 600), 1.0)
        with connect(channel) as client:
            if b"IDLE" not in client.capabilities():
                log.info("channel %s: the server has no IDLE; polling only", self.channel_id)
                return "no-idle"
            info = client.select_folder("INBOX", readonly=True)
            self._sock = client.socket()
            client.idle()
            self.connections += 1
            self.state = "idle"
            self.idling.set()
            log.info("channel %s: waiting for new mail in IMAP IDLE", self.channel_id)
            if self._behind(info):  # mail arrived while we were away
                self._sync()
            renew_at = time.monotonic() + renew
            while not self.stopped:
                left = renew_at - time.monotonic()
                if left <= 0:
                    _, responses = client.idle_done()  # also proves the connection alive
                    if _bye(responses):
                        raise ConnectionLost("the server closed the connection")
                    client.idle()
                    self.renewals += 1
                    renew_at = time.monotonic() + renew
                    if _changed(responses):
                        self._sync()
                    continue
                wait = min(left, CHECK_SECONDS)
                began = time.monotonic()
                responses = client.idle_check(timeout=wait)
                client.socket().settimeout(timeout())  # idle_check leaves it without one
                if self.stopped:
                    break
                if _bye(responses):
                    raise ConnectionLost("the server closed the connection")
                if _changed(responses):
                    self._sync()
                elif not responses and time.monotonic() - began < wait - 0.25:
                    # readable but nothing came: the connection may be closed. Ending IDLE
                    # tells (it fails on a dead connection); a live one just starts anew.
                    renew_at = 0.0
        return "stopped"

    def _behind(self, info: dict) -> bool:
        """Whether INBOX holds mail the stored sync position has not reached."""
        channel = self._channel()
        self.supervisor.directory.let_go()
        if channel is None:
            return False
        state = channel.sync_state.get("folders", {}).get("inbox")
        if not state or state.get("uidvalidity") != int(info.get(b"UIDVALIDITY", 0)):
            return True
        return int(info.get(b"UIDNEXT", 1)) - 1 > int(state.get("high", 0))

    def _sync(self) -> None:
        """The channel's normal sync, as the worker runs it (waits out a sync in progress)."""
        directory = self.supervisor.directory
        give_up = time.monotonic() + LOCK_WAIT_SECONDS
        while not self.stopped:
            try:
                with self.supervisor.sync_slots:
                    directory.sync_now(self.channel_id)
                self.syncs += 1
                return
            except SyncBusy:  # the worker is syncing this mailbox right now
                if time.monotonic() > give_up:
                    return
                self.stop_event.wait(0.5)
            except Exception:  # never let a sync take the watcher down
                log.exception("channel %s: sync after IDLE failed", self.channel_id)
                return
            finally:
                directory.let_go()


def _fingerprint(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


class Leases:
    """Which worker process watches which mailbox.

    Embedded mode has one worker: every lease is granted. With Redis each lease is a key
    holding its worker's token, taken if free and renewed by its holder in one atomic step.
    """

    _TAKE_OR_RENEW = """
    local holder = redis.call('GET', KEYS[1])
    if holder == false or holder == ARGV[1] then
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      return 1
    end
    return 0
    """
    _RELEASE = """
    if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0
    """

    def __init__(self, ttl_seconds: float, redis_url: str | None = None) -> None:
        url = settings.REDIS_URL if redis_url is None else redis_url
        self.client = redis.Redis.from_url(url) if url else None
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = uuid.uuid4().hex
        self.prefix = f"{settings.HUEY.get('name', 'frontdesk')}:email-idle-lease:"

    def hold(self, channel_ids: list[int], holding: set[int]) -> set[int]:
        """Take or renew the leases of these mailboxes; returns the ones this worker holds.
        Redis away: keep watching what we held (its leases expire for the others anyway)."""
        if self.client is None:
            return set(channel_ids)
        try:
            take = self.client.register_script(self._TAKE_OR_RENEW)
            return {
                c for c in channel_ids if take([self.prefix + str(c)], [self.token, self.ttl_ms])
            }
        except redis.RedisError as exc:
            log.warning("IDLE: mailbox leases unavailable (%s); keeping the watchers we have", exc)
            return holding & set(channel_ids)

    def release(self, channel_ids: list[int]) -> None:
        if self.client is None or not channel_ids:
            return
        try:
            release = self.client.register_script(self._RELEASE)
            for c in channel_ids:
                release([self.prefix + str(c)], [self.token])
        except redis.RedisError as exc:
            log.warning("IDLE: could not release mailbox leases (%s); they expire", exc)


class IdleSupervisor:
    """Keeps one ``Watcher`` per connected mailbox; ``start()``/``stop()`` with the worker."""

    def __init__(self, directory: ChannelDirectory, rescan_seconds: float | None = None) -> None:
        self.directory = directory
        self.rescan_seconds = (
            rescan_seconds
            if rescan_seconds is not None
            else max(_float_setting("FRONTDESK_EMAIL_IDLE_RESCAN_SECONDS", 10), 0.2)
        )
        slots = max(int(_float_setting("FRONTDESK_EMAIL_IDLE_SYNCS", 2)), 1)
        self.sync_slots = threading.BoundedSemaphore(slots)
        self.watchers: dict[int, Watcher] = {}
        self.leases = Leases(ttl_seconds=max(3 * self.rescan_seconds, 1.0))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> IdleSupervisor:
        self._thread = threading.Thread(target=self._run, name="frontdesk-idle", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.rescan()
            except Exception:  # the database may be away for a moment: try again later
                log.exception("IDLE: could not read the mailboxes")
            finally:
                self.directory.let_go()
            self._stop.wait(self.rescan_seconds)

    def _wanted(self) -> dict[int, str]:
        wanted = {}
        for channel in self.directory.connected("email"):
            try:  # an IMAP mailbox: its connector runs this supervisor
                ours = channel.connector.worker_service() is start_supervisor
            except Exception:  # an unknown provider: not ours
                ours = False
            if ours:
                wanted[channel.pk] = _fingerprint(channel.config)
        return wanted

    def rescan(self) -> None:
        """Start watchers for new mailboxes, stop those of removed or changed ones (or whose
        lease another worker holds)."""
        wanted = self._wanted()
        held = self.leases.hold(sorted(wanted), set(self.watchers))
        released = [c for c in self.watchers if c not in wanted]
        wanted = {c: f for c, f in wanted.items() if c in held}
        with self._lock:
            if self._stop.is_set():
                return
            for channel_id, watcher in list(self.watchers.items()):
                if wanted.get(channel_id) != watcher.fingerprint:
                    watcher.stop()
                    del self.watchers[channel_id]
                elif not watcher.is_alive() and watcher.state not in ("no-idle",):
                    del self.watchers[channel_id]  # ended ("gone"): start again if still wanted
            for channel_id, fingerprint in wanted.items():
                if channel_id not in self.watchers:
                    watcher = Watcher(channel_id, fingerprint, self)
                    self.watchers[channel_id] = watcher
                    watcher.start()
        self.leases.release(released)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every watcher; waits at most ``timeout`` seconds (the threads are daemons)."""
        self._stop.set()
        with self._lock:
            watchers = list(self.watchers.values())
            self.watchers.clear()
        for watcher in watchers:
            watcher.stop()
        self.leases.release([w.channel_id for w in watchers])  # another worker takes over
        deadline = time.monotonic() + timeout
        for thread in [*watchers, *([self._thread] if self._thread else [])]:
            thread.join(max(deadline - time.monotonic(), 0.0))


def start_supervisor(directory: ChannelDirectory) -> IdleSupervisor | None:
    """The worker's IDLE supervisor, or None when ``FRONTDESK_EMAIL_IDLE=0``."""
    if not enabled():
        log.info("IMAP IDLE is off (FRONTDESK_EMAIL_IDLE=0): mailboxes are polled every minute")
        return None
    return IdleSupervisor(directory).start()
