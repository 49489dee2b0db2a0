"""Remove channel undoes at the provider what connecting set up, where the provider documents
a way (Connector.revoke): Unipile v1 deletes the account, Google and Zoho revoke the grant,
Meta unsubscribes the app from the WhatsApp Business Account, Unipile v2 drops the webhook
endpoint it no longer needs. Whatever the provider answers, the channel is removed here;
an outage is logged, said on Apps & integrations and kept as the removed channel's error."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from frontdesk.connectors.email.tests.oauth import OAuthServer
from frontdesk.connectors.registry import get_connector
from frontdesk.connectors.unipile.tests.peer import UnipilePeer
from frontdesk.connectors.unipile.tests.test_connector import make_channel
from frontdesk.connectors.unipile.tests.test_v2 import v2_channel
from frontdesk.connectors.whatsapp_cloud.tests.conftest import graph as graph
from frontdesk.connectors.whatsapp_cloud.tests.conftest import make_whatsapp_channel
from frontdesk.inbox.models import ChannelAccount
from tests.fixtures import token_client


@pytest.fixture
def peer():
    server = UnipilePeer()
    yield server
    server.close()


@pytest.fixture
def oauth_server():
    server = OAuthServer()
    yield server
    server.close()


def remove_in_the_app(membership, channel) -> list[tuple[str, str]]:
    """Click Remove on Apps & integrations; what the next page says (level, text)."""
    web = Client()
    web.force_login(membership.user)
    answer = web.post(f"/apps/{channel.pk}/remove")
    assert answer.status_code == 302
    return [(m.level_tag, str(m)) for m in get_messages(answer.wsgi_request)]


def removed(channel) -> ChannelAccount:
    channel.refresh_from_db()
    assert channel.removed_at is not None and channel.credentials == {}
    return channel


# --- Unipile ----------------------------------------------------------------------------------
def test_removing_a_v1_channel_deletes_its_account_at_unipile(owner, peer):
    peer.add_account("acc-li-1")
    channel = make_channel(owner, peer, account_id="acc-li-1")
    said = remove_in_the_app(owner, channel)
    deletes = peer.requests_to("DELETE", "/api/v1/accounts/")
    assert [r.path for r in deletes] == ["/api/v1/accounts/acc-li-1"]
    assert deletes[0].headers["x-api-key"] == channel.credentials["api_key"]
    assert "acc-li-1" not in peer.accounts
    assert said == [
        (
            "success",
            "linkedin acc-li-1 is removed. Its conversations stay in the inbox, marked as from"
            " a removed channel. Unipile was asked to delete the LinkedIn account.",
        )
    ]
    assert removed(channel).last_error == ""


def test_an_account_unipile_no_longer_has_is_removed_quietly(owner, peer):
    channel = make_channel(owner, peer, account_id="acc-gone")  # not in the stand-in: 404
    said = remove_in_the_app(owner, channel)
    assert [level for level, _ in said] == ["success"]
    assert len(peer.requests_to("DELETE", "/api/v1/accounts/")) == 1
    assert removed(channel).last_error == ""


def test_a_unipile_outage_never_keeps_the_channel_and_is_said(owner, peer, caplog):
    peer.add_account("acc-li-1")
    channel = make_channel(owner, peer, account_id="acc-li-1")
    peer.fail_next("/api/v1/accounts/", 503, "Service unavailable", "errors/service_unavailable")
    said = remove_in_the_app(owner, channel)
    assert said[0][0] == "success" and "Unipile was asked" not in said[0][1]
    assert said[1] == (
        "warning",
        "LinkedIn (Unipile) was not told that linkedin acc-li-1 is gone (Unipile answered HTTP"
        " 503: Service unavailable). Remove the account, or Frontdesk's access to it, in the"
        " provider's own settings.",
    )
    assert removed(channel).last_error == (
        "Not undone at the provider: Unipile answered HTTP 503: Service unavailable"
    )
    assert "acc-li-1" in peer.accounts  # nothing was deleted there
    assert "its provider was not told" in caplog.text
    # The REST API lists it among the removed channels, with the reason.
    listed = token_client(owner).get("/api/v1/channels?removed=true").json()["items"]
    assert [(c["id"], c["removed"], c["last_error"]) for c in listed] == [
        (channel.pk, True, channel.last_error)
    ]


def test_unipile_out_of_reach_is_the_same_through_the_api(owner, peer):
    channel = make_channel(owner, peer, account_id="acc-li-1")
    peer.close()  # nothing answers at the DSN any more
    assert token_client(owner).delete(f"/api/v1/channels/{channel.pk}").status_code == 204
    assert removed(channel).last_error.startswith("Not undone at the provider: could not reach")


def test_the_same_account_on_another_live_channel_is_not_deleted(owner, rival, peer):
    peer.add_account("acc-li-1")
    first = make_channel(owner, peer, account_id="acc-li-1")
    make_channel(rival, peer, account_id="acc-li-1")
    remove_in_the_app(owner, first)
    assert peer.requests_to("DELETE", "/") == []
    assert "acc-li-1" in peer.accounts


def test_v2_drops_the_webhook_endpoint_once_no_channel_uses_it_and_keeps_the_account(owner, peer):
    peer.add_account("acc-li-1")
    peer.add_account("acc-wa", network="whatsapp")
    first = v2_channel(owner, peer, account_id="acc-li-1")
    second = v2_channel(owner, peer, account_id="acc-wa", kind="whatsapp")
    endpoint = first.credentials["webhook_endpoint_id"]
    assert [e["id"] for e in peer.endpoints] == [endpoint]

    assert remove_in_the_app(owner, first)[0][0] == "success"
    assert peer.requests_to("DELETE", "/") == []  # the other channel still takes its events
    said = remove_in_the_app(owner, second)
    assert [r.path for r in peer.requests_to("DELETE", "/")] == [
        f"/v2/webhooks/endpoints/{endpoint}"
    ]
    assert peer.endpoints == []
    assert "the account itself stays in your Unipile dashboard" in said[0][1]
    # No undocumented account removal is guessed: both accounts are still at Unipile.
    assert {"acc-li-1", "acc-wa"} <= set(peer.accounts)


# --- OAuth mailboxes --------------------------------------------------------------------------
def oauth_mailbox(membership, provider: str, refresh_token: str, **config) -> ChannelAccount:
    setup = get_connector(provider).setup(
        {"address": "sales@example.test", "refresh_token": refresh_token, **config}
    )
    channel = ChannelAccount(
        workspace=membership.workspace,
        kind="email",
        provider=provider,
        name=f"{provider} mailbox",
        config=setup.config,
    )
    channel.credentials = setup.credentials
    channel.save()
    return channel


def test_removing_a_gmail_channel_revokes_its_grant_at_google(owner, oauth_server, settings):
    settings.FRONTDESK_GMAIL_REVOKE_URL = f"{oauth_server.url}/revoke"
    token = oauth_server.issue("sales@example.test")
    channel = oauth_mailbox(owner, "gmail", token)
    said = remove_in_the_app(owner, channel)
    assert oauth_server.revocations == [("/revoke", token)]  # the refresh token, form-encoded
    assert token not in oauth_server.refresh_tokens
    assert said[0][1].endswith("Gmail revoked Frontdesk's access to the mailbox.")
    assert removed(channel).last_error == ""


def test_removing_a_zoho_channel_revokes_its_grant_in_its_data_centre(
    owner, oauth_server, settings
):
    settings.FRONTDESK_ZOHO_REVOKE_URL = f"{oauth_server.url}/oauth/v2/token/revoke"
    token = oauth_server.issue("sales@example.test")
    channel = oauth_mailbox(owner, "zoho", token, region="eu")
    remove_in_the_app(owner, channel)
    assert oauth_server.revocations == [("/oauth/v2/token/revoke", token)]  # in the query
    assert token not in oauth_server.refresh_tokens


def test_a_grant_already_revoked_at_the_provider_is_no_problem(owner, oauth_server, settings):
    settings.FRONTDESK_GMAIL_REVOKE_URL = f"{oauth_server.url}/revoke"
    channel = oauth_mailbox(owner, "gmail", "rt-the-user-revoked-already")  # unknown: 400
    said = remove_in_the_app(owner, channel)
    assert [level for level, _ in said] == ["success"]
    assert removed(channel).last_error == ""


def test_outlook_documents_no_revocation_so_nothing_is_called(owner, oauth_server, settings):
    settings.FRONTDESK_GMAIL_REVOKE_URL = f"{oauth_server.url}/revoke"
    channel = oauth_mailbox(owner, "outlook", oauth_server.issue("sales@example.test"))
    said = remove_in_the_app(owner, channel)
    assert oauth_server.revocations == []
    assert said[0][1].endswith("marked as from a removed channel.")


def test_google_out_of_reach_never_keeps_the_mailbox(owner, settings):
    gone = OAuthServer()
    settings.FRONTDESK_GMAIL_REVOKE_URL = f"{gone.url}/revoke"
    gone.close()
    channel = oauth_mailbox(owner, "gmail", "rt-any")
    said = remove_in_the_app(owner, channel)
    assert said[1][0] == "warning" and said[1][1].startswith(
        "Gmail was not told that gmail mailbox is gone (could not reach Gmail: "
    )
    assert removed(channel).last_error.startswith("Not undone at the provider: could not reach")


# --- WhatsApp Cloud API -----------------------------------------------------------------------
def test_removing_a_whatsapp_channel_unsubscribes_the_app_from_the_waba(owner, graph):
    channel = make_whatsapp_channel(owner, graph)
    graph.subscribed.append(graph.waba_id)
    said = remove_in_the_app(owner, channel)
    calls = graph.calls_to("/subscribed_apps", method="DELETE")
    assert [c.path for c in calls] == [f"/v21.0/{graph.waba_id}/subscribed_apps"]
    assert calls[0].headers["authorization"] == f"Bearer {graph.token}"
    assert graph.subscribed == []
    assert said[0][1].endswith(
        "Meta no longer sends this WhatsApp Business Account's messages to Frontdesk."
    )


def test_a_waba_another_channel_still_uses_stays_subscribed(owner, graph):
    first = make_whatsapp_channel(owner, graph)
    make_whatsapp_channel(owner, graph, name="Second number", phone_number_id="1099")
    remove_in_the_app(owner, first)
    assert graph.calls_to("/subscribed_apps", method="DELETE") == []


# --- the REST API shows what was removed ------------------------------------------------------
def test_the_api_marks_removed_channels_and_their_conversations(owner, channel, inbound):
    conversation = inbound("Hello", handle="ana").conversation
    api = token_client(owner)
    first = api.get(f"/api/v1/conversations/{conversation.pk}").json()
    assert first["channel"]["removed"] is False
    assert api.get("/api/v1/channels").json()["items"][0]["removed"] is False
    assert api.delete(f"/api/v1/channels/{channel.pk}").status_code == 204

    after = api.get(f"/api/v1/conversations/{conversation.pk}").json()
    assert after["channel"] == {
        "id": channel.pk,
        "kind": channel.kind,
        "provider": channel.provider,
        "removed": True,
    }
    listed = api.get("/api/v1/conversations").json()["items"]
    assert [c["channel"]["removed"] for c in listed if c["id"] == conversation.pk] == [True]
    assert api.get("/api/v1/channels").json()["items"] == []
    gone = api.get("/api/v1/channels?removed=true").json()["items"]
    assert [(c["id"], c["removed"], c["status"]) for c in gone] == [
        (channel.pk, True, "disconnected")
    ]
    assert gone[0]["removed_at"]
