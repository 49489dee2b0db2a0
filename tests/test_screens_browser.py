"""Every main screen in Chromium, with data on it: none is wider than a 390 px phone, an axe
audit (axe-core) finds no serious or critical accessibility problem on any of them, and the
inbox works with the keyboard alone (Tab to a conversation, open it, reply).

(The Apps & integrations and connect pages have their own test: test_connect_pages_browser.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import AGENT, OWNER, login, running_app
from tests.test_member_picture import PNG

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}}

# Controls and text that reach past the screen's right edge or spill out of their own box,
# unless they sit in a box that scrolls sideways on purpose (the inbox's tab strip, the leads
# board; the page's own main pane is not one): what a clipping box hides counts too, so a
# page cannot pass by cutting text off.
OFF_SCREEN = """() => {
  const scrolls = (e) => {
    for (let up = e.parentElement; up && !up.matches('main, .app'); up = up.parentElement) {
      const x = getComputedStyle(up).overflowX;
      if ((x === 'auto' || x === 'scroll') && up.scrollWidth > up.clientWidth) return true;
    }
    return false;
  };
  const name = (e) => `<${e.tagName.toLowerCase()} class="${e.className}"> `
    + `${(e.textContent || e.value || '').trim().slice(0, 40)}`;
  const shown = [...document.querySelectorAll('body *')].filter(
    (e) => e.getBoundingClientRect().width > 2 && e.getBoundingClientRect().right > 0
      && e.checkVisibility() && !e.closest('.sr'));
  const past = shown.filter((e) => e.getBoundingClientRect().right > innerWidth + 1
    && e.matches('a, button, input, select, textarea, label, h1, h2, h3, p, td, th, summary')
    && !scrolls(e));
  // text that runs out of its own box (cut off, or over what is beside it), unless it is
  // shortened with an ellipsis on purpose or scrolls
  const textRight = (e) => Math.max(0, ...[...e.childNodes].filter(
    (n) => n.nodeType === 3 && n.textContent.trim()).map((n) => {
      const range = document.createRange();
      range.selectNodeContents(n);
      return range.getBoundingClientRect().right;
    }));
  const spilling = shown.filter((e) => textRight(e) > e.getBoundingClientRect().right + 1
    && getComputedStyle(e).textOverflow !== 'ellipsis' && !scrolls(e));
  return [...past, ...spilling].slice(0, 6).map(
    (e) => `${name(e)} right=${Math.round(e.getBoundingClientRect().right)}`);
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("screens"), agent_name="Agnes Agent") as running:
        yield running


# A contact list as people export it: long names and addresses, phones without their country
# code; the bad copy has a row of each kind of mistake.
PEOPLE = (
    "First Name,Last Name,E-mail Address,Mobile Phone,Organisation,Job Title,Tags\n"
    "Maria Fernanda,Albuquerque Figueiredo,maria.fernanda.albuquerque@lisbon-cargo-bikes.pt,"
    "912 345 678,Lisbon Cargo Bikes and Wholesale Accessories,Head of Purchasing,vip\n"
    "Bruno,Costa,bruno@porto.pt,+351 913 000 111,Porto Cycles,,\n"
)
BAD_PEOPLE = PEOPLE + (
    "Dora,Nagy,dora(at)example.hu,,,,\n"
    ",,,06 30 123 4567,,,\n"
    "Eve,Long,eve@x.pt,not a phone number at all but a long sentence,,,\n"
)


