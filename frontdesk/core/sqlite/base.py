"""SQLite with writers queued on locks instead of SQLite's busy handler.

SQLite has one writer at a time. A second writer waits in SQLite's busy handler, which
sleeps in growing steps of up to 100 ms: under a burst of webhooks that turned into
second-long latency tails. Here writers queue instead: the threads of one process on a
Python lock, and the processes of one install (``frontdesk run`` serves from several)
on an exclusive ``flock`` of a file beside the database. Both wake the next writer the
moment the current one commits, and the kernel drops a dead process's ``flock``. Every
transaction begins IMMEDIATE (settings.py), so it takes SQLite's write lock anyway:
queueing for it first changes no semantics.
"""

from __future__ import annotations

import fcntl
import os
import threading

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_locks: dict[str, tuple[threading.Lock, int | None]] = {}
_locks_guard = threading.Lock()


def _locks_for(name: str, in_memory: bool) -> tuple[threading.Lock, int | None]:
    """This process's lock for a database, and the file whose flock the processes share."""
    with _locks_guard:
        if name not in _locks:
            fd = (
                None if in_memory else os.open(f"{name}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            )
            _locks[name] = (threading.Lock(), fd)
        return _locks[name]


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _write_locks(self) -> tuple[threading.Lock, int | None]:
        return _locks_for(str(self.settings_dict["NAME"]), self.is_in_memory_db())

    def _start_transaction_under_autocommit(self) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 20))
        lock, fd = self._write_locks()
        if not lock.acquire(timeout=timeout):
            raise OperationalError(
                f"database is locked: another writer held it for {timeout:.0f} s"
            )
        if fd is not None:
            try:
                # Blocks (without the GIL) until the other process's writer commits.
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                lock.release()
                raise
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            lock, fd = self._write_locks()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            lock.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_write_lock()
