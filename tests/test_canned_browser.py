"""The canned reply picker in a real Chromium: "/" in the reply box, filtered as you type,
keyboard and mouse, variables filled for the client and the member."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import AGENT, App, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("canned"), agent_name="Agnes Agent") as running:
        yield running


def test_slash_opens_the_picker_and_the_chosen_reply_is_filled_in(app, browser, shots):
    from playwright.sync_api import expect

    for shortcut, title, text in (
        (
            "refund",
            "Refund policy",
            "Hi {{contact.first_name}}, refunds take 5 days. {{agent.name}}",
        ),
        ("thanks", "Thank you", "Thank you, {{contact.name}}!"),
    ):
        made = app.api.post(
            "/canned-replies", json={"shortcut": shortcut, "title": title, "text": text}
        )
        assert made.status_code == 201, made.text
    ana = app.inbound("ana-7", "Ana Lima", "Can I get my money back?")
    page = login(browser, app, *AGENT)
    page.click("#rows .row >> text=Ana Lima")
    box = page.locator("#reply-text")
    picker = page.locator("#canned-picker")
    # "/" lists them all; typing narrows by shortcut or title.
    box.click()
    box.press_sequentially("/")
    expect(picker.locator("[role=option]")).to_have_count(2)
    expect(picker.locator("[role=option]").first).to_have_attribute("aria-selected", "true")
    box.press_sequentially("pol")  # matches the title "Refund policy"
    expect(picker.locator("[role=option]")).to_have_count(1)
    expect(picker).to_contain_text("/refund")
    expect(picker).to_contain_text("Hi Ana, refunds take 5 days. Agnes Agent")
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(shots / f"canned-picker-{width}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})
    # Enter takes it (and does not send).
    box.press("Enter")
    expect(picker).to_have_count(0)
    expect(box).to_have_value("Hi Ana, refunds take 5 days. Agnes Agent")
    # After a space, "/" opens it again; arrows move; Escape closes and keeps the text.
    box.press_sequentially(" /")
    expect(picker.locator("[role=option]")).to_have_count(2)
    box.press("ArrowDown")
    expect(picker.locator("[role=option]").nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(picker).to_have_count(0)
    expect(box).to_have_value("Hi Ana, refunds take 5 days. Agnes Agent /")
    expect(box).to_be_focused()
    # Typing on after Escape keeps it closed; a new "/" opens it. The mouse: a click on one.
    box.press_sequentially("t")
    expect(picker).to_have_count(0)
    box.press("Backspace")
    box.press("Backspace")
    box.press_sequentially("/th")
    picker.locator("[role=option]", has_text="/thanks").click()
    expect(box).to_have_value("Hi Ana, refunds take 5 days. Agnes Agent Thank you, Ana Lima!")
    # Nothing matching says so; the reply goes out as filled in.
    box.press_sequentially(" /zzz")
    expect(picker).to_contain_text("No canned reply matches /zzz")
    box.press("Escape")
    box.press("Backspace")
    box.press("Backspace")
    box.press("Backspace")
    box.press("Backspace")
    box.press("Backspace")
    box.press("Enter")
    expect(page.locator("#messages .msg").last).to_contain_text(
        "Hi Ana, refunds take 5 days. Agnes Agent Thank you, Ana Lima!"
    )
    sent = app.api.get(f"/conversations/{ana['conversation_id']}/messages").json()["items"]
    assert sent[-1]["text"] == "Hi Ana, refunds take 5 days. Agnes Agent Thank you, Ana Lima!"
