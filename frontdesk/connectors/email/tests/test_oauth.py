"""OAuth mailboxes: token refresh before expiry, XOAUTH2 to Dovecot (oauth2 passdb) and SMTP."""

from __future__ import annotations

import time

import pytest

from frontdesk.connectors.email import oauth
from frontdesk.connectors.registry import get_connector
from frontdesk.inbox import credentials
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, Conversation, Message
from frontdesk.inbox.outbox import deliver
from frontdesk.inbox.sync import run_sync


@pytest.fixture
def outlook(settings, oauth_server, dovecot, smtp_server):
    """Point the Outlook preset at the local peers."""
    settings.FRONTDESK_OUTLOOK_TOKEN_URL = f"{oauth_server.url}/token"
    settings.FRONTDESK_OUTLOOK_AUTHORIZE_URL = f"{oauth_server.url}/authorize"
    settings.FRONTDESK_OUTLOOK_CLIENT_ID = oauth_server.client_id
    settings.FRONTDESK_OUTLOOK_CLIENT_SECRET = oauth_server.client_secret
    settings.FRONTDESK_OUTLOOK_IMAP_HOST = "127.0.0.1"
    settings.FRONTDESK_OUTLOOK_IMAP_PORT = dovecot.port
    settings.FRONTDESK_OUTLOOK_IMAP_SECURITY = "none"
    settings.FRONTDESK_OUTLOOK_SMTP_HOST = "127.0.0.1"
    settings.FRONTDESK_OUTLOOK_SMTP_PORT = smtp_server.port
    settings.FRONTDESK_OUTLOOK_SMTP_SECURITY = "none"
    return settings


@pytest.fixture
def oauth_channel(owner, outlook, oauth_server, mailbox):
    refresh_token = oauth_server.issue(mailbox.address)
    setup = get_connector("outlook").setup(
        {"address": mailbox.address, "refresh_token": refresh_token}
    )
    channel = ChannelAccount(
        workspace=owner.workspace,
        kind="email",
        provider="outlook",
        name="Outlook",
        config=setup.config,
    )
    channel.credentials = setup.credentials
    channel.save()
    return channel


def refreshes(oauth_server, refresh_token):
    return [
        r
        for r in oauth_server.token_requests
        if r.get("grant_type") == "refresh_token" and r.get("refresh_token") == refresh_token
    ]


def test_xoauth2_imap_sync_and_smtp_reply_with_refresh_before_expiry(
    oauth_channel, oauth_server, mailbox, smtp_server, mail, owner
):
    refresh_token = oauth_channel.credentials["refresh_token"]
    mailbox.deliver(mail("Hello over OAuth"))

    run_sync(oauth_channel)
    oauth_channel.refresh_from_db()

    assert oauth_channel.status == "connected", oauth_channel.last_error
    assert Message.objects.get().text == "Hello over OAuth"
    assert "method=XOAUTH2" in mailbox.dovecot.log()
    assert len(refreshes(oauth_server, refresh_token)) == 1
    creds = oauth_channel.credentials
    assert creds["refresh_token"] == refresh_token
    assert creds["access_token"] not in oauth_channel.credentials_encrypted  # encrypted at rest

    # a token far from expiry is reused: no new refresh
    message = queue_reply(owner.user, Conversation.objects.get(), "Reply over OAuth")
    assert deliver(message.pk) == "sent"
    assert mailbox.address in smtp_server.xoauth2_logins
    assert len(refreshes(oauth_server, refresh_token)) == 1
    # (Outlook is not Gmail: the reply was filed in Sent with an XOAUTH2 IMAP login)
    assert len(mailbox.folder("Sent")) == 1

    # close to expiry: refreshed before use
    creds["expires_at"] = time.time() + 30
    oauth_channel.credentials = creds
    oauth_channel.save()
    run_sync(oauth_channel)
    oauth_channel.refresh_from_db()
    assert len(refreshes(oauth_server, refresh_token)) == 2
    assert oauth_channel.credentials["access_token"] != creds["access_token"]
    assert oauth_channel.credentials["expires_at"] > time.time() + 3000


def test_a_revoked_grant_needs_reconnection(oauth_channel, oauth_server):
    oauth_server.revoke(oauth_channel.credentials["refresh_token"])
    run_sync(oauth_channel)
    oauth_channel.refresh_from_db()
    assert oauth_channel.status == "needs_reconnect"
    assert "invalid_grant" in oauth_channel.last_error


def test_a_token_the_server_refuses_is_refreshed_once_and_retried(
    oauth_channel, oauth_server, mailbox, mail
):
    """XOAUTH2 is really checked by Dovecot: a token it does not know fails the first login."""
    refresh_token = oauth_channel.credentials["refresh_token"]
    creds = oauth_channel.credentials
    creds.update(access_token="at-made-up", expires_at=time.time() + 3600)
    oauth_channel.credentials = creds
    oauth_channel.save()
    mailbox.deliver(mail("still arrives"))
    run_sync(oauth_channel)
    oauth_channel.refresh_from_db()
    assert oauth_channel.status == "connected", oauth_channel.last_error
    assert len(refreshes(oauth_server, refresh_token)) == 1
    assert Message.objects.get().text == "still arrives"


