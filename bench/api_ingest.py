"""Inbound messages through the HTTP API against a running server, from a second process.

    python bench/api_ingest.py [-n 3000] [--concurrency 16] [--contacts 1000]

Starts ``frontdesk run`` (embedded: SQLite, one web process per core) on a free port with
a fresh data dir, creates a workspace, a token and an API channel, then posts N messages
over loopback (keep-alive connections, a lean client: ``bench/_load.py``) and prints
requests/second and p50/p99 latency. Target (issue 2): at least 400 requests/s on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._load import closed_loop, encode
from bench._setup import percentile
from tests.live import base_env, create_token, embedded


def fire(
    base: str, token: str, channel_id: int, n: int, concurrency: int, contacts: int
) -> tuple[list[float], float]:
    url = f"{base}/api/v1/channels/{channel_id}/messages"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    requests = [
        encode(
            url,
            json.dumps(
                {
                    "id": f"bench-{i}",
                    "contact": {"handle": f"+1555{i % contacts:07d}"},
                    "text": f"message {i}",
                }
            ).encode(),
            headers,
        )
        for i in range(n)
    ]

    def check(status: int, body: bytes) -> None:
        if status != 201:
            raise SystemExit(f"unexpected {status}: {body[:200]!r}")

    return asyncio.run(closed_loop(url, requests, concurrency, check))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--contacts", type=int, default=1000)
    args = parser.parse_args()
    env = base_env()
    env["FRONTDESK_LOG_LEVEL"] = "WARNING"
    with embedded(env) as (base, _):
        token = create_token(env, "owner@example.com")
        channel = httpx.post(
            f"{base}/api/v1/channels",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "kind": "api",
                "provider": "api",
                "name": "bench",
                "config": {"callback_url": "http://127.0.0.1:9/"},
            },
        ).json()
        timings, total = fire(base, token, channel["id"], args.n, args.concurrency, args.contacts)
        print(
            f"server: frontdesk run (embedded, SQLite, {os.environ.get('FRONTDESK_WEB_PROCESSES') or 'default'} web processes)"
            f"  cores: {os.cpu_count()}  concurrency: {args.concurrency}"
        )
        print(
            f"POST /api/v1/channels/{{id}}/messages  {len(timings)} requests  {len(timings) / total:.0f} req/s  "
            f"p50 {percentile(timings, 50) * 1000:.1f} ms  p99 {percentile(timings, 99) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
