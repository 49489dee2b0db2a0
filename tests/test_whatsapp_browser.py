"""WhatsApp in a real Chromium against a real embedded server (`frontdesk run`) and the
local Graph API peer: connect through the page (Test connection, then Connect), a signed
webhook brings a client in, a free-form reply inside the 24-hour window, and outside it the
reply box offers the approved templates and sends one with its variables filled in."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.browser import OWNER, login
from tests.conftest import wait_for
from tests.peers.graph import GraphPeer
from tests.whatsapp_support import contacts, msg

pytestmark = pytest.mark.browser

TEMPLATES = [
    {
        "name": "order_update",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}],
    }
]


@pytest.fixture
def peer() -> Iterator[GraphPeer]:
    graph = GraphPeer(templates=TEMPLATES)
    yield graph
    graph.close()


def test_connect_reply_and_send_a_template_outside_the_window(app, browser, peer):
    from playwright.sync_api import expect

    base = app.base
    page = login(browser, app, OWNER[0], app.owner_password)
    # Connect: the page shows the webhook URL; Test connection shows the number.
    page.goto(f"{base}/apps/whatsapp-cloud/connect/")
    expect(page.locator("#webhook-url")).to_contain_text("/webhooks/whatsapp/")
    page.fill("input[name=name]", "Shop WhatsApp")
    page.fill("input[name=phone_number_id]", peer.phone_number_id)
    page.fill("input[name=waba_id]", peer.waba_id)
    page.fill("input[name=access_token]", peer.token)
    page.fill("input[name=app_secret]", "browser-app-secret")
    page.fill("input[name=verify_token]", "browser-verify")
    page.click("details summary")
    page.fill("input[name=graph_url]", peer.url)
    page.click("button[value=test]")
    expect(page.locator("#connect-ok")).to_contain_text("Acme Support")
    expect(page.locator("#connect-ok")).to_contain_text("GREEN")
    page.click("button[value=save]")
    page.wait_for_url(f"{base}/apps/")
    expect(page.locator("body")).to_contain_text("Shop WhatsApp")

    # A client writes (two days ago, then the window closes): signed, over real HTTP.
    old = int(time.time()) - 2 * 86400
    payload = peer.webhook(
        messages=[msg("text", {"body": "Where is my parcel?"}, timestamp=old)],
        contacts=contacts("Zoe Client"),
    )
    hook = f"{base}/webhooks/whatsapp/"
    assert peer.deliver(hook, payload, "wrong").status_code == 401
    assert peer.deliver(hook, payload, "browser-app-secret").status_code == 200

    page.goto(f"{base}/")
    page.click("#rows .row >> text=Zoe Client")
    expect(page.locator("#thread")).to_contain_text("Where is my parcel?")
    expect(page.locator("#reply-form")).to_contain_text("24-hour window closed")
    # The templates were synced on connect; pick one and fill its variables.
    picker = page.locator("select[name=x_template]")
    token = picker.locator("option", has_text="order_update").get_attribute("value")
    picker.select_option(token)
    page.fill("input[name=x_var_1]", "Zoe")
    page.fill("input[name=x_var_2]", "#1042")
    page.click("#send-btn")
    expect(page.locator("#messages .msg.outbound").last).to_contain_text(
        "Hi Zoe, your order #1042 has shipped."
    )
    sent = wait_for(lambda: peer.sent, timeout=20)
    wait_for(lambda: peer.read_receipts, timeout=20)  # opening it marked hers read
    assert sent[-1]["type"] == "template"
    assert sent[-1]["template"]["name"] == "order_update"
    assert sent[-1]["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "Zoe"},
        {"type": "text", "text": "#1042"},
    ]

    # She answers: the window is open again and a free-form reply goes out as text.
    fresh = peer.webhook(messages=[msg("text", {"body": "Thanks!"})], contacts=contacts())
    assert peer.deliver(hook, fresh, "browser-app-secret").status_code == 200
    expect(page.locator("#messages")).to_contain_text("Thanks!", timeout=10_000)
    page.reload()
    expect(page.locator("#reply-form")).not_to_contain_text("24-hour window closed")
    page.fill("#reply-text", "You're welcome!")
    page.press("#reply-text", "Enter")
    wait_for(lambda: len(peer.sent) == 2, timeout=20)
    assert peer.sent[-1]["text"]["body"] == "You're welcome!"
    expect(page.locator("#messages .msg.outbound").last.locator(".delivery")).to_contain_text(
        "Sent"
    )
