"""The WhatsApp connect page: manual form, "Test connection", save, reconnect."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from frontdesk.connectors.whatsapp_cloud.tests.conftest import make_whatsapp_channel
from frontdesk.inbox.models import ChannelAccount
from tests.fixtures import PASSWORD
from tests.webhook_client import WebhookClient

URL = "/apps/whatsapp-cloud/connect/"


def _login(membership) -> Client:
    client = Client()
    assert client.login(username=membership.user.email, password=PASSWORD)
    return client


def _form(graph, **over):
    return {
        "name": "Support line",
        "phone_number_id": graph.phone_number_id,
        "waba_id": graph.waba_id,
        "access_token": graph.token,
        "app_secret": "app-secret",
        "verify_token": "vt-123",
        "graph_url": graph.url,
        "mark_read": "on",
        **over,
    }


def test_the_page_shows_the_webhook_url_and_a_generated_verify_token(owner, settings):
    response = _login(owner).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{settings.BASE_URL}/webhooks/whatsapp/" in page
    assert 'name="verify_token" value="' in page
    token = page.split('name="verify_token" value="')[1].split('"')[0]
    assert len(token) >= 24


def test_test_connection_shows_the_number_without_saving(owner, graph):
    response = _login(owner).post(URL, _form(graph, action="test"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Connection works." in page
    assert graph.display_phone_number in page
    assert "Acme Support" in page
    assert "GREEN" in page
    assert not ChannelAccount.objects.exists()


def test_test_connection_shows_metas_exact_error(owner, graph):
    response = _login(owner).post(URL, _form(graph, access_token="expired", action="test"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Meta refused" in page
    assert "error 190" in page
    assert "fbtrace_id" in page


def test_save_stores_a_connected_channel_with_encrypted_secrets_and_templates(owner, graph):
    graph.templates = [
        {
            "name": "hello_world",
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hello World"}],
        }
    ]
    response = _login(owner).post(URL, _form(graph, action="save"))
    assert response.status_code == 302
    channel = ChannelAccount.objects.get()
    assert (channel.provider, channel.kind, channel.status) == (
        "whatsapp_cloud",
        "whatsapp",
        "connected",
    )
    assert channel.workspace == owner.workspace
    assert channel.credentials == {
        "access_token": graph.token,
        "app_secret": "app-secret",
        "verify_token": "vt-123",
    }
    assert "app-secret" not in channel.credentials_encrypted
    assert [t["name"] for t in channel.sync_state["templates"]] == ["hello_world"]
    assert channel.config["mark_read"] is True


def test_a_refused_token_is_not_saved(owner, graph):
    response = _login(owner).post(URL, _form(graph, access_token="nope", action="save"))
    assert response.status_code == 400
    assert not ChannelAccount.objects.exists()


def test_reconnect_replaces_the_token_and_keeps_the_blank_secret(owner, graph):
    channel = make_whatsapp_channel(owner, graph)
    channel.status = "needs_reconnect"
    channel.credentials = {**channel.credentials, "access_token": "old"}
    channel.save()
    stored_verify_token = channel.credentials["verify_token"]
    client = _login(owner)
    page = client.get(f"{URL}?channel={channel.pk}").content.decode()
    assert "Reconnect WhatsApp" in page
    assert graph.token not in page
    assert channel.credentials["verify_token"] not in page  # stored encrypted, never shown
    assert "leave blank to keep the stored verify token" in page
    response = client.post(
        f"{URL}?channel={channel.pk}",
        _form(graph, app_secret="", verify_token="", action="save"),
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.status == "connected"
    assert channel.credentials["access_token"] == graph.token
    assert channel.credentials["app_secret"] == "app-secret-0123456789"
    assert channel.credentials["verify_token"] == stored_verify_token
    assert ChannelAccount.objects.count() == 1


def test_agents_and_other_workspaces_cannot_use_it(agent, rival, owner, graph):
    assert _login(agent).get(URL).status_code == 403
    channel = make_whatsapp_channel(owner, graph)
    assert _login(rival).get(f"{URL}?channel={channel.pk}").status_code == 404
    assert Client().get(URL).status_code == 302


# --- Embedded Signup --------------------------------------------------------------------------


@pytest.fixture
def meta_app(settings, graph):
    settings.FRONTDESK_META_APP_ID = graph.app_id
    settings.FRONTDESK_META_APP_SECRET = graph.app_secret
    settings.FRONTDESK_META_CONFIG_ID = "998877"
    settings.FRONTDESK_META_VERIFY_TOKEN = "app-level-verify"
    settings.FRONTDESK_WHATSAPP_GRAPH_URL = graph.url
    return settings


def test_embedded_signup_is_only_offered_when_a_meta_app_is_configured(owner, graph, settings):
    settings.FRONTDESK_META_APP_ID = ""
    page = _login(owner).get(URL)
    assert 'id="wa-embedded-signup"' not in page.content.decode()
    assert "connect.facebook.net" not in page["Content-Security-Policy"]


def test_embedded_signup_button_and_its_csp(owner, meta_app):
    page = _login(owner).get(URL)
    html = page.content.decode()
    assert 'id="wa-embedded-signup"' in html
    assert 'data-config-id="998877"' in html
    script = re.search(r'<script src="([^"]+/embedded-signup\.js)"', html)
    assert (
        script and "FB.login" in b"".join(_login(owner).get(script[1]).streaming_content).decode()
    )
    policy = page["Content-Security-Policy"]
    assert "script-src 'self' https://connect.facebook.net;" in policy
    assert "frame-src 'self' https://www.facebook.com https://web.facebook.com;" in policy
    assert "*" not in policy.split("connect-src")[1].split(";")[0]  # exact origins only
    assert page["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"  # the popup answers
    # Only that page: the inbox keeps the strict policy.
    apps = _login(owner).get("/apps/")
    assert "facebook" not in apps["Content-Security-Policy"]
    assert apps["Cross-Origin-Opener-Policy"] == "same-origin"


def test_embedded_signup_exchanges_the_code_subscribes_and_registers(owner, graph, meta_app):
    code = graph.issue_code()
    response = _login(owner).post(
        "/apps/whatsapp-cloud/embedded-signup/",
        {"code": code, "waba_id": graph.waba_id, "phone_number_id": graph.phone_number_id},
    )
    assert response.status_code == 302
    channel = ChannelAccount.objects.get()
    assert channel.workspace == owner.workspace
    assert channel.status == "connected"
    assert channel.name == f"WhatsApp {graph.display_phone_number}"
    assert channel.config["graph_url"] == graph.url
    credentials = channel.credentials
    assert credentials["access_token"] == graph.token  # what the code was exchanged for
    assert credentials["app_secret"] == graph.app_secret
    assert credentials["verify_token"] == "app-level-verify"
    assert graph.subscribed == [graph.waba_id]
    assert graph.registered == {graph.phone_number_id: credentials["pin"]}
    [exchange] = [c for c in graph.calls if c.path.endswith("/oauth/access_token")]
    assert exchange.query["client_secret"] == [graph.app_secret]
    assert "authorization" not in exchange.headers


def test_a_used_or_forged_code_stores_nothing(owner, graph, meta_app):
    response = _login(owner).post(
        "/apps/whatsapp-cloud/embedded-signup/",
        {"code": "forged", "waba_id": graph.waba_id, "phone_number_id": graph.phone_number_id},
    )
    assert response.status_code == 400
    assert "This authorization code has been used" in response.content.decode()
    assert not ChannelAccount.objects.exists()
    missing = _login(owner).post("/apps/whatsapp-cloud/embedded-signup/", {"code": "x"})
    assert missing.status_code == 400


def test_embedded_signup_needs_an_admin_and_a_configured_app(agent, owner, graph, settings):
    assert _login(owner).post("/apps/whatsapp-cloud/embedded-signup/", {}).status_code == 404
    settings.FRONTDESK_META_APP_ID = "1"
    settings.FRONTDESK_META_APP_SECRET = "2"
    settings.FRONTDESK_META_CONFIG_ID = "3"
    assert _login(agent).post("/apps/whatsapp-cloud/embedded-signup/", {}).status_code == 403


def test_the_apps_webhook_verifies_before_any_channel_exists(db, meta_app):
    response = WebhookClient().get(
        "/webhooks/whatsapp/",
        {"hub.mode": "subscribe", "hub.verify_token": "app-level-verify", "hub.challenge": "42"},
    )
    assert (response.status_code, response.content) == (200, b"42")


def test_read_receipts_can_be_turned_off_on_the_form(owner, graph):
    form = _form(graph, action="save")
    form.pop("mark_read")  # an unchecked box is not sent
    assert _login(owner).post(URL, form).status_code == 302
    assert ChannelAccount.objects.get().config["mark_read"] is False