def test_authorization_code_with_pkce_and_state(outlook, oauth_server):
    import httpx

    request = oauth.authorization_request("outlook", "http://testserver/cb", login_hint="a@b.test")
    assert "code_challenge_method=S256" in request.url and f"state={request.state}" in request.url
    consent = httpx.get(request.url, follow_redirects=False)
    assert consent.status_code == 302
    location = httpx.URL(consent.headers["location"])
    assert location.params["state"] == request.state
    with pytest.raises(oauth.OAuthError):  # a wrong verifier is refused (PKCE)
        oauth.exchange_code(
            "outlook", location.params["code"], "wrong-verifier", "http://testserver/cb"
        )
    request = oauth.authorization_request("outlook", "http://testserver/cb")
    location = httpx.URL(httpx.get(request.url).headers["location"])
    tokens = oauth.exchange_code(
        "outlook", location.params["code"], request.code_verifier, "http://testserver/cb"
    )
    assert tokens["refresh_token"].startswith("rt-")
    assert tokens["access_token"].startswith("at-")


def test_smtp_refreshes_a_refused_token_once_then_sends(
    oauth_channel, oauth_server, smtp_server, mailbox, mail, owner
):
    refresh_token = oauth_channel.credentials["refresh_token"]
    mailbox.deliver(mail("hello"))
    run_sync(oauth_channel)
    oauth_channel.refresh_from_db()
    creds = oauth_channel.credentials
    creds.update(access_token="at-made-up", expires_at=time.time() + 3600)
    oauth_channel.credentials = creds
    oauth_channel.save()
    message = queue_reply(owner.user, Conversation.objects.get(), "still goes out")
    assert deliver(message.pk) == "sent"
    assert len(refreshes(oauth_server, refresh_token)) == 2
    oauth_server.revoke(refresh_token)
    creds = oauth_channel.credentials
    creds["expires_at"] = 0
    oauth_channel.credentials = creds
    oauth_channel.save()
    second = queue_reply(owner.user, Conversation.objects.get(), "cannot go")
    assert deliver(second.pk) == "failed"
    oauth_channel.refresh_from_db()
    assert oauth_channel.status == "needs_reconnect"


def _expire(channel: ChannelAccount) -> None:
    creds = channel.credentials
    creds.update(access_token="at-old", expires_at=time.time() - 10)
    channel.credentials = creds
    channel.save()


def _refresh_concurrently(channel: ChannelAccount, monkeypatch, threads: int = 2) -> list:
    """``threads`` workers, each with its own copy of the channel, all needing a new token
    at the same moment; the token endpoint is slowed so their refreshes would overlap."""
    import threading

    from django.db import connections

    real = oauth._token_request

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(oauth, "_token_request", slow)
    start = threading.Barrier(threads)
    results: list = [None] * threads

    def worker(n: int) -> None:
        try:
            mine = ChannelAccount.objects.get(pk=channel.pk)
            start.wait()
            results[n] = oauth.access_token(mine)
        except Exception as exc:
            results[n] = exc
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(15)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_do_not_clobber_each_other(oauth_channel, oauth_server, monkeypatch):
    """With a provider that rotates refresh tokens, a second refresh with the old token is
    refused: the refreshes of one mailbox must take turns and share the result."""
    _expire(oauth_channel)
    first_refresh_token = oauth_channel.credentials["refresh_token"]
    before = len(oauth_server.token_requests)
    oauth_server.rotate = True
    try:
        results = _refresh_concurrently(oauth_channel, monkeypatch, threads=3)
    finally:
        oauth_server.rotate = False
    assert all(isinstance(r, str) and r.startswith("at-") for r in results), results
    assert len(set(results)) == 1  # every thread uses the one new token
    assert len(oauth_server.token_requests) - before == 1  # one refresh, not three
    oauth_channel.refresh_from_db()
    stored = oauth_channel.credentials
    assert stored["access_token"] == results[0]
    assert stored["refresh_token"] != first_refresh_token  # the rotated one was kept ...
    assert stored["refresh_token"] in oauth_server.refresh_tokens  # ... and it works


@pytest.mark.django_db(transaction=True)
def test_between_processes_the_row_lock_makes_refreshes_take_turns(
    oauth_channel, oauth_server, monkeypatch
):
    """As above without the in-process lock (two worker processes): on PostgreSQL the
    channel row is locked during the refresh. Embedded mode (SQLite) refreshes only in its
    one worker process (the web processes never refresh a saved mailbox's token)."""
    from contextlib import nullcontext

    from django.db import connection

    if not connection.features.has_select_for_update:
        pytest.skip("SQLite: no row locks (embedded mode refreshes in one worker process)")
    monkeypatch.setattr(credentials, "_refresh_lock", lambda channel_id: nullcontext())
    _expire(oauth_channel)
    oauth_server.rotate = True
    try:
        results = _refresh_concurrently(oauth_channel, monkeypatch)
    finally:
        oauth_server.rotate = False
    assert all(isinstance(r, str) for r in results), results
    assert results[0] == results[1]
    oauth_channel.refresh_from_db()
    assert oauth_channel.credentials["refresh_token"] in oauth_server.refresh_tokens


def test_a_refresh_keeps_a_grant_stored_by_a_reconnect_meanwhile(
    oauth_channel, oauth_server, mailbox, monkeypatch
):
    _expire(oauth_channel)
    reconnected = oauth_server.issue(mailbox.address)
    real = oauth._token_request

    def reconnect_during_refresh(*args, **kwargs):
        answer = real(*args, **kwargs)
        row = ChannelAccount.objects.get(pk=oauth_channel.pk)  # the connect page saves
        row.credentials = {"refresh_token": reconnected}
        row.save()
        return answer

    monkeypatch.setattr(oauth, "_token_request", reconnect_during_refresh)
    token = oauth.access_token(oauth_channel)

    oauth_channel.refresh_from_db()
    stored = oauth_channel.credentials
    assert stored["refresh_token"] == reconnected  # not overwritten by the old grant
    assert stored["access_token"] == token and oauth_server.valid(mailbox.address, token)
