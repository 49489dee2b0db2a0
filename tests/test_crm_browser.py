"""Leads in a real Chromium (Playwright) against a real embedded server (`frontdesk run`):
convert a conversation from the inbox's contact panel, find it on the Leads board, open it,
move it to Contacted.

Screenshots of the board and the lead's page go to $FRONTDESK_SCREENSHOTS (or the test's
temporary folder) for a person to look at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.browser import AGENT, OWNER, App, hold_htmx_gets, login, running_app
from tests.live import cli, create_token

pytestmark = pytest.mark.browser


# A contact as the inbox stores what the LinkedIn connector read of a profile (its
# ProfileUpdate: connectors/unipile/parse.py, profile_update; inbox/actions/contacts.py).
ANA_PROFILE = {
    "company": "Lisbon Bikes",
    # Not copied by a worker here: the initials stand in.
    "avatar_url": "https://media.licdn.invalid/ana.jpg",
    "custom_fields": {
        "linkedin_headline": "Head of Purchasing at Lisbon Bikes",
        "linkedin_url": "https://www.linkedin.com/in/ana-lima/",
        "linkedin_location": "Lisbon, Portugal",
    },
}


class LeadsApp(App):
    channel_name = "LinkedIn"

    @property
    def agent_id(self) -> int:
        token = create_token(self.env, AGENT[0])
        me = httpx.get(
            f"{self.base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        return me.json()["user"]["id"]

    def fill_contact(self, handle: str, fields: dict) -> None:
        """Stand in for the LinkedIn connector, which fills these from the member's profile."""
        code = (
            "import json; from frontdesk.inbox.models import Contact; "
            f"c = Contact.objects.get(handles__value={handle!r}); "
            f"[setattr(c, k, v) for k, v in json.loads({json.dumps(fields)!r}).items()]; c.save()"
        )
        cli(self.env, "shell", "-c", code)

    def lead(self, conversation_id: int, stage: str, value: str | None, owner_id=None) -> dict:
        lead = self.api.post(f"/conversations/{conversation_id}/lead").json()
        change: dict = {"stage": stage, "value": value}
        if owner_id:
            change["owner_id"] = owner_id
        answer = self.api.patch(f"/leads/{lead['id']}", json=change)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[LeadsApp]:
    with running_app(tmp_path_factory.mktemp("crm-ui"), LeadsApp, "Agnes Meyer") as running:
        yield running  # type: ignore[misc]


