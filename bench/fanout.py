"""One event fanned out to every member online: 200 websockets on the real server.

    python bench/fanout.py [--members 200] [-r 20]

Starts ``frontdesk run`` (embedded: SQLite, the in-process event layer, one web process
per core) on a fresh data dir, adds ``--members`` agents to the workspace, each logged in
(a session, as the login page makes) with their own websocket at ``/ws/`` (what a browser
tab opens). Then, each round, a client's message arrives through the API channel and the
time until each member's socket carries its ``message.created`` event is taken, from
just before the request. Prints p50/p95/max over every (round, member) and the p95 of
each round's slowest member. Target (issue 13): p95 under 500 ms for 200 members.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time

import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench._setup import percentile
from tests.live import base_env, create_token, embedded


def members_with_sessions(data_dir: str, count: int) -> list[str]:
    """``count`` agents in the server's workspace, each with a logged-in session key
    (written to the same database the server reads)."""
    os.environ["FRONTDESK_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from frontdesk.workspaces.models import Membership, Role, User, Workspace

    workspace = Workspace.objects.get()
    keys = []
    for i in range(count):
        user = User(email=f"member{i}@bench.test", name=f"Member {i}")
        user.set_unusable_password()
        user.save()
        Membership.objects.create(workspace=workspace, user=user, role=Role.AGENT)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session["workspace_id"] = workspace.pk
        session.create()
        keys.append(session.session_key)
    return keys


async def fan_out(base: str, channel: dict, session_keys: list[str], rounds: int):
    from django.conf import settings

    ws_url = base.replace("http://", "ws://") + "/ws/"
    sockets = await asyncio.gather(
        *(
            connect(
                ws_url,
                additional_headers={
                    "Cookie": f"{settings.SESSION_COOKIE_NAME}={key}",
                    "Origin": base,
                },
                max_queue=None,
            )
            for key in session_keys
        )
    )
    latencies: list[float] = []
    slowest: list[float] = []
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            for n in range(rounds + 1):  # the first round warms up
                started = time.perf_counter()

                async def arrival(socket, started=started) -> float:
                    while True:
                        event = json.loads(await socket.recv())
                        if event.get("type") == "message.created":
                            return time.perf_counter() - started

                waiting = [asyncio.create_task(arrival(s)) for s in sockets]
                response = await client.post(
                    f"{base}/api/v1/channels/{channel['id']}/messages",
                    headers={"Authorization": f"Bearer {channel['secret']}"},
                    json={"id": f"fanout-{n}", "contact": {"handle": "client-1"}, "text": "hi"},
                )
                assert response.status_code == 201, response.text
                took = await asyncio.wait_for(asyncio.gather(*waiting), timeout=30)
                if n:
                    latencies += took
                    slowest.append(max(took))
                await asyncio.sleep(0.2)  # let the page-side chatter (presence) settle
    finally:
        await asyncio.gather(*(s.close() for s in sockets))
    return latencies, slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("-r", "--rounds", type=int, default=20)
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
        keys = members_with_sessions(env["FRONTDESK_DATA_DIR"], args.members)
        latencies, slowest = asyncio.run(fan_out(base, channel, keys, args.rounds))
    print(
        f"server: frontdesk run (embedded, SQLite, {os.environ.get('FRONTDESK_WEB_PROCESSES') or 'default'}"
        f" web processes)  cores: {os.cpu_count()}  members online: {args.members}"
    )
    ms = [t * 1000 for t in latencies]
    print(
        f"message.created to every member's socket, {args.rounds} events:"
        f"  p50 {percentile(ms, 50):.1f} ms  p95 {percentile(ms, 95):.1f} ms  max {max(ms):.1f} ms"
        f"  (slowest member per event: p95 {percentile([t * 1000 for t in slowest], 95):.1f} ms)"
    )


if __name__ == "__main__":
    main()
