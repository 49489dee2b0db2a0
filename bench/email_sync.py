"""Initial IMAP sync throughput: N messages in a real Dovecot, one sync as the worker runs it
(``inbox.sync.run_sync``: the connector reads pages, the inbox stores each).

    python bench/email_sync.py [-n 5000] [--batch 100] [--database-url postgres://...]

Loads the mailbox with IMAP MULTIAPPEND (not timed), then times the first sync (fetch,
parse, sanitize, store raw, ingest) and prints messages/second and the Python heap peak
(tracemalloc), which stays flat because UID FETCH runs in batches. Needs dovecot-imapd.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._setup import django_on


def make_messages(n: int, contacts: int = 500) -> list[bytes]:
    from email.message import EmailMessage
    from email.utils import format_datetime

    from django.utils import timezone

    now = timezone.now()
    out = []
    for i in range(n):
        msg = EmailMessage()
        msg["From"] = f"Client {i % contacts} <client{i % contacts}@bench.test>"
        msg["To"] = "support@example.test"
        msg["Subject"] = f"Question number {i}"
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = f"<bench-{i}@bench.test>"
        if i % 3:
            msg["References"] = f"<bench-{i - i % 3}@bench.test>"
        text = f"Hello, this is message {i}.\n\n" + "Some words of a normal mail. " * 20
        msg.set_content(text + "\n\nOn Monday, Support wrote:\n> an earlier answer\n")
        if i % 2 == 0:
            msg.add_alternative(f"<p>Hello, this is <b>message {i}</b>.</p>" * 5, subtype="html")
        out.append(msg.as_bytes())
    return out


def _heap_peak(connector, template, dovecot, messages: list[bytes]) -> float:
    """Python heap peak while syncing the first 1,000 messages again into a fresh channel."""
    from imapclient import IMAPClient

    from frontdesk.inbox.models import ChannelAccount
    from frontdesk.inbox.sync import run_sync

    address, password = dovecot.add_user()
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=60)
    client.login(address, password)
    client.multiappend("INBOX", messages[:1000])
    client.logout()
    channel = ChannelAccount(
        workspace=template.workspace,
        kind="email",
        provider="imap",
        name="Bench 2",
        config={**template.config, "address": address, "username": address},
    )
    channel.credentials = {"password": password}
    channel.save()
    tracemalloc.start()
    run_sync(channel)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile the sync (slower)")
    args = parser.parse_args()

    with django_on(args.database_url):
        from django.conf import settings
        from imapclient import IMAPClient

        from frontdesk.connectors.email.tests.dovecot import Dovecot
        from frontdesk.connectors.registry import get_connector
        from frontdesk.inbox.models import ChannelAccount, Message
        from frontdesk.inbox.sync import run_sync
        from frontdesk.workspaces.services import create_workspace

        settings.FRONTDESK_EMAIL_FETCH_BATCH = args.batch
        settings.FRONTDESK_EMAIL_SYNC_SECONDS = 3600
        dovecot = Dovecot()
        try:
            address, password = dovecot.add_user()
            client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=60)
            client.login(address, password)
            start = time.perf_counter()
            messages = make_messages(args.n)
            for i in range(0, len(messages), 500):
                client.multiappend("INBOX", messages[i : i + 500])
            client.logout()
            print(f"loaded {args.n} messages into Dovecot in {time.perf_counter() - start:.1f}s")

            workspace, _ = create_workspace("Bench", "bench@example.test", "bench-password-1")
            connector = get_connector("imap")
            setup = connector.setup(
                {
                    "address": address,
                    "imap_host": "127.0.0.1",
                    "imap_port": dovecot.port,
                    "imap_security": "none",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": 25,
                    "smtp_security": "none",
                    "password": password,
                }
            )
            channel = ChannelAccount(
                workspace=workspace,
                kind="email",
                provider="imap",
                name="Bench",
                config=setup.config,
            )
            channel.credentials = setup.credentials
            channel.save()

            if args.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.enable()
            load_before = os.getloadavg()[0]
            start = time.perf_counter()
            cpu_start = time.process_time()
            run_sync(channel)
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start  # this process only: steadier on a busy host
            load_after = os.getloadavg()[0]
            if args.profile:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
            # memory: a second mailbox of the same size, synced under tracemalloc
            peak = _heap_peak(connector, channel, dovecot, messages)
            stored = Message.objects.filter(channel=channel).count()
            channel.refresh_from_db()
            db = "PostgreSQL" if args.database_url else "SQLite"
            print(
                f"initial sync ({db}, batch {args.batch}): {stored} messages in {elapsed:.1f}s = "
                f"{stored / elapsed:.0f} messages/s, {cpu:.1f}s CPU here; Python heap peak while syncing 1,000: "
                f"{peak / 1e6:.1f} MB; load average {load_before:.1f} -> {load_after:.1f} "
                f"on {os.cpu_count()} cores"
            )
            if channel.last_error:
                print(f"last error: {channel.last_error}")
        finally:
            dovecot.close()


if __name__ == "__main__":
    main()
