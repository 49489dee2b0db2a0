"""The WhatsApp connect page: manual form, "Test connection", save, reconnect."""

from __future__ import annotations

from django.test import Client

from frontdesk.inbox.models import ChannelAccount
from tests.conftest import PASSWORD
from tests.whatsapp_support import make_whatsapp_channel

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


def test_a_refused_token_is_not_saved(owner, graph):
    response = _login(owner).post(URL, _form(graph, access_token="nope", action="save"))
    assert response.status_code == 400
    assert not ChannelAccount.objects.exists()


def test_reconnect_replaces_the_token_and_keeps_the_blank_secret(owner, graph):
    channel = make_whatsapp_channel(owner, graph)
    channel.status = "needs_reconnect"
    channel.credentials = {**channel.credentials, "access_token": "old"}
    channel.save()
    client = _login(owner)
    page = client.get(f"{URL}?channel={channel.pk}").content.decode()
    assert "Reconnect WhatsApp" in page
    assert graph.token not in page
    response = client.post(
        f"{URL}?channel={channel.pk}", _form(graph, app_secret="", action="save")
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.status == "connected"
    assert channel.credentials["access_token"] == graph.token
    assert channel.credentials["app_secret"] == "app-secret-0123456789"
    assert ChannelAccount.objects.count() == 1


def test_agents_and_other_workspaces_cannot_use_it(agent, rival, owner, graph):
    assert _login(agent).get(URL).status_code == 403
    channel = make_whatsapp_channel(owner, graph)
    assert _login(rival).get(f"{URL}?channel={channel.pk}").status_code == 404
    assert Client().get(URL).status_code == 302
