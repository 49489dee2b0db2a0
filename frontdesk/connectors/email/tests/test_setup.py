"""Creating a mailbox channel through the REST API: validation and secrets kept secret."""

from __future__ import annotations

import json

import pytest

from frontdesk.inbox.models import ChannelAccount

CONFIG = {
    "address": "Support@Acme.test",
    "imap_host": "127.0.0.1",
    "imap_port": 1143,
    "imap_security": "none",
    "smtp_host": "127.0.0.1",
    "smtp_port": 1025,
    "smtp_security": "none",
    "username": "support@acme.test",
    "password": "app-password-123",
}


def post(api, provider="imap", **config):
    body = {"kind": "email", "provider": provider, "name": "Support", "config": config}
    return api.post("/api/v1/channels", json.dumps(body), content_type="application/json")


def test_an_imap_mailbox_is_created_and_its_password_never_returned(api):
    response = post(api, **CONFIG)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["provider"] == "imap" and body["kind"] == "email"
    assert body["config"]["address"] == "support@acme.test"
    assert body["config"]["backfill_days"] == 30
    assert "app-password-123" not in response.content.decode()
    channel = ChannelAccount.objects.get(pk=body["id"])
    assert channel.credentials == {"password": "app-password-123"}
    assert "app-password-123" not in channel.credentials_encrypted
    listed = api.get("/api/v1/channels").content.decode()
    assert "app-password-123" not in listed


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"imap_security": "none", "imap_host": "mail.acme.test"}, "only allowed for a loopback"),
        ({"smtp_security": "ssl"}, "smtp_security must be one of"),
        ({"imap_port": 70000}, "imap_port must be between"),
        ({"address": "not-an-address"}, "address must be an email address"),
        ({"password": ""}, "missing required config: password"),
        ({"backfill_days": "soon"}, "backfill_days"),
    ],
)
def test_bad_configs_are_refused_with_the_field_named(api, change, error):
    response = post(api, **{**CONFIG, **change})
    assert response.status_code == 400
    assert error in response.json()["detail"]


def test_gmail_takes_its_hosts_from_the_preset(api):
    response = post(api, provider="gmail", address="me@gmail.test", refresh_token="rt-1")
    assert response.status_code == 201, response.content
    config = response.json()["config"]
    assert (config["imap_host"], config["imap_port"], config["auth"]) == (
        "imap.gmail.com",
        993,
        "oauth",
    )
    assert "rt-1" not in response.content.decode()


def test_zoho_regions_pick_the_data_centre(api):
    response = post(api, provider="zoho", address="me@zoho.test", password="x", region="eu")
    assert response.json()["config"]["imap_host"] == "imap.zoho.eu"
    assert (
        post(api, provider="zoho", address="me@zoho.test", password="x", region="mars").status_code
        == 400
    )


def test_zoho_consent_asks_for_the_protocol_scopes_at_the_regional_accounts_server(settings):
    from urllib.parse import parse_qs, urlparse

    from frontdesk.connectors.email.oauth import authorization_request
    from frontdesk.connectors.email.providers import preset

    settings.FRONTDESK_ZOHO_CLIENT_ID = "zoho-client"
    request = authorization_request("zoho", "https://desk.example/cb", region="eu")
    url = urlparse(request.url)
    assert (url.scheme, url.netloc, url.path) == ("https", "accounts.zoho.eu", "/oauth/v2/auth")
    query = parse_qs(url.query)
    # comma-separated, as Zoho documents it; IMAP/SMTP need the protocol scopes
    assert query["scope"] == ["ZOHOMAIL.PROTOCOL.IMAP,ZOHOMAIL.PROTOCOL.SMTP"]
    assert query["access_type"] == ["offline"]
    assert preset("zoho", "ca").token_url == "https://accounts.zohocloud.ca/oauth/v2/token"
    settings.FRONTDESK_ZOHO_SCOPES = "ZOHOMAIL.PROTOCOL.IMAP"
    assert preset("zoho").scopes == ("ZOHOMAIL.PROTOCOL.IMAP",)
    # other providers keep RFC 6749's spaces
    settings.FRONTDESK_OUTLOOK_CLIENT_ID = "ms-client"
    outlook = parse_qs(urlparse(authorization_request("outlook", "https://d/cb").url).query)
    assert " offline_access " in outlook["scope"][0]
