"""Held replies in a real Chromium against ``frontdesk run``: two members answer the same
client; the second is held with what is new, keeps the text and chooses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import AGENT, OWNER, App, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("held"), agent_name="Agnes Agent") as running:
        yield running


@pytest.mark.browser_allows(r"status of 409")  # the held reply answers 409, on purpose
def test_two_members_answering_at_once_the_second_is_held(app, browser, shots):
    from playwright.sync_api import expect

    ana = app.inbound("ana-held", "Ana Lima", "Is my order shipped?")
    owner = login(browser, app, OWNER[0], app.owner_password)
    agent = login(browser, app, *AGENT)
    for page in (owner, agent):
        page.click("#rows .row >> text=Ana Lima")
        expect(page.locator("#messages")).to_contain_text("Is my order shipped?")
    # Each sees in the list who else has the conversation open.
    row = f"#conv-{ana['conversation_id']} .tm-row-presence"
    owner.fill("#reply-text", "Yes, it left this morning.")
    expect(agent.locator(row)).to_contain_text("owner")
    agent.fill("#reply-text", "Shipped yesterday!")
    expect(owner.locator(row)).to_contain_text("Agnes Agent typing")
    agent.press("#reply-text", "Enter")
    expect(agent.locator("#messages .msg.outbound").last).to_contain_text("Shipped yesterday!")
    # The owner started before seeing it: the reply is held, the new message above the box.
    owner.press("#reply-text", "Enter")
    held = owner.locator("#reply-form .tm-held")
    expect(held).to_contain_text("1 new message arrived")
    expect(held.locator(".tm-held-item")).to_contain_text("Agnes Agent")
    expect(held.locator(".tm-held-item")).to_contain_text("Shipped yesterday!")
    expect(owner.locator("#reply-text")).to_have_value("Yes, it left this morning.")
    owner.set_viewport_size({"width": 1280, "height": 800})
    owner.screenshot(path=str(shots / "held-reply.png"))
    outbound = owner.locator("#messages .msg.outbound:not(.note)")
    expect(outbound).to_have_count(1)
    # Edit: the notice goes, the text stays to be changed; then it is sent.
    held.locator("[data-tm-edit]").click()
    expect(held).to_have_count(0)
    expect(owner.locator("#reply-text")).to_be_focused()
    owner.fill("#reply-text", "And the tracking number is 123.")
    owner.press("#reply-text", "Enter")
    expect(outbound).to_have_count(2)
    expect(outbound.last).to_contain_text("tracking number is 123")
    # The client writes while the owner types: held again; Send anyway sends it as written.
    owner.fill("#reply-text", "Anything else?")
    app.inbound("ana-held", "Ana Lima", "Thanks! One more question")
    expect(owner.locator("#messages")).to_contain_text("One more question")
    owner.press("#reply-text", "Enter")
    expect(held.locator(".tm-held-item")).to_contain_text("One more question")
    held.locator("[data-tm-send-anyway]").click()
    expect(outbound).to_have_count(3)
    expect(outbound.last).to_contain_text("Anything else?")
    expect(held).to_have_count(0)
    expect(owner.locator("#reply-text")).to_have_value("")
    texts = [
        m["text"]
        for m in app.api.get(f"/conversations/{ana['conversation_id']}/messages").json()["items"]
        if m["direction"] == "outbound" and m["kind"] == "message"
    ]
    assert texts == [
        "Shipped yesterday!",
        "And the tracking number is 123.",
        "Anything else?",
    ]
