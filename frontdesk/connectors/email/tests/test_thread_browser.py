"""An email in the thread, in a real Chromium against `frontdesk run` (Dovecot + aiosmtpd):
its frame is as tall as the email, and a remote image is a placeholder loading nothing until
the reader clicks Show images."""

from __future__ import annotations

import base64
import time
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler

import pytest

from tests.browser import OWNER, login
from tests.peers.local_server import root_of, start_server, stop_server

pytestmark = pytest.mark.browser

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def image_host():
    """A remote host serving a logo, counting who asked for it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args):
            pass

    server = start_server(Handler)
    yield root_of(server), hits
    stop_server(server)


def _connect(app, mailbox, smtp_server) -> int:
    created = app.api.post(
        "/channels",
        json={
            "kind": "email",
            "provider": "imap",
            "name": "Support",
            "config": {
                "address": mailbox.address,
                "imap_host": "127.0.0.1",
                "imap_port": mailbox.dovecot.port,
                "imap_security": "none",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_server.port,
                "smtp_security": "none",
                "password": mailbox.password,
            },
        },
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _open_email(app, browser, mailbox, smtp_server, sender: str):
    """Connect the mailbox, log in on a laptop, open the sender's email: its sized frame."""
    from playwright.sync_api import expect

    _connect(app, mailbox, smtp_server)
    page = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 900}
    )
    page.context.set_default_timeout(15_000)
    page.wait_for_selector(f"#rows >> text={sender}", timeout=30_000)
    page.click(f"#rows >> text={sender}")
    frame = page.locator("iframe.email-frame.fd-sized")
    expect(frame).to_have_count(1)
    return page, frame, page.frame_locator("iframe.email-frame")


def test_email_frame_fits_and_images_wait(
    app, browser, mailbox, smtp_server, mail, image_host, shots
):
    from playwright.sync_api import expect

    root, hits = image_host
    html = (
        f'<p>Hello, could you confirm the <b>delivery date</b>?</p><p><img src="{root}/logo.png"'
        ' alt="Northwind logo" width="120" height="40"></p><p>Thanks, Carla</p>'
    )
    mailbox.deliver(
        mail("Hello, could you confirm the delivery date?", subject="Delivery", html=html)
    )
    long_html = "".join(f"<p>Line {i} of a long email.</p>" for i in range(60))
    mailbox.deliver(
        mail("A long one", sender="Lee Long <lee@client.test>", subject="Long", html=long_html)
    )
    page, frame, inner = _open_email(app, browser, mailbox, smtp_server, "Carla Client")
    expect(inner.locator("body")).to_contain_text("delivery date")

    # Sized to the email: a short one is short, not the old fixed 340 px.
    height = frame.bounding_box()["height"]
    body = frame.evaluate("f => f.contentDocument.documentElement.scrollHeight")
    assert 60 < height < 260, height
    assert abs(height - body) <= 4, (height, body)

    # The remote image is a placeholder carrying its alt text; nothing was fetched.
    expect(inner.locator(".fd-blocked-img")).to_have_text("Northwind logo")
    expect(inner.locator("img")).to_have_count(0)
    assert hits == []
    page.screenshot(path=str(shots / "thread-email-blocked.png"))

    page.click("text=Show images")
    expect(inner.locator("img[alt='Northwind logo']")).to_be_visible()
    assert hits == ["/logo.png"]
    expect(page.locator(".imgbar")).to_have_count(0)
    expect(frame).to_have_count(1)  # sized again after the reload
    page.screenshot(path=str(shots / "thread-email-images.png"))

    # A long email grows past the old fixed height (the thread scrolls, not the frame).
    page.click("#rows >> text=Lee Long")
    expect(page.frame_locator("iframe.email-frame").locator("body")).to_contain_text("Line 59")
    expect(page.locator("iframe.email-frame.fd-sized")).to_have_count(1)
    assert page.locator("iframe.email-frame").bounding_box()["height"] > 1000

    # On a phone the text wraps to more lines and the frame follows.
    phone = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 390, "height": 844}
    )
    phone.click("#rows >> text=Carla Client")
    expect(phone.locator("iframe.email-frame.fd-sized")).to_have_count(1)
    expect(phone.frame_locator("iframe.email-frame").locator("body")).to_contain_text("delivery")
    small = phone.locator("iframe.email-frame")
    inner_height = small.evaluate("f => f.contentDocument.documentElement.scrollHeight")
    assert abs(small.bounding_box()["height"] - inner_height) <= 4
    phone.screenshot(path=str(shots / "thread-email-phone.png"))


def _received(smtp_server, address: str, count: int):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mine = [r for r in smtp_server.received if r.mail_from == address]
        if len(mine) >= count:
            return mine
        time.sleep(0.1)
    raise AssertionError(f"the SMTP server got {len(mine)} of {count} replies")


