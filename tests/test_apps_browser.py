"""Apps & integrations in Chromium: what an admin does to a connected account."""

from __future__ import annotations

import httpx
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


def test_remove_channel_asks_first_and_keeps_its_conversations_readable(app, browser, shots):
    created = app.api.post(
        "/channels",
        json={
            "kind": "api",
            "provider": "api",
            "name": "Old web form",
            "config": {"callback_url": app.callback.url},
        },
    ).json()
    said = httpx.post(
        f"{app.base}/api/v1/channels/{created['id']}/messages",
        headers={"Authorization": f"Bearer {created['secret']}"},
        json={
            "id": "old-1",
            "contact": {"handle": "rita", "name": "Rita Old"},
            "text": "Any news?",
        },
        timeout=10,
    ).json()
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/apps/")
    sidebar = page.locator("nav.sidebar")
    assert sidebar.get_by_text("Old web form").count() == 1
    row = page.locator(f"#channel-{created['id']}")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    row.get_by_role("button", name="Remove channel").click()
    assert asked and asked[0].startswith("Remove Old web form?")
    assert row.count() == 1  # dismissed: nothing happened

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Remove channel").click()
    page.wait_for_selector(".flash-success >> text=Old web form is removed")
    assert page.locator(f"#channel-{created['id']}").count() == 0
    assert sidebar.get_by_text("Old web form").count() == 0

    page.goto(f"{app.base}/c/{said['conversation_id']}/")
    page.wait_for_selector("text=Any news?")
    assert page.locator(".thread-sub .removed-channel").inner_text() == "(removed channel)"
    reason = page.locator("[data-reply-closed]")
    assert "Old web form, a channel that was removed" in reason.inner_text()
    assert page.locator("input[name=mode][value=reply]").is_disabled()
    page.screenshot(path=shots / "removed-channel-thread.png")
