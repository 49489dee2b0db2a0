"""Settings > Assignment in a real Chromium: the owner turns round robin on for a channel,
among chosen members with a cap, and the next new conversation arrives assigned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import OWNER, App, login, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("assign"), agent_name="Agnes Agent") as running:
        yield running


def test_the_owner_turns_auto_assignment_on_and_new_work_is_assigned(app, browser, shots):
    from playwright.sync_api import expect

    channel = app.channel
    before = app.inbound("ana-a", "Ana Before", "Hello")
    assert app.conversation(before["conversation_id"])["assignee"] is None  # off by default
    owner = login(browser, app, OWNER[0], app.owner_password)
    owner.goto(f"{app.base}/settings/")
    owner.click("text=Assignment")
    owner.wait_for_url("**/settings/assignment/")
    form = owner.locator(f"[data-assign-channel='{channel['id']}']")
    expect(form.locator("input[name=mode][value=off]")).to_be_checked()
    expect(owner.locator("input[name=assign_on_reply]")).to_be_checked()

    form.locator("input[name=mode][value=round_robin]").check()
    form.locator("input[name=who][value=chosen]").check()
    for box in form.locator("input[name=members]").all():
        label = box.evaluate("el => el.parentElement.textContent").strip()
        if label.startswith("Agnes Agent"):
            box.check()
        else:
            box.uncheck()
    form.locator("input[name=cap]").fill("5")
    for width, height in ((1280, 800), (390, 844)):
        owner.set_viewport_size({"width": width, "height": height})
        owner.screenshot(path=str(shots / f"assignment-{width}.png"), full_page=True)
    owner.set_viewport_size({"width": 1280, "height": 800})
    form.locator("button.primary").click()
    expect(owner.locator(".flash")).to_contain_text("auto-assignment saved")
    form = owner.locator(f"[data-assign-channel='{channel['id']}']")
    expect(form.locator("input[name=mode][value=round_robin]")).to_be_checked()
    expect(form.locator("input[name=cap]")).to_have_value("5")

    # A new client: the conversation arrives assigned to Agnes, in the list too.
    owner.goto(f"{app.base}/")
    new = app.inbound("bo-a", "Bo After", "Hi, a question")
    assert app.conversation(new["conversation_id"])["assignee"]["name"] == "Agnes Agent"
    row = owner.locator(f"#conv-{new['conversation_id']}")
    expect(row.locator(".row-assignee")).to_have_attribute("title", "Assigned to Agnes Agent")
    assert app.conversation(before["conversation_id"])["assignee"] is None
