"""Search in a real Chromium against ``frontdesk run``: the inbox search box finds a word
said last week deep in a long thread; opening the result shows that very message."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.browser import OWNER, App, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("search")) as running:
        yield running


def said(app: App, handle: str, name: str, text: str, at: datetime) -> dict:
    """A client's message sent at ``at`` on the API channel."""
    response = httpx.post(
        f"{app.base}/api/v1/channels/{app.channel['id']}/messages",
        headers={"Authorization": f"Bearer {app.channel['secret']}"},
        json={
            "id": f"{handle}-{time.time_ns()}",
            "contact": {"handle": handle, "name": name},
            "text": text,
            "sent_at": at.isoformat(),
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_search_finds_last_weeks_invoice_and_opens_the_thread_at_it(app, browser, shots):
    from playwright.sync_api import expect

    now = datetime.now(UTC)
    asked = said(
        app,
        "mia-1",
        "Mia Chen",
        "Could you send the invoice for the October order?",
        now - timedelta(days=7),
    )
    # Sixty more messages since: the one asked for is far above the newest.
    for i in range(60):
        newest = said(
            app,
            "mia-1",
            "Mia Chen",
            f"Update {i} on the shipment",
            now - timedelta(days=6, minutes=-i),
        )
    said(
        app,
        "tom-2",
        "Tom <b>Bold</b>",
        "<img src=x onerror=alert(1)> no bill here",
        now - timedelta(days=1),
    )

    page = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 800}
    )
    page.fill("#q", "invoice")
    hit = page.locator("#search-results .hit")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("Mia Chen")
    expect(hit.locator("mark")).to_have_text("invoice")
    expect(page.locator(".search-summary")).to_contain_text("“invoice”")
    page.screenshot(path=str(shots / "search-results-1280.png"))

    hit.locator("a").click()
    page.wait_for_url(f"**/c/{asked['conversation_id']}/**")
    found = page.locator(f"#m-{asked['message_id']}")
    expect(found).to_have_class("msg inbound found")
    expect(found).to_be_in_viewport()
    expect(page.locator(f"#m-{newest['message_id']}")).not_to_be_in_viewport()
    page.screenshot(path=str(shots / "search-opened-1280.png"))

    # A contact's name is found too; what a client typed is shown as text, never as markup.
    page.fill("#q", "bold")
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("Tom <b>Bold</b>")
    expect(hit.locator("mark")).to_have_text("Bold")
    page.fill("#q", "onerror")
    expect(hit.locator(".hit-snippet")).to_contain_text("<img src=x onerror=alert(1)> no bill here")

    # On a phone: the results fill the screen; one opens the thread at the message.
    phone = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 390, "height": 800}
    )
    phone.fill("#q", "invoice")
    expect(phone.locator("#search-results .hit")).to_have_count(1)
    phone.screenshot(path=str(shots / "search-results-390.png"))
    phone.locator("#search-results .hit a").click()
    found = phone.locator(f"#m-{asked['message_id']}")
    expect(found).to_be_in_viewport()
    phone.screenshot(path=str(shots / "search-opened-390.png"))


def test_a_search_typed_while_the_list_catches_up_is_not_undone(app, browser):
    """On opening, the page asks for the list again (events missed before the socket was
    open). A search typed before that answer comes back keeps its results."""
    from playwright.sync_api import expect

    said(app, "ana-3", "Ana Ruiz", "Where is my receipt for March?", datetime.now(UTC))
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    held: list = []

    def hold_catch_up(route) -> None:
        if route.request.headers.get("hx-request") == "true":
            held.append(route)  # the catch-up's GET of the unfiltered list
        else:
            route.continue_()  # the page itself

    page.route(f"{app.base}/", hold_catch_up)
    page.goto(f"{app.base}/login/")
    page.fill("#id_username", OWNER[0])
    page.fill("#id_password", app.owner_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{app.base}/")
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page did not catch up on its list"

    page.fill("#q", "receipt")
    hit = page.locator("#search-results .hit")
    expect(hit).to_have_count(1)
    with page.expect_response(lambda r: r.url == f"{app.base}/"):
        held.pop().continue_()
    page.wait_for_timeout(500)  # the stale answer's turn to (wrongly) replace the results
    expect(hit).to_have_count(1)
    expect(hit).to_contain_text("Ana Ruiz")