def test_convert_from_the_inbox_then_work_the_lead(app, browser, shots):
    from playwright.sync_api import expect

    # A board with some history, so that it looks like a working week.
    for handle, name, text, stage, value, agent_owns in [
        ("li-bruno", "Bruno Costa", "Interested in a fleet of 12", "working", "18400", True),
        ("li-chen", "Chen Wei", "Can you quote 5 e-bikes?", "contacted", "6250", False),
        ("li-dora", "Dora Nagy", "Signed, thanks!", "converted", "9900", True),
        ("li-emil", "Emil Berg", "Just browsing", "new", None, False),
    ]:
        conversation = app.inbound(handle, name, text)
        app.lead(
            conversation["conversation_id"], stage, value, app.agent_id if agent_owns else None
        )
    ana = app.inbound("li-ana", "Ana Lima", "Hi! We need 40 cargo bikes for our shops.")
    app.fill_contact("li-ana", ANA_PROFILE)

    page = login(browser, app, OWNER[0], app.owner_password)
    # In the inbox: open Ana's conversation and convert it from the contact panel.
    page.click("#rows .row >> text=Ana Lima")
    expect(page.locator("#thread")).to_contain_text("40 cargo bikes")
    panel = page.locator("#lead-actions")
    panel.get_by_role("button", name="Convert to lead").click()
    expect(panel).to_contain_text("Lead: Hi! We need 40 cargo bikes for our shops. · New")
    expect(panel.get_by_role("button")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("converted this conversation to a lead")
    page.screenshot(path=str(shots / "crm-inbox-panel.png"))
    lead_id = int(panel.locator("a.lead-link").get_attribute("data-lead") or 0)
    lead = app.api.get(f"/leads/{lead_id}").json()
    assert lead["details"]["linkedin_headline"] == "Head of Purchasing at Lisbon Bikes"
    # Converting again (another tab, the API) is the same lead.
    assert app.api.post(f"/conversations/{ana['conversation_id']}/lead").json()["id"] == lead_id

    # The Leads page: Ana's lead is new, the others sit in their stages.
    page.get_by_role("link", name="Leads", exact=True).click()
    page.wait_for_url(f"{app.base}/leads/")
    expect(page.locator("#col-new")).to_contain_text("Hi! We need 40 cargo bikes for our shops.")
    expect(page.locator("#col-working")).to_contain_text("Bruno Costa")
    expect(page.locator("#col-converted")).to_contain_text("€9,900")
    page.screenshot(path=str(shots / "crm-leads-board.png"), full_page=True)

    # Mine only: the agent's leads leave the board.
    page.select_option("#f-owner", "me")
    expect(page).to_have_url(f"{app.base}/leads/?owner=me")
    expect(page.locator("#col-new")).to_contain_text("Ana Lima")
    expect(page.locator("#col-working")).not_to_contain_text("Bruno Costa")

    # The lead's page: the carried-over LinkedIn profile, then move it to Contacted.
    page.click(f"#lead-{lead_id} a")
    page.wait_for_url(f"{app.base}/leads/{lead_id}/")
    person = page.locator(".person")
    expect(person).to_contain_text("Head of Purchasing at Lisbon Bikes")
    expect(person).to_contain_text("Lisbon, Portugal")
    expect(person.get_by_role("link", name="View profile ↗")).to_have_attribute(
        "href", "https://www.linkedin.com/in/ana-lima/"
    )
    expect(person.locator("span.avatar.lg")).to_contain_text("AL")  # no stored picture
    page.fill("#lead-value", "21600")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#lead-form")).to_contain_text("Saved")
    expect(page.locator("#lead-head")).to_contain_text("€21,600")
    page.get_by_role("button", name="Contacted").click()
    expect(page.locator('.path-step[aria-current="step"]')).to_have_text("Contacted")
    expect(page.locator("#lead-head .crumbs")).to_contain_text("Contacted")
    page.screenshot(path=str(shots / "crm-lead-detail.png"), full_page=True)

    # A teammate changes the lead meanwhile: the open page follows without a reload.
    agnes = httpx.Client(
        base_url=f"{app.base}/api/v1",
        headers={"Authorization": f"Bearer {create_token(app.env, AGENT[0])}"},
        timeout=10,
    )
    changed = agnes.patch(f"/leads/{lead_id}", json={"title": "Ana — 40 cargo bikes"})
    assert changed.status_code == 200, changed.text
    expect(page.locator("#lead-head h1")).to_have_text("Ana — 40 cargo bikes")
    expect(page.locator("#lead-title-input")).to_have_value("Ana — 40 cargo bikes")
    agnes.patch(f"/leads/{lead_id}", json={"title": "Hi! We need 40 cargo bikes for our shops."})
    expect(page.locator("#lead-head h1")).to_have_text("Hi! We need 40 cargo bikes for our shops.")

    page.get_by_role("link", name="Leads", exact=True).first.click()
    expect(page.locator("#col-contacted")).to_contain_text(
        "Hi! We need 40 cargo bikes for our shops."
    )
    expect(page.locator("#col-contacted")).to_contain_text("€21,600")
    expect(page.locator("#col-new")).not_to_contain_text("Ana Lima")
    assert app.api.get(f"/leads/{lead_id}").json()["stage"] == "contacted"

    # Back in the inbox, the contact panel tells the lead's new stage.
    page.goto(f"{app.base}/c/{ana['conversation_id']}/")
    expect(page.locator("#lead-actions")).to_contain_text("Contacted")

    # On a phone the board scrolls sideways inside itself; the page does not.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state()
    )
    small = phone.new_page()
    for path, name in [("/leads/", "board"), (f"/leads/{lead_id}/", "lead")]:
        small.goto(app.base + path)
        small.screenshot(path=str(shots / f"crm-phone-{name}.png"), full_page=True)
        assert small.evaluate("document.documentElement.scrollWidth <= innerWidth"), name


