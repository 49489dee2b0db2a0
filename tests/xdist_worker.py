"""Loaded with ``-p`` before Django starts: under pytest-xdist each worker process gets its
own data dir (SQLite files, Huey queue, stored files) and its own Redis queue and channel
prefix, so parallel workers never take each other's tasks or events.

The providers' stand-ins (frontdesk/connectors/<provider>/tests/) listen on loopback:
outbound calls may reach them (``FRONTDESK_FETCH_PRIVATE_ADDRESSES``, a closed network's
setting), here and in the ``frontdesk`` processes the tests start. Tests of the
public-address guard turn it off."""

import os
import tempfile

os.environ["FRONTDESK_FETCH_PRIVATE_ADDRESSES"] = "1"

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    base = os.environ.get("FRONTDESK_DATA_DIR") or tempfile.mkdtemp(prefix="frontdesk-test-")
    os.environ["FRONTDESK_DATA_DIR"] = os.path.join(base, _worker)
    queue = os.environ.get("FRONTDESK_QUEUE_NAME", "frontdesk-test")
    os.environ["FRONTDESK_QUEUE_NAME"] = f"{queue}-{_worker}"
