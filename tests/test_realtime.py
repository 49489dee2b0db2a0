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
from tests.conftest import make_api_channel

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
