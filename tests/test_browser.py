"""The inbox in a real Chromium (Playwright) against a real embedded server (`frontdesk run`).

Two members in two browser contexts: one replies (the API channel's callback receives it),
both see an inbound message arrive live without a reload, assignment, resolving, filters
and keyboard navigation.
"""

from __future__ import annotations

import contextlib
import re
import time

import pytest

from tests.browser import AGENT, OWNER, login
from tests.fixtures import wait_for

pytestmark = pytest.mark.browser


def test_two_members_work_the_inbox_live(app, browser):
    from playwright.sync_api import Error, expect

    ana = app.inbound("ana-1", "Ana Lima", "Hi! Do you ship to Lisbon?")
    app.inbound("bruno-1", "Bruno Costa", "My order #1042 has not arrived")
    chen = app.inbound("chen-1", "Chen Wei", "Can I change my delivery address?")

    owner = login(browser, app, OWNER[0], app.owner_password)
    agent = login(browser, app, *AGENT)
    # Both see the seeded conversations, newest first, unread.
    for page in (owner, agent):
        rows = page.locator("#rows .row")
        expect(rows).to_have_count(3)
        expect(rows.first).to_contain_text("Chen Wei")
        expect(page.locator("#rows .row.unread")).to_have_count(3)
    expect(owner.locator('[data-count="all"]')).to_have_text("3")
    # A GET of a conversation (a prefetch, a link preview) does not read it.
    prefetched = owner.context.request.get(
        f"{app.base}/c/{chen['conversation_id']}/", headers={"Sec-Purpose": "prefetch"}
    )
    assert prefetched.status == 200 and "Chen Wei" in prefetched.text()
    assert app.conversation(chen["conversation_id"])["unread"] is True

    # The owner opens Ana's conversation: the thread and the contact panel show.
    owner.click("#rows .row >> text=Ana Lima")
    expect(owner.locator("#thread")).to_contain_text("Do you ship to Lisbon?")
    expect(owner.locator("#contact-pane")).to_contain_text("ana-1")
    assert f"/c/{ana['conversation_id']}/" in owner.url
    expect(owner.locator(f"#conv-{ana['conversation_id']}")).not_to_have_class("row unread")
    expect(owner.locator('[data-count="all"]')).to_have_text("2")
    wait_for(lambda: app.conversation(ana["conversation_id"])["unread"] is False)
    # Read for the owner only: the agent still sees it unread.
    expect(agent.locator(f"#conv-{ana['conversation_id']}.unread")).to_have_count(1)

    # Reply with Enter: it shows at once, the callback receives it, the ticks move to Sent.
    owner.fill("#reply-text", "Yes, we ship to Lisbon in 2 days.")
    owner.press("#reply-text", "Enter")
    mine = owner.locator("#messages .msg.outbound").last
    expect(mine).to_contain_text("Yes, we ship to Lisbon in 2 days.")
    hit = wait_for(lambda: app.callback.received and app.callback.received[-1], timeout=20)
    assert hit.json["text"] == "Yes, we ship to Lisbon in 2 days."
    assert hit.json["to"] == {"handle": "ana-1"}
    expect(mine.locator(".delivery")).to_contain_text("Sent")
    expect(owner.locator("#reply-text")).to_have_value("")
    # Shift+Enter is a new line, not a send.
    owner.fill("#reply-text", "draft line one")
    owner.press("#reply-text", "Shift+Enter")
    owner.keyboard.type("line two")
    expect(owner.locator("#reply-text")).to_have_value("draft line one\nline two")
    assert len(app.callback.received) == 1

    # An inbound message arrives live in both browsers, and the draft is untouched.
    agent.click("#rows .row >> text=Bruno Costa")
    expect(agent.locator("#thread")).to_contain_text("#1042")
    started = time.monotonic()
    app.inbound("ana-1", "Ana Lima", "Great, and what about Porto?")
    expect(owner.locator("#messages")).to_contain_text("what about Porto?", timeout=5000)
    took = time.monotonic() - started
    expect(agent.locator("#rows .row").first).to_contain_text("Ana Lima")
    expect(agent.locator("#rows .row").first).to_contain_text("what about Porto?")
    expect(agent.locator("#rows .row").first).to_have_class("row unread")
    expect(owner.locator("#reply-text")).to_have_value("draft line one\nline two")
    # The owner is looking at it: it is read for them (a POST from the page).
    wait_for(lambda: app.conversation(ana["conversation_id"])["unread"] is False)
    expect(owner.locator(f"#conv-{ana['conversation_id']}.unread")).to_have_count(0)
    print(f"live inbound shown after {took:.2f}s")
    assert took < 3

    # Presence: the agent opens Ana's conversation; the owner sees them viewing.
    agent.click("#rows .row >> text=Ana Lima")
    expect(owner.locator("#presence")).to_contain_text("agnes is also viewing", timeout=15_000)

    # An internal note is shown differently and never sent.
    owner.fill("#reply-text", "")
    owner.check("input[name=mode][value=note]")
    owner.fill("#reply-text", "VIP: offer free shipping")
    owner.press("#reply-text", "Enter")
    expect(owner.locator("#messages .msg.note")).to_contain_text("VIP: offer free shipping")
    expect(agent.locator("#messages .msg.note")).to_contain_text("VIP: offer free shipping")
    assert len(app.callback.received) == 1

    # Assign to the agent from the header; the event line shows up for both.
    # The picker: a menu of teammates with avatars and a search box; typing filters it and
    # Enter picks the first match.
    owner.click("[data-assign-menu] summary")
    owner.fill("[data-assign-filter]", "agn")
    expect(owner.locator("[data-assign-option]:visible")).to_have_count(1)
    owner.press("[data-assign-filter]", "Enter")
    expect(owner.locator("[data-assign-menu] summary")).to_contain_text("agnes")
    expect(owner.locator("#messages .event").last).to_contain_text("assigned this to agnes")
    expect(agent.locator("#messages .event").last).to_contain_text("assigned this to agnes")
    assert app.conversation(ana["conversation_id"])["assignee"]["email"] == AGENT[0]

    # Keyboard: `a` takes it, `e` resolves it.
    owner.locator("#reply-text").blur()
    owner.keyboard.press("a")
    expect(owner.locator("#messages .event").last).to_contain_text("took this conversation")
    owner.keyboard.press("e")
    expect(owner.locator("#thread-status")).to_have_text("Resolved")
    expect(agent.locator("#thread-status")).to_have_text("Resolved")
    assert app.conversation(ana["conversation_id"])["status"] == "resolved"
    # It leaves the open list in both browsers.
    expect(agent.locator(f"#conv-{ana['conversation_id']}")).to_have_count(0)

    # Filters: resolved shows only Ana; the URL keeps the filter.
    owner.select_option("#f-status", "resolved")
    expect(owner.locator("#rows .row")).to_have_count(1)
    expect(owner.locator("#rows .row")).to_contain_text("Ana Lima")
    assert "status=resolved" in owner.url
    owner.select_option("#f-status", "open")
    expect(owner.locator("#rows .row")).to_have_count(2)
    owner.fill("#q", "chen")  # the search box finds her by name (tests/test_search_browser.py)
    expect(owner.locator("#search-results .hit").first).to_contain_text("Chen")
    expect(owner.locator("#search-results")).not_to_contain_text("Ana Lima")
    owner.fill("#q", "")
    expect(owner.locator("#rows .row")).to_have_count(2)

    # Keyboard navigation: j / k move through the list, / focuses search, ? shows help.
    # The first conversation answers slowly: its late answer must not replace the one the
    # user moved on to (the panes once showed whichever answer came last).
    first_id, second_id = (
        row.get_attribute("data-id") for row in owner.locator("#rows .row").all()
    )
    held: list = []
    stale = re.compile(rf"/c/{first_id}/(\?.*)?$")

    def hold(route):
        held.append(route)

    owner.route(stale, hold)
    owner.locator("#q").blur()
    owner.keyboard.press("j")
    expect(owner.locator("#rows .row.active")).to_have_attribute("data-id", first_id)
    owner.keyboard.press("j")
    expect(owner.locator("#rows .row.active")).to_have_attribute("data-id", second_id)
    expect(owner.locator("#thread")).to_have_attribute("data-conversation", second_id)
    assert len(held) == 1
    owner.unroute(stale, hold)
    with contextlib.suppress(Error):  # the browser may have dropped the stale request
        held[0].continue_()
    owner.wait_for_timeout(500)
    expect(owner.locator("#thread")).to_have_attribute("data-conversation", second_id)
    expect(owner.locator("#rows .row.active")).to_have_attribute("data-id", second_id)
    owner.keyboard.press("k")
    expect(owner.locator("#thread")).to_have_attribute("data-conversation", first_id)
    owner.keyboard.press("r")
    expect(owner.locator("#reply-text")).to_be_focused()
    owner.keyboard.press("Escape")
    owner.keyboard.press("/")
    expect(owner.locator("#q")).to_be_focused()
    owner.keyboard.press("Escape")
    owner.keyboard.press("?")
    expect(owner.locator("#shortcuts")).to_be_visible()


