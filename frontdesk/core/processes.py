"""Web processes started by a parent (``frontdesk run``, ``frontdesk web --workers N``)."""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time


def stop_with_parent() -> None:
    """Shut this process down when its parent dies, even by SIGKILL.

    The parent holds the worker and supervises; an orphaned web process would keep the
    port and serve on without it. No-op in a process nobody started this way.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)  # finish the requests in flight
        time.sleep(15)
        os._exit(1)

    threading.Thread(target=watch, name="frontdesk-parent-watch", daemon=True).start()


def started() -> None:
    """A server process has loaded everything it keeps (modules, settings, URLs, connectors):
    move those objects out of the garbage collector's sight.

    They live as long as the process, yet every full collection walked them all again: a
    pause of about 130 ms now and then in a page's time (the p95 of the CRM's pages). After
    ``gc.freeze()`` a collection looks only at what requests made since."""
    gc.collect()
    gc.freeze()
