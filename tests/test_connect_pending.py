"""Pending connections: reused on a retry, single use, per workspace, expiring; and the CSP of
a connect page allows exactly the provider's consent origin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from frontdesk.inbox.actions.connections import (
    EXPIRED,
    INVALID_STATE,
    claim_pending,
    drop_expired,
    drop_left_connecting,
    start_pending,
)
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, PendingConnection


def begin(membership, **extra):
    return start_pending(
        workspace_id=membership.workspace_id,
        user_id=membership.user_id,
        provider="gmail",
        kind="email",
        **extra,
    )


def test_a_retry_reuses_the_pending_connection_with_a_new_state(owner):
    first = begin(owner, name="Support")
    again = begin(owner, name="Support desk")
    assert again.pk == first.pk and again.state != first.state
    assert PendingConnection.objects.count() == 1
    with pytest.raises(ActionRefused, match="not valid"):
        claim_pending(owner.workspace_id, first.state)  # the older link stopped working
    assert claim_pending(owner.workspace_id, again.state).name == "Support desk"
    with pytest.raises(ActionRefused) as replayed:
        claim_pending(owner.workspace_id, again.state)
    assert str(replayed.value) == INVALID_STATE
    assert ChannelAccount.objects.count() == 0


def test_another_workspaces_state_is_refused(owner, rival):
    pending = begin(owner)
    with pytest.raises(ActionRefused):
        claim_pending(rival.workspace_id, pending.state)
    assert claim_pending(owner.workspace_id, pending.state).name == pending.name


def test_a_pending_connection_expires(owner, settings):
    pending = begin(owner)
    PendingConnection.objects.filter(pk=pending.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ActionRefused) as late:
        claim_pending(owner.workspace_id, pending.state)
    assert str(late.value) == EXPIRED
    stale = begin(owner)
    PendingConnection.objects.filter(pk=stale.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert drop_expired() == 1
    settings.FRONTDESK_CONNECT_PENDING_MINUTES = 5
    fresh = begin(owner)
    assert timedelta(minutes=4) < fresh.expires_at - timezone.now() <= timedelta(minutes=5)


def test_a_new_flow_removes_only_the_channels_an_older_one_left_connecting(owner, rival):
    def channel(membership, name, status=ChannelStatus.CONNECTING, account="", **fields):
        return ChannelAccount.objects.create(
            workspace=membership.workspace,
            name=name,
            status=status,
            config={"account_id": account},
            **{"kind": "linkedin", "provider": "unipile", **fields},
        )

    stuck = channel(owner, "Stuck")
    channel(owner, "Given an account", account="acc-1")
    channel(owner, "Connected", status=ChannelStatus.CONNECTED)
    channel(owner, "Another provider's", kind="email", provider="imap")
    channel(rival, "Another workspace's")

    def left(c):
        return not c.config.get("account_id")

    assert drop_left_connecting(owner.workspace_id, "unipile", left) == 1
    removed = ChannelAccount.objects.filter(removed_at__isnull=False)
    assert [c.name for c in removed] == ["Stuck"]
    stuck.refresh_from_db()
    assert stuck.status == ChannelStatus.DISCONNECTED  # gone from the sidebar
    assert drop_left_connecting(owner.workspace_id, "unipile", left) == 0


def test_the_connect_page_allows_exactly_the_consent_origin(owner, settings):
    settings.FRONTDESK_GMAIL_CLIENT_ID = "client"
    client = Client()
    client.force_login(owner.user)
    policy = client.get("/connectors/email/gmail/connect/")["Content-Security-Policy"]
    assert "form-action 'self' https://accounts.google.com;" in policy + ";"
    zoho = client.get("/connectors/email/zoho/connect/")["Content-Security-Policy"]
    assert "form-action 'self';" in zoho + ";"  # no Zoho client: no consent page to go to
    settings.FRONTDESK_ZOHO_CLIENT_ID = "client"
    zoho = client.get("/connectors/email/zoho/connect/")["Content-Security-Policy"]
    action = next(d for d in zoho.split("; ") if d.startswith("form-action"))
    assert "https://accounts.zoho.eu" in action and "https://accounts.zoho.com" in action
    assert all(s == "'self'" or s.startswith("https://accounts.zoho") for s in action.split()[1:])
    inbox = client.get("/")["Content-Security-Policy"]
    assert "form-action 'self';" in inbox + ";"


def test_run_port_and_host_set_the_base_url_unless_it_is_given(settings, monkeypatch):
    from frontdesk.ops.management.commands._serve import use_base_url

    settings.BASE_URL = settings.BASE_URL  # changed below on an override the test undoes
    settings.CSRF_TRUSTED_ORIGINS = settings.CSRF_TRUSTED_ORIGINS
    # Recorded first, so the test leaves the variable as it found it (use_base_url sets it
    # in os.environ itself; left behind, it sent later servers' links to port 8123).
    monkeypatch.setenv("FRONTDESK_BASE_URL", "")
    monkeypatch.delenv("FRONTDESK_BASE_URL")
    assert use_base_url("0.0.0.0", 8123) == "http://127.0.0.1:8123"
    assert settings.BASE_URL == "http://127.0.0.1:8123"
    assert settings.CSRF_TRUSTED_ORIGINS == ["http://127.0.0.1:8123"]
    monkeypatch.delenv("FRONTDESK_BASE_URL")
    assert use_base_url("::1", 9000) == "http://[::1]:9000"
    monkeypatch.setenv("FRONTDESK_BASE_URL", "https://desk.example.com")
    settings.BASE_URL = "https://desk.example.com"
    assert use_base_url("127.0.0.1", 7000) == "https://desk.example.com"
