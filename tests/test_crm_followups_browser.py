"""Follow-ups in a real Chromium against a real embedded server (`frontdesk run`, its worker
included): a member in Tokyo sets their zone, schedules a follow-up from a lead's page, sees
it due on "My follow-ups" and in the sidebar, is reminded by the bell when the worker's round
comes, and marks it done; on a laptop and on a phone.

Screenshots go to $FRONTDESK_SCREENSHOTS (or the test's temporary folder).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.browser import ACTION_TIMEOUT_S, AGENT, OWNER, App, login, running_app
from tests.live import create_token

pytestmark = pytest.mark.browser

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("crm-fu-ui"), App, "Agnes Meyer") as running:
        yield running


@pytest.mark.browser_allows(r"status of 422")  # the refused form answers 422 (htmx shows why)
def test_schedule_see_it_due_be_reminded_and_finish_it(app, browser, shots):
    from playwright.sync_api import expect

    contact = app.api.post("/contacts", json={"name": "Ana Lima", "company": "Lisbon Bikes"})
    lead = app.api.post("/leads", json={"contact_id": contact.json()["id"], "title": "40 bikes"})
    assert lead.status_code == 201, lead.text
    lead_id = lead.json()["id"]

    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/settings/profile/")
    page.select_option("#people-tz", "Asia/Tokyo")
    page.locator("#people-tz").locator("xpath=ancestor::form").get_by_role("button").click()
    expect(page.locator("#people-tz")).to_have_value("Asia/Tokyo")

    # From the lead's page: a follow-up two minutes ago in Tokyo time (so due at once)...
    page.goto(f"{app.base}/leads/{lead_id}/")
    block = page.locator("#crm-followups")
    expect(block).to_contain_text("Times in Asia/Tokyo")
    past = datetime.now(TOKYO) - timedelta(minutes=2)
    block.locator("#crm-fu-date").fill(past.strftime("%Y-%m-%d"))
    block.locator("#crm-fu-time").fill(past.strftime("%H:%M"))
    expect(block.locator('input[name="when"][value="custom"]')).to_be_checked()
    block.locator("#crm-fu-note").fill("Call Ana about the offer")
    block.get_by_role("button", name="Schedule").click()
    expect(block.locator(".crm-fu-item")).to_contain_text("Call Ana about the offer")
    expect(block.locator(".crm-fu-item .crm-fu-time")).to_have_text(
        past.strftime("%a %-d %b, %H:%M")
    )
    # ... and one for tomorrow morning, picked with one click.
    block.locator("#crm-fu-note").fill("Send the contract")
    block.get_by_label("Tomorrow 9:00").check()
    block.get_by_role("button", name="Schedule").click()
    expect(block.locator(".crm-fu-item")).to_have_count(2)
    page.screenshot(path=str(shots / "crm-followups-lead.png"), full_page=True)
    # Refused input is told beside the form; what was typed stays.
    block.locator("#crm-fu-note").fill("Keep this text")
    block.locator("#crm-fu-time").fill("")
    block.get_by_label("Pick").check()
    block.locator("#crm-fu-date").evaluate("el => { el.value = '' }")
    block.get_by_role("button", name="Schedule").click()
    expect(page.locator("#crm-fu-error")).to_contain_text("pick the day")
    expect(block.locator("#crm-fu-note")).to_have_value("Keep this text")

    # The sidebar counts it due; My follow-ups lists it overdue, the other one upcoming.
    page.get_by_role("link", name="Follow-ups").click()
    expect(page.locator('[data-count="followups"]')).to_have_text("1")
    expect(page.locator(".crm-fu-overdue")).to_contain_text("Call Ana about the offer")
    expect(page.locator(".crm-fu-overdue")).to_contain_text("40 bikes")
    tomorrow = (datetime.now(TOKYO) + timedelta(days=1)).strftime("%a %-d %b, 09:00")
    expect(page.locator(".crm-fu-upcoming")).to_contain_text(tomorrow)

    # The worker's round (each minute) rings the bell.
    deadline = datetime.now(TOKYO) + timedelta(seconds=80)
    texts: list[str] = []
    while datetime.now(TOKYO) < deadline:
        texts = [n["text"] for n in app.api.get("/notifications").json()["items"]]
        if texts:
            break
        page.wait_for_timeout(1000)
    assert texts == ["Follow-up due with Ana Lima: Call Ana about the offer"]
    page.reload()
    page.screenshot(path=str(shots / "crm-followups-mine.png"), full_page=True)

    # On a phone the page fits the screen.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state()
    )
    small = phone.new_page()
    small.goto(f"{app.base}/followups/")
    small.locator(".crm-fu-upcoming summary").first.click()
    small.screenshot(path=str(shots / "crm-followups-phone.png"), full_page=True)
    assert small.evaluate("document.documentElement.scrollWidth <= innerWidth")
    small.goto(f"{app.base}/leads/{lead_id}/")
    small.screenshot(path=str(shots / "crm-followups-lead-phone.png"), full_page=True)
    assert small.evaluate("document.documentElement.scrollWidth <= innerWidth")

    # Done: it leaves the overdue list and the sidebar's count.
    page.get_by_role("button", name="Mark “Call Ana about the offer” done").click()
    expect(page.locator(".crm-fu-overdue")).to_contain_text("Nothing overdue")
    expect(page.locator(".crm-fu-done")).to_contain_text("Call Ana about the offer")
    expect(page.locator('[data-count="followups"]')).to_have_text("")
    assert app.api.get("/followups?state=done").json()["items"][0]["note"] == (
        "Call Ana about the offer"
    )


def test_duplicate_suggestion_merged_in_one_click(app, browser, shots):
    from playwright.sync_api import expect

    first = app.api.post("/contacts", json={"name": "Bea Sousa", "company": "Porto Cycles"})
    second = app.api.post(
        "/contacts",
        json={
            "name": "bea sousa",
            "company": "PORTO CYCLES",
            "handles": [{"kind": "email", "value": "bea@porto.pt"}],
        },
    )
    keep, other = first.json()["id"], second.json()["id"]
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/contacts/{keep}/")
    card = page.locator(".crm-dup")
    expect(card).to_contain_text("same name and company")
    page.screenshot(path=str(shots / "crm-duplicates.png"), full_page=True)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state()
    )
    small = phone.new_page()
    small.goto(f"{app.base}/contacts/{keep}/")
    small.locator(".crm-dup").scroll_into_view_if_needed()
    small.screenshot(path=str(shots / "crm-duplicates-phone.png"))
    assert small.evaluate("document.documentElement.scrollWidth <= innerWidth")
    card.get_by_role("button", name="Merge bea sousa into this contact").click()
    expect(page.locator(".crm-dup")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("bea@porto.pt")
    assert app.api.get(f"/contacts/{other}").status_code == 404


def test_schedule_from_the_conversations_contact_panel(app, browser, shots):
    """From a conversation, the contact panel's small form schedules a follow-up in the
    member's zone (New York here), tied to the conversation and listed with the contact."""
    from playwright.sync_api import expect

    new_york = ZoneInfo("America/New_York")
    sent = app.inbound("+351911000111", "Rui Costa", "Can you send me the price list?")
    conversation_id = sent["conversation_id"]
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/settings/profile/")
    page.select_option("#people-tz", "America/New_York")
    page.locator("#people-tz").locator("xpath=ancestor::form").get_by_role("button").click()
    expect(page.locator("#people-tz")).to_have_value("America/New_York")

    page.goto(f"{app.base}/c/{conversation_id}/")
    panel = page.locator("#contact-pane")
    block = panel.locator("#crm-followups")
    expect(block).to_contain_text("Times in America/New_York")
    block.get_by_label("Next Monday 9:00").check()
    block.locator("#crm-fu-note").fill("Send Rui the price list")
    block.get_by_role("button", name="Schedule").click()
    today = datetime.now(new_york).date()
    monday = today + timedelta(days=7 - today.weekday())
    expect(block.locator(".crm-fu-item")).to_contain_text("Send Rui the price list")
    expect(block.locator(".crm-fu-item .crm-fu-time")).to_have_text(
        f"{monday:%a} {monday.day} {monday:%b}, 09:00"
    )
    page.screenshot(path=str(shots / "crm-followups-panel.png"), full_page=True)

    (stored,) = [
        f
        for f in app.api.get("/followups?assignee=me").json()["items"]
        if f["note"] == "Send Rui the price list"
    ]
    assert stored["conversation_id"] == conversation_id
    assert stored["contact_id"] == app.conversation(conversation_id)["contact"]["id"]
    due = datetime.fromisoformat(stored["due_at"]).astimezone(new_york)
    assert (due.date(), due.hour, due.minute) == (monday, 9, 0)

    # Done, straight away: the member stays on the conversation.
    block.get_by_role("button", name="Mark “Send Rui the price list” done").click()
    page.wait_for_url(f"{app.base}/c/{conversation_id}/")
    expect(block.locator(".crm-fu-item")).to_have_count(0)

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state()
    )
    small = phone.new_page()
    small.goto(f"{app.base}/c/{conversation_id}/")
    small.get_by_role("button", name="Contact details").click()
    small.locator("#crm-followups").scroll_into_view_if_needed()
    small.screenshot(path=str(shots / "crm-followups-panel-phone.png"))
    assert small.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_the_sidebar_counts_due_follow_ups_live(app, browser, shots):
    """The Follow-ups count in the sidebar follows without a reload: one scheduled already
    due, one that falls due while the page is open (the worker's round), done, moved."""
    from playwright.sync_api import expect

    contact = app.api.post("/contacts", json={"name": "Lia Ramos"}).json()
    overdue = app.api.get("/followups?assignee=me&state=overdue").json()["items"]
    for item in overdue:  # earlier tests' leftovers: start from nothing due
        app.api.patch(f"/followups/{item['id']}", json={"done": True})

    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/contacts/")
    count = page.locator('[data-count="followups"]')
    expect(count).to_have_text("")

    def schedule(due: datetime, note: str) -> int:
        made = app.api.post(
            "/followups",
            json={"due_at": due.isoformat(), "note": note, "contact_id": contact["id"]},
        )
        assert made.status_code == 201, made.text
        return made.json()["id"]

    now = datetime.now(TOKYO)
    first = schedule(now - timedelta(minutes=1), "Call Lia")
    expect(count).to_have_text("1")
    second = schedule(now + timedelta(seconds=3), "Email Lia the offer")
    expect(count).to_have_text("1")
    # The worker's round (each minute) finds the second one due: the count follows.
    expect(count).to_have_text("2", timeout=80_000)
    page.screenshot(path=str(shots / "crm-followups-sidebar-live.png"))

    assert app.api.patch(f"/followups/{first}", json={"done": True}).status_code == 200
    expect(count).to_have_text("1")
    later = (datetime.now(TOKYO) + timedelta(days=1)).isoformat()
    assert app.api.patch(f"/followups/{second}", json={"due_at": later}).status_code == 200
    expect(count).to_have_text("")
    # Overdue again, then given to a teammate: it leaves this member's count.
    past = (datetime.now(TOKYO) - timedelta(hours=1)).isoformat()
    assert app.api.patch(f"/followups/{second}", json={"due_at": past}).status_code == 200
    expect(count).to_have_text("1")
    agent_token = create_token(app.env, AGENT[0])
    agent_id = httpx.get(
        f"{app.base}/api/v1/me", headers={"Authorization": f"Bearer {agent_token}"}, timeout=10
    ).json()["user"]["id"]
    assert app.api.patch(f"/followups/{second}", json={"assignee_id": agent_id}).status_code == 200
    expect(count).to_have_text("")


