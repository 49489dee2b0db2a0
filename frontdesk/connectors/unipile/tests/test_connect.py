"""Connecting (and reconnecting) a Unipile v1 account through the hosted-auth wizard, with
a pending connection: no channel exists until Unipile confirms the account (v2's flow is
in test_v2.py; both in Chromium in test_connect_browser.py)."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from frontdesk.connectors.unipile.tests.peer import API_KEY, UnipilePeer
from frontdesk.connectors.unipile.tests.test_connector import make_channel
from frontdesk.inbox.actions.connections import INVALID_STATE
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, PendingConnection


@pytest.fixture
def peer():
    server = UnipilePeer()
    yield server
    server.close()


def logged_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def start(client, peer, network="linkedin", api_key=API_KEY, version="v1", name=None):
    return client.post(
        "/connectors/unipile/connect/",
        {
            "network": network,
            "dsn": peer.dsn,
            "api_key": api_key,
            "name": name or f"Sales {network}",
            "api_version": version,
        },
    )


def hosted_url(client, answer) -> str:
    """Where our hand-over page sends the browser (answering the form with a same-origin
    redirect, never with Unipile's URL: the form's CSP is form-action 'self')."""
    assert answer.status_code == 302, answer.content
    assert answer["Location"].startswith("/connectors/unipile/continue/")
    page = client.get(answer["Location"])
    assert page.status_code == 200
    assert "form-action 'self';" in page["Content-Security-Policy"] + ";"
    assert b"frontdesk/continue.js" in page.content
    found = re.search(r'id="unipile-continue" href="([^"]+)"', page.content.decode())
    assert found, page.content
    return html.unescape(found.group(1))


def local(url: str) -> str:
    assert url.startswith(settings.BASE_URL + "/connectors/unipile/"), url
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def notify(link: dict, body: dict, capture=None):
    post = lambda: Client().post(  # noqa: E731
        local(link["notify_url"]), json.dumps(body), content_type="application/json"
    )
    if capture is None:
        return post()
    with capture(execute=True):
        return post()


def flash(client, answer) -> str:
    assert answer.status_code == 302 and answer["Location"] == "/apps/", answer.content
    page = client.get("/apps/").content.decode()
    return html.unescape(re.search(r'<ul class="flash"><li[^>]*>(.*?)</li>', page).group(1))


def test_connect_linkedin_through_hosted_auth(
    owner, peer, drain_queue, django_capture_on_commit_callbacks
):
    client = logged_in(owner)
    page = client.get("/connectors/unipile/connect/")
    assert page.status_code == 200 and b"Unipile API key" in page.content
    assert b'name="api_version" value="v2" checked' in page.content  # v2 preselected

    url = hosted_url(client, start(client, peer))
    [link] = peer.hosted_links
    assert url == f"{peer.dsn}/hosted/{link['token']}"
    assert link["type"] == "create" and link["providers"] == ["LINKEDIN"]
    assert link["api_url"] == peer.dsn and link["expiresOn"].endswith("Z")
    assert peer.requests_to("POST", "/api/v1/hosted")[0].headers["x-api-key"] == API_KEY
    # Nothing in the sidebar until Unipile confirms: a pending connection only.
    assert not ChannelAccount.objects.exists()
    pending = PendingConnection.objects.get()
    assert link["success_redirect_url"] == (
        f"{settings.BASE_URL}/connectors/unipile/return/?state={pending.state}"
    )
    assert link["failure_redirect_url"] == link["success_redirect_url"] + "&failed=1"
    assert API_KEY not in json.dumps(pending.config)

    # The browser may come back before Unipile's notify call: it waits, and nothing is made.
    back = local(link["success_redirect_url"])
    waiting = client.get(back)
    assert waiting.status_code == 200 and b"Unipile has not confirmed" in waiting.content

    done = notify(
        link,
        {"status": "CREATION_SUCCESS", "account_id": "acc-new", "name": link["name"]},
        django_capture_on_commit_callbacks,
    )
    assert done.status_code == 200, done.content
    channel = ChannelAccount.objects.get(provider="unipile")
    assert channel.status == ChannelStatus.CONNECTED and channel.kind == "linkedin"
    assert channel.name == "Sales linkedin" and channel.workspace_id == owner.workspace_id
    assert channel.config["account_id"] == "acc-new" and "confirmed" not in channel.config
    assert set(channel.credentials) == {"api_key", "webhook_secret"}
    drain_queue()  # the first sync: registers webhooks, imports history
    assert sorted(h["source"] for h in peer.webhooks) == ["account_status", "messaging"]
    channel.refresh_from_db()
    assert channel.sync_state["backfill"]["status"] == "done"

    assert flash(client, client.get(back)) == (
        "Sales linkedin is connected; its messages are being imported."
    )
    assert not PendingConnection.objects.exists()

    # The same callbacks again (a replay) are refused and change nothing.
    replay = notify(link, {"status": "CREATION_SUCCESS", "account_id": "acc-other"})
    assert replay.status_code == 400
    again = client.get(back)
    assert again.status_code == 400 and INVALID_STATE.encode() in again.content
    channel.refresh_from_db()
    assert channel.config["account_id"] == "acc-new"
    assert ChannelAccount.objects.count() == 1


def test_a_retry_reuses_the_pending_connection_and_the_older_link_stops_working(owner, peer):
    client = logged_in(owner)
    hosted_url(client, start(client, peer))
    hosted_url(client, start(client, peer, name="Sales, again"))
    first, second = peer.hosted_links
    assert PendingConnection.objects.count() == 1
    assert PendingConnection.objects.get().name == "Sales, again"
    body = {"status": "CREATION_SUCCESS", "account_id": "acc-1"}
    assert notify(first, body).status_code == 400
    assert not ChannelAccount.objects.exists()
    assert notify(second, body).status_code == 200
    assert ChannelAccount.objects.get().name == "Sales, again"


def test_forged_or_tampered_notify_calls_are_refused(owner, peer):
    client = logged_in(owner)
    hosted_url(client, start(client, peer))
    [link] = peer.hosted_links
    body = {"status": "CREATION_SUCCESS", "account_id": "acc-x"}
    state = PendingConnection.objects.get().state
    url = local(link["notify_url"])
    for forged in (
        f"/connectors/unipile/notify/?state={state}",  # the state alone (the browser sees it)
        f"/connectors/unipile/notify/?state={state}&key=guess",
        url.replace(state, state[:-2] + "xx"),
        url + "x",
        "/connectors/unipile/notify/",
    ):
        response = Client().post(forged, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, forged
    assert notify(link, {"status": "CREATION_SUCCESS"}).status_code == 400  # no account id
    assert notify(link, {"status": "ERROR", "account_id": "acc-x"}).status_code == 400
    assert notify(link, {"status": "RECONNECTED", "account_id": "acc-x"}).status_code == 400
    assert Client().get(url).status_code == 405
    assert not ChannelAccount.objects.exists()
    assert PendingConnection.objects.count() == 1  # still usable by the real callback


def test_connect_whatsapp_by_qr_code(owner, peer, django_capture_on_commit_callbacks):
    client = logged_in(owner)
    hosted_url(client, start(client, peer, network="whatsapp"))
    [link] = peer.hosted_links
    assert link["providers"] == ["WHATSAPP"]
    assert (
        b"scan it with WhatsApp"
        in client.get(f"/connectors/unipile/continue/{PendingConnection.objects.get().pk}/").content
    )
    notify(
        link,
        {"status": "CREATION_SUCCESS", "account_id": "acc-wa"},
        django_capture_on_commit_callbacks,
    )
    channel = ChannelAccount.objects.get(provider="unipile")
    assert channel.kind == "whatsapp" and channel.status == ChannelStatus.CONNECTED
    assert channel.connector.handle_kind == "phone"


def test_a_failure_at_unipile_connects_nothing_and_says_so(owner, peer):
    client = logged_in(owner)
    hosted_url(client, start(client, peer))
    [link] = peer.hosted_links
    said = flash(client, client.get(local(link["failure_redirect_url"])))
    assert said.startswith("Unipile did not connect the LinkedIn account")
    assert "nothing was connected" in said
    assert not ChannelAccount.objects.exists() and not PendingConnection.objects.exists()
    # A notify after that finds nothing to confirm.
    assert notify(link, {"status": "CREATION_SUCCESS", "account_id": "a"}).status_code == 400


def test_an_abandoned_attempt_expires_and_old_stuck_channels_leave_the_sidebar(
    owner, peer, settings
):
    # A channel left "Connecting" by the flow before pending connections.
    stuck = ChannelAccount.objects.create(
        workspace=owner.workspace,
        kind="linkedin",
        provider="unipile",
        name="Stuck",
        status=ChannelStatus.CONNECTING,
        config={"account_id": ""},
    )
    client = logged_in(owner)
    hosted_url(client, start(client, peer))
    stuck.refresh_from_db()
    assert stuck.removed_at is not None
    [link] = peer.hosted_links
    pending = PendingConnection.objects.get()
    assert timedelta(minutes=29) < pending.expires_at - timezone.now() <= timedelta(minutes=30)
    PendingConnection.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    late = notify(link, {"status": "CREATION_SUCCESS", "account_id": "acc-late"})
    assert late.status_code == 400 and "expired" in late.json()["detail"]
    assert client.get(f"/connectors/unipile/continue/{pending.pk}/").status_code == 400
    assert not ChannelAccount.objects.filter(removed_at__isnull=True).exists()


def test_connect_errors_and_permissions(owner, agent, rival, peer):
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
    # The hand-over page and the way back are the workspace's own.
    hosted_url(client, start(client, peer))
    pending = PendingConnection.objects.get()
    assert logged_in(rival).get(f"/connectors/unipile/continue/{pending.pk}/").status_code == 400
    back = local(peer.hosted_links[-1]["success_redirect_url"])
    assert logged_in(rival).get(back).status_code == 400
    assert logged_in(agent).get(back).status_code == 403


def test_reconnect_keeps_the_same_account(owner, rival, peer, django_capture_on_commit_callbacks):
    channel = make_channel(owner, peer, account_id="acc-li-1")
    channel.status, channel.last_error = ChannelStatus.NEEDS_RECONNECT, "Log in again"
    channel.save()
    # Apps & integrations links to the channel's page, which offers Reconnect.
    apps = logged_in(owner).get("/apps/")
    assert f'href="/connectors/unipile/{channel.pk}/"'.encode() in apps.content
    client = logged_in(owner)
    page = client.get(f"/connectors/unipile/{channel.pk}/")
    assert f'action="/connectors/unipile/{channel.pk}/reconnect/"'.encode() in page.content
    assert logged_in(rival).get(f"/connectors/unipile/{channel.pk}/").status_code == 404
    # Another workspace cannot reconnect (or even see) it.
    assert logged_in(rival).post(f"/connectors/unipile/{channel.pk}/reconnect/").status_code == 404

    hosted_url(client, client.post(f"/connectors/unipile/{channel.pk}/reconnect/"))
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
    said = flash(client, client.get(local(link["success_redirect_url"])))
    assert said == f"{channel.name} is connected again."
    assert ChannelAccount.objects.count() == 1


def test_the_stand_in_holds_hosted_auth_requests_to_the_documented_bodies(peer):
    """v1 ``POST /api/v1/hosted/accounts/link`` and v2 ``POST /v2/auth/link``: an
    undocumented or missing field gets the documented 400 (so Frontdesk's bodies are
    checked against the documentation, not against the stand-in's leniency)."""
    import httpx

    key = {"X-API-KEY": API_KEY}
    v1 = {
        "type": "create",
        "providers": ["LINKEDIN"],
        "api_url": peer.dsn,
        "expiresOn": "2030-01-01T00:00:00.000Z",
    }
    url1 = f"{peer.dsn}/api/v1/hosted/accounts/link"
    assert httpx.post(url1, json=v1, headers=key).status_code == 200
    for body, kind in (
        ({**v1, "redirect_uri": "https://x.test/"}, "errors/invalid_parameters"),  # v2's name
        ({k: v for k, v in v1.items() if k != "expiresOn"}, "errors/missing_parameters"),
        ({**v1, "expiresOn": "2030-01-01T00:00:00Z"}, "errors/invalid_parameters"),  # no ms
        ({**v1, "type": "reconnect"}, "errors/missing_parameters"),  # no reconnect_account
    ):
        answer = httpx.post(url1, json=body, headers=key)
        assert answer.status_code == 400 and answer.json()["type"] == kind, body
    v2 = {
        "providers": ["LINKEDIN"],
        "expires_on": "2030-01-01T00:00:00.000Z",
        "redirect_uri": "https://x.test/back",
        "state": "s",
    }
    url2 = f"{peer.dsn}/v2/auth/link"
    assert httpx.post(url2, json=v2, headers=key).json()["object"] == "AuthLink"
    for body in (
        {**v2, "success_redirect_url": "https://x.test/"},  # v1's name
        {k: v for k, v in v2.items() if k != "redirect_uri"},
        {**v2, "expires_on": "tomorrow"},
    ):
        answer = httpx.post(url2, json=body, headers=key)
        assert answer.status_code == 400 and answer.json()["type"] == "api/invalid_parameters"


def test_a_reconnect_unipile_refuses_says_why_on_the_accounts_page(owner, peer):
    channel = make_channel(owner, peer, account_id="acc-li-1")
    channel.status = ChannelStatus.NEEDS_RECONNECT
    channel.save()
    peer.fail_next("/api/v1/hosted", 401, "Invalid API key", kind="errors/invalid_credentials")
    client = logged_in(owner)
    answer = client.post(f"/connectors/unipile/{channel.pk}/reconnect/")
    assert answer.status_code == 302 and answer["Location"] == f"/connectors/unipile/{channel.pk}/"
    page = client.get(answer["Location"]).content.decode()
    assert "Unipile refused: Invalid API key" in page
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT


def test_a_replayed_notify_makes_no_second_channel(owner, peer, django_capture_on_commit_callbacks):
    """Unipile (or someone who saw the call) sends the same notify again before the browser
    is back: the first made the channel, the second is refused and the page still says it
    is connected."""
    client = logged_in(owner)
    hosted_url(client, start(client, peer))
    [link] = peer.hosted_links
    body = {"status": "CREATION_SUCCESS", "account_id": "acc-once", "name": link["name"]}
    assert notify(link, body, django_capture_on_commit_callbacks).status_code == 200
    replay = notify(link, body, django_capture_on_commit_callbacks)
    assert replay.status_code == 400 and replay.json()["detail"] == INVALID_STATE
    assert ChannelAccount.objects.filter(provider="unipile").count() == 1
    said = flash(client, client.get(local(link["success_redirect_url"])))
    assert said == "Sales linkedin is connected; its messages are being imported."
    assert ChannelAccount.objects.filter(provider="unipile").count() == 1


def test_a_v1_notify_for_a_v2_attempt_is_refused(owner, peer):
    """A v2 attempt is confirmed by the browser's return, checked with Unipile: a notify
    call for it, even one carrying the right key, makes nothing, and the return still does."""
    from frontdesk.connectors.unipile.connect import notify_key
    from frontdesk.connectors.unipile.tests.test_v2 import with_query

    client = logged_in(owner)
    hosted_url(client, start(client, peer, version="v2"))
    [link] = peer.hosted_links
    state = PendingConnection.objects.get().state
    forged = Client().post(
        f"/connectors/unipile/notify/?state={state}&key={notify_key(state)}",
        json.dumps({"status": "CREATION_SUCCESS", "account_id": "acc-v2"}),
        content_type="application/json",
    )
    assert forged.status_code == 400
    assert forged.json()["detail"] == "a v2 account is confirmed by its redirect, not by notify_url"
    assert not ChannelAccount.objects.exists()
    peer.add_account("acc-v2")
    back = local(with_query(link["redirect_uri"], state=state, account_id="acc-v2"))
    assert flash(client, client.get(back)).startswith("Sales linkedin is connected")
    assert ChannelAccount.objects.get().config["account_id"] == "acc-v2"


def test_an_account_the_workspace_already_has_is_refused(
    owner, peer, django_capture_on_commit_callbacks
):
    """The same Unipile account connected a second time (v1 notify): refused in words, the
    first channel unchanged; once that channel is removed, the account connects again on it."""
    from frontdesk.inbox.actions.channel import remove_channel

    client = logged_in(owner)
    hosted_url(client, start(client, peer, name="First"))
    body = {"status": "CREATION_SUCCESS", "account_id": "acc-dup"}
    assert (
        notify(peer.hosted_links[-1], body, django_capture_on_commit_callbacks).status_code == 200
    )
    first = ChannelAccount.objects.get()
    said = flash(client, client.get(local(peer.hosted_links[-1]["success_redirect_url"])))
    assert said == "First is connected; its messages are being imported."

    hosted_url(client, start(client, peer, name="Second"))
    twice = notify(peer.hosted_links[-1], body)
    assert twice.status_code == 400
    assert twice.json()["detail"] == "This account is already connected here, as First."
    assert list(ChannelAccount.objects.values_list("name", flat=True)) == ["First"]
    waiting = client.get(local(peer.hosted_links[-1]["success_redirect_url"]))
    assert waiting.status_code == 200 and b"Unipile has not confirmed" in waiting.content

    with django_capture_on_commit_callbacks(execute=True):
        remove_channel(first, at_provider=False)
    hosted_url(client, start(client, peer, name="Back"))
    link = peer.hosted_links[-1]
    assert notify(link, body, django_capture_on_commit_callbacks).status_code == 200
    back = ChannelAccount.objects.get()  # the removed channel comes back, not a second one
    assert back.pk == first.pk and back.removed_at is None and back.name == "Back"
    assert flash(client, client.get(local(link["success_redirect_url"]))) == (
        "Back is connected; its messages are being imported."
    )
