"""The mailbox connect page: test connection, save, reconnect, and the OAuth round trip."""

from __future__ import annotations

import html
import re

import httpx
from django.test import Client

from frontdesk.connectors.email.tests.dovecot import free_port
from frontdesk.inbox.models import ChannelAccount


def logged_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def form(mailbox, smtp_server, **change):
    return {
        "name": "Support",
        "address": mailbox.address,
        "imap_host": "127.0.0.1",
        "imap_port": mailbox.dovecot.port,
        "imap_security": "none",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_server.port,
        "smtp_security": "none",
        "username": mailbox.address,
        "password": mailbox.password,
        **change,
    }


def test_apps_page_offers_every_mailbox_provider(owner):
    page = logged_in(owner).get("/apps/").content.decode()
    for provider in ("imap", "gmail", "outlook", "zoho"):
        assert f"/connectors/email/{provider}/connect/" in page


def alert(response) -> str:
    """The error the page shows (what the admin reads)."""
    page = response.content.decode()
    return html.unescape(re.search(r'id="connect-error">(.*?)</p>', page, re.S).group(1))


def test_test_connection_says_what_failed_then_saves(owner, mailbox, smtp_server):
    client = logged_in(owner)
    url = "/connectors/email/imap/connect/"
    assert client.get(url).status_code == 200

    wrong = client.post(url, {**form(mailbox, smtp_server, password="nope"), "action": "test"})
    assert wrong.status_code == 400
    said = alert(wrong)
    assert "refused the login" in said and "Check the user name and the password" in said
    closed = client.post(
        url, {**form(mailbox, smtp_server, smtp_port=free_port()), "action": "test"}
    )
    said = alert(closed)
    assert "SMTP: cannot connect" in said and "Check the host and the port" in said
    assert "Errno" not in said and "b'" not in said
    dns = client.post(
        url,
        {
            **form(mailbox, smtp_server, imap_host="no-such-host.invalid", imap_security="tls"),
            "action": "test",
        },
    )
    said = alert(dns)
    assert "IMAP: cannot resolve no-such-host.invalid" in said and "host name" in said
    assert "Errno" not in said
    plain = client.post(
        url, {**form(mailbox, smtp_server, imap_host="mail.acme.test"), "action": "test"}
    ).content.decode()
    assert "only allowed for a loopback host" in plain
    ok = client.post(url, {**form(mailbox, smtp_server), "action": "test"})
    assert ok.status_code == 200
    assert "IMAP login works (folders: INBOX, Sent); SMTP login works." in ok.content.decode()
    assert ChannelAccount.objects.count() == 0  # testing saves nothing

    saved = client.post(url, {**form(mailbox, smtp_server), "action": "save"})
    assert saved.status_code == 302
    channel = ChannelAccount.objects.get()
    assert (channel.provider, channel.status) == ("imap", "connected")
    assert channel.credentials == {"password": mailbox.password}


def test_reconnect_keeps_the_sync_position(owner, email_channel, mailbox, smtp_server):
    email_channel.status = "needs_reconnect"
    email_channel.sync_state = {"folders": {"inbox": {"high": 42}}}
    email_channel.save()
    client = logged_in(owner)
    url = f"/connectors/email/imap/connect/?channel={email_channel.pk}"
    page = client.get(url).content.decode()
    assert "Reconnect Support mailbox" in page
    response = client.post(url, {**form(mailbox, smtp_server), "action": "save"})
    assert response.status_code == 302
    email_channel.refresh_from_db()
    assert email_channel.status == "connected"
    assert email_channel.sync_state == {"folders": {"inbox": {"high": 42}}}
    assert ChannelAccount.objects.count() == 1


def test_agents_cannot_connect_mailboxes(agent):
    assert logged_in(agent).get("/connectors/email/imap/connect/").status_code == 403


def test_oauth_round_trip_with_pkce_and_state(owner, settings, oauth_server, mailbox):
    settings.FRONTDESK_GMAIL_AUTHORIZE_URL = f"{oauth_server.url}/authorize"
    settings.FRONTDESK_GMAIL_TOKEN_URL = f"{oauth_server.url}/token"
    settings.FRONTDESK_GMAIL_CLIENT_ID = oauth_server.client_id
    settings.FRONTDESK_GMAIL_CLIENT_SECRET = oauth_server.client_secret
    client = logged_in(owner)
    url = "/connectors/email/gmail/connect/"
    assert "Connect Gmail" in client.get(url).content.decode()

    start = client.post(url, {"action": "oauth", "address": mailbox.address, "name": "Gmail"})
    assert start.status_code == 302
    consent = httpx.get(start["Location"], follow_redirects=False)  # the user approves
    back = httpx.URL(consent.headers["location"])
    assert back.path == "/connectors/email/oauth/callback/"

    forged = client.get(back.path, {"code": back.params["code"], "state": "forged"})
    assert forged.status_code == 400
    assert ChannelAccount.objects.count() == 0

    start = client.post(url, {"action": "oauth", "address": mailbox.address, "name": "Gmail"})
    back = httpx.URL(httpx.get(start["Location"]).headers["location"])
    done = client.get(back.path, dict(back.params))
    assert done.status_code == 302
    channel = ChannelAccount.objects.get()
    assert (channel.provider, channel.config["auth"], channel.name) == ("gmail", "oauth", "Gmail")
    assert channel.credentials["refresh_token"].startswith("rt-")
    assert channel.credentials["refresh_token"] not in channel.credentials_encrypted


def test_without_an_oauth_client_the_page_offers_an_app_password(owner):
    page = logged_in(owner).get("/connectors/email/outlook/connect/").content.decode()
    assert "App password" in page and "No OAuth client is configured" in page
