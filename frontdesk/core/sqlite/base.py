"""SQLite with writers of one process queued on a lock instead of SQLite's busy handler.

SQLite has one writer at a time. A second writer waits in SQLite's busy handler, which
sleeps in growing steps of up to 100 ms: under a burst of webhooks that turned into
second-long latency tails. Waiting on a Python lock wakes the next writer the moment
the current one commits. Other processes (the CLI, a second instance) still meet
SQLite's busy timeout as before. Every transaction here begins IMMEDIATE (settings.py),
so it takes SQLite's write lock anyway: queueing it in-process changes no semantics.
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _write_lock(self) -> threading.Lock:
        return _lock_for(str(self.settings_dict["NAME"]))

    def _start_transaction_under_autocommit(self) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 20))
        if not self._write_lock().acquire(timeout=timeout):
            raise OperationalError(
                f"database is locked: another writer held it for {timeout:.0f} s"
            )
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock().release()

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
