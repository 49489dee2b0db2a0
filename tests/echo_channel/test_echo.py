"""The echo channel, end to end through the real parts: the app's connect form, the one
webhook door, the outbox and its worker task, statuses and idempotency."""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from frontdesk.connectors.registry import CONNECTORS, handle_kinds
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, Contact, ContactHandle, Conversation, Message
from frontdesk.inbox.outbox import deliver
from tests.echo_channel.peer import EchoServer
from tests.fixtures import PASSWORD
from tests.webhook_client import WebhookClient


def _signed_in(membership) -> Client:
    client = Client()
    assert client.login(username=membership.user.email, password=PASSWORD)
    return client


def _connect(owner, echo_server: EchoServer) -> tuple[ChannelAccount, str]:
    """Connect through the app's form as an admin would; returns the channel and the
    webhook secret the page showed once."""
    client = _signed_in(owner)
    apps = client.get("/apps/")
    assert b'href="/apps/echo/connect/"' in apps.content  # the tile links to the form
    form = client.get("/apps/echo/connect/")
    assert form.status_code == 200
    assert b'name="room"' in form.content and b'type="password"' in form.content
    page = client.post(
        "/apps/echo/connect/",
        {
            "name": "Echo lobby",
            "server_url": echo_server.url,
            "room": echo_server.room,
            "token": echo_server.token,
        },
    )
    assert page.status_code == 200
    channel = ChannelAccount.objects.get(provider="echo")
    secret = channel.credentials["webhook_secret"]
    assert secret.encode() in page.content  # shown once, to be pasted into the room settings
    assert channel.status == "connected" and channel.name == "Echo lobby"
    assert channel.config == {"server_url": echo_server.url, "room": echo_server.room}
    return channel, secret


def _post(body: bytes, headers: dict[str, str]):
    return WebhookClient().post(
        "/webhooks/echo/", data=body, content_type="application/json", headers=headers
    )


def test_the_echo_channel_is_registered_by_the_setting_alone(settings):
    assert "echo" in CONNECTORS
    settings.FRONTDESK_CONNECTORS = [p for p in settings.FRONTDESK_CONNECTORS if "echo" not in p]
    assert "echo" not in CONNECTORS
    assert (
        WebhookClient()
        .post("/webhooks/echo/", data=b"{}", content_type="application/json")
        .status_code
        == 404
    )


def test_the_connect_form_refuses_what_setup_refuses_and_keeps_what_was_typed(owner, echo_server):
    client = _signed_in(owner)
    page = client.post(
        "/apps/echo/connect/",
        {"name": "Lobby", "server_url": echo_server.url, "room": "no spaces!", "token": "t"},
    )
    assert page.status_code == 400
    assert b"room must be letters, digits and dashes" in page.content
    assert b'value="Lobby"' in page.content  # what was typed stays (the secret does not)
    assert not ChannelAccount.objects.filter(provider="echo").exists()


def test_only_admins_connect(agent, echo_server):
    page = _signed_in(agent).post(
        "/apps/echo/connect/",
        {"server_url": echo_server.url, "room": "lobby", "token": "t"},
    )
    assert page.status_code == 403
    assert not ChannelAccount.objects.filter(provider="echo").exists()


def test_a_message_in_a_reply_out_and_the_echo_back(
    owner, echo_server, drain_queue, django_capture_on_commit_callbacks
):
    channel, secret = _connect(owner, echo_server)

    # In, through the webhook door.
    hello = EchoServer.delivery(
        echo_server.room,
        {"type": "message", "id": "m-1", "from": "ada", "name": "Ada", "text": "Hello?"},
    )
    answer = _post(hello, EchoServer.signed(secret, hello))
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    again = _post(hello, EchoServer.signed(secret, hello))  # the service retries: stored once
    assert again.status_code == 200
    inbound = Message.objects.get(channel=channel)
    assert inbound.text == "Hello?" and inbound.direction == "inbound"
    conversation = Conversation.objects.get(pk=inbound.conversation_id)
    assert conversation.contact.name == "Ada"

    # Out, through the outbox and its worker task.
    with django_capture_on_commit_callbacks(execute=True):
        reply = queue_reply(owner.user, conversation, "Hi Ada")
    assert echo_server.received == []  # nothing leaves in the request itself
    assert drain_queue() == ["sent"]
    [sent] = echo_server.received
    assert sent["to"] == "ada" and sent["text"] == "Hi Ada"
    assert sent["idempotency_key"] == f"frontdesk-message-{reply.pk}"
    reply.refresh_from_db()
    assert reply.status == "sent" and reply.provider_id == sent["id"]

    # The service says it was delivered, and the echo bot answers in the same conversation.
    for body in echo_server.deliveries():
        assert _post(body, EchoServer.signed(secret, body)).status_code == 200
    reply.refresh_from_db()
    assert reply.status == "delivered"
    echo = Message.objects.get(provider_id=f"{sent['id']}-echo")
    assert echo.conversation_id == conversation.pk and echo.text == "echo: Hi Ada"


