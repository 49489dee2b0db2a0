"""Inbound throughput: N messages through ``inbox.actions.ingest`` over 1,000 contacts,
beside a bare-SQL loop that writes the same rows (the floor).

    python bench/ingest.py [-n 5000] [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Run it once per database: Django is configured once per process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._setup import django_on, summary


def run_orm(channel, n: int, contacts: int) -> list[float]:
    from frontdesk.connectors.base import InboundMessage
    from frontdesk.inbox.actions.ingest import ingest

    timings = []
    for i in range(n):
        item = InboundMessage(
            provider_id=f"orm-{i}",
            handle=f"client-{i % contacts}",
            text=f"message {i}",
            contact_name=f"Client {i % contacts}",
        )
        start = time.perf_counter()
        ingest(channel, item)
        timings.append(time.perf_counter() - start)
    return timings


def run_bare(channel, n: int, contacts: int) -> list[float]:
    """The same rows by hand: look up handle, contact, conversation; insert; update the list row."""
    from django.db import connection, transaction
    from django.utils import timezone

    ws = channel.workspace_id
    timings = []
    with connection.cursor() as cur:
        for i in range(n):
            start = time.perf_counter()
            now = timezone.now()
            value = f"bare-{i % contacts}"
            with transaction.atomic():
                cur.execute(
                    "SELECT contact_id FROM inbox_contacthandle WHERE workspace_id=%s AND kind=%s AND value=%s",
                    [ws, "external", value],
                )
                row = cur.fetchone()
                if row:
                    contact_id = row[0]
                else:
                    cur.execute(
                        "INSERT INTO inbox_contact (workspace_id, name, company, avatar_url, avatar, tags, custom_fields, created_at, updated_at)"
                        " VALUES (%s, %s, '', '', '', '[]', '{}', %s, %s) RETURNING id",
                        [ws, f"Client {i % contacts}", now, now],
                    )
                    contact_id = cur.fetchone()[0]
                    cur.execute(
                        "INSERT INTO inbox_contacthandle (workspace_id, contact_id, kind, value, created_at) VALUES (%s, %s, %s, %s, %s)",
                        [ws, contact_id, "external", value, now],
                    )
                key = f"bare:{contact_id}"
                cur.execute(
                    "SELECT id FROM inbox_conversation WHERE channel_id=%s AND thread_key=%s",
                    [channel.pk, key],
                )
                row = cur.fetchone()
                if row:
                    conversation_id = row[0]
                else:
                    cur.execute(
                        "INSERT INTO inbox_conversation (workspace_id, channel_id, contact_id, thread_key, subject, status, last_message_at, preview, created_at)"
                        " VALUES (%s, %s, %s, %s, '', 'open', %s, '', %s) RETURNING id",
                        [ws, channel.pk, contact_id, key, now, now],
                    )
                    conversation_id = cur.fetchone()[0]
                cur.execute(
                    "INSERT INTO inbox_message (workspace_id, conversation_id, channel_id, direction, kind, author_name, text, html, subject, provider_id, status, error, extra, attempts, created_at)"
                    " VALUES (%s, %s, %s, 'inbound', 'message', '', %s, '', '', %s, '', '', '{}', 0, %s)",
                    [ws, conversation_id, channel.pk, f"message {i}", f"bare-{i}", now],
                )
                cur.execute(
                    "UPDATE inbox_conversation SET last_message_at=%s, last_inbound_at=%s, preview=%s WHERE id=%s",
                    [now, now, f"message {i}", conversation_id],
                )
            timings.append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5000)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with django_on(args.database_url):
        from django.db import connection

        from frontdesk.inbox.models import ChannelAccount
        from frontdesk.workspaces.services import create_workspace

        ws, _ = create_workspace("Bench", "bench@example.com", "bench-password-1")
        channel = ChannelAccount(
            workspace=ws,
            kind="api",
            provider="api",
            name="bench",
            config={"callback_url": "http://127.0.0.1:9/"},
        )
        channel.credentials = {"secret": "x"}
        channel.save()
        print(
            f"database: {connection.vendor}  cores: {os.cpu_count()}  messages: {args.n}  contacts: {args.contacts}"
        )
        start = time.perf_counter()
        orm = run_orm(channel, args.n, args.contacts)
        orm_total = time.perf_counter() - start
        start = time.perf_counter()
        bare = run_bare(channel, args.n, args.contacts)
        bare_total = time.perf_counter() - start
        print(summary("ingest (ORM, one path)", orm, orm_total))
        print(summary("bare SQL floor", bare, bare_total))
        print(f"ratio ingest/bare: {orm_total / bare_total:.2f}x")


if __name__ == "__main__":
    main()