def test_a_change_while_the_count_is_fetched_again_is_not_lost(app, browser):
    """Under load the count's answer to one change can still be on its way when the next
    change's event comes: the sidebar ends on the latest count, not on the earlier answer.
    Here the first answer is read from the server at once but given to the page only after
    the second change's event came in, as a slow server would."""
    from playwright.sync_api import expect

    contact = app.api.post("/contacts", json={"name": "Ivo Reis"}).json()
    overdue = app.api.get("/followups?assignee=me&state=overdue").json()["items"]
    for item in overdue:  # earlier tests' leftovers: start from nothing due
        app.api.patch(f"/followups/{item['id']}", json={"done": True})

    page = login(browser, app, OWNER[0], app.owner_password)
    asked: list = []  # the page's count requests, held until answered here
    holding = [True]

    def count_request(route) -> None:
        if holding[0]:
            asked.append(route)
        else:
            route.continue_()

    page.route("**/followups/count", count_request)

    def next_request():
        deadline = time.monotonic() + ACTION_TIMEOUT_S
        while not asked and time.monotonic() < deadline:
            page.wait_for_timeout(50)  # Playwright hands the routes over while the page waits
        assert asked, "the page did not fetch the count"
        return asked.pop(0)

    page.goto(f"{app.base}/contacts/")
    count = page.locator('[data-count="followups"]')
    on_open = next_request()  # the catch-up when its socket opens
    on_open.fulfill(response=on_open.fetch())
    expect(page.locator("#app")).to_have_attribute("data-live", "on")
    expect(count).to_have_text("")
    page.evaluate(
        """() => { window.fuChanges = 0; document.addEventListener("fd:event", (e) => {
             if (e.detail.type === "followups.changed") window.fuChanges += 1; }); }"""
    )

    past = (datetime.now(TOKYO) - timedelta(minutes=5)).isoformat()

    def schedule(note: str) -> None:
        made = app.api.post(
            "/followups", json={"due_at": past, "note": note, "contact_id": contact["id"]}
        )
        assert made.status_code == 201, made.text

    schedule("Call Ivo")
    first = next_request()
    first_answer = first.fetch()  # "1", not given to the page yet
    schedule("Send Ivo the quote")
    page.wait_for_function("() => window.fuChanges >= 2")
    first.fulfill(response=first_answer)
    holding[0] = False
    for later in asked:  # the second change's (if the page asked again already)
        later.continue_()
    expect(count).to_have_text("2")


