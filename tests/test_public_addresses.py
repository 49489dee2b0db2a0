"""Admin-set URLs (an API channel's callback, WhatsApp's Graph root and media hosts, a
Unipile DSN) may not point into the network Frontdesk runs in: refused in words when saved,
and refused again at the address each call connects to (DNS rebinding). The internal answer
is never shown back. The tests' stand-ins listen on loopback, so these tests turn off the
closed-network setting (FRONTDESK_FETCH_PRIVATE_ADDRESSES) the rest of the suite runs with."""

from __future__ import annotations

import json
import re
import socket

import pytest
from django.test import Client

from frontdesk.connectors.base import ConfigError
from frontdesk.connectors.unipile.tests.peer import API_KEY, UnipilePeer
from frontdesk.connectors.whatsapp_cloud.client import GraphUnreachable, check_connection
from frontdesk.connectors.whatsapp_cloud.connector import WhatsAppCloudConnector
from frontdesk.connectors.whatsapp_cloud.tests.conftest import graph as graph
from frontdesk.connectors.whatsapp_cloud.tests.conftest import make_whatsapp_channel
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, Message
from frontdesk.inbox.outbox import deliver

NOT_PUBLIC = "which is not a public address (loopback, a private network or cloud metadata)"
PUBLIC = "93.184.215.14"  # a global address (documentation ranges are not global)


@pytest.fixture
def guarded(settings):
    settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES = False


def _create_api_channel(api, url: str):
    return api.post(
        "/api/v1/channels",
        json.dumps(
            {"kind": "api", "provider": "api", "name": "Bot", "config": {"callback_url": url}}
        ),
        content_type="application/json",
    )


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1"),
        ("http://localhost/hook", "127.0.0.1"),
        ("http://[::1]:9000/", "::1"),
        ("http://10.0.0.5/hook", "10.0.0.5"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ],
)
def test_a_callback_url_into_the_servers_network_is_refused_when_saved(api, guarded, url, address):
    response = _create_api_channel(api, url)
    assert response.status_code == 400
    assert response.json()["detail"] == f"callback_url points at {address}, {NOT_PUBLIC}; " + (
        "Frontdesk only calls public addresses"
    )
    assert not ChannelAccount.objects.exists()


def test_a_callback_host_that_cannot_be_found_is_refused_in_words(api, guarded):
    response = _create_api_channel(api, "https://nowhere.invalid/hook")
    assert response.status_code == 400
    assert response.json()["detail"] == "callback_url: the host nowhere.invalid cannot be found"


def test_on_a_closed_network_the_setting_allows_private_addresses(api, settings):
    settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES = True
    assert _create_api_channel(api, "http://10.0.0.5/hook").status_code == 201


def _rebinding(monkeypatch, host: str) -> None:
    """``host`` resolves to a public address once (the check at save), then to loopback."""
    real = socket.getaddrinfo
    lookups = {"n": 0}

    def getaddrinfo(name, port, *args, **kwargs):
        if name != host:
            return real(name, port, *args, **kwargs)
        lookups["n"] += 1
        address = PUBLIC if lookups["n"] == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_callback_host_rebound_to_loopback_after_saving_is_never_called(
    api, owner, inbound, callback, guarded, monkeypatch
):
    """Saved while it resolved to a public address; by the time of the reply it resolves to
    the server's own loopback, where an internal service answers. The call is refused at
    the address it connected to, and that service's answer is never shown."""
    _rebinding(monkeypatch, "hooks.rebind.test")
    port = callback.url.rsplit(":", 1)[1].split("/")[0]
    created = _create_api_channel(api, f"http://hooks.rebind.test:{port}/hook")
    assert created.status_code == 201
    channel = ChannelAccount.objects.get(pk=created.json()["id"])
    callback.default = "reject"  # the internal service's answer: 'unknown recipient'
    conversation = inbound("Hi", via=channel).conversation
    message = queue_reply(owner.user, conversation, "Hello")
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert callback.received == []
    assert "refused: 127.0.0.1 is not a public address" in message.error
    assert "unknown recipient" not in message.error
    assert Message.objects.get(pk=message.pk).status == "queued"