def import_at(app, step: str, text: str, country: str = "PT") -> str:
    """The path of an import of ``text`` by the owner at ``step`` (map, preview or done),
    through the import's own forms."""
    client = httpx.Client(base_url=app.base, timeout=30)

    def post(path: str, **kw) -> httpx.Response:
        data = {"csrfmiddlewaretoken": client.cookies["csrftoken"], **kw.pop("data", {})}
        return client.post(path, data=data, **kw)

    client.get("/login/")
    assert post("/login/", data={"username": OWNER[0], "password": app.owner_password}).is_redirect
    client.get("/contacts/import")
    answer = post("/contacts/import", files={"file": ("people.csv", text.encode(), "text/csv")})
    assert answer.is_redirect, answer.text
    path = answer.headers["location"]
    if step == "map":
        return path
    columns = ["first_name", "last_name", "email", "phone", "company", "job_title", "tags"]
    mapping = {f"col_{i}": key for i, key in enumerate(columns)}
    data = {**mapping, "on_duplicate": "update", "default_country": country}
    assert post(path, data=data).headers["location"] == f"{path}preview"
    if step == "preview":
        return f"{path}preview"
    assert post(f"{path}run").headers["location"] == f"{path}done"
    return f"{path}done"


@pytest.fixture(scope="module")
def screens(app) -> dict[str, str]:
    """Name -> path of every main screen, with a conversation, a lead, a deal and a follow-up;
    each step of a contacts import."""
    ana = app.inbound("+5511999990001", "Ana Lima de Albuquerque Figueiredo", "Hi! " * 40)
    said = f"/conversations/{ana['conversation_id']}/messages"
    for body in ({"text": "Hello Ana, happy to help."}, {"text": "Mornings.", "kind": "note"}):
        assert app.api.post(said, json=body).status_code == 201  # our bubble, a note
    contact_id = app.conversation(ana["conversation_id"])["contact"]["id"]
    lead = app.api.post(f"/conversations/{ana['conversation_id']}/lead").json()
    deal = app.api.post(
        "/deals", json={"contact_id": contact_id, "title": "Forty cargo bikes", "value": "21600"}
    ).json()
    due = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    app.api.post("/followups", json={"due_at": due, "note": "Call back", "lead_id": lead["id"]})
    return {
        "inbox": "/",
        "conversation": f"/c/{ana['conversation_id']}/",
        "compose": "/compose/",
        "leads": "/leads/",
        "lead": f"/leads/{lead['id']}/",
        "new lead": "/leads/new",
        "contacts": "/contacts/",
        "contact": f"/contacts/{contact_id}/",
        "new contact": "/contacts/new",
        "import": "/contacts/import",
        "import map": import_at(app, "map", BAD_PEOPLE),
        "import bad rows": import_at(app, "preview", BAD_PEOPLE),
        "import preview": import_at(app, "preview", PEOPLE),
        "import done": import_at(app, "done", PEOPLE),
        "deals": "/deals/",
        "deal": f"/deals/{deal['id']}/",
        "new deal": "/deals/new",
        "follow-ups": "/followups/",
        "notifications": "/notifications/",
        "settings": "/settings/",
        "members": "/settings/members/",
        "outgoing mail": "/settings/mail/",
        "signatures": "/settings/signatures/",
        "profile": "/settings/profile/",
        "labels": "/settings/labels/",
        "contact fields": "/settings/contact-fields/",
        "pipelines": "/settings/pipelines/",
        "apps": "/apps/",
    }


SIGNED_OUT = {"login": "/login/", "forgot password": "/password/forgot/"}


def test_no_screen_is_wider_than_a_phone(app, browser, screens, shots):
    page = login(browser, app, OWNER[0], app.owner_password, **PHONE)
    outside = browser.new_context(**PHONE).new_page()
    too_wide: list[str] = []

    def measure(who, name: str) -> None:
        who.screenshot(path=str(shots / f"phone-{name.replace(' ', '-')}.png"), full_page=True)
        width = who.evaluate("document.documentElement.scrollWidth")
        if width > 390 or (off := who.evaluate(OFF_SCREEN)):
            too_wide.append(f"{name} ({who.url}) is {width}px wide; off the screen: {off}")

    for who, pages in ((page, screens), (outside, SIGNED_OUT)):
        for name, path in pages.items():
            who.goto(app.base + path)
            who.wait_for_load_state("networkidle")
            measure(who, name)

    # The members page with an invitation link to copy (no mail server is set).
    page.goto(f"{app.base}/settings/members/")
    page.fill("#people-inv-email", "newt.scamander.from.the.ministry@example.com")
    page.click("button:has-text('Invite')")
    page.wait_for_selector("#people-link")
    measure(page, "members with a link to copy")
    # the table's columns stack on a phone: each number still says what it counts
    assert "\nOpen conversations: 0\n" in page.locator("tr", has_text="Agnes Agent").inner_text()
    assert not too_wide, "\n".join(too_wide)


