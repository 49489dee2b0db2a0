"""Loaded with ``-p`` before Django starts: under pytest-xdist each worker process gets its
own data dir (SQLite files, Huey queue, stored files) and its own Redis queue and channel
prefix, so parallel workers never take each other's tasks or events."""

import os
import tempfile

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    base = os.environ.get("FRONTDESK_DATA_DIR") or tempfile.mkdtemp(prefix="frontdesk-test-")
    os.environ["FRONTDESK_DATA_DIR"] = os.path.join(base, _worker)
    queue = os.environ.get("FRONTDESK_QUEUE_NAME", "frontdesk-test")
    os.environ["FRONTDESK_QUEUE_NAME"] = f"{queue}-{_worker}"