def test_a_reply_refused_at_connect_time_is_kept_shown_and_failed_in_words(
    api, owner, inbound, callback, guarded, monkeypatch, settings
):
    """The rebound host stays rebound: the reply is tried again with its backoff (DNS may
    come back), the member sees why it waits, then it fails with the reason and a Retry
    button; its text is never lost and the internal service is never called."""
    settings.FRONTDESK_SEND_MAX_ATTEMPTS = 2
    _rebinding(monkeypatch, "hooks.rebind.test")
    port = callback.url.rsplit(":", 1)[1].split("/")[0]
    created = _create_api_channel(api, f"http://hooks.rebind.test:{port}/hook")
    channel = ChannelAccount.objects.get(pk=created.json()["id"])
    conversation = inbound("Hi", via=channel).conversation
    message = queue_reply(owner.user, conversation, "Hello from the team")
    web = Client()
    web.force_login(owner.user)

    assert deliver(message.pk) == "retry"
    page = web.get(f"/c/{conversation.pk}/").content.decode()
    assert "Trying again: " in page and "refused: 127.0.0.1 is not a public address" in page

    Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert (message.status, message.text) == ("failed", "Hello from the team")
    assert message.error == (
        "could not reach the callback URL: refused: 127.0.0.1 is not a public address "
        "(gave up after 2 attempts)"
    )
    page = web.get(f"/c/{conversation.pk}/").content.decode()
    assert "gave up after 2 attempts" in page and ">Retry</button>" in page
    assert callback.received == []


def test_whatsapp_graph_root_and_media_hosts_are_guarded(owner, graph, guarded):
    client = Client()
    client.force_login(owner.user)
    page = client.post(
        "/apps/whatsapp-cloud/connect/",
        {
            "phone_number_id": graph.phone_number_id,
            "waba_id": graph.waba_id,
            "access_token": graph.token,
            "app_secret": "app-secret",
            "verify_token": "vt-123",
            "graph_url": graph.url,  # the stand-in, on loopback
            "action": "save",
        },
    )
    assert page.status_code == 400
    assert f"graph_url points at 127.0.0.1, {NOT_PUBLIC}" in page.content.decode()
    assert not ChannelAccount.objects.exists()
    config = {
        "phone_number_id": "123",
        "waba_id": "456",
        "access_token": "t",
        "app_secret": "s",
        "verify_token": "v",
        "media_hosts": ["localhost:8080"],
    }
    with pytest.raises(
        ConfigError, match=re.escape(f"media_hosts points at 127.0.0.1, {NOT_PUBLIC}")
    ):
        WhatsAppCloudConnector().setup(config)


def test_a_graph_call_that_connects_to_loopback_is_refused(owner, graph, settings):
    """A channel saved on a closed network, then the guard turned on (or the Graph root's
    host rebound to loopback): the call is refused at the address it connected to."""
    channel = make_whatsapp_channel(owner, graph)
    settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES = False
    with pytest.raises(GraphUnreachable, match=r"refused: 127\.0\.0\.1 is not a public address"):
        check_connection(channel.config["graph_url"], graph.token, graph.phone_number_id)
    assert graph.calls == []


def test_a_unipile_dsn_into_the_servers_network_is_refused_in_the_form(owner, guarded):
    peer = UnipilePeer()
    try:
        client = Client()
        client.force_login(owner.user)
        page = client.post(
            "/connectors/unipile/connect/",
            {"network": "linkedin", "dsn": peer.dsn, "api_key": API_KEY, "api_version": "v1"},
        )
        assert page.status_code == 400
        assert f"dsn points at 127.0.0.1, {NOT_PUBLIC}" in page.content.decode()
        assert peer.requests == []
        assert not ChannelAccount.objects.exists()
    finally:
        peer.close()