# The page's own background (the body's, else the root's) is the dark one.
DARK_PAGE = """() => [document.body, document.documentElement].map(
  (e) => getComputedStyle(e).backgroundColor).find((c) => c !== 'rgba(0, 0, 0, 0)')
  === 'rgb(15, 17, 21)'"""


def serious_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page, with where they are."""
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: "
        + "; ".join(
            f"{' '.join(map(str, node['target']))} ({node['failureSummary'].splitlines()[-1].strip()})"
            for node in v["nodes"][:3]
        )
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize(
    "look",
    [
        {"viewport": {"width": 1280, "height": 800}},
        PHONE,
        # dark mode, as the system asks for it (the profile's switch sets the same colours)
        {"viewport": {"width": 1280, "height": 800}, "color_scheme": "dark"},
        PHONE | {"color_scheme": "dark"},
    ],
    ids=["laptop", "phone", "laptop-dark", "phone-dark"],
)
def test_axe_finds_no_serious_problem_on_any_screen(app, browser, screens, look):
    page = login(browser, app, OWNER[0], app.owner_password, **look)
    outside = browser.new_context(**look).new_page()
    dark = look.get("color_scheme") == "dark"
    problems = []
    for who, pages in ((page, screens), (outside, SIGNED_OUT)):
        for name, path in pages.items():
            who.goto(app.base + path)
            who.wait_for_load_state("networkidle")
            if dark:  # the audit is of the dark colours, not of a light page
                assert who.evaluate(DARK_PAGE), f"{name} is not dark"
            problems += [f"{name}: {problem}" for problem in serious_problems(who)]
    assert not problems, "\n".join(problems)


def tab_to(page, describe: str, is_it: str, limit: int = 80) -> None:
    """Press Tab until the focused element passes the JS test ``is_it`` (given ``el``)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => !!el && ({is_it}))(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {describe}")


def test_the_inbox_by_keyboard_alone_open_a_conversation_and_reply(app, browser, shots):
    bea = app.inbound("+5511999990002", "Bea Keys", "Can I pay by bank transfer?")
    page = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 800}
    )
    tab_to(page, "Bea's conversation", "el.closest('.row') && el.textContent.includes('Bea Keys')")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{app.base}/c/{bea['conversation_id']}/")
    tab_to(page, "the reply box", "el.matches('textarea') && !!el.closest('#reply-form')")
    page.keyboard.type("Yes, bank transfer works.")
    page.screenshot(path=str(shots / "keyboard-reply.png"))
    page.keyboard.press("Enter")  # Enter sends
    page.locator("#messages").get_by_text("Yes, bank transfer works.").wait_for()

    def replied() -> bool:
        items = app.api.get(f"/conversations/{bea['conversation_id']}/messages").json()["items"]
        return any(m["text"] == "Yes, bank transfer works." for m in items)

    assert replied()


def test_a_profile_picture_shows_beside_the_members_name(app, browser, tmp_path, shots):
    picture = tmp_path / "me.png"
    picture.write_bytes(PNG)
    page = login(browser, app, AGENT[0], AGENT[1], viewport={"width": 1280, "height": 800})
    page.goto(f"{app.base}/settings/profile/")
    page.set_input_files("#people-picture", str(picture))
    page.click("button:has-text('Upload')")
    page.wait_for_selector("text=Your picture is saved.")
    sidebar = page.locator(".me .avatar img")
    assert sidebar.evaluate("img => img.complete && img.naturalWidth") == 1  # it loaded
    page.goto(f"{app.base}/settings/members/")
    row = page.locator("tr", has_text=AGENT[0])
    assert row.locator(".avatar img").evaluate("img => img.complete && img.naturalWidth") == 1
    page.screenshot(path=str(shots / "member-picture.png"))