def test_phone_width_shows_one_pane_at_a_time(app, browser):
    from playwright.sync_api import expect

    app.inbound("dora-1", "Dora Silva", "Hello from my phone")
    page = login(browser, app, OWNER[0], app.owner_password, viewport={"width": 390, "height": 844})
    expect(page.locator(".list-pane")).to_be_visible()
    expect(page.locator(".thread-wrap")).to_be_hidden()
    page.click("#rows .row >> text=Dora Silva")
    expect(page.locator("#thread")).to_be_visible()
    expect(page.locator(".list-pane")).to_be_hidden()
    page.click("#thread-header [data-back]")
    expect(page.locator(".list-pane")).to_be_visible()


def test_long_thread_loads_older_messages_on_scroll(app, browser):
    from playwright.sync_api import expect

    first = app.inbound("eli-1", "Eli Stone", "message number 0 (the very first)")
    for i in range(1, 70):
        app.inbound("eli-1", "Eli Stone", f"message number {i}")
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/c/{first['conversation_id']}/")
    expect(page.locator("#messages")).to_contain_text("message number 69")
    expect(page.locator("#messages .msg")).to_have_count(50)
    assert "the very first" not in page.locator("#messages").inner_text()
    page.locator("#messages-scroll").evaluate("el => el.scrollTop = 0")
    expect(page.locator("#messages")).to_contain_text("the very first")
    expect(page.locator("#messages .msg")).to_have_count(70)
    # The reader stays where they were instead of jumping to the top.
    page.wait_for_function("() => document.getElementById('messages-scroll').scrollTop > 0")