def test_signature_and_sender_name_reach_the_client(
    app, browser, mailbox, smtp_server, mail, shots
):
    """A member saves a signature, changes it for one reply in the composer, and the client's
    mail program shows it under the text (plain and HTML) with "<member> at <workspace>" in
    From; an admin's sender name for the channel then replaces that name."""
    from playwright.sync_api import expect

    mailbox.deliver(mail("Can we meet on Friday?", sender="Sig Client <sig@client.test>"))
    channel_id = _connect(app, mailbox, smtp_server)
    page = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 900}
    )
    page.context.set_default_timeout(15_000)
    me = app.api.get("/me").json()
    workspace = me["workspace"]["name"]
    owner_name = me["user"]["name"]

    page.goto(f"{app.base}/settings/signatures/")
    page.fill("#sig-own", "Dana at the front desk\nNorthwind Studio")
    page.click("text=Save my signature")
    expect(page.locator(".flash, [role=status]").first).to_contain_text("Your signature is saved")
    page.screenshot(path=str(shots / "signature-settings.png"))

    page.goto(f"{app.base}/")
    page.click("#rows >> text=Sig Client")
    signature = page.locator("[data-composer-signature]")
    expect(signature.locator("summary")).to_contain_text("Dana at the front desk")
    signature.locator("summary").click()
    box = page.locator("#reply-signature")
    expect(box).to_have_value("Dana at the front desk\nNorthwind Studio")
    box.fill("Dana at the front desk\nNorthwind Studio\nMobile +1 555 0100")
    page.fill("#reply-text", "**Friday at 10** works.")
    page.screenshot(path=str(shots / "signature-composer.png"))
    page.click("#send-btn")

    [first] = _received(smtp_server, mailbox.address, 1)
    sent = first.message
    assert parseaddr(sent["From"]) == (f"{owner_name} at {workspace}", mailbox.address)
    plain = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.rstrip().endswith(
        "Friday at 10 works.\n\n-- \nDana at the front desk\nNorthwind Studio\nMobile +1 555 0100"
    ), plain
    html = sent.get_body(("html",)).get_content()
    # The composer's markup goes out as HTML, and as its plain twin in the text part.
    assert "<strong>Friday at 10</strong> works." in html
    assert 'class="signature"' in html and "Mobile +1 555 0100" in html

    # The admin names the channel: the next reply goes out under that name.
    page.goto(f"{app.base}/settings/signatures/")
    page.fill(f"#sig-from-{channel_id}", "Northwind Support")
    # (other tests' mailboxes are named Support too: save this channel's own form)
    page.locator("form", has=page.locator(f"#sig-from-{channel_id}")).locator("button").click()
    expect(page.locator(f"#sig-from-{channel_id}")).to_have_value("Northwind Support")
    page.goto(f"{app.base}/")
    page.click("#rows >> text=Sig Client")
    page.fill("#reply-text", "See you then.")
    page.click("#send-btn")
    second = _received(smtp_server, mailbox.address, 2)[1].message
    assert parseaddr(second["From"]) == ("Northwind Support", mailbox.address)
    second_plain = second.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Mobile +1 555 0100" not in second_plain
    assert second_plain.rstrip().endswith("-- \nDana at the front desk\nNorthwind Studio")


def test_quoted_history_is_folded_behind_dots(app, browser, mailbox, smtp_server, mail, shots):
    from playwright.sync_api import expect

    html = (
        '<div dir="ltr"><p>Sounds good, Friday works.</p></div><div class="gmail_quote">'
        '<div class="gmail_attr">On Mon, Support wrote:</div><blockquote class="gmail_quote">'
        + "".join(f"<p>Earlier line {i} of the thread.</p>" for i in range(12))
        + "</blockquote></div>"
    )
    mailbox.deliver(
        mail("Sounds good, Friday works.", sender="Quinn Quote <q@client.test>", html=html)
    )
    page, frame, inner = _open_email(app, browser, mailbox, smtp_server, "Quinn Quote")
    expect(inner.locator("body")).to_contain_text("Friday works")
    expect(inner.get_by_text("Earlier line 3 of the thread.")).to_be_hidden()
    folded = frame.bounding_box()["height"]
    page.screenshot(path=str(shots / "email-quote-folded.png"))

    inner.get_by_label("Show the quoted history").click()
    expect(inner.get_by_text("Earlier line 3 of the thread.")).to_be_visible()
    # The frame grows to the opened quote (the thread sizes it again on the toggle).
    expect(page.locator("iframe.email-frame")).not_to_have_css("height", f"{folded}px")
    opened = page.locator("iframe.email-frame").bounding_box()["height"]
    inside = page.locator("iframe.email-frame").evaluate(
        "f => f.contentDocument.documentElement.scrollHeight"
    )
    assert opened > folded + 150 and abs(opened - inside) <= 4, (folded, opened, inside)
