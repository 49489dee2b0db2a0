"""The websocket at /ws/: a member hears their workspace's events, and only theirs."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from frontdesk.asgi import application
from frontdesk.connectors.base import InboundMessage
from frontdesk.inbox.actions.conversation import assign
from frontdesk.inbox.actions.ingest import ingest
from tests.fixtures import make_api_channel

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(membership) -> bytes:
    client = Client()
    client.force_login(membership.user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def connect(
    cookie: bytes | None, origin: bytes = b"http://127.0.0.1:8000"
) -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, "/ws/", headers=headers)


def test_a_member_receives_new_messages_and_assignments_live(owner, rival, callback):
    channel = make_api_channel(owner, callback.url)
    their_channel = make_api_channel(rival, callback.url, name="Theirs")
    cookie = session_cookie(owner)

    async def scenario():
        ws = connect(cookie)
        connected, _ = await ws.connect()
        assert connected
        # Another workspace's traffic never reaches this socket.
        await sync_to_async(ingest)(
            their_channel, InboundMessage(provider_id="t1", handle="x", text="theirs")
        )
        assert await ws.receive_nothing(timeout=0.3)
        result = await sync_to_async(ingest)(
            channel, InboundMessage(provider_id="o1", handle="pat", text="ours")
        )
        event = await ws.receive_json_from(timeout=2)
        assert event == {
            "type": "message.created",
            "conversation_id": result.conversation.pk,
            "message_id": result.message.pk,
            "channel_id": channel.pk,
            "direction": "inbound",
        }
        await sync_to_async(assign)(owner.user, result.conversation, owner.user)
        event = await ws.receive_json_from(timeout=2)
        assert (event["type"], event["assignee_id"]) == ("conversation.assigned", owner.user_id)
        await ws.disconnect()

    asyncio.run(scenario())


def test_an_anonymous_socket_is_refused(db):
    async def scenario():
        ws = connect(None)
        connected, code = await ws.connect()
        assert not connected
        assert code == 4401

    asyncio.run(scenario())


def test_a_socket_from_a_foreign_origin_is_refused(owner):
    cookie = session_cookie(owner)

    async def scenario():
        ws = connect(cookie, origin=b"http://evil.example")
        connected, _ = await ws.connect()
        assert not connected

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "origin",
    [
        b"http://127.0.0.1:9999",  # another service on the same machine
        b"https://127.0.0.1:8000",  # another scheme
        b"http://127.0.0.1",  # no port
        b"http://127.0.0.1:8000.evil.example",
        b"null",  # a sandboxed frame or a file
    ],
)
def test_a_socket_from_the_same_host_on_another_port_or_scheme_is_refused(owner, origin):
    """Only the whole origin counts: a page on another port of this host is another site."""
    cookie = session_cookie(owner)

    async def scenario():
        ws = connect(cookie, origin=origin)
        connected, code = await ws.connect()
        assert not connected
        assert code == 4403
        # The same member from the site itself is let in.
        ws = connect(cookie)
        connected, _ = await ws.connect()
        assert connected
        await ws.disconnect()

    asyncio.run(scenario())


def test_a_socket_from_the_configured_base_url_is_let_in_behind_a_proxy(owner, settings):
    """Behind a TLS proxy the socket arrives on another host and scheme than the page's."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://inbox.example.com"]
    settings.ALLOWED_HOSTS = ["inbox.example.com", "127.0.0.1"]
    cookie = session_cookie(owner)

    async def scenario():
        ws = connect(cookie, origin=b"https://inbox.example.com")
        connected, _ = await ws.connect()
        assert connected
        await ws.disconnect()
        ws = connect(cookie, origin=b"http://inbox.example.com")
        connected, _ = await ws.connect()
        assert not connected

    asyncio.run(scenario())


def test_events_from_a_worker_thread_reach_the_socket(owner, callback):
    """Embedded mode: Huey worker threads publish into the web server's in-process layer."""
    import threading

    from django.db import connection

    channel = make_api_channel(owner, callback.url)
    cookie = session_cookie(owner)

    def worker_thread_ingest() -> None:
        try:
            ingest(channel, InboundMessage(provider_id="w1", handle="pat", text="from a worker"))
        finally:
            connection.close()

    async def scenario():
        ws = connect(cookie)
        assert (await ws.connect())[0]
        thread = threading.Thread(target=worker_thread_ingest)
        thread.start()
        event = await ws.receive_json_from(timeout=3)
        assert (event["type"], event["direction"]) == ("message.created", "inbound")
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        await ws.disconnect()

    asyncio.run(scenario())


def test_an_event_published_by_another_process_reaches_the_socket(owner):
    """`frontdesk run` serves from several processes and runs the worker beside them: a
    change made in any of them reaches a socket held by another."""
    import os
    import sys

    cookie = session_cookie(owner)
    code = (
        "import django; django.setup()\n"
        "from frontdesk.realtime.publish import publish\n"
        f"publish({owner.workspace_id}, 'conversation.assigned', conversation_id=7, assignee_id=3)\n"
        "import time; time.sleep(1)  # a Redis layer sends from a background thread: let it\n"
    )
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "frontdesk.settings",
        "FRONTDESK_DATA_DIR": str(settings.DATA_DIR),
    }
    if "DATABASE_URL" in env:  # the other process works on this test's database
        env["DATABASE_URL"] = (
            env["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
        )

    async def scenario():
        ws = connect(cookie)
        assert (await ws.connect())[0]
        other = await asyncio.create_subprocess_exec(sys.executable, "-c", code, env=env)
        assert await other.wait() == 0
        event = await ws.receive_json_from(timeout=10)
        assert event == {"type": "conversation.assigned", "conversation_id": 7, "assignee_id": 3}
        await ws.disconnect()

    asyncio.run(scenario())


def test_a_vanished_process_is_forgotten_and_the_others_still_hear(db):
    import socket

    from frontdesk.realtime.layer import ProcessGroupLayer, run_dir

    layer = ProcessGroupLayer()
    run_dir().mkdir(mode=0o700, exist_ok=True)
    gone = run_dir() / "999999999.sock"  # a process that died without cleaning up
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(gone))
    dead.close()

    async def scenario():
        layer.listen()
        channel = await layer.new_channel()
        await layer.group_add("workspace.1", channel)
        await layer.group_send("workspace.1", {"type": "fd.event", "event": {"n": 1}})
        received = await asyncio.wait_for(layer.receive(channel), timeout=5)
        assert received == {"type": "fd.event", "event": {"n": 1}}
        layer.close_listener()

    asyncio.run(scenario())
    assert not gone.exists()


def test_a_run_directory_another_user_could_reach_is_refused(tmp_path, db):
    """The sockets live in the shared temp dir: one made beforehand by someone else, or
    open to others, would let them read or forge events, so it is not used."""
    import hashlib
    import os
    import tempfile
    from pathlib import Path

    from frontdesk.realtime.layer import _run_dir

    data_dir = tmp_path / "data"
    key = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    planted = Path(tempfile.gettempdir()) / f"frontdesk-{os.getuid()}-{key}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    try:
        with pytest.raises(PermissionError):
            _run_dir(str(data_dir))
        planted.chmod(0o700)
        assert _run_dir(str(data_dir)) == planted
    finally:
        planted.rmdir()
