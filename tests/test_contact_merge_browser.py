"""Merging two contacts from the contact panel in a real Chromium; another member's page
follows live."""

from __future__ import annotations

import pytest

from tests.browser import AGENT, OWNER, login
from tests.live import cli

pytestmark = pytest.mark.browser


def test_merge_two_contacts_from_the_contact_panel(app, browser, tmp_path):
    from playwright.sync_api import expect

    by_mail = app.inbound("ana@x.com", "", "Hi, writing by email")
    by_phone = app.inbound("+5511999990000", "Ana Lima", "And now from my phone")
    page = login(browser, app, OWNER[0], app.owner_password)
    watcher = login(browser, app, *AGENT)
    watcher.goto(f"{app.base}/c/{by_phone['conversation_id']}/")
    expect(watcher.locator("#thread-header")).to_contain_text("Ana Lima")

    page.goto(f"{app.base}/c/{by_mail['conversation_id']}/")
    expect(page.locator("#thread-header .thread-title")).to_have_text("ana@x.com")
    page.click("#contact-merge summary")
    page.fill("#merge-q", "lima")
    page.click("#merge-results .merge-list a >> text=Ana Lima")
    confirm = page.locator(".merge-confirm")
    expect(confirm).to_contain_text(
        "Merge Ana Lima (+5511999990000) into this contact? "
        "Their conversations and addresses move here."
    )
    page.screenshot(path=str(tmp_path / "contact-merge-confirm.png"), caret="initial")
    confirm.locator("button[data-action=merge]").click()

    panel = page.locator("#contact-pane")
    expect(panel.locator(".contact-name")).to_have_text("Ana Lima")
    expect(panel.locator(".facts")).to_contain_text("ana@x.com")
    expect(panel.locator(".facts")).to_contain_text("+5511999990000")
    expect(panel.locator(".others")).to_contain_text("Website chat")
    # live: this page's header and thread, and the other member's open conversation
    expect(page.locator("#thread-header .thread-title")).to_have_text("Ana Lima")
    expect(page.locator("#messages .event").last).to_contain_text(
        "merged Ana Lima (+5511999990000) into this contact"
    )
    expect(watcher.locator("#contact-pane .facts")).to_contain_text("ana@x.com")
    expect(watcher.locator("#messages .event").last).to_contain_text("merged Ana Lima")
    page.screenshot(path=str(tmp_path / "contact-merged.png"), caret="initial")

    merged = app.conversation(by_phone["conversation_id"])["contact"]
    assert merged == app.conversation(by_mail["conversation_id"])["contact"]


def test_the_contact_panel_follows_what_the_worker_learns_of_the_contact(app, browser):
    """A profile or picture the worker fills in later (``contact.updated``, published by
    another process) shows in the open panel and the list without a reload."""
    from playwright.sync_api import expect

    convo = app.inbound("kim-77", "Kim Lee", "Hello from LinkedIn")
    contact_id = app.conversation(convo["conversation_id"])["contact"]["id"]
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/c/{convo['conversation_id']}/")
    expect(page.locator("#contact-pane .contact-name")).to_have_text("Kim Lee")
    expect(page.locator("#contact-pane .headline")).to_have_count(0)
    cli(
        app.env,
        "shell",
        "-c",
        "from frontdesk.inbox.models import Contact\n"
        "from frontdesk.realtime.publish import publish\n"
        f"c = Contact.objects.get(pk={contact_id})\n"
        "c.custom_fields = {'linkedin_headline': 'Head of Ops at Lumen'}\n"
        "c.save()\n"
        "publish(c.workspace_id, 'contact.updated', contact_id=c.pk)\n",
    )
    expect(page.locator("#contact-pane .headline")).to_have_text("Head of Ops at Lumen")
