"""WhatsApp in a real Chromium against a real embedded server (`frontdesk run`) and the
local Graph API peer: connect through the page (Test connection, then Connect), a signed
webhook brings a client in, a free-form reply inside the 24-hour window, and outside it the
reply box offers the approved templates and sends one with its variables filled in."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from frontdesk.connectors.whatsapp_cloud.tests.conftest import contacts, msg
from frontdesk.connectors.whatsapp_cloud.tests.peer import GraphPeer
from tests.browser import OWNER, App, login, on_postgres_when_configured, running_app
from tests.fixtures import wait_for

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


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    """Embedded on SQLite, and on PostgreSQL + Redis (``frontdesk web`` + ``frontdesk
    worker``) in the suite's second pass: the Cloud API connect page on both databases."""
    with running_app(
        tmp_path_factory.mktemp("whatsapp"), on_postgres=on_postgres_when_configured()
    ) as running:
        yield running


@pytest.fixture
def peer() -> Iterator[GraphPeer]:
    graph = GraphPeer(templates=TEMPLATES)
    yield graph
    graph.close()


def _connect(page, base: str, peer: GraphPeer, name: str = "Shop WhatsApp") -> None:
    """Connect through the page: it shows the webhook URL; Test connection shows the number."""
    from playwright.sync_api import expect

    page.goto(f"{base}/apps/whatsapp-cloud/connect/")
    expect(page.locator("#webhook-url")).to_contain_text("/webhooks/whatsapp/")
    page.fill("input[name=name]", name)
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
    expect(page.locator("body")).to_contain_text(name)


def test_connect_reply_and_send_a_template_outside_the_window(app, browser, peer, shots):
    from playwright.sync_api import expect

    base = app.base
    page = login(browser, app, OWNER[0], app.owner_password)
    _connect(page, base, peer)

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
    page.screenshot(path=str(shots / "composer-whatsapp-template.png"))
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


YARA = "447700900789"  # a client of her own: the other test's client is CLIENT_WA


@pytest.mark.browser_allows(r"status of 400 \(Bad Request\) \(http://[^)]*/compose/\)")
def test_new_conversation_picks_a_contact_and_a_template(app, browser, peer, shots):
    """New conversation on WhatsApp: the picker finds the client by name, a first message
    without a template is refused in words with the text kept, and the approved template goes
    out with its variables; the new conversation is the sender's."""
    from playwright.sync_api import expect

    base = app.base
    page = login(browser, app, OWNER[0], app.owner_password)
    _connect(page, base, peer, "Sales WhatsApp")
    payload = peer.webhook(
        messages=[
            msg("text", {"body": "Hello"}, sender=YARA, timestamp=int(time.time()) - 3 * 86400)
        ],
        contacts=contacts("Yara Known", wa_id=YARA),
    )
    assert (
        peer.deliver(f"{base}/webhooks/whatsapp/", payload, "browser-app-secret").status_code == 200
    )

    page.goto(f"{base}/compose/")
    page.fill("#c-text", "Hi Nia, about your order")
    # Choosing the channel re-renders its fields and keeps what was typed.
    page.select_option("#c-channel", label="Sales WhatsApp · WhatsApp")
    expect(page.locator("select[name=x_template]")).to_have_count(1)
    expect(page.locator("#c-text")).to_have_value("Hi Nia, about your order")
    expect(page.locator("input[name=x_subject]")).to_have_count(0)  # no email fields here
    page.fill("#c-to", "Yara")
    options = page.locator("#c-contacts option")
    expect(options).to_have_count(1)
    assert options.first.get_attribute("value") == f"+{YARA}"
    assert options.first.get_attribute("label") == "Yara Known"

    page.fill("#c-to", "+44 7700 900456")
    page.fill("#c-name", "Nia New")
    page.click("button[value=send]")
    expect(page.locator("[role=alert]")).to_contain_text("template")
    expect(page.locator("#c-text")).to_have_value("Hi Nia, about your order")
    expect(page.locator("#c-to")).to_have_value("+44 7700 900456")

    picker = page.locator("select[name=x_template]")
    picker.select_option(picker.locator("option", has_text="order_update").get_attribute("value"))
    page.fill("input[name=x_var_1]", "Nia")
    page.fill("input[name=x_var_2]", "#2077")
    expect(page.locator("[data-template-preview]")).to_have_text(
        "Hi Nia, your order #2077 has shipped."
    )
    page.fill("#c-text", "")
    page.screenshot(path=str(shots / "compose-whatsapp.png"))
    page.click("button[value=send]")
    page.wait_for_url(f"{base}/c/**")
    expect(page.locator("#thread")).to_contain_text("Hi Nia, your order #2077 has shipped.")
    sent = wait_for(lambda: peer.sent, timeout=20)
    assert sent[-1]["to"] == "447700900456" and sent[-1]["type"] == "template"
    assert sent[-1]["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "Nia"},
        {"type": "text", "text": "#2077"},
    ]
    conversation_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert app.conversation(conversation_id)["assignee"]["email"] == OWNER[0]
    # On a phone the page fits the screen.
    phone = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 390, "height": 844}
    )
    phone.goto(f"{base}/compose/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(shots / "compose-phone.png"), full_page=True)
