"""Fixtures and helpers shared by every test, here and in the providers' folders
(``frontdesk/connectors/<provider>/tests/``): a plugin that the root ``conftest.py`` loads,
since pytest applies a conftest only to the tests below it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from django.test import Client

from frontdesk.connectors.base import InboundMessage
from frontdesk.connectors.email.tests.smtp import SmtpServer
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.models import ChannelAccount
from frontdesk.workspaces.models import ApiToken, MailServer, Membership, Role
from frontdesk.workspaces.services import add_member, create_workspace
from tests.peers.callback import CallbackServer

PASSWORD = "correct-horse-battery"


@pytest.fixture
def owner(db) -> Membership:
    _, membership = create_workspace("Acme", "owner@acme.test", PASSWORD)
    return membership


@pytest.fixture
def agent(owner) -> Membership:
    return add_member(
        owner.workspace, "agent@acme.test", PASSWORD, role=Role.AGENT, name="Agnes Agent"
    )


@pytest.fixture
def rival(db) -> Membership:
    """The owner of a second, unrelated workspace."""
    _, membership = create_workspace("Rival", "boss@rival.test", PASSWORD)
    return membership


def token_client(membership: Membership) -> Client:
    _, token = ApiToken.issue(membership)
    return Client(headers={"Authorization": f"Bearer {token}"})


def send(client: Client, method: str, url: str, body: dict):
    """A JSON request (``method``: "post", "patch", "put") with ``body``, as the API takes."""
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def session_client(membership: Membership) -> Client:
    """A browser-like client logged in as the member (session cookie)."""
    client = Client()
    assert client.login(username=membership.user.email, password=PASSWORD)
    return client


@pytest.fixture
def api(owner) -> Client:
    return token_client(owner)


@pytest.fixture
def smtp():
    """A real local SMTP server that accepts app@acme.test / smtp-secret."""
    server = SmtpServer()
    server.add_user("app@acme.test", "smtp-secret")
    yield server
    server.close()


@pytest.fixture
def mail(owner, smtp) -> MailServer:
    """The workspace's outgoing mail server (the smtp fixture), set through its settings page."""
    answer = session_client(owner).post(
        "/settings/mail/",
        {
            "host": smtp.host,
            "port": str(smtp.port),
            "security": "none",
            "username": "app@acme.test",
            "password": "smtp-secret",
            "from_address": "team@acme.test",
        },
    )
    assert answer.status_code == 302
    return MailServer.objects.get(workspace=owner.workspace)


@pytest.fixture
def callback():
    server = CallbackServer()
    yield server
    server.close()


def make_api_channel(
    membership: Membership, callback_url: str, name: str = "Support bot"
) -> ChannelAccount:
    channel = ChannelAccount(
        workspace=membership.workspace,
        kind="api",
        provider="api",
        name=name,
        config={"callback_url": callback_url},
    )
    channel.credentials = {"secret": "s3cret-" + name.replace(" ", "-")}
    channel.save()
    return channel


@pytest.fixture
def channel(owner, callback) -> ChannelAccount:
    return make_api_channel(owner, callback.url)


@pytest.fixture
def inbound(channel) -> Callable[..., object]:
    counter = iter(range(1, 10**9))

    def send(text: str = "Hello there", handle: str = "client-1", via=None, **kw):
        item = InboundMessage(
            provider_id=kw.pop("provider_id", f"in-{next(counter)}"), handle=handle, text=text, **kw
        )
        return ingest(via or channel, item)

    return send


@pytest.fixture
def drain_queue(monkeypatch):
    """Run every task waiting in the real Huey queue, as a worker would.

    A worker closes its database connection around each task; here the task runs inside
    the test's transaction, so that one step is left out.
    """
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr("huey.contrib.djhuey.close_old_connections", lambda: None)
    HUEY.flush()

    def drain() -> list:
        results = []
        while (task := HUEY.dequeue()) is not None:
            results.append(HUEY.execute(task))
        return results

    yield drain
    HUEY.flush()


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(autouse=True, scope="session")
def _no_persistent_connections():
    """Threads (websocket consumers, live servers) must not keep test-database connections open."""
    from django.db import connections

    connections["default"].settings_dict["CONN_MAX_AGE"] = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is deliberately slow; the tests only need hashing to work (one test checks argon2)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