def test_its_clients_have_an_address_kind_of_its_own_shown_with_its_label(owner, echo_server):
    """The "echo" kind of address is declared in the connector alone: no migration, no
    choice to add. A client writing through the door becomes a contact with that address,
    and the contact page and the conversation's contact panel name it by its label."""
    channel, secret = _connect(owner, echo_server)
    hello = EchoServer.delivery(
        echo_server.room,
        {"type": "message", "id": "m-1", "from": "grace-42", "name": "Grace", "text": "Hi"},
    )
    assert _post(hello, EchoServer.signed(secret, hello)).status_code == 200
    handle = ContactHandle.objects.get(kind="echo")
    assert handle.value == "grace-42" and handle.contact.name == "Grace"
    client = _signed_in(owner)

    contact_page = client.get(f"/contacts/{handle.contact_id}/").content.decode()
    assert re.search(
        r'class="handle-kind">Echo user</span>\s*<span class="handle-value">grace-42<', contact_page
    )
    conversation = Conversation.objects.get(channel=channel)
    thread = client.get(f"/c/{conversation.pk}/").content.decode()
    assert "<dt>Echo user</dt><dd>grace-42</dd>" in thread


def test_an_address_of_a_kind_no_channel_declares_is_refused(
    owner, echo_server, monkeypatch, caplog
):
    channel, secret = _connect(owner, echo_server)
    monkeypatch.setattr(type(CONNECTORS["echo"]), "handle_kinds", {})
    assert "echo" not in handle_kinds()
    hello = EchoServer.delivery(
        echo_server.room, {"type": "message", "id": "m-1", "from": "grace-42", "text": "Hi"}
    )
    assert _post(hello, EchoServer.signed(secret, hello)).status_code == 200
    assert "no registered channel declares the address kind 'echo'" in caplog.text
    assert not ContactHandle.objects.filter(kind="echo").exists()
    assert not Contact.objects.filter(workspace_id=channel.workspace_id).exists()
    assert not Message.objects.filter(channel=channel).exists()


def test_the_door_answers_echo_traffic_by_its_policy(owner, echo_server):
    channel, secret = _connect(owner, echo_server)
    body = EchoServer.delivery(
        echo_server.room, {"type": "message", "id": "m-9", "from": "bob", "text": "hi"}
    )
    assert _post(body, {"X-Echo-Signature": "sha256=" + "0" * 64}).status_code == 401
    assert _post(body, {}).status_code == 401
    assert _post(b"not json", EchoServer.signed(secret, b"not json")).status_code == 400
    elsewhere = EchoServer.delivery("other-room", {"type": "message", "id": "x", "from": "y"})
    ignored = _post(elsewhere, EchoServer.signed(secret, elsewhere))
    assert ignored.status_code == 200 and ignored.json()["ignored"] == "unknown room"
    assert not Message.objects.filter(channel=channel).exists()


def test_a_bug_in_the_connector_is_a_logged_500_and_the_retry_stores_the_message(
    owner, echo_server, monkeypatch, caplog
):
    """A bug is the one answer that asks the provider to send again: nothing half-written
    stays, the error is logged with its traceback, and the retry (the bug fixed) stores the
    message once."""
    channel, secret = _connect(owner, echo_server)
    body = EchoServer.delivery(
        echo_server.room, {"type": "message", "id": "m-500", "from": "ada", "text": "Hello"}
    )
    connector = type(CONNECTORS["echo"])
    working = connector.webhook_events

    def broken(self, channel, part):
        raise KeyError("a field the parser forgot")

    monkeypatch.setattr(connector, "webhook_events", broken)
    answer = WebhookClient(raise_request_exception=False).post(
        "/webhooks/echo/",
        data=body,
        content_type="application/json",
        headers=EchoServer.signed(secret, body),
    )
    assert answer.status_code == 500
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert (
        errors
        and errors[-1].exc_info
        and "a field the parser forgot" in str(errors[-1].exc_info[1])
    )
    assert not Message.objects.filter(channel=channel).exists()

    monkeypatch.setattr(connector, "webhook_events", working)
    for _ in range(2):  # the provider's retry, and a duplicate of it
        assert _post(body, EchoServer.signed(secret, body)).status_code == 200
    stored = Message.objects.get(channel=channel)
    assert stored.text == "Hello" and stored.provider_id == "m-500"