def test_drag_a_lead_across_the_board_convert_it_then_drag_the_deal_to_won(app, browser, shots):
    """The loop the CRM sells, by mouse: a lead dragged from New to Contacted (and on by its
    keyboard menu), converted to a deal in one click, the deal dragged to Won."""
    from playwright.sync_api import expect

    contact = app.api.post("/contacts", json={"name": "Ines Rocha", "company": "Faro Rides"})
    made = app.api.post(
        "/leads",
        json={"contact_id": contact.json()["id"], "title": "12 e-bikes for Faro", "value": "7200"},
    )
    assert made.status_code == 201, made.text
    lead_id = made.json()["id"]

    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/leads/")
    card = page.locator(f"#lead-{lead_id}")
    expect(page.locator("#col-new")).to_contain_text("12 e-bikes for Faro")
    card.drag_to(page.locator("#col-contacted"))
    expect(page.locator("#col-contacted")).to_contain_text("12 e-bikes for Faro")
    expect(page.locator("#col-new")).not_to_contain_text("12 e-bikes for Faro")
    for _ in range(50):
        if app.api.get(f"/leads/{lead_id}").json()["stage"] == "contacted":
            break
        page.wait_for_timeout(100)
    assert app.api.get(f"/leads/{lead_id}").json()["stage"] == "contacted"
    # The keyboard alternative: the card's Move menu. It stays open when a live change to
    # the lead (its value, changed meanwhile: another tab shows it) would redraw the board;
    # the board shows the change once the menu is done.
    other = login(browser, app, OWNER[0], app.owner_password)
    other.goto(f"{app.base}/leads/")
    page.locator(f"#lead-{lead_id} summary").click()
    working = page.locator(f"#lead-{lead_id} .card-move").get_by_role("button", name="Working")
    expect(working).to_be_visible()
    assert app.api.patch(f"/leads/{lead_id}", json={"value": "9000"}).status_code == 200
    expect(other.locator(f"#lead-{lead_id}")).to_contain_text("€9,000")
    page.wait_for_timeout(1000)  # the live redraw has landed here too by now
    expect(working).to_be_visible()
    working.click()
    expect(page.locator("#col-working")).to_contain_text("12 e-bikes for Faro")
    expect(page.locator(f"#lead-{lead_id}")).to_contain_text("€9,000")
    expect(page.locator(f"#lead-{lead_id} details.card-move")).not_to_have_attribute("open", "")
    page.screenshot(path=str(shots / "crm-board-dragged.png"), full_page=True)

    # The lead's page tells each move with who made it; then one click makes the deal.
    page.goto(f"{app.base}/leads/{lead_id}/")
    expect(page.locator("main")).to_contain_text("Contacted")
    page.get_by_role("button", name="Convert to deal").click()
    page.wait_for_url(f"{app.base}/deals/*/")
    deal_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert app.api.get(f"/leads/{lead_id}").json()["stage"] == "converted"

    page.goto(f"{app.base}/deals/")
    deal = app.api.get(f"/deals/{deal_id}").json()
    stages = app.api.get("/pipelines").json()["items"][0]["stages"]
    won = next(s["id"] for s in stages if s["type"] == "won")
    page.locator(f"#deal-{deal_id}").drag_to(page.locator(f"#stage-{won}"))
    expect(page.locator(f"#stage-{won}")).to_contain_text("12 e-bikes for Faro")
    for _ in range(50):
        deal = app.api.get(f"/deals/{deal_id}").json()
        if deal["status"] == "won":
            break
        page.wait_for_timeout(100)
    assert (deal["status"], deal["stage_id"]) == ("won", won)
    assert deal["closed_at"]
    page.screenshot(path=str(shots / "crm-deal-won.png"), full_page=True)


