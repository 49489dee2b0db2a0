"""Apps & integrations in Chromium: what an admin does to a connected account."""

from __future__ import annotations

import pytest

from tests.browser import OWNER, login

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1440, 390])
def test_disconnect_asks_first_and_cancel_keeps_the_account(app, browser, shots, width):
    channel = app.channel
    page = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": width, "height": 900}
    )
    page.goto(f"{app.base}/apps/")
    row = page.locator(f"#channel-{channel['id']}")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    row.get_by_role("button", name="Disconnect").click()
    page.screenshot(path=shots / f"apps-{width}.png")
    assert asked and asked[0].startswith(f"Disconnect {channel['name']}?")
    assert "stay in the inbox" in asked[0]
    assert row.locator(".pill").inner_text() == "Connected"
    [listed] = [c for c in app.api.get("/channels").json()["items"] if c["id"] == channel["id"]]
    assert listed["status"] == "connected"

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Disconnect").click()
    page.wait_for_selector(f"#channel-{channel['id']} button:has-text('Connect')")
    assert row.locator(".pill").inner_text() == "Disconnected"
    # connecting again needs no confirmation
    row.get_by_role("button", name="Connect").click()
    page.wait_for_selector(f"#channel-{channel['id']} button:has-text('Disconnect')")
