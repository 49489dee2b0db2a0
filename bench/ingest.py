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


class BareInsert:
    """``INSERT ... RETURNING id`` of every column of a model: the values given per row, the
    others at the model's defaults (so a column added later is written here too). Built
    once, outside the timed loop."""

    def __init__(self, model, *given: str):
        from django.db import connection

        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(f.column for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({marks}) RETURNING id"
        self.defaults = {
            f.attname: f.get_db_prep_save(f.get_default(), connection)
            for f in self.fields
            if f.attname not in given
        }

    def params(self, **values) -> list:
        return [values.get(f.attname, self.defaults.get(f.attname)) for f in self.fields]


def run_bare(channel, n: int, contacts: int) -> list[float]:
    """The same rows by hand: look up handle, contact, conversation; insert; update the list row."""
    from django.db import connection, transaction
    from django.utils import timezone

    from frontdesk.inbox.models import Contact, ContactHandle, Conversation, Message

    contact_row = BareInsert(Contact, "workspace_id", "name", "created_at", "updated_at")
    handle_row = BareInsert(
        ContactHandle, "workspace_id", "contact_id", "kind", "value", "created_at"
    )
    conversation_fields = ("workspace_id", "channel_id", "contact_id", "thread_key")
    conversation_row = BareInsert(
        Conversation, *conversation_fields, "status", "last_message_at", "created_at"
    )
    message_fields = ("workspace_id", "conversation_id", "channel_id", "direction", "kind")
    message_row = BareInsert(Message, *message_fields, "text", "provider_id", "created_at")
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
                        contact_row.sql,
                        contact_row.params(
                            workspace_id=ws,
                            name=f"Client {i % contacts}",
                            created_at=now,
                            updated_at=now,
                        ),
                    )
                    contact_id = cur.fetchone()[0]
                    cur.execute(
                        handle_row.sql,
                        handle_row.params(
                            workspace_id=ws,
                            contact_id=contact_id,
                            kind="external",
                            value=value,
                            created_at=now,
                        ),
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
                        conversation_row.sql,
                        conversation_row.params(
                            workspace_id=ws,
                            channel_id=channel.pk,
                            contact_id=contact_id,
                            thread_key=key,
                            status="open",
                            last_message_at=now,
                            created_at=now,
                        ),
                    )
                    conversation_id = cur.fetchone()[0]
                cur.execute(
                    message_row.sql,
                    message_row.params(
                        workspace_id=ws,
                        conversation_id=conversation_id,
                        channel_id=channel.pk,
                        direction="inbound",
                        kind="message",
                        text=f"message {i}",
                        provider_id=f"bare-{i}",
                        created_at=now,
                    ),
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
