"""Full-text search on a big workspace: p50/p95 per kind of query, and what the index
costs the conversation list.

    python bench/search.py [--messages 1000000] [--conversations 100000] [-r 40]
                           [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Seeds one workspace (bulk, through the ORM) with the search index dropped, times the
conversation list (open, newest first; first page and a page deep by cursor), builds the
index (the migration's own statements, so its time is the migration's on such a
database), times the list again, then times ``inbox.search.search`` (what the API and the
search box call: matching, ordering, loading the rows, snippets) for

  rare word     a word in ~20 messages (several such words, taken in turn)
  common word   a word in ~1 message of 5
  phrase        two words that are common apart, in order ("late payment")
  filtered      a common word, open conversations of one channel only

and prints p50/p95 for each. Run it once per database: Django is configured once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._setup import django_on, percentile

FILLER = [f"w{i}" for i in range(3000)]  # Zipf-ish background vocabulary
COMMON = ["order", "thanks", "please", "delivery"]  # each in ~1 message of 5
RARE = [f"zanzibar{i}" for i in range(10)]
BATCH = 5000


def text_for(rng: random.Random, rare_every: int) -> str:
    words = [FILLER[min(int(rng.paretovariate(1.1)) - 1, len(FILLER) - 1)] for _ in range(10)]
    words += [w for w in COMMON if rng.random() < 0.2]
    roll = rng.random()
    if roll < 0.03:
        words.append("late payment")
    elif roll < 0.06:
        words.append("payment")
    elif roll < 0.09:
        words.append("late")
    if rng.randrange(rare_every) == 0:
        words.append(rng.choice(RARE))
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


def seed(workspace, channels, users, conversations: int, messages: int, rng) -> None:
    from django.db import transaction
    from django.utils import timezone

    from frontdesk.inbox.models import Contact, ContactHandle, Conversation, Message

    now = timezone.now()
    per = messages // conversations
    rare_every = max(1, messages // (20 * len(RARE)))
    statuses = ["open"] * 2 + ["pending"] + ["resolved"] * 7
    for start in range(0, conversations, BATCH // per or 1):
        stop = min(conversations, start + max(1, BATCH // per))
        with transaction.atomic():
            contacts = Contact.objects.bulk_create(
                [
                    Contact(workspace=workspace, name=f"Client {i}", company=f"Company {i % 997}")
                    for i in range(start, stop)
                ]
            )
            ContactHandle.objects.bulk_create(
                [
                    ContactHandle(
                        workspace=workspace,
                        contact=c,
                        kind="email",
                        value=f"client{i}@company{i % 997}.example",
                    )
                    for i, c in zip(range(start, stop), contacts, strict=True)
                ]
            )
            convs, rows = [], []
            for i, contact in zip(range(start, stop), contacts, strict=True):
                # Spread over a year; each conversation's messages within a few days.
                last = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
                channel = channels[i % len(channels)]
                conv = Conversation(
                    workspace=workspace,
                    channel=channel,
                    contact=contact,
                    thread_key=f"t{i}",
                    status=rng.choice(statuses),
                    assignee=rng.choice([None, *users]),
                    last_message_at=last,
                    last_inbound_at=last,
                    preview="…",
                )
                convs.append(conv)
                for j in range(per):
                    rows.append(
                        (conv, channel, last - timedelta(hours=(per - 1 - j) * rng.random() * 9))
                    )
            Conversation.objects.bulk_create(convs)
            Message.objects.bulk_create(
                [
                    Message(
                        workspace=workspace,
                        conversation=conv,
                        channel=channel,
                        direction="inbound" if rng.random() < 0.6 else "outbound",
                        kind="note" if rng.random() < 0.05 else "message",
                        text=text_for(rng, rare_every),
                        created_at=at,
                    )
                    for conv, channel, at in rows
                ],
                batch_size=1000,
            )


def search_index(build: bool) -> float:
    """Drop or build the search index with the migration's own statements; seconds taken."""
    from django.db import connection

    first = importlib.import_module("frontdesk.inbox.migrations.0011_search")
    by_time = importlib.import_module("frontdesk.inbox.migrations.0014_search_by_time")
    postgres = connection.vendor == "postgresql"
    if build:
        statements = first.POSTGRES if postgres else first.SQLITE + by_time.SQLITE
    else:
        statements = first.POSTGRES_REVERSE if postgres else first.SQLITE_REVERSE
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE inbox_message")
            cursor.execute("VACUUM ANALYZE inbox_contact")
    return time.perf_counter() - started


