"""The thread header in a real Chromium: status, assignee, Labels, Resolve, Snooze and the
contact button sit on one line on a laptop (1280 px), "Unassigned" and a usual name shown
whole there, and nothing leaves the screen on a phone (390 px)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import OWNER, App, login, running_app
from tests.live import cli

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(
        tmp_path_factory.mktemp("head"), agent_name="Agnes Moreau-Lindqvist"
    ) as running:
        cli(
            running.env,
            "createuser",
            "--workspace",
            "my-team",
            *("--email", "maria@example.com", "--password", "maria-santos-pw", "--role", "agent"),
            *("--name", "Maria Santos"),
        )
        yield running


def test_the_header_actions_fit_on_one_line_on_a_laptop(app, browser, shots):
    from playwright.sync_api import expect

    ana = app.inbound("ana-h", "Anastasia Wolkenstein-Berger", "About my invoice for October")
    cid = ana["conversation_id"]
    labels = [
        app.api.post("/labels", json={"name": name, "color": "#0090ff"}).json()["id"]
        for name in ("Billing", "Urgent")
    ]
    app.api.put(f"/conversations/{cid}/labels", json={"label_ids": labels}).raise_for_status()
    owner = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 800}
    )
    owner.click(f"#conv-{cid} a")
    # Beside the contact panel the pane is narrow, yet "Unassigned" and a usual name are whole.
    name = owner.locator("#thread-header .assign-name")
    whole = "el => el.scrollWidth <= el.clientWidth"
    expect(name).to_have_text("Unassigned")
    assert name.evaluate(whole), "Unassigned is cut"
    owner.click("[data-assign-menu] summary")
    owner.click("[data-assign-option] button >> text=Maria Santos")
    expect(name).to_have_text("Maria Santos")
    assert name.evaluate(whole), "Maria Santos is cut"
    owner.click("[data-assign-menu] summary")
    owner.click("[data-assign-option] button >> text=Agnes Moreau-Lindqvist")
    expect(owner.locator("[data-assign-menu] summary")).to_contain_text("Agnes")
    # The event line once, though both the answer and the live event bring it.
    line = owner.locator("#messages .event", has_text="assigned this to Agnes")
    expect(line).to_have_count(1)
    for width, height in ((1280, 800), (390, 844)):
        owner.set_viewport_size({"width": width, "height": height})
        header = owner.locator("#thread-header")
        expect(header).to_be_visible()
        owner.screenshot(path=str(shots / f"thread-header-{width}.png"))
        controls = owner.locator(
            "#thread-header .thread-actions > *:not([hidden]):not(.back)"
        ).all()
        boxes = [c.bounding_box() for c in controls]
        boxes = [b for b in boxes if b and b["width"] > 0]
        for box in boxes:
            assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (width, box)
        if width == 1280:
            tops = {round(b["y"] + b["height"] / 2) for b in boxes}
            assert max(tops) - min(tops) <= 4, ("not one line", boxes)
    expect(line).to_have_count(1)


def test_a_shortcut_pressed_while_the_last_one_is_landing_waits_for_it(app, browser):
    """`a` then `e` at once: the take's answer replaces the header; the resolve goes out after
    it, from the new header, and its event line still reaches the thread (sent from the old
    header, htmx found no #messages for it and logged an error)."""
    from playwright.sync_api import expect

    bea = app.inbound("bea-h", "Bea Quick", "Two keys in a row")
    cid = bea["conversation_id"]
    owner = login(browser, app, OWNER[0], app.owner_password)
    owner.click(f"#conv-{cid} a")
    expect(owner.locator("#thread")).to_have_attribute("data-conversation", str(cid))
    held: list = []
    owner.route(f"**/c/{cid}/assign*", lambda route: held.append(route))
    owner.locator("#reply-text").blur()
    owner.keyboard.press("a")
    owner.wait_for_function("() => document.querySelector('#thread-header .htmx-request')")
    owner.keyboard.press("e")
    owner.wait_for_timeout(300)
    assert app.conversation(cid)["status"] == "open"  # the resolve waits for the take
    held[0].continue_()
    owner.unroute(f"**/c/{cid}/assign*")
    expect(owner.locator("#thread-status")).to_have_text("Resolved")
    assert app.conversation(cid)["status"] == "resolved"
    assert app.conversation(cid)["assignee"]["email"] == OWNER[0]
    expect(owner.locator("#messages .event", has_text="took this conversation")).to_have_count(1)
    expect(owner.locator("#messages .event", has_text="resolved")).to_have_count(1)