def test_a_busy_server_is_retried_by_the_outbox_and_a_refused_token_asks_to_reconnect(
    owner, echo_server, drain_queue, django_capture_on_commit_callbacks
):
    channel, secret = _connect(owner, echo_server)
    body = EchoServer.delivery(echo_server.room, {"type": "message", "id": "m-1", "from": "ada"})
    _post(body, EchoServer.signed(secret, body))
    conversation = Conversation.objects.get(channel=channel)

    echo_server.behaviours = ["error503"]
    with django_capture_on_commit_callbacks(execute=True):
        reply = queue_reply(owner.user, conversation, "first try fails")
    drain_queue()
    reply.refresh_from_db()
    assert reply.status == "queued" and "HTTP 503" in reply.error
    Message.objects.filter(pk=reply.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    deliver(reply.pk)
    reply.refresh_from_db()
    assert reply.status == "sent"

    echo_server.token = "rotated"
    with django_capture_on_commit_callbacks(execute=True):
        refused = queue_reply(owner.user, conversation, "token refused")
    drain_queue()
    refused.refresh_from_db()
    channel.refresh_from_db()
    assert refused.status == "failed"
    assert channel.status == "needs_reconnect"


def test_the_reply_box_has_the_channels_own_field_from_its_folder(
    owner, echo_server, drain_queue, django_capture_on_commit_callbacks
):
    """The echo channel's reply-box template and its icon live in its folder
    (templates/, static/), its mark's colours in its connector: all found with nothing
    registered but the package."""
    channel, secret = _connect(owner, echo_server)
    hello = EchoServer.delivery(
        echo_server.room, {"type": "message", "id": "m-1", "from": "ada", "text": "Hello?"}
    )
    assert _post(hello, EchoServer.signed(secret, hello)).status_code == 200
    conversation = Message.objects.get(channel=channel).conversation
    client = _signed_in(owner)

    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert 'name="x_quiet"' in page and "Quietly (the room is not notified)" in page
    icon = re.search(r'<img src="([^"]+/echo/quiet\.svg)"', page)
    assert icon, "the field's icon is linked"
    assert ".glyph.k-echo { background: #fce7f3; color: #9d174d; }" in (
        client.get("/glyphs.css").content.decode()
    )
    served = client.get(icon[1])
    assert served.status_code == 200
    assert b"<svg" in b"".join(served.streaming_content)

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/c/{conversation.pk}/reply", {"text": "Shh", "x_quiet": "1"})
    assert answer.status_code in (200, 302)
    assert drain_queue() == ["sent"]
    [sent] = echo_server.received
    assert sent["text"] == "Shh" and sent["quiet"] is True


def test_the_connector_is_handed_values_and_what_it_does_to_them_stays_with_it(
    owner, echo_server, drain_queue, django_capture_on_commit_callbacks, monkeypatch
):
    """Through the webhook door and the outbox the connector gets the channel's values
    (``ChannelView``), not its row: a connector that writes into them changes nothing the
    inbox keeps, and nothing it is handed can be saved."""
    from django.db import models

    from tests.echo_channel.connector import EchoConnector

    channel, secret = _connect(owner, echo_server)
    handed: list[object] = []

    def tampering(real):
        def method(self, view, *args):
            handed.append(view)
            answer = real(self, view, *args)
            view.config["room"] = "elsewhere"  # what a careless connector might do
            view.credentials["webhook_secret"] = "leaked"
            return answer

        return method

    for name in ("webhook_signed_by", "webhook_events", "send"):
        monkeypatch.setattr(EchoConnector, name, tampering(getattr(EchoConnector, name)))
    hello = EchoServer.delivery(
        echo_server.room, {"type": "message", "id": "m-9", "from": "ada", "text": "Hi"}
    )
    assert _post(hello, EchoServer.signed(secret, hello)).status_code == 200
    conversation = Conversation.objects.get(channel=channel)
    with django_capture_on_commit_callbacks(execute=True):
        queue_reply(owner.user, conversation, "Hello Ada")
    assert drain_queue() == ["sent"]

    assert {type(view).__name__ for view in handed} == {"ChannelView"}
    assert not any(isinstance(view, models.Model) for view in handed)
    assert len(handed) == 3  # the signature, the events, the send
    channel.refresh_from_db()
    assert channel.config["room"] == echo_server.room
    assert channel.credentials["webhook_secret"] == secret
    again = EchoServer.delivery(
        echo_server.room, {"type": "message", "id": "m-10", "from": "ada", "text": "Still?"}
    )
    assert _post(again, EchoServer.signed(secret, again)).status_code == 200
    assert Message.objects.filter(provider_id="m-10").exists()
