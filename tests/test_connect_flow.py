"""The one connect flow (``web/views/connect.py``): what it decides itself, whatever the
connector: the routes connectors declare, which pending connections a shared callback may
take, and which channel a reconnect may name."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from frontdesk.connectors.connect_flows import ConnectFlow
from frontdesk.connectors.registry import CONNECTORS
from frontdesk.inbox.actions.connections import INVALID_STATE, start_pending
from frontdesk.inbox.models import ChannelAccount, PendingConnection

STEPS = ("page", "callback", "popup", "continue", "notify", "return", "status", "reconnect")


def _login(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_declared_routes_are_served_and_never_collide():
    """A route's name is one path (connectors sharing a callback declare the same one), and a
    connector's page is where Apps & integrations links."""
    paths: dict[str, str] = {}
    for connector in CONNECTORS.values():
        if not isinstance(connector, ConnectFlow):
            continue  # the app's form, or the REST API
        routes = connector.connect_routes()
        for route in routes:
            assert route.step in STEPS
            assert paths.setdefault(route.name, route.path) == route.path
            if route.step in ("continue", "status", "reconnect"):  # of one attempt, one channel
                arg = re.sub(r"^.*<int:(\w+)>.*$", r"\1", route.path)
                assert reverse(route.name, kwargs={arg: 7}) == "/" + re.sub(
                    r"<int:\w+>", "7", route.path
                )
            else:
                assert reverse(route.name) == f"/{route.path}"
        pages = [r.name for r in routes if r.step == "page"]
        if routes:
            assert pages == [connector.connect_url_name]
    assert len(set(paths.values())) == len(paths)


def test_a_shared_callback_never_takes_another_providers_attempt(owner):
    """Email's OAuth callback serves Gmail, Outlook and Zoho: a state of a flow it does not
    serve is refused there and the attempt stays for its own provider's return."""
    other = start_pending(
        workspace_id=owner.workspace_id, user_id=owner.user_id, provider="unipile", kind="linkedin"
    )
    response = _login(owner).get(
        "/connectors/email/oauth/callback/", {"state": other.state, "code": "x"}
    )
    assert response.status_code == 400
    assert INVALID_STATE in response.content.decode()
    assert PendingConnection.objects.filter(pk=other.pk).exists()
    assert not ChannelAccount.objects.exists()


@pytest.mark.parametrize(
    ("error", "level", "words"),
    [
        ("access_denied", "info", "You cancelled at Gmail: nothing was connected."),
        ("server_error", "error", "Gmail did not connect the mailbox: server error."),
    ],
)
def test_a_provider_answering_without_a_grant_sends_back_to_apps_told_why(
    owner, error, level, words
):
    """Cancelled at the consent page: told as information; refused: as an error. Either way
    the attempt is used up and nothing is connected."""
    pending = start_pending(
        workspace_id=owner.workspace_id, user_id=owner.user_id, provider="gmail", kind="email"
    )
    client = _login(owner)
    back = client.get("/connectors/email/oauth/callback/", {"state": pending.state, "error": error})
    assert back.status_code == 302 and back["Location"] == "/apps/"
    assert f'<li class="flash-{level}">{words}</li>' in client.get("/apps/").content.decode()
    assert not PendingConnection.objects.exists() and not ChannelAccount.objects.exists()


@pytest.mark.parametrize(
    "url", ["/connectors/email/imap/connect/", "/apps/whatsapp-cloud/connect/"]
)
def test_another_workspaces_channel_cannot_be_reconnected(owner, rival, url):
    provider = "imap" if "email" in url else "whatsapp_cloud"
    theirs = ChannelAccount.objects.create(
        workspace_id=rival.workspace_id, kind=CONNECTORS[provider].kind, provider=provider
    )
    assert _login(owner).get(url, {"channel": theirs.pk}).status_code == 404
    assert _login(rival).get(url, {"channel": theirs.pk}).status_code == 200
