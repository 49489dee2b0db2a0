"""Server time of the inbox screens on a big workspace, at growing sizes.

    python bench/ui.py [--stages 10000,100000] [--messages-per-conversation 10] [-r 40]
                       [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Seeds conversations (bulk, through the ORM) up to each stage — 100,000 conversations and
1,000,000 messages by default at the last stage — plus one 500-message thread, then times
in-process requests (Django test client: routing, middleware, queries, templates) for:
the inbox page, the list partial (first page and 50th page by cursor), and the
500-message thread. Prints wall-clock p50/p95, the p95 of the process CPU time (less noisy on a busy
machine; on SQLite it includes the database's own work, on PostgreSQL it does not), and
the number of SQL queries per request.
Run it once per database: Django is configured once per process.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._setup import django_on, percentile

HX_LIST = {"HX-Request": "true", "HX-Target": "conv-list"}
HX_THREAD = {"HX-Request": "true", "HX-Target": "thread-pane"}
WORDS = [
    "hello",
    "order",
    "invoice",
    "shipping",
    "price",
    "quote",
    "meeting",
    "thanks",
    "refund",
    "delivery",
    "website",
    "booking",
]


def seed(workspace, channels, users, start: int, stop: int, per_conversation: int, rng) -> None:
    from django.db import transaction
    from django.utils import timezone

    from frontdesk.inbox.models import (
        Contact,
        ContactHandle,
        Conversation,
        ConversationRead,
        Message,
    )

    now = timezone.now()
    batch = 2000
    for base in range(start, stop, batch):
        n = min(batch, stop - base)
        with transaction.atomic():
            contacts = Contact.objects.bulk_create(
                [Contact(workspace=workspace, name=f"Client {base + i}") for i in range(n)]
            )
            ContactHandle.objects.bulk_create(
                [
                    ContactHandle(
                        workspace=workspace, contact=c, kind="external", value=f"h-{base + i}"
                    )
                    for i, c in enumerate(contacts)
                ]
            )
            conversations = []
            for i, contact in enumerate(contacts):
                at = now - timedelta(seconds=rng.randint(0, 365 * 86400))
                conversations.append(
                    Conversation(
                        workspace=workspace,
                        channel=channels[(base + i) % len(channels)],
                        contact=contact,
                        thread_key=f"t-{base + i}",
                        status=rng.choices(
                            ["open", "pending", "snoozed", "resolved"], [50, 10, 5, 35]
                        )[0],
                        assignee=rng.choice([None, None, *users]),
                        last_message_at=at,
                        last_inbound_at=at,
                        preview=" ".join(rng.choices(WORDS, k=8)),
                    )
                )
            conversations = Conversation.objects.bulk_create(conversations)
            messages = []
            for conv in conversations:
                for k in range(per_conversation):
                    inbound = k % 2 == 0
                    messages.append(
                        Message(
                            workspace=workspace,
                            conversation=conv,
                            channel_id=conv.channel_id,
                            direction="inbound" if inbound else "outbound",
                            author_user=None if inbound else users[0],
                            text=" ".join(rng.choices(WORDS, k=12)),
                            status="" if inbound else "delivered",
                            created_at=conv.last_message_at
                            - timedelta(minutes=(per_conversation - k)),
                        )
                    )
            Message.objects.bulk_create(messages, batch_size=5000)
            ConversationRead.objects.bulk_create(
                [
                    ConversationRead(
                        workspace=workspace,
                        conversation=c,
                        user=users[0],
                        last_read_at=c.last_message_at,
                    )
                    for c in conversations
                    if rng.random() < 0.6
                ]
            )


def timed(client, url: str, headers: dict, rounds: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, headers=headers)  # warm up
    times, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, headers=headers)
    return times, cpu, len(ctx), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stages", default="10000,100000")
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("-r", "--rounds", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    stages = [int(s) for s in args.stages.split(",")]

    with django_on(args.database_url):
        from django.db import connection
        from django.test import Client

        from frontdesk.connectors.base import InboundMessage
        from frontdesk.inbox import queries
        from frontdesk.inbox.actions.ingest import ingest
        from frontdesk.inbox.models import ChannelAccount, Message
        from frontdesk.workspaces.services import add_member, create_workspace

        rng = random.Random(42)
        workspace, owner = create_workspace("Bench", "owner@bench.test", "bench-password-1")
        users = [owner.user] + [
            add_member(workspace, f"agent{i}@bench.test", "bench-password-1").user for i in range(3)
        ]
        channels = [
            ChannelAccount.objects.create(
                workspace=workspace,
                kind=kind,
                provider="api",
                name=f"{kind} channel",
                config={"callback_url": "http://127.0.0.1:9/"},
            )
            for kind in ("api", "whatsapp", "email")
        ]
        big = None
        for n in range(500):
            big = ingest(
                channels[0],
                InboundMessage(provider_id=f"big-{n}", handle="big-talker", text=f"line {n}"),
            ).conversation
        assert big is not None
        client = Client()
        client.force_login(owner.user)
        vendor = connection.vendor
        print(f"database: {vendor}; {args.messages_per_conversation} messages per conversation")
        seeded = 0
        for stage in stages:
            started = time.perf_counter()
            seed(
                workspace,
                channels,
                users,
                seeded,
                stage,
                args.messages_per_conversation,
                rng,
            )
            seeded = stage
            if vendor == "postgresql":
                with connection.cursor() as cur:
                    cur.execute("ANALYZE")
            else:
                with connection.cursor() as cur:
                    cur.execute("PRAGMA optimize")
            messages = Message.objects.filter(workspace=workspace).count()
            print(
                f"\n== {stage:,} conversations, {messages:,} messages "
                f"(seeded in {time.perf_counter() - started:.0f}s)"
            )
            flt = queries.ConversationFilter(status=None)
            cursor = None
            for _ in range(49):
                page = queries.conversations(workspace.pk, owner.user_id, flt, cursor=cursor)
                cursor = page.next_cursor
            cases = [
                ("inbox page", "/?status=all", {}),
                ("list partial, page 1", "/?status=all", HX_LIST),
                ("list partial, page 50", f"/inbox/list?status=all&cursor={cursor}", {}),
                ("list partial, open + mine", "/?view=mine", HX_LIST),
                ("thread, 500 messages", f"/c/{big.pk}/", HX_THREAD),
                ("thread, full page", f"/c/{big.pk}/", {}),
            ]
            for label, url, headers in cases:
                times, cpu, nq, size = timed(client, url, headers, args.rounds)
                print(
                    f"{label:<28} p50 {percentile(times, 50) * 1000:6.1f} ms  "
                    f"p95 {percentile(times, 95) * 1000:6.1f} ms  "
                    f"(cpu p95 {percentile(cpu, 95) * 1000:6.1f} ms)  "
                    f"{nq:>2} queries  {size / 1024:5.0f} KB"
                )
            html = client.get(f"/c/{big.pk}/", headers=HX_THREAD).content.decode()
            shown = len(re.findall(r'class="msg ', html))
            print(f"(the thread shows the newest {shown} messages; older ones load on scroll)")


if __name__ == "__main__":
    main()
