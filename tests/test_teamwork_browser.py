"""Teamwork in a real Chromium against ``frontdesk run``: two members side by side.

The bell's count arrives live, its panel opens the conversation it is about.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import AGENT, OWNER, App, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("team"), agent_name="Agnes Agent") as running:
        yield running


def test_a_notification_arrives_live_and_opens_its_conversation(app, browser):
    from playwright.sync_api import expect

    ana = app.inbound("ana-7", "Ana Lima", "Can someone send me the invoice?")
    owner = login(browser, app, OWNER[0], app.owner_password)
    agent = login(browser, app, *AGENT)
    expect(agent.locator("#bell-count")).to_have_text("")
    # The owner hands the conversation to Agnes from the thread header.
    owner.click("#rows .row >> text=Ana Lima")
    owner.click("[data-assign-menu] summary")
    owner.click("[data-assign-option] button >> text=Agnes Agent")
    expect(owner.locator("#messages .event").last).to_contain_text("assigned this to Agnes")
    # Agnes sees the count go up without reloading, and the panel says what happened.
    expect(agent.locator("#bell-count")).to_have_text("1")
    agent.click("#bell")
    panel = agent.locator("#notif-panel")
    expect(panel).to_be_visible()
    item = panel.locator(".notif.unread")
    expect(item).to_contain_text("assigned you Ana Lima")
    # Escape closes it and gives the focus back to the bell; the mouse opens it again.
    agent.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(agent.locator("#bell")).to_be_focused()
    agent.click("#bell")
    panel.locator(".notif-open").first.click()
    agent.wait_for_url(f"**/c/{ana['conversation_id']}/")
    expect(agent.locator("#thread")).to_contain_text("send me the invoice")
    expect(agent.locator("#bell-count")).to_have_text("")
    # A mention by note: the count comes back live; "Mark all read" clears it.
    owner.check("input[name=mode][value=note]")
    owner.fill("#reply-text", "@Agnes Agent the invoice is in the drive")
    owner.press("#reply-text", "Enter")
    expect(owner.locator("#messages .msg.note .mention")).to_have_text("@Agnes Agent")
    expect(agent.locator("#messages .msg.note .mention.mention-me")).to_have_text("@Agnes Agent")
    # Agnes is looking at the conversation, but a mention still waits for her to read it.
    expect(agent.locator("#bell-count")).to_have_text("1")
    agent.click("#bell")
    expect(agent.locator("#notif-panel .notif.unread")).to_contain_text(
        "owner mentioned you in Ana Lima: @Agnes Agent the invoice is in the drive"
    )
    agent.click("#notif-panel [data-read-all]")
    expect(agent.locator("#bell-count")).to_have_text("")
    expect(agent.locator("#notif-panel .notif.unread")).to_have_count(0)
