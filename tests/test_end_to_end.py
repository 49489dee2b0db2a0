"""The whole system as a user runs it: real processes, real HTTP, a real worker.

Embedded mode (``frontdesk run``: SQLite, web processes and the worker from one command)
always; scale mode (``frontdesk web`` + ``frontdesk worker`` on PostgreSQL + Redis) when
DATABASE_URL and REDIS_URL are set, on a database of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

import httpx
import pytest

from tests.fixtures import wait_for
from tests.live import (
    OWNER_PASSWORD,
    api_channel,
    base_env,
    cli,
    embedded,
    free_port,
    running,
    scale_mode,
    set_up_owner,
    wait_until_up,
)


def round_trip(base: str, env: dict[str, str], callback, email: str) -> None:
    """Token -> API channel -> inbound message -> conversation -> reply -> signed callback."""
    token = cli(env, "token", "create", "--email", email).strip().splitlines()[-1]
    api = httpx.Client(
        base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    created = api.post(
        "/channels",
        json={
            "kind": "api",
            "provider": "api",
            "name": "Bot",
            "config": {"callback_url": callback.url},
        },
    )
    assert created.status_code == 201, created.text
    channel = created.json()
    inbound = {
        "id": "ext-1",
        "contact": {"handle": "+15550100", "name": "Pat"},
        "text": "Do you ship to Lyon?",
    }
    first = api.post(f"/channels/{channel['id']}/messages", json=inbound)
    assert first.status_code == 201, first.text
    assert api.post(f"/channels/{channel['id']}/messages", json=inbound).json() == first.json()
    [conversation] = api.get("/conversations").json()["items"]
    assert conversation["id"] == first.json()["conversation_id"]
    assert conversation["contact"]["name"] == "Pat" and conversation["unread"] is True
    reply = api.post(
        f"/conversations/{conversation['id']}/messages", json={"text": "Yes, in 2 days."}
    )
    assert reply.status_code == 201 and reply.json()["status"] == "queued"
    hit = wait_for(lambda: callback.received and callback.received[0], timeout=30)
    assert hit.json["text"] == "Yes, in 2 days." and hit.json["to"] == {"handle": "+15550100"}
    signature = (
        "sha256=" + hmac.new(channel["secret"].encode(), hit.body, hashlib.sha256).hexdigest()
    )
    assert hit.headers["x-frontdesk-signature"] == signature

    def sent() -> bool:
        items = api.get(f"/conversations/{conversation['id']}/messages").json()["items"]
        return items[-1]["status"] == "sent"

    wait_for(sent, timeout=15)


def test_embedded_run_serves_web_and_worker_in_one_command(tmp_path, callback):
    env = base_env(tmp_path / "data")
    with embedded(env) as (base, _):
        assert httpx.get(f"{base}/login/").status_code == 200  # set up: no longer redirected
        round_trip(base, env, callback, "owner@example.com")
    assert (tmp_path / "data" / "frontdesk.sqlite3").exists()
    assert (tmp_path / "data" / "encryption.key").exists()


@pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="scale mode runs when DATABASE_URL and REDIS_URL are set (CI's second pass)",
)
def test_scale_mode_web_and_worker_processes_on_postgres_and_redis(tmp_path, callback):
    with scale_mode(tmp_path / "data") as (base, env, _):
        round_trip(base, env, callback, "ops@scale.test")


def test_a_reply_survives_the_worker_being_killed_mid_send(tmp_path, callback):
    """kill -9 while the provider holds the request; the next start sends it again with the
    same Idempotency-Key (so a provider that honours it sends once) and it ends sent."""
    env = base_env(tmp_path / "data")
    env["FRONTDESK_SEND_LEASE_SECONDS"] = "2"
    env["FRONTDESK_HTTP_TIMEOUT"] = "60"
    callback.behaviours = ["hang"]
    callback.hang_seconds = 30
    port = free_port()  # both runs serve on the same port: the API client outlives the first
    base = f"http://127.0.0.1:{port}"
    with running(env, ["run", "--port", str(port)]) as procs:
        wait_until_up(base, procs)
        set_up_owner(env)
        _, api, channel = api_channel(base, env, callback.url)
        ids = api.post(
            f"/channels/{channel['id']}/messages",
            json={"id": "in-1", "contact": {"handle": "h"}, "text": "hi"},
        ).json()
        reply = api.post(
            f"/conversations/{ids['conversation_id']}/messages", json={"text": "hello"}
        ).json()
        wait_for(
            lambda: len(callback.received) == 1, timeout=30
        )  # the worker is now waiting on the provider
        procs[0].kill()
        procs[0].wait(timeout=10)
    lease_end = time.monotonic() + 2.5
    wait_for(lambda: time.monotonic() > lease_end, timeout=5)
    with running(env, ["run", "--port", str(port)]) as procs:
        wait_until_up(base, procs)

        def status() -> str:
            items = api.get(f"/conversations/{ids['conversation_id']}/messages").json()["items"]
            return next(m for m in items if m["id"] == reply["id"])["status"]

        wait_for(lambda: status() == "sent", timeout=30)
    keys = {r.headers["idempotency-key"] for r in callback.received}
    assert len(callback.received) == 2 and keys == {f"frontdesk-message-{reply['id']}"}


def test_embedded_run_with_two_web_processes_keeps_every_socket_live(tmp_path, callback):
    """Two web processes plus the worker: a member's socket hears a message that arrives
    through the API and the reply's delivery that the worker records, whichever process
    handled each."""
    import asyncio
    import json
    import re

    import websockets

    env = base_env(tmp_path / "data")
    env["FRONTDESK_WEB_PROCESSES"] = "2"
    with embedded(env) as (base, _):
        browser = httpx.Client(base_url=base, follow_redirects=True, timeout=10)
        page = browser.get("/login/").text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        browser.post(
            "/login/",
            data={
                "csrfmiddlewaretoken": csrf,
                "username": "owner@example.com",
                "password": OWNER_PASSWORD,
            },
        )
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        token, api, channel = api_channel(base, env, callback.url)

        async def scenario() -> None:
            async with websockets.connect(
                base.replace("http://", "ws://") + "/ws/",
                additional_headers={"Cookie": cookie, "Origin": base},
            ) as ws:

                async def next_event(kind: str) -> dict:
                    while True:
                        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=20))
                        if event["type"] == kind:
                            return event

                ids = []
                for n in range(6):  # new connections: the kernel spreads them over both processes
                    with httpx.Client(base_url=f"{base}/api/v1", timeout=10) as fresh:
                        ids.append(
                            fresh.post(
                                f"/channels/{channel['id']}/messages",
                                headers={"Authorization": f"Bearer {token}"},
                                json={
                                    "id": f"in-{n}",
                                    "contact": {"handle": f"h{n}"},
                                    "text": "hi",
                                },
                            ).json()
                        )
                    event = await next_event("message.created")
                    assert event["message_id"] == ids[-1]["message_id"]
                reply = api.post(
                    f"/conversations/{ids[0]['conversation_id']}/messages", json={"text": "hello"}
                ).json()
                event = await next_event("message.status")  # published by the worker
                assert (event["message_id"], event["status"]) == (reply["id"], "sent")

        asyncio.run(scenario())


def test_a_follow_up_that_fell_due_while_stopped_is_reminded_once_across_restarts(tmp_path):
    """The server is killed before a follow-up falls due; the next start's round of
    reminders tells its assignee, and a start after that (another round) does not again."""
    env = base_env(tmp_path / "data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def due_reminders(api: httpx.Client) -> list[str]:
        items = api.get("/notifications").json()["items"]
        return [n["text"] for n in items if n["kind"] == "followup_due"]

    with running(env, ["run", "--port", str(port)]) as procs:
        wait_until_up(base, procs)
        set_up_owner(env)
        token = cli(env, "token", "create", "--email", "owner@example.com").strip().splitlines()[-1]
        api = httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        contact = api.post("/contacts", json={"name": "Ana Lima"}).json()
        me = api.get("/me").json()
        due_at = time.time() + 3
        created = api.post(
            "/followups",
            json={
                "due_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(due_at)),
                "note": "Call Ana",
                "assignee_id": me["user"]["id"],
                "contact_id": contact["id"],
            },
        )
        assert created.status_code == 201, created.text
        procs[0].kill()  # a crash, before it falls due
        procs[0].wait(timeout=10)
    time.sleep(max(0.0, due_at + 1 - time.time()))
    with running(env, ["run", "--port", str(port)]) as procs:
        wait_until_up(base, procs)
        # The worker's round runs each minute.
        wait_for(lambda: due_reminders(api), timeout=90)
        assert due_reminders(api) == ["Follow-up due with Ana Lima: Call Ana"]
    with running(env, ["run", "--port", str(port)]) as procs:
        wait_until_up(base, procs)
        time.sleep(65)  # a round has surely run in this process (each minute)
        assert due_reminders(api) == ["Follow-up due with Ana Lima: Call Ana"]
