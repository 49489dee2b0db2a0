"""Unipile connector throughput, in process, against the local Unipile peer.

    python bench/unipile.py [-n 2000] [--chats 40] [--per-chat 50] [--database-url postgres://...]

1. webhooks: N ``message_received`` webhooks (text, over 200 senders) through Django's
   request handling (secret check, routing by account, parse, ingest): messages/s, p50/p99;
2. backfill: a fresh account whose history holds ``--chats`` chats of ``--per-chat``
   messages, imported by the sync runner (``inbox/sync.py``) over real HTTP with cursor paging: messages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._setup import django_on, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=40)
    parser.add_argument("--per-chat", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with django_on(args.database_url):
        run(args)


def run(args) -> None:
    from django.test import Client

    from frontdesk.connectors.unipile.client import SECRET_HEADER
    from frontdesk.connectors.unipile.connector import UnipileConnector
    from frontdesk.connectors.unipile.tests.peer import API_KEY, UnipilePeer
    from frontdesk.inbox.models import ChannelAccount, Message
    from frontdesk.inbox.sync import run_sync
    from frontdesk.workspaces.services import create_workspace

    peer = UnipilePeer()
    _, owner = create_workspace("Bench", "bench@example.test", "bench-password-1")

    def channel_for(account_id: str) -> ChannelAccount:
        setup = UnipileConnector().setup(
            {
                "dsn": peer.dsn,
                "api_key": API_KEY,
                "account_id": account_id,
                "network": "linkedin",
                "api_version": "v1",  # this bench posts v1 webhooks (new channels default to v2)
            }
        )
        channel = ChannelAccount(
            workspace=owner.workspace,
            kind="linkedin",
            provider="unipile",
            name=account_id,
            config=setup.config,
        )
        channel.credentials = setup.credentials
        channel.save()
        return channel

    me = {"provider_id": "ACoAABenchOwner", "name": "Me"}
    try:
        # 1. webhooks
        channel = channel_for("acc-hooks")
        secret = channel.credentials["webhook_secret"]
        chats = [
            peer.add_chat("acc-hooks", me, {"provider_id": f"ACoAAP{i:05d}", "name": f"P {i}"})
            for i in range(200)
        ]
        bodies = []
        for i in range(args.n):
            chat = chats[i % len(chats)]
            sender = peer.chats[chat]["attendee_provider_id"]
            message = peer.add_message(chat, sender, f"message {i}", minutes_ago=1)
            bodies.append(json.dumps(peer.webhook_event(message, me["provider_id"])))
        client = Client(headers={SECRET_HEADER: secret})
        latencies = []
        started = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            response = client.post("/webhooks/unipile/", body, content_type="application/json")
            latencies.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.content
        total = time.perf_counter() - started
        assert Message.objects.filter(channel=channel).count() == args.n
        print(summary("webhook -> ingest", latencies, total))

        # 2. backfill
        backfill = channel_for("acc-backfill")
        for c in range(args.chats):
            other = {"provider_id": f"ACoAAB{c:05d}", "name": f"B {c}"}
            chat = peer.add_chat("acc-backfill", me, other, minutes_ago=60 * 24 * 40)
            for m in range(args.per_chat):
                mine = m % 3 == 2
                peer.add_message(
                    chat,
                    me["provider_id"] if mine else other["provider_id"],
                    f"history {m}",
                    minutes_ago=60 * 24 * 20 - m,
                    is_sender=mine,
                )
        started = time.perf_counter()
        run_sync(backfill)  # what the worker's sync job runs: pages stored by the inbox
        total = time.perf_counter() - started
        count = Message.objects.filter(channel=backfill).count()
        assert count == args.chats * args.per_chat, count
        requests = len([r for r in peer.requests if r.query.get("account_id") == "acc-backfill"])
        print(
            f"{'backfill (sync)':<28} {count:>7} msgs  {count / total:>9.0f} msg/s  "
            f"{args.chats} chats in {total:.2f} s ({requests} chat-list calls)"
        )
    finally:
        peer.close()


if __name__ == "__main__":
    main()