def test_a_long_deal_column_shows_more_and_its_next_cards_move(app, browser, shots):
    """A column shows its 10 latest deals; "Show 3 more" brings the rest in place, and a
    card brought that way moves to another stage like the others."""
    from playwright.sync_api import expect

    stages = app.api.get("/pipelines").json()["items"][0]["stages"]
    active = [s for s in stages if s["type"] == "active"]
    column, other = active[2], active[1]
    contact = app.api.post("/contacts", json={"name": "Rui Sousa", "company": "Braga Wheels"})
    made = []
    for n in range(13):
        answer = app.api.post(
            "/deals",
            json={
                "contact_id": contact.json()["id"],
                "title": f"Braga order {n}",
                "stage_id": column["id"],
                "value": "100",
            },
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])

    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/deals/")
    col = page.locator(f"#stage-{column['id']}")
    expect(col.locator(".col-count")).to_have_text("13")
    expect(col).to_contain_text("€1,300")  # every deal, not only the cards shown
    expect(col.locator(".deal-card")).to_have_count(10)
    expect(col).not_to_contain_text("Braga order 0")
    col.get_by_role("link", name="Show 3 more").click()
    expect(col.locator(".deal-card")).to_have_count(13)
    expect(col.get_by_role("link", name="Show 3 more")).to_have_count(0)
    expect(col).to_contain_text("Braga order 0")
    page.screenshot(path=str(shots / "crm-deal-column-more.png"), full_page=True)

    # A card brought by "Show more" moves by its Move menu like any other.
    page.locator(f"#deal-{made[0]} summary").click()
    page.locator(f"#deal-{made[0]} .card-move").get_by_role("button", name=other["name"]).click()
    expect(page.locator(f"#stage-{other['id']}")).to_contain_text("Braga order 0")
    for _ in range(50):
        if app.api.get(f"/deals/{made[0]}").json()["stage_id"] == other["id"]:
            break
        page.wait_for_timeout(100)
    assert app.api.get(f"/deals/{made[0]}").json()["stage_id"] == other["id"]
    expect(col.locator(".col-count")).to_have_text("12")  # the board redrew its counts


def test_a_deal_dropped_on_lost_asks_why_and_so_does_its_move_menu(app, browser, shots):
    """Lost needs a reason: a deal dragged to Lost opens a dialog first (Cancel leaves the
    deal where it was); the card's Move menu, the keyboard way, has the reason beside Lost;
    the deal's page tells it."""
    from playwright.sync_api import expect

    contact = app.api.post("/contacts", json={"name": "Rui Vaz", "company": "Braga Wheels"})
    made = app.api.post(
        "/deals",
        json={"contact_id": contact.json()["id"], "title": "Six tandems", "value": "4800"},
    )
    assert made.status_code == 201, made.text
    deal_id = made.json()["id"]
    stages = app.api.get("/pipelines").json()["items"][0]["stages"]
    first = made.json()["stage_id"]
    lost = next(s["id"] for s in stages if s["type"] == "lost")

    def deal_now(status: str) -> dict:
        for _ in range(100):
            deal = app.api.get(f"/deals/{deal_id}").json()
            if deal["status"] == status:
                return deal
            page.wait_for_timeout(100)
        return deal

    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/deals/")
    card, dialog = page.locator(f"#deal-{deal_id}"), page.locator("#lost-dialog")
    menu = page.locator(f"#deal-{deal_id} .card-move")

    def drop_on_lost() -> None:
        # A live redraw of the board (the deal's own creation, told late on a busy machine)
        # can swap the card away under the mouse: the member drags again.
        for _ in range(3):
            card.drag_to(page.locator(f"#stage-{lost}"))
            page.wait_for_timeout(500)
            if dialog.is_visible():
                return

    def open_menu(button: str) -> None:
        for _ in range(3):  # the same for a redraw that closes the Move menu
            page.locator(f"#deal-{deal_id} summary").click()
            if menu.get_by_role("button", name=button).is_visible():
                return
            page.wait_for_timeout(500)

    drop_on_lost()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Why was this deal lost?")
    page.screenshot(path=str(shots / "crm-deal-lost-dialog.png"))
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(f"#stage-{first}")).to_contain_text("Six tandems")
    expect(page.locator(f"#stage-{lost}")).not_to_contain_text("Six tandems")
    page.wait_for_timeout(300)
    assert app.api.get(f"/deals/{deal_id}").json()["status"] == "open"

    drop_on_lost()
    dialog.get_by_label("Reason").fill("Went with a competitor")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(page.locator(f"#stage-{lost}")).to_contain_text("Six tandems")
    deal = deal_now("lost")
    assert (deal["status"], deal["stage_id"], deal["lost_reason"]) == (
        "lost",
        lost,
        "Went with a competitor",
    )

    # Back to the first stage and to Lost again by the card's Move menu, reason and all.
    first_name = next(s["name"] for s in stages if s["id"] == first)
    open_menu(first_name)
    menu.get_by_role("button", name=first_name).click()
    expect(page.locator(f"#stage-{first}")).to_contain_text("Six tandems")
    assert deal_now("open")["lost_reason"] == ""
    open_menu("Lost")
    menu.get_by_label("Why was it lost?").fill("Timing: next season")
    menu.get_by_role("button", name="Lost").click()
    expect(page.locator(f"#stage-{lost}")).to_contain_text("Six tandems")
    assert deal_now("lost")["lost_reason"] == "Timing: next season"
    page.goto(f"{app.base}/deals/{deal_id}/")
    expect(page.locator("main")).to_contain_text(": Timing: next season")


