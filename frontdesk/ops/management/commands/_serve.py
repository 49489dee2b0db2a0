"""Shared pieces of ``run``, ``web`` and ``worker``."""

from __future__ import annotations

import os
import socket

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from frontdesk.workspaces.setup import new_setup_token


def use_base_url(host: str, port: int) -> str:
    """Unless ``FRONTDESK_BASE_URL`` is set, the address served on is the base URL of the
    links handed to providers (webhook and return URLs): here and in the web processes."""
    if os.environ.get("FRONTDESK_BASE_URL"):
        return settings.BASE_URL
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    url = f"http://{shown}:{port}"
    os.environ["FRONTDESK_BASE_URL"] = url  # the web processes read their settings anew
    settings.BASE_URL = url
    settings.CSRF_TRUSTED_ORIGINS = [url]
    return url


def check_port_free(host: str, port: int) -> None:
    """Refuse at once, before anything is printed or changed, when the address is taken."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise CommandError(f"Cannot listen on {host}: {exc.strerror}.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(
                f"Port {port} on {host} is in use ({exc.strerror}): stop what runs there, or"
                f" pass --port with another number."
            ) from None


def migrate() -> None:
    call_command("migrate", interactive=False, verbosity=0)


def how_to_start(base_url: str) -> str:
    """On an empty install, a new one-time setup link; else where to log in."""
    token = new_setup_token()
    if token is None:
        return f"Log in at {base_url}/"
    return (
        f"Set up your workspace and account at {base_url}/setup/{token}/"
        "  (this link works once; restart for a new one)"
    )


def make_consumer(workers: int):
    """A Huey consumer that first re-queues replies a previous worker left behind.

    It also runs the connectors' worker services (``Connector.worker_service``, e.g. email's
    IDLE supervisor) from its start to its stop."""
    from django.utils.module_loading import autodiscover_modules
    from huey.consumer import Consumer
    from huey.contrib.djhuey import HUEY

    from frontdesk.connectors.registry import worker_services
    from frontdesk.inbox.directory import InboxDirectory
    from frontdesk.inbox.outbox import sweep_outbox

    class WorkerConsumer(Consumer):
        services: list = []

        def start(self):
            super().start()
            directory = InboxDirectory()
            self.services = [
                s for start in worker_services() if (s := start(directory)) is not None
            ]

        def stop(self, graceful=False):
            for service in self.services:
                service.stop()  # each returns within seconds
            super().stop(graceful=graceful)

    autodiscover_modules("tasks")  # every app's periodic tasks (the CRM's reminders too)
    sweep_outbox()  # don't wait for the next minute: pick up what a crash left queued
    return WorkerConsumer(
        HUEY, workers=workers, worker_type="thread", periodic=True, check_worker_health=True
    )


def start_consumer(workers: int = 2):
    consumer = make_consumer(workers)
    consumer.start()
    return consumer
