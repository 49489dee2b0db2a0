"""A contact's picture: copied by the worker from the provider's https link, served by us."""

from __future__ import annotations

import base64
import ssl
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
from django.test import Client

from frontdesk.connectors.email.tests.tls import make_certificates
from frontdesk.inbox.avatars import AvatarUnavailable, fetch_image
from frontdesk.inbox.models import Contact
from frontdesk.inbox.tasks import copy_later
from tests.fixtures import PASSWORD
from tests.peers.local_server import root_of, start_server, stop_server

# A real 1x1 PNG, so a browser would draw it.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class PictureHost(BaseHTTPRequestHandler):
    """A CDN stand-in: what each path answers."""

    redirect_to = ""

    def do_GET(self) -> None:
        routes = {
            "/kim.png": (200, "image/png", PNG),
            "/page.html": (200, "image/png", b"<html><script>alert(1)</script></html>"),
            "/huge.png": (200, "image/png", PNG + b"\0" * (3 * 1024 * 1024)),
            "/gone.png": (404, "text/plain", b"not here"),
            "/busy.png": (503, "text/plain", b"try later"),
        }
        if self.path == "/moved.png":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, content_type, body = routes.get(self.path, (404, "text/plain", b""))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def cdn(tmp_path, monkeypatch, settings):
    """An https picture host on loopback, trusted through ``SSL_CERT_FILE`` as a real CA is
    (and reachable: by default the worker refuses private addresses, see the last tests)."""
    settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES = True
    ca, cert, key = make_certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = start_server(PictureHost, tls=context)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    yield root_of(server)
    stop_server(server)


def _contact(owner, url: str, **fields) -> Contact:
    return Contact.objects.create(
        workspace=owner.workspace, name="Kim Lee", avatar_url=url, **fields
    )


def _copy(contact, drain_queue, capture) -> list:
    with capture(execute=True):
        copy_later(contact)
    return drain_queue()


def test_the_worker_keeps_a_copy_that_members_of_the_workspace_can_load(
    owner, rival, cdn, drain_queue, django_capture_on_commit_callbacks
):
    contact = _contact(owner, f"{cdn}/kim.png")
    assert _copy(contact, drain_queue, django_capture_on_commit_callbacks) == ["stored"]
    contact.refresh_from_db()
    assert contact.avatar.name.endswith(".png")

    member = Client()
    member.login(username=owner.user.email, password=PASSWORD)
    response = member.get(f"/contacts/{contact.pk}/avatar")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG

    outsider = Client()
    outsider.login(username=rival.user.email, password=PASSWORD)
    assert outsider.get(f"/contacts/{contact.pk}/avatar").status_code == 404
    assert Client().get(f"/contacts/{contact.pk}/avatar").status_code == 302  # to the login


@pytest.mark.parametrize(
    "path", ["/page.html", "/huge.png", "/gone.png", "/moved.png"], ids=str.strip
)
def test_what_is_not_a_small_image_over_https_is_not_kept(
    owner, cdn, drain_queue, django_capture_on_commit_callbacks, path
):
    PictureHost.redirect_to = cdn.replace("https://", "http://") + "/kim.png"
    contact = _contact(owner, f"{cdn}{path}")
    assert _copy(contact, drain_queue, django_capture_on_commit_callbacks) == ["unavailable"]
    contact.refresh_from_db()
    assert not contact.avatar


def test_a_redirect_to_another_https_address_is_followed(
    owner, cdn, drain_queue, django_capture_on_commit_callbacks
):
    PictureHost.redirect_to = "/kim.png"
    contact = _contact(owner, f"{cdn}/moved.png")
    assert _copy(contact, drain_queue, django_capture_on_commit_callbacks) == ["stored"]


def test_a_busy_host_is_tried_again_later(owner, cdn, django_capture_on_commit_callbacks):
    from frontdesk.inbox.avatars import copy_avatar

    contact = _contact(owner, f"{cdn}/busy.png")
    with pytest.raises(httpx.HTTPStatusError):  # the task fails, so Huey retries it
        copy_avatar(contact.pk, contact.avatar_url)


def test_a_picture_replaced_meanwhile_is_not_overwritten_by_the_old_one(
    owner, cdn, drain_queue, django_capture_on_commit_callbacks
):
    contact = _contact(owner, f"{cdn}/kim.png")
    with django_capture_on_commit_callbacks(execute=True):
        copy_later(contact)
    Contact.objects.filter(pk=contact.pk).update(avatar_url=f"{cdn}/other.png")
    assert drain_queue() == ["stale"]
    contact.refresh_from_db()
    assert not contact.avatar


def test_the_contact_panel_shows_the_picture_and_the_linkedin_profile(
    owner, channel, inbound, cdn, drain_queue, django_capture_on_commit_callbacks
):
    result = inbound("Hello", handle="kim-1", contact_name="Kim Lee")
    contact = result.conversation.contact
    contact.avatar_url = f"{cdn}/kim.png"
    contact.custom_fields = {
        "linkedin_headline": "Head of Ops at Lumen",
        "linkedin_url": "https://www.linkedin.com/in/kimlee/",
        "linkedin_location": "Lisbon",
    }
    contact.save()
    _copy(contact, drain_queue, django_capture_on_commit_callbacks)

    member = Client()
    member.login(username=owner.user.email, password=PASSWORD)
    page = member.get(f"/c/{result.conversation.pk}/").content.decode()
    assert f'src="/contacts/{contact.pk}/avatar?v=' in page
    assert "Head of Ops at Lumen" in page
    assert 'href="https://www.linkedin.com/in/kimlee/"' in page
    assert "Lisbon" in page

    Contact.objects.filter(pk=contact.pk).update(
        custom_fields={"linkedin_url": "javascript:alert(1)"}
    )
    page = member.get(f"/c/{result.conversation.pk}/").content.decode()
    assert "javascript:alert" not in page


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "169.254.169.254"])
def test_a_link_into_the_workers_own_network_is_refused(
    owner, cdn, settings, drain_queue, django_capture_on_commit_callbacks, host
):
    settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES = False
    port = cdn.rsplit(":", 1)[1]
    url = f"https://{host}:{port}/kim.png"
    with pytest.raises(AvatarUnavailable, match="refused"):
        fetch_image(url)
    contact = _contact(owner, url)
    assert _copy(contact, drain_queue, django_capture_on_commit_callbacks) == ["unavailable"]
    contact.refresh_from_db()
    assert not contact.avatar