def timed(call, rounds: int) -> list[float]:
    call(0)  # warm up
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return times


def line(label: str, times: list[float], extra: str = "") -> str:
    return (
        f"  {label:<34} p50 {percentile(times, 50) * 1000:7.1f} ms"
        f"   p95 {percentile(times, 95) * 1000:7.1f} ms  {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("-r", "--rounds", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with django_on(args.database_url):
        from django.db import connection

        from frontdesk.inbox import queries
        from frontdesk.inbox import search as inbox_search
        from frontdesk.inbox.models import ChannelAccount, Message
        from frontdesk.workspaces.services import add_member, create_workspace

        rng = random.Random(7)
        workspace, owner = create_workspace("Bench", "owner@bench.test", "bench-password-1")
        users = [owner.user] + [
            add_member(workspace, f"agent{i}@bench.test", "bench-password-1").user for i in range(3)
        ]
        channels = [
            ChannelAccount.objects.create(
                workspace=workspace, kind=kind, provider="api", name=f"{kind} channel"
            )
            for kind in ("api", "whatsapp", "email")
        ]
        print(f"database: {connection.vendor}")
        search_index(build=False)
        started = time.perf_counter()
        seed(workspace, channels, users, args.conversations, args.messages, rng)
        count = Message.objects.count()
        print(
            f"seeded {count:,} messages in {args.conversations:,} conversations"
            f" in {time.perf_counter() - started:.0f} s"
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

        ws, uid = workspace.pk, owner.user_id
        open_list = queries.ConversationFilter(status="open")
        deep = None
        page = queries.conversations(ws, uid, open_list)
        for _ in range(20):
            page = queries.conversations(ws, uid, open_list, cursor=page.next_cursor)
            deep = page.next_cursor

        def list_times() -> tuple[list[float], list[float]]:
            first = timed(lambda i: queries.conversations(ws, uid, open_list), args.rounds)
            later = timed(lambda i: queries.conversations(ws, uid, open_list, deep), args.rounds)
            return first, later

        print("conversation list (open, 50 rows), without the search index:")
        before = list_times()
        print(line("first page", before[0]))
        print(line("page 21 (by cursor)", before[1]))
        print(f"search index built in {search_index(build=True):.1f} s")
        print("conversation list, with the search index:")
        after = list_times()
        print(line("first page", after[0]))
        print(line("page 21 (by cursor)", after[1]))

        one_channel = inbox_search.SearchFilter(status="open", channel_id=channels[1].pk)
        cases = [
            ("rare word", lambda i: (RARE[i % len(RARE)], None)),
            ("common word", lambda i: (COMMON[i % len(COMMON)], None)),
            ('phrase "late payment"', lambda i: ('"late payment"', None)),
            (
                "filtered (common, open, 1 channel)",
                lambda i: (COMMON[i % len(COMMON)], one_channel),
            ),
        ]
        print(f"search (newest 50; window {inbox_search.WINDOW} rows):")
        for label, make in cases:
            found = []

            def run(i: int, make=make, found=found) -> None:
                q, flt = make(i)
                found.append(len(inbox_search.search(ws, uid, q, flt, limit=50).items))

            times = timed(run, args.rounds)
            print(line(label, times, f"{min(found)}-{max(found)} hits"))


if __name__ == "__main__":
    main()
