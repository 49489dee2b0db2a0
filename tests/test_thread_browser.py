"""The thread and the list in a real Chromium against `frontdesk run` (API channel): the list
preview says who wrote last when it is us, live in a teammate's window."""

from __future__ import annotations

import pytest

from tests.browser import AGENT, OWNER, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("thread"), agent_name="Agnes Moreau") as running:
        yield running


def test_the_list_preview_says_who_wrote_last(app, browser, shots):
    from playwright.sync_api import expect

    ana = app.inbound("ana-t", "Ana Lima", "Hello Sofia, is my order shipped?")
    owner = login(browser, app, OWNER[0], app.owner_password)
    agnes = login(browser, app, *AGENT)
    row = f"#conv-{ana['conversation_id']}"
    expect(owner.locator(row)).to_contain_text("is my order shipped?")
    expect(owner.locator(f"{row} .fd-preview-by")).to_have_count(0)  # the client wrote last

    # Agnes answers: her window says "You:", the owner's (live) says her name.
    agnes.click(f"{row} a")
    agnes.fill("#reply-text", "Hello Ana, let me check")
    agnes.press("#reply-text", "Enter")
    expect(agnes.locator(f"{row} .fd-preview-by")).to_have_text("You:")
    expect(owner.locator(f"{row} .fd-preview-by")).to_have_text("Agnes Moreau:")
    expect(owner.locator(f"{row} .preview")).to_have_text("Hello Ana, let me check")
    owner.screenshot(path=str(shots / "list-preview-teammate.png"))

    # A draft's own tag takes the place of the author.
    owner.click(f"{row} a")
    owner.fill("#reply-text", "Shipped yesterday")
    expect(owner.locator(f"{row} .draft-tag")).to_be_visible()
    expect(owner.locator(f"{row} .fd-preview-by")).to_be_hidden()
    owner.press("#reply-text", "Enter")
    expect(owner.locator(f"{row} .fd-preview-by")).to_have_text("You:")
    expect(agnes.locator(f"{row} .fd-preview-by")).to_have_text("owner:")

    # The client answers: no prefix any more, in either window, and after a reload.
    app.inbound("ana-t", "Ana Lima", "Great, thanks")
    expect(agnes.locator(f"{row} .preview")).to_have_text("Great, thanks")
    expect(agnes.locator(f"{row} .fd-preview-by")).to_have_count(0)
    owner.reload()
    expect(owner.locator(f"{row} .fd-preview-by")).to_have_count(0)

    phone = login(browser, app, *AGENT, viewport={"width": 390, "height": 844})
    expect(phone.locator(row)).to_contain_text("Great, thanks")
    phone.screenshot(path=str(shots / "list-preview-phone.png"))


def test_the_snooze_menu_fits_on_laptop_and_phone(app, browser, shots):
    from playwright.sync_api import expect

    bo = app.inbound("bo-t", "Bo Berg", "Call me next week")
    for name, size in (("laptop", (1280, 800)), ("phone", (390, 844))):
        page = login(browser, app, *AGENT, viewport={"width": size[0], "height": size[1]})
        page.click(f"#conv-{bo['conversation_id']} a")
        page.click("details[data-snooze-menu] summary")
        body = page.locator("details[data-snooze-menu] .menu-body")
        expect(body).to_be_visible()
        box = body.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= size[0], (name, box)
        for control in body.locator("button, input:not([type=hidden])").all():
            inner = control.bounding_box()
            assert inner["x"] >= box["x"] - 0.5, (name, inner, box)
            assert inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5, (name, inner, box)
        page.screenshot(path=str(shots / f"snooze-menu-{name}.png"))


def test_the_assignee_picker_shows_teammates_and_works_by_keyboard(app, browser, shots):
    """Assigning is a menu of teammates with their avatars, who is away, a search box and
    the keyboard (arrows, Enter, Escape), on a laptop and on a phone."""
    from playwright.sync_api import expect

    ben = app.inbound("ben-p", "Ben Picker", "Who will handle my refund?")
    agnes = login(browser, app, *AGENT)
    agnes.click("#tm-avail button")
    expect(agnes.locator("#tm-avail")).to_contain_text("Away")
    owner = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 800}
    )
    owner.click(f"#conv-{ben['conversation_id']} a")
    menu = owner.locator("[data-assign-menu]")
    expect(menu.locator("summary")).to_contain_text("Unassigned")
    menu.locator("summary").click()
    expect(owner.locator("[data-assign-filter]")).to_be_focused()
    options = menu.locator("[data-assign-option]")
    expect(options).to_have_count(2)  # the two members; "Unassign" only once someone has it
    agnes_row = options.filter(has_text="Agnes Moreau")
    expect(agnes_row.locator(".avatar")).to_have_text("AM")
    expect(agnes_row).to_contain_text("Away")
    expect(options.filter(has_text="(me)")).to_have_count(1)
    owner.screenshot(path=str(shots / "assignee-picker.png"))

    # Escape closes it and gives the focus back; the arrows walk the list, Enter picks.
    owner.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.locator("summary")).to_be_focused()
    owner.keyboard.press("Enter")
    expect(owner.locator("[data-assign-filter]")).to_be_focused()
    owner.keyboard.type("moreau")
    expect(owner.locator("[data-assign-option]:visible")).to_have_count(1)
    owner.keyboard.press("ArrowDown")
    expect(agnes_row.locator("button")).to_be_focused()
    owner.keyboard.press("Enter")
    expect(owner.locator("[data-assign-menu] summary")).to_contain_text("Agnes Moreau")
    assert app.conversation(ben["conversation_id"])["assignee"]["email"] == AGENT[0]

    # Nobody by that name says so; Unassign is there now that someone has it.
    owner.click("[data-assign-menu] summary")
    owner.fill("[data-assign-filter]", "zzz")
    expect(owner.locator("[data-assign-empty]")).to_be_visible()
    owner.fill("[data-assign-filter]", "")
    owner.click("[data-assign-option] button >> text=Unassign")
    expect(owner.locator("[data-assign-menu] summary")).to_contain_text("Unassigned")

    phone = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 390, "height": 844}
    )
    phone.goto(f"{app.base}/c/{ben['conversation_id']}/")
    phone.click("[data-assign-menu] summary")
    body = phone.locator("[data-assign-menu] .menu-body").bounding_box()
    assert body["x"] >= 0 and body["x"] + body["width"] <= 390, body
    phone.screenshot(path=str(shots / "assignee-picker-phone.png"))
