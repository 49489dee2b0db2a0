"""Shared set-up for benchmarks: a throwaway data dir and database, Django configured."""

from __future__ import annotations

import os
import statistics
import tempfile
import uuid
from contextlib import contextmanager


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def summary(label: str, seconds: list[float], total_seconds: float) -> str:
    n = len(seconds)
    return (
        f"{label:<28} {n:>7} msgs  {n / total_seconds:>9.0f} msg/s  "
        f"p50 {percentile(seconds, 50) * 1000:6.2f} ms  p99 {percentile(seconds, 99) * 1000:6.2f} ms  "
        f"mean {statistics.fmean(seconds) * 1000:6.2f} ms"
    )


@contextmanager
def django_on(database_url: str | None):
    """Configure Django on a fresh SQLite file, or a fresh PostgreSQL database next to ``database_url``."""
    data_dir = tempfile.mkdtemp(prefix="frontdesk-bench-")
    os.environ["FRONTDESK_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    os.environ["FRONTDESK_FETCH_PRIVATE_ADDRESSES"] = "1"  # the stand-ins are on loopback
    created_db = None
    if database_url:
        import psycopg

        created_db = f"frontdesk_bench_{uuid.uuid4().hex[:8]}"
        base, _, _ = database_url.rpartition("/")
        # The server's maintenance database: the one named in the URL may not exist yet.
        maintenance = f"{base}/postgres".replace("postgres://", "postgresql://", 1)
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{created_db}"')
        os.environ["DATABASE_URL"] = f"{base}/{created_db}"
    else:
        os.environ.pop("DATABASE_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    try:
        yield
    finally:
        if created_db:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(maintenance, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)')
