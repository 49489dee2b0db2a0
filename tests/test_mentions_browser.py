"""@mention autocomplete in a real Chromium with two members: in a note, "@" offers the
members (keyboard and mouse), the chosen one is mentioned, and their bell counts it live in
the other browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import AGENT, OWNER, App, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("mentions"), agent_name="Agnes Agent") as running:
        yield running


def test_at_offers_the_members_and_the_mentioned_one_is_told_live(app, browser, shots):
    from playwright.sync_api import expect

    ana = app.inbound("ana-m", "Ana Mention", "Can someone check my refund?")
    agent = login(browser, app, *AGENT)
    expect(agent.locator("#bell-count")).to_have_text("")
    owner = login(browser, app, OWNER[0], app.owner_password)
    owner.click(f"#conv-{ana['conversation_id']} a")
    box = owner.locator("#reply-text")
    # In Reply mode "@" is just a character: no picker.
    box.press_sequentially("mail @")
    expect(owner.locator("#mention-picker")).to_have_count(0)
    box.fill("")
    owner.check("input[name=mode][value=note]")
    box.press_sequentially("Could @ag")
    picker = owner.locator("#mention-picker")
    expect(picker).to_be_visible()
    expect(picker.locator("[role=option]")).to_have_text(["@Agnes Agent"])
    expect(box).to_have_attribute("aria-expanded", "true")
    owner.screenshot(path=str(shots / "mention-picker-1280.png"))
    box.press("Enter")  # takes the option; does not send
    expect(picker).to_have_count(0)
    expect(box).to_have_value("Could @Agnes Agent ")
    # Escape closes it for this "@"; the mouse takes an option too.
    box.press_sequentially("and @")
    expect(picker.locator("[role=option]")).to_have_count(2)
    box.press("Escape")
    expect(picker).to_have_count(0)
    box.press_sequentially(" @Agn")
    picker.locator("[role=option]", has_text="Agnes").click()
    expect(box).to_have_value("Could @Agnes Agent and @ @Agnes Agent ")
    expect(box).to_be_focused()
    box.fill("Could @Agnes Agent look at the refund?")
    box.press("Enter")
    expect(owner.locator("#messages .msg.note .mention")).to_have_text("@Agnes Agent")
    # Agnes's bell counts it without a reload, and the panel says who mentioned her.
    expect(agent.locator("#bell-count")).to_have_text("1")
    agent.click("#bell")
    expect(agent.locator("#notif-panel .notif.unread")).to_contain_text(
        "owner mentioned you in Ana Mention"
    )
