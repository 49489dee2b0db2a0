"""Connecting (and reconnecting) a Unipile v1 account through the hosted-auth wizard (v2's
flow is in test_unipile_v2.py)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client

from frontdesk.inbox.models import ChannelAccount, ChannelStatus
from tests.peers.unipile import API_KEY, UnipilePeer
from tests.test_unipile import make_channel


@pytest.fixture
def peer():
    server = UnipilePeer()
    yield server
    server.close()


def logged_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def start(client, peer, network="linkedin", api_key=API_KEY):
    return client.post(
        "/connectors/unipile/connect/",
        {
            "network": network,
            "dsn": peer.dsn,
            "api_key": api_key,
            "name": f"Sales {network}",
            "api_version": "v1",
        },
    )


def notify(link: dict, body: dict, capture=None):
    url = urlsplit(link["notify_url"])
    assert link["notify_url"].startswith(settings.BASE_URL + "/connectors/unipile/notify/?state=")
    post = lambda: Client().post(  # noqa: E731
        f"{url.path}?{url.query}", json.dumps(body), content_type="application/json"
    )
    if capture is None:
        return post()
    with capture(execute=True):
        return post()


def test_connect_linkedin_through_hosted_auth(
    owner, peer, drain_queue, django_capture_on_commit_callbacks
):
    client = logged_in(owner)
    page = client.get("/connectors/unipile/connect/")
    assert page.status_code == 200 and b"Unipile API key" in page.content
    assert b'name="api_version" value="v2" checked' in page.content  # v2 preselected

    response = start(client, peer)
    assert response.status_code == 302
    link = peer.hosted_links[0]
    assert response["Location"] == f"{peer.dsn}/hosted/{link['token']}"
    assert link["type"] == "create" and link["providers"] == ["LINKEDIN"]
    assert link["api_url"] == peer.dsn and link["expiresOn"].endswith("Z")
    assert peer.requests_to("POST", "/api/v1/hosted")[0].headers["x-api-key"] == API_KEY
    channel = ChannelAccount.objects.get(provider="unipile")
    assert channel.status == ChannelStatus.CONNECTING and channel.kind == "linkedin"
    assert channel.workspace_id == owner.workspace_id
    assert API_KEY not in json.dumps(channel.config)

    status = client.get(f"/connectors/unipile/{channel.pk}/")
    assert b"Connecting" in status.content

    done = notify(
        link,
        {"status": "CREATION_SUCCESS", "account_id": "acc-new", "name": link["name"]},
        django_capture_on_commit_callbacks,
    )
    assert done.status_code == 200
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.config["account_id"] == "acc-new"
    drain_queue()  # the backfill task: registers webhooks, imports history
    assert sorted(h["source"] for h in peer.webhooks) == ["account_status", "messaging"]
    channel.refresh_from_db()
    assert channel.sync_state["backfill"]["status"] == "done"

    # The same callback again (a replay) is refused and changes nothing.
    replay = notify(link, {"status": "CREATION_SUCCESS", "account_id": "acc-other"})
    assert replay.status_code == 400
    channel.refresh_from_db()
    assert channel.config["account_id"] == "acc-new"


def test_forged_or_tampered_states_are_refused(owner, peer):
    client = logged_in(owner)
    start(client, peer)
    link = peer.hosted_links[0]
    channel = ChannelAccount.objects.get(provider="unipile")
    body = {"status": "CREATION_SUCCESS", "account_id": "acc-x"}
    forged = signing.dumps(
        {"c": channel.pk, "n": "guess", "t": "create"}, salt="frontdesk.unipile.hosted-auth"
    )
    other_salt = signing.dumps({"c": channel.pk, "n": "guess", "t": "create"})
    for state in (forged, other_salt, "garbage", link["notify_url"].split("state=")[1] + "x"):
        response = Client().post(
            f"/connectors/unipile/notify/?state={state}",
            json.dumps(body),
            content_type="application/json",
        )
        assert response.status_code == 400
    assert (
        Client()
        .post("/connectors/unipile/notify/", json.dumps(body), content_type="application/json")
        .status_code
        == 400
    )
    assert notify(link, {"status": "CREATION_SUCCESS"}).status_code == 400  # no account id
    assert notify(link, {"status": "ERROR", "account_id": "acc-x"}).status_code == 400
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTING and channel.config["account_id"] == ""


def test_connect_whatsapp_by_qr_code(owner, peer, django_capture_on_commit_callbacks):
    client = logged_in(owner)
    assert start(client, peer, network="whatsapp").status_code == 302
    link = peer.hosted_links[0]
    assert link["providers"] == ["WHATSAPP"]
    notify(
        link,
        {"status": "CREATION_SUCCESS", "account_id": "acc-wa"},
        django_capture_on_commit_callbacks,
    )
    channel = ChannelAccount.objects.get(provider="unipile")
    assert channel.kind == "whatsapp" and channel.status == ChannelStatus.CONNECTED
    assert channel.connector.handle_kind == "phone"


def test_an_abandoned_wizard_is_cleaned_up_by_the_next_connect(owner, peer):
    from datetime import timedelta

    from django.utils import timezone

    client = logged_in(owner)
    start(client, peer)
    ChannelAccount.objects.update(created_at=timezone.now() - timedelta(hours=2))
    start(client, peer)
    assert ChannelAccount.objects.count() == 1
    assert ChannelAccount.objects.get().created_at > timezone.now() - timedelta(minutes=5)


def test_connect_errors_and_permissions(owner, agent, peer):
    client = logged_in(owner)
    refused = start(client, peer, api_key="wrong-key")
    assert refused.status_code == 400 and b"Invalid API key" in refused.content
    bad = client.post(
        "/connectors/unipile/connect/",
        {"network": "telegram", "dsn": peer.dsn, "api_key": "k", "api_version": "v1"},
    )
    assert bad.status_code == 400
    assert not ChannelAccount.objects.exists()
    assert logged_in(agent).post("/connectors/unipile/connect/", {}).status_code == 403
    anonymous = Client().get("/connectors/unipile/connect/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_reconnect_keeps_the_same_account(owner, rival, peer, django_capture_on_commit_callbacks):
    channel = make_channel(owner, peer, account_id="acc-li-1")
    channel.status = ChannelStatus.NEEDS_RECONNECT
    channel.save()
    # Apps & integrations links to the channel's page, which offers Reconnect.
    apps = logged_in(owner).get("/apps/")
    assert f'href="/connectors/unipile/{channel.pk}/"'.encode() in apps.content
    page = logged_in(owner).get(f"/connectors/unipile/{channel.pk}/")
    assert f'action="/connectors/unipile/{channel.pk}/reconnect/"'.encode() in page.content
    assert logged_in(rival).get(f"/connectors/unipile/{channel.pk}/").status_code == 404
    # Another workspace cannot reconnect (or even see) it.
    assert logged_in(rival).post(f"/connectors/unipile/{channel.pk}/reconnect/").status_code == 404

    response = logged_in(owner).post(f"/connectors/unipile/{channel.pk}/reconnect/")
    assert response.status_code == 302
    link = peer.hosted_links[-1]
    assert link["type"] == "reconnect" and link["reconnect_account"] == "acc-li-1"
    assert notify(link, {"status": "RECONNECTED", "account_id": "acc-other"}).status_code == 400
    ok = notify(
        link,
        {"status": "RECONNECTED", "account_id": "acc-li-1"},
        django_capture_on_commit_callbacks,
    )
    assert ok.status_code == 200
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED and channel.last_error == ""
