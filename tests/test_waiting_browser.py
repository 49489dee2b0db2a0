"""The "Waiting longest" view in a real Chromium with two members: opened from the sidebar,
a client who writes joins its end live, a teammate's reply takes the row away live."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import AGENT, OWNER, App, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("waiting"), agent_name="Agnes Agent") as running:
        yield running


def test_the_waiting_list_follows_clients_and_replies_live(app, browser, shots):
    from playwright.sync_api import expect

    ana = app.inbound("ana-w", "Ana Waiting", "Is my order shipped?")
    bo = app.inbound("bo-w", "Bo Answered", "Hi there")
    app.api.post(
        f"/conversations/{bo['conversation_id']}/messages",
        json={"text": "Hello Bo", "kind": "reply"},
    ).raise_for_status()
    agent = login(browser, app, *AGENT)
    owner = login(browser, app, OWNER[0], app.owner_password)

    agent.click("#inbox-nav [data-view=waiting]")
    agent.wait_for_url("**/?view=waiting")
    expect(agent.locator("#list-title")).to_have_text("Waiting longest")
    rows = agent.locator("#rows .row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ana Waiting")
    expect(rows.first.locator("[data-waiting]")).to_have_text("waiting 1 min")
    expect(agent.locator("#inbox-nav [data-view=waiting]")).to_have_class("nav-link current")

    # A new client joins the end of the list, without a reload.
    app.inbound("cy-w", "Cy Later", "Hello? Anyone?")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Cy Later")
    for width, height in ((1280, 800), (390, 844)):
        agent.set_viewport_size({"width": width, "height": height})
        agent.screenshot(path=str(shots / f"waiting-{width}.png"))
    agent.set_viewport_size({"width": 1280, "height": 800})

    # The owner answers Ana from the thread: her row leaves Agnes's list.
    owner.goto(f"{app.base}/c/{ana['conversation_id']}/")
    owner.fill("#reply-text", "Yes, it left this morning")
    owner.press("#reply-text", "Enter")
    expect(owner.locator("#messages .msg.outbound").last).to_contain_text("it left this morning")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Cy Later")

    # The same list as a filter: "Waiting for us" on All.
    agent.goto(f"{app.base}/")
    expect(agent.locator("#rows .row")).to_have_count(3)
    agent.check("input[name=waiting]")
    expect(agent.locator("#rows .row")).to_have_count(1)
    expect(agent.locator("#rows .row").first).to_contain_text("Cy Later")