def test_the_catch_up_on_open_reaches_a_script_that_loaded_late(app, browser):
    """A page whose last script is slow to arrive (a busy server, a slow network): the live
    socket opens only once every script listens, so a follow-up that fell due while the page
    was loading still shows in the sidebar. (Opened earlier, the socket's catch-up and the
    change's event both came before crm.js listened, and the count stayed empty.)"""
    from playwright.sync_api import expect

    contact = app.api.post("/contacts", json={"name": "Rui Costa"}).json()
    overdue = app.api.get("/followups?assignee=me&state=overdue").json()["items"]
    for item in overdue:  # earlier tests' leftovers: start from nothing due
        app.api.patch(f"/followups/{item['id']}", json={"done": True})

    page = login(browser, app, OWNER[0], app.owner_password)
    held: list = []
    page.route("**/frontdesk/crm.js*", lambda route: held.append(route))
    page.goto(f"{app.base}/contacts/", wait_until="commit")
    deadline = time.monotonic() + ACTION_TIMEOUT_S
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the page did not ask for crm.js"
    count = page.locator('[data-count="followups"]')
    expect(count).to_have_text("")
    page.wait_for_timeout(1000)  # time enough for a socket to open, had it been opened
    past = (datetime.now(TOKYO) - timedelta(minutes=5)).isoformat()
    made = app.api.post(
        "/followups", json={"due_at": past, "note": "Call Rui", "contact_id": contact["id"]}
    )
    assert made.status_code == 201, made.text
    page.wait_for_timeout(500)  # its event, to a socket that would have been open
    held.pop().continue_()
    expect(page.locator("#app")).to_have_attribute("data-live", "on")
    expect(count).to_have_text("1")
