"""The shell's live counts in a real Chromium: the bell and the inbox's unread counts end on
the latest state when a change comes while the answer to the previous one is on its way.

htmx queues the second refresh on the element that asked; when the first answer replaced
that element (outerHTML), the queued request was dropped with it and the count stayed on
the earlier number until the next change. Each test holds the first answer back until the
second change's event is in, as a slow server would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import OWNER, App, hold_htmx_gets, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("counts")) as running:
        yield running


def count_events(page, *types: str) -> None:
    """``window.events``: how many socket events of ``types`` the page has seen."""
    page.evaluate(
        """(types) => { window.events = 0; document.addEventListener("fd:event", (e) => {
             if (types.includes(e.detail.type)) window.events += 1; }); }""",
        list(types),
    )


def slow_second_change(page, next_request, release, change) -> None:
    """``change(1)``; its refresh is held; ``change(2)``; once the page has had the second
    event (and queued its refresh), the first answer is given, then the rest."""
    change(1)
    held = next_request()
    earlier = held.fetch()  # the count after the first change, not given to the page yet
    seen = page.evaluate("() => window.events")
    change(2)
    page.wait_for_function(f"() => window.events > {seen}")
    page.wait_for_timeout(300)  # the second refresh is queued behind the first
    held.fulfill(response=earlier)
    release()


def test_the_bell_ends_on_the_latest_count(app, browser):
    from playwright.sync_api import expect

    me = app.api.get("/me").json()["user"]["id"]
    conversations = [
        app.inbound(f"bell-{n}", f"Bell client {n}", "Hello")["conversation_id"] for n in (1, 2)
    ]
    for cid in conversations:  # a new message in the owner's conversations notifies them
        assigned = app.api.post(f"/conversations/{cid}/assign", json={"assignee_id": me})
        assert assigned.status_code == 200, assigned.text
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/contacts/")
    expect(page.locator("#app")).to_have_attribute("data-live", "on")
    expect(page.locator("#bell-count")).to_have_text("")
    count_events(page, "notification.created")
    next_request, release = hold_htmx_gets(page, "**/notifications/bell")

    def message(n: int) -> None:
        app.inbound(f"bell-{n}", f"Bell client {n}", "Are you there?")

    slow_second_change(page, next_request, release, message)
    expect(page.locator("#bell-count")).to_have_text("2")
    # Marking all read from the panel still clears the bell (its out-of-band update).
    page.click("#bell")
    page.click("#notif-panel [data-read-all]")
    expect(page.locator("#bell-count")).to_have_text("")
    expect(page.locator("#bell")).to_have_attribute("aria-expanded", "true")


def test_the_inbox_counts_end_on_the_latest_count(app, browser):
    from playwright.sync_api import expect

    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/contacts/")
    expect(page.locator("#app")).to_have_attribute("data-live", "on")
    unread = page.locator('#inbox-nav [data-count="all"]')
    before = int(unread.text_content() or 0)
    count_events(page, "message.created")
    next_request, release = hold_htmx_gets(page, "**/inbox/nav*")

    def new_conversation(n: int) -> None:
        app.inbound(f"nav-{n}", f"Nav client {n}", "A question")

    slow_second_change(page, next_request, release, new_conversation)
    expect(unread).to_have_text(str(before + 2))
    expect(page.locator("#inbox-nav")).to_have_count(1)