@pytest.mark.parametrize("screen", ["board", "timeline"])
def test_a_change_while_the_board_or_timeline_redraws_is_not_lost(app, browser, screen):
    """Under load the answer to one live change can still be on its way when the next
    change's event comes (htmx queues the next request on the element that asked): the
    board, or the record's timeline, ends on the latest state, not on the earlier answer.
    Before the fix the element replaced itself with that answer and the queued request was
    dropped with it."""
    from playwright.sync_api import expect

    contact = app.api.post("/contacts", json={"name": f"Queued {screen}"}).json()
    first, second = (
        app.api.post(
            "/leads", json={"contact_id": contact["id"], "title": f"{screen} lead {n}"}
        ).json()["id"]
        for n in (1, 2)
    )
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(
        f"{app.base}/leads/" if screen == "board" else f"{app.base}/contacts/{contact['id']}/"
    )
    expect(page.locator("#app")).to_have_attribute("data-live", "on")
    page.evaluate(
        """() => { window.changes = 0; document.addEventListener("fd:event", (e) => {
             const t = e.detail.type;
             if (t === "lead.updated" || t === "timeline.changed") window.changes += 1; }); }"""
    )
    if screen == "board":
        next_request, release = hold_htmx_gets(page, "**/leads/")
        done = page.locator("#col-contacted")
    else:
        next_request, release = hold_htmx_gets(page, f"**/contacts/{contact['id']}/timeline")
        done = page.locator("#timeline")

    def note_or_move(lead_id: int, n: int) -> None:
        if screen == "board":
            change = app.api.patch(f"/leads/{lead_id}", json={"stage": "contacted"})
        else:
            change = app.api.post(
                f"/contacts/{contact['id']}/notes", json={"text": f"Called, take {n}"}
            )
        assert change.status_code in (200, 201), change.text

    note_or_move(first, 1)
    held = next_request()
    earlier = held.fetch()  # the state after the first change, not given to the page yet
    seen = page.evaluate("() => window.changes")
    note_or_move(second, 2)
    page.wait_for_function(f"() => window.changes > {seen}")
    page.wait_for_timeout(300)  # the second change's request is queued behind the first
    held.fulfill(response=earlier)
    release()
    if screen == "board":
        expect(done).to_contain_text(f"{screen} lead 1")
        expect(done).to_contain_text(f"{screen} lead 2")
    else:
        expect(done).to_contain_text("Called, take 1")
        expect(done).to_contain_text("Called, take 2")
