"""The composer in a real Chromium against `frontdesk run`, on the API channel: files pasted,
dropped and picked become chips (a file too big is explained before sending), the toolbar's
formatting reaches the channel's callback as HTML beside the plain text, and drafts survive
moving between conversations and a reload."""

from __future__ import annotations

import base64

import pytest

from tests.browser import OWNER, login
from tests.fixtures import wait_for

pytestmark = pytest.mark.browser

# A real 1x1 PNG, as a screenshot pasted from the clipboard would be.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _paste_image(page) -> None:
    """What the browser fires when a person pastes an image copied to the clipboard."""
    page.evaluate(
        """(bytes) => {
          const file = new File([new Uint8Array(bytes)], "image.png", {type: "image/png"});
          const data = new DataTransfer();
          data.items.add(file);
          document.querySelector("#reply-text").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }""",
        list(PNG),
    )


def _drop(page, name: str, content_type: str, size: int) -> None:
    """A file dragged from the desktop and dropped on the reply box."""
    data = page.evaluate_handle(
        """([name, type, size]) => {
          const data = new DataTransfer();
          data.items.add(new File([new Uint8Array(size)], name, {type}));
          return data;
        }""",
        [name, content_type, size],
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event("#reply-text", event, {"dataTransfer": data})


def test_files_formatting_and_the_callback(app, browser, shots):
    from playwright.sync_api import expect

    ana = app.inbound("ana-c", "Ana Lima", "Can you send me the invoice?")
    page = login(browser, app, OWNER[0], app.owner_password)
    page.click(f"#conv-{ana['conversation_id']} a")
    expect(page.locator("#thread")).to_contain_text("send me the invoice")

    # Paste a screenshot, drop a PDF: two chips with their sizes.
    _paste_image(page)
    chips = page.locator(".file-chip")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("pasted-")
    expect(chips.first).to_contain_text(f"{len(PNG)} B")
    expect(chips.first.locator("img.file-thumb")).to_be_visible()
    expect(page.locator("#reply-text")).to_have_value("")  # no file name typed in
    _drop(page, "invoice.pdf", "application/pdf", 48_000)
    expect(chips).to_have_count(2)
    expect(chips.nth(1)).to_contain_text("invoice.pdf")
    expect(chips.nth(1)).to_contain_text("47 KB")

    # A file over the app's limit is explained before anything is sent.
    _drop(page, "backup.pdf", "application/pdf", 26 * 1024 * 1024)
    refused = page.locator(".file-chip.refused")
    expect(refused).to_contain_text("backup.pdf")
    expect(refused).to_contain_text("26 MB · Too big: the limit here is 25 MB")

    # Formatting from the toolbar and the keyboard.
    box = page.locator("#reply-text")
    box.fill("Here is your invoice")
    box.evaluate("el => el.setSelectionRange(13, 20)")  # "invoice"
    page.click("[data-format=bold]")
    page.keyboard.press("End")
    page.keyboard.press("Shift+Enter")  # Enter alone sends on a chat channel
    page.keyboard.type("Paid")
    page.keyboard.press("Shift+Home")
    page.click("[data-format=bullets]")
    page.keyboard.press("End")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Shipped")
    expect(box).to_have_value("Here is your **invoice**\n- Paid\nShipped")
    page.keyboard.press("Shift+Home")
    page.click("[data-format=bullets]")
    expect(box).to_have_value("Here is your **invoice**\n- Paid\n- Shipped")
    page.screenshot(path=str(shots / "composer-api-laptop.png"))

    # Sending is refused while the refused file is there; removing it lets the reply go.
    page.click("#send-btn")
    expect(page.locator("#reply-error")).to_contain_text("Remove the files marked in red")
    assert app.callback.received == []
    refused.locator(".file-remove").click()
    expect(page.locator("#reply-error")).to_have_text("")
    page.keyboard.press("Enter")
    mine = page.locator("#messages .msg.outbound").last
    expect(mine.locator(".body strong")).to_have_text("invoice")
    expect(mine.locator(".body li")).to_have_count(2)
    expect(page.locator(".file-chip")).to_have_count(0)
    expect(box).to_have_value("")

    hit = wait_for(lambda: app.callback.received and app.callback.received[-1], timeout=20)
    assert hit.json["text"] == "Here is your invoice\n• Paid\n• Shipped"
    assert hit.json["html"] == (
        "<p>Here is your <strong>invoice</strong></p>\n<ul><li>Paid</li><li>Shipped</li></ul>"
    )
    sent = {
        (a["name"].split("-")[0], a["content_type"], a["size"]) for a in hit.json["attachments"]
    }
    assert sent == {
        ("pasted", "image/png", len(PNG)),
        ("invoice.pdf", "application/pdf", 48_000),
    }


def test_emoji_and_notes(app, browser):
    from playwright.sync_api import expect

    bo = app.inbound("bo-c", "Bo Berg", "Thanks a lot!")
    page = login(browser, app, OWNER[0], app.owner_password)
    page.click(f"#conv-{bo['conversation_id']} a")
    page.fill("#reply-text", "You're welcome ")
    page.click("[data-emoji-toggle]")
    expect(page.locator("[data-emoji-search]")).to_be_focused()
    page.keyboard.type("thumbs")
    page.click("[data-emoji='👍']")
    expect(page.locator("[data-emoji-panel]")).to_be_hidden()
    expect(page.locator("#reply-text")).to_have_value("You're welcome 👍")

    # A note: the tab changes the box; files and channel fields are for replies only.
    page.click(".composer-tab.tab-note")
    expect(page.locator("#reply-form")).to_have_class("composer is-note")
    expect(page.locator("#send-btn")).to_have_text("Add note")
    page.fill("#reply-text", "Bo is a **VIP**")
    page.keyboard.press("Enter")
    note = page.locator("#messages .msg.note").last
    expect(note.locator("strong")).to_have_text("VIP")
    assert not [h for h in app.callback.received if "VIP" in h.json["text"]]


def test_drafts_survive_moving_between_conversations_and_a_reload(app, browser):
    from playwright.sync_api import expect

    cleo = app.inbound("cleo-c", "Cleo Park", "Is the blue one back in stock?")
    dev = app.inbound("dev-c", "Dev Shah", "Hello?")
    page = login(browser, app, OWNER[0], app.owner_password)
    page.click(f"#conv-{cleo['conversation_id']} a")
    page.fill("#reply-text", "Let me check the warehouse")
    cleo_row = page.locator(f"#conv-{cleo['conversation_id']}")
    expect(cleo_row.locator(".draft-tag")).to_have_text("Draft")
    expect(cleo_row.locator(".preview")).to_have_text("Let me check the warehouse")

    page.click(f"#conv-{dev['conversation_id']} a")
    expect(page.locator("#thread")).to_contain_text("Hello?")
    expect(page.locator("#reply-text")).to_have_value("")
    page.reload()
    expect(cleo_row.locator(".draft-tag")).to_have_text("Draft")
    # A new message in that conversation refreshes its row: the draft mark stays.
    app.inbound("cleo-c", "Cleo Park", "Or the green one")
    expect(cleo_row).to_contain_text("Draft")

    page.click(f"#conv-{cleo['conversation_id']} a")
    expect(page.locator("#reply-text")).to_have_value("Let me check the warehouse")
    page.press("#reply-text", "Enter")
    expect(page.locator("#messages .msg.outbound").last).to_contain_text("warehouse")
    expect(cleo_row.locator(".draft-tag")).to_have_count(0)
    page.reload()
    expect(page.locator("#reply-text")).to_have_value("")
