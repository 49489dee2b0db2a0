"""Labels in a real Chromium with two members side by side: made in Settings, put on from the
thread header, seen live by the teammate, and each label's view in the sidebar."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import AGENT, OWNER, App, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("labels"), agent_name="Agnes Agent") as running:
        yield running


def test_a_label_put_on_in_the_header_shows_live_to_a_teammate_and_in_its_view(app, browser, shots):
    from playwright.sync_api import expect

    app.inbound("ana-7", "Ana Lima", "Can someone send me the invoice?")
    app.inbound("bo-8", "Bo Berg", "Hello, is the shop open on Sunday?")
    owner = login(browser, app, OWNER[0], app.owner_password)
    # The owner adds the label in Settings > Labels.
    owner.goto(f"{app.base}/settings/labels/")
    owner.fill("#label-new-name", "Billing")
    owner.select_option("#label-new-color", label="Red")
    owner.click("#label-new button")
    expect(owner.locator(".flash")).to_contain_text("Label “Billing” added.")
    owner.goto(f"{app.base}/")
    agent = login(browser, app, *AGENT)
    for page in (owner, agent):
        page.click("#rows .row >> text=Ana Lima")
        expect(page.locator("#thread")).to_contain_text("send me the invoice")
    # The owner puts it on from the header's Labels menu.
    owner.click("[data-label-menu] summary")
    owner.click("[data-label-menu] [data-label-option] >> text=Billing")
    expect(owner.locator("#thread-labels .tm-label")).to_have_text(["Billing"])
    expect(owner.locator("#messages .event").last).to_contain_text("owner added Billing")
    # Agnes sees it arrive without reloading: in the header, the thread and the row.
    expect(agent.locator("#thread-labels .tm-label")).to_have_text(["Billing"])
    expect(agent.locator("#messages .event").last).to_contain_text("owner added Billing")
    expect(agent.locator("#rows .row", has_text="Ana Lima").locator(".tm-label")).to_have_text(
        "Billing"
    )
    # The sidebar's Billing view lists only Ana's conversation.
    agent.click("#inbox-nav [data-label-view] >> text=Billing")
    expect(agent.locator("#list-title")).to_have_text("Billing")
    expect(agent.locator("#rows .row")).to_have_count(1)
    expect(agent.locator("#rows .row")).to_contain_text("Ana Lima")
    for width, height in ((1280, 800), (390, 844)):
        agent.set_viewport_size({"width": width, "height": height})
        agent.screenshot(path=str(shots / f"labels-view-{width}.png"))
    agent.set_viewport_size({"width": 1280, "height": 800})
    # The owner takes it off: it leaves Agnes's Billing view live.
    owner.click("[data-label-menu] summary")
    expect(owner.locator("[data-label-option]")).to_have_attribute("aria-pressed", "true")
    owner.set_viewport_size({"width": 390, "height": 844})
    owner.screenshot(path=str(shots / "labels-menu-390.png"))
    owner.set_viewport_size({"width": 1280, "height": 800})
    owner.screenshot(path=str(shots / "labels-menu-1280.png"))
    owner.click("[data-label-menu] [data-label-option] >> text=Billing")
    expect(owner.locator("#thread-labels")).to_be_hidden()
    expect(agent.locator("#rows .row")).to_have_count(0)


def test_bulk_actions_on_a_selection_reach_the_teammate_live(app, browser, shots):
    from playwright.sync_api import expect

    vip = app.api.post("/labels", json={"name": "VIP", "color": "#6e56cf"}).json()
    assert "id" in vip
    for handle, name in (
        ("cara", "Cara Cole"),
        ("dan", "Dan Dorn"),
        ("eve", "Eve Ek"),
        ("finn", "Finn Fox"),
    ):
        app.inbound(handle, name, f"Hi, {name} here")
    owner = login(browser, app, OWNER[0], app.owner_password)
    agent = login(browser, app, *AGENT)
    bar = owner.locator("#bulk")
    expect(bar).to_be_hidden()

    def box(page, name):
        return page.locator("#rows .row", has_text=name).locator("[data-pick]")

    # A click, then Shift+click: the range between them (newest first: Finn, Eve, Dan).
    box(owner, "Finn Fox").click()
    box(owner, "Dan Dorn").click(modifiers=["Shift"])
    expect(bar).to_be_visible()
    expect(bar.locator("[data-bulk-count]")).to_have_text("3 selected")
    for name in ("Finn Fox", "Eve Ek", "Dan Dorn"):
        expect(box(owner, name)).to_be_checked()
    # The keyboard: x ticks the focused row, x again unticks it.
    owner.locator("#rows .row", has_text="Cara Cole").locator("a").focus()
    owner.keyboard.press("x")
    expect(bar.locator("[data-bulk-count]")).to_have_text("4 selected")
    owner.keyboard.press("x")
    expect(bar.locator("[data-bulk-count]")).to_have_text("3 selected")
    for width, height in ((1280, 800), (390, 844)):
        owner.set_viewport_size({"width": width, "height": height})
        owner.screenshot(path=str(shots / f"bulk-selection-{width}.png"))
    owner.set_viewport_size({"width": 1280, "height": 800})
    # Label the three: Agnes's list shows it on exactly those rows, without reloading.
    bar.locator("summary", has_text="Label").click()
    bar.locator("button[value^='label:']", has_text="VIP").click()
    expect(owner.locator("#toast")).to_have_text("3 conversations labelled.")
    expect(bar).to_be_hidden()
    for name in ("Finn Fox", "Eve Ek", "Dan Dorn"):
        expect(agent.locator("#rows .row", has_text=name).locator(".tm-label")).to_have_text("VIP")
    expect(agent.locator("#rows .row", has_text="Cara Cole").locator(".tm-label")).to_have_count(0)
    # Assign them to Agnes, then resolve them: they leave her Open list live.
    box(owner, "Finn Fox").click()
    box(owner, "Dan Dorn").click(modifiers=["Shift"])
    bar.locator("summary", has_text="Assign").click()
    bar.locator("button", has_text="Agnes Agent").click()
    expect(owner.locator("#toast")).to_have_text("3 conversations assigned.")
    eve = agent.locator("#rows .row", has_text="Eve Ek")
    expect(eve.locator(".row-assignee")).to_have_attribute("title", "Assigned to Agnes Agent")
    expect(eve.locator(".row-assignee .avatar.xs")).to_be_visible()
    box(owner, "Finn Fox").click()
    box(owner, "Dan Dorn").click(modifiers=["Shift"])
    bar.locator("button", has_text="Resolve").click()
    expect(owner.locator("#toast")).to_have_text("3 conversations resolved.")
    for name in ("Finn Fox", "Eve Ek", "Dan Dorn"):
        expect(agent.locator("#rows .row", has_text=name)).to_have_count(0)
    expect(agent.locator("#rows .row", has_text="Cara Cole")).to_have_count(1)