# The page's socket opens only after this delay: what arrives in between is never pushed.
LATE_SOCKET = """
(() => {
  const Real = window.WebSocket;
  window.WebSocket = class extends EventTarget {
    constructor(url) {
      super();
      this.readyState = 0;
      setTimeout(() => {
        const ws = (this._ws = new Real(url));
        ws.onopen = (e) => { this.readyState = 1; if (this.onopen) this.onopen(e); };
        ws.onmessage = (e) => { if (this.onmessage) this.onmessage(e); };
        ws.onclose = (e) => { this.readyState = 3; if (this.onclose) this.onclose(e); };
      }, 2500);
    }
    send(data) { if (this._ws) this._ws.send(data); }
    close() { if (this._ws) this._ws.close(); }
  };
})();
"""


def test_what_arrives_before_the_socket_opens_still_shows(app, browser):
    """A message stored between the page's render and its socket opening (or while the
    socket reconnects) is never pushed: the page catches up when the socket opens."""
    from playwright.sync_api import expect

    page = login(browser, app, OWNER[0], app.owner_password)
    page.add_init_script(LATE_SOCKET)
    page.goto(f"{app.base}/")
    page.wait_for_selector("#rows", state="attached")
    app.inbound("dana-9", "Dana Late", "Sent while your socket was still connecting")
    expect(page.locator("#rows")).to_contain_text("Dana Late", timeout=15_000)
