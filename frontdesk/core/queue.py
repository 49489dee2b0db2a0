"""A background task that failed because its database connection dropped (PostgreSQL
restarted or failed over, a connection cut by a proxy) runs again a second later, then after
2, 4 … 32 seconds, instead of waiting for a periodic sweep. The next attempt gets a fresh
connection: the worker closes one that failed, and ``CONN_HEALTH_CHECKS`` replaces one that
died while idle before it is used."""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from huey.contrib.djhuey import HUEY
from huey.signals import SIGNAL_ERROR

log = logging.getLogger("frontdesk.queue")

FIRST_DELAY = 1.0
LAST_DELAY = 32.0


def again_after_a_dropped_connection(
    signal: str, task: Any, exc: BaseException | None = None
) -> None:
    """Huey's error signal comes before it decides on a retry: give the task one more."""
    if not isinstance(exc, (InterfaceError, OperationalError)) or task.retries:
        return
    delay = (task.retry_delay or 0) * 2 or FIRST_DELAY
    if delay > LAST_DELAY:
        return
    task.retries, task.retry_delay = 1, delay
    log.warning("%s lost its database connection (%s); again in %.0f s", task.name, exc, delay)


def retry_after_dropped_connections() -> None:
    HUEY.signal(SIGNAL_ERROR)(again_after_a_dropped_connection)
