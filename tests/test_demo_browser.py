"""`frontdesk demo` served on a free port, in a real Chromium: log in with the credentials it
prints, see every channel Connected, reply to a WhatsApp client, watch the ticks go sent ->
delivered -> read and the simulated client's answer arrive, then convert to a lead. Any
console error or CSP violation fails the test (the ``browser`` fixture).

In the suite's second pass (``DATABASE_URL`` and ``REDIS_URL`` set) the demo runs on
PostgreSQL + Redis, on a database and queue of its own."""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import on_postgres_when_configured
from tests.live import base_env, free_port, postgres_admin_url, running, wait_until_up

pytestmark = pytest.mark.browser

PRINTED = re.compile(r"log in as (\S+) / (\S+)")
# Every status an outbound message of the open thread shows, in order, as the page updates.
WATCH_TICKS = """
window.__ticks = [];
const seen = () => {
  const last = [...document.querySelectorAll('#messages .msg.outbound[data-status]')]
    .filter((m) => !m.classList.contains('note')).pop();
  const status = last && last.dataset.status;
  if (status && window.__ticks[window.__ticks.length - 1] !== status) window.__ticks.push(status);
};
new MutationObserver(seen).observe(document.body, {subtree: true, childList: true,
  attributes: true, attributeFilter: ['data-status']});
"""


@contextlib.contextmanager
def demo_env(data: Path) -> Iterator[dict[str, str]]:
    """``frontdesk demo``'s environment: embedded (SQLite, in-process queue), or on
    PostgreSQL + Redis in the suite's second pass, on a new database and queue."""
    env = base_env(data)
    env.pop("FRONTDESK_FETCH_PRIVATE_ADDRESSES")  # the demo sets it for itself
    if not on_postgres_when_configured():
        yield env
        return
    import psycopg

    name = f"frontdesk_demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
        env["REDIS_URL"] = os.environ["REDIS_URL"]
        env["FRONTDESK_QUEUE_NAME"] = name
        yield env
    finally:
        with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def demo_running(env: dict[str, str], every: str = "20") -> Iterator[tuple[str, str, str]]:
    """``frontdesk demo`` on a free port: its base URL and the login it printed."""
    data = Path(env["FRONTDESK_DATA_DIR"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(data, "process-0.log")
    before = log.stat().st_size if log.exists() else 0
    with running(env, ["demo", "--port", str(port), "--new-client-every", every]) as procs:
        wait_until_up(base, procs, timeout=120)
        printed = PRINTED.search(log.read_text()[before:])
        assert printed, log.read_text()
        if "DATABASE_URL" in env:  # the demo's data is in its own PostgreSQL database
            import psycopg

            url = env["DATABASE_URL"].replace("postgres://", "postgresql://")
            with psycopg.connect(url) as conn:
                found = conn.execute(
                    "SELECT count(*) FROM workspaces_workspace WHERE slug = 'demo'"
                ).fetchone()
            assert found == (1,), found
        yield base, printed.group(1), printed.group(2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[tuple[str, str, str, Path]]:
    """The demo's base URL, the printed login and its data dir."""
    data = tmp_path_factory.mktemp("demo")
    with demo_env(data) as env, demo_running(env) as (base, email, password):
        yield base, email, password, data


def logged_in(browser, demo, width: int = 1280, height: int = 800):
    base, email, password, _ = demo
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def open_thread(page, name: str) -> None:
    """Open ``name``'s conversation from the inbox (searching for it when the list is long)."""
    row = page.locator("#rows .row", has_text=name)
    if not row.count():
        page.goto(page.url.split("?")[0] + "?q=" + name.replace(" ", "+"))
    page.locator("#rows .row", has_text=name).first.click()
    from playwright.sync_api import expect

    expect(page.locator("#thread .thread-title")).to_have_text(name)


def reply_and_see_it_read(page, text: str):
    """Send ``text`` in the open thread; its ticks go delivered, then read, live. Returns the
    reply and where the client's next message will stand."""
    from playwright.sync_api import expect

    page.evaluate(WATCH_TICKS)
    answer = page.locator("#messages .msg.inbound").nth(
        page.locator("#messages .msg.inbound").count()
    )
    page.fill("#reply-text", text)
    page.keyboard.press("Enter")
    mine = page.locator("#messages .msg.outbound", has_text=text)
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("data-status", "read", timeout=20_000)
    expect(mine.locator(".ticks")).to_have_text("✓✓")
    ticks = page.evaluate("window.__ticks")
    assert ticks[-1] == "read" and "delivered" in ticks, ticks
    assert ticks.index("delivered") < ticks.index("read"), ticks
    return mine, answer


def test_reply_on_whatsapp_see_the_ticks_and_the_answer_then_convert(demo, browser, shots):
    from playwright.sync_api import expect

    base = demo[0]
    page = logged_in(browser, demo)
    expect(page.locator("body")).to_contain_text("Demo: the clients are simulated")

    page.goto(f"{base}/apps/")
    for name in ("WhatsApp Business", "LinkedIn", "WhatsApp (phone)", "hello@northwind.example"):
        row = page.locator("tr", has_text=name)
        expect(row).to_contain_text("Connected")
    page.goto(f"{base}/")
    assert page.locator("#rows .row").count() >= 20

    page.click("#rows .row >> text=Kwame Mensah")
    expect(page.locator("#thread")).to_contain_text("a website for my restaurant")
    _, answer = reply_and_see_it_read(page, "Happy to help! What budget do you have in mind?")
    # The simulated client answers a few seconds later, live (no reload).
    expect(answer).to_contain_text("formal quote", timeout=20_000)
    page.screenshot(path=str(shots / "demo-whatsapp-answered.png"))

    panel = page.locator("#lead-actions")
    panel.get_by_role("button", name="Convert to lead").click()
    expect(panel).to_contain_text("Lead:")
    expect(page.locator("#messages")).to_contain_text("converted this conversation to a lead")
    page.goto(f"{base}/leads/")
    expect(page.locator("body")).to_contain_text("Kwame Mensah")


def test_a_new_client_writes_in_by_itself(demo, browser):
    from playwright.sync_api import expect

    base, email, password, _ = demo
    page = browser.new_context().new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    started = time.monotonic()
    newcomers = "Zoe Martins|Omar Haddad|Lena Fischer|Carlos Ruiz"
    expect(page.locator("#rows")).to_contain_text(re.compile(newcomers), timeout=60_000)
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(
    ("client", "reply", "via"),
    [
        ("Laura Chen", "Thanks Laura! Happy to.", "sent from LinkedIn"),
        ("Aisha Bello", "Received, thank you Aisha!", "sent from WhatsApp"),
        ("Lucas Bernard", "Sure, sending it over in a minute.", "sent through the API"),
    ],
)
def test_seeded_replies_read_as_the_teams_own_read_replies(
    demo, browser, shots, client, reply, via
):
    """Replies imported with a channel's history (written in LinkedIn's or WhatsApp's own
    app, or by the website's chat) are the team's: the workspace's name, a quiet note of
    where they were sent from, and their real ticks (read), never "Sent elsewhere"."""
    from playwright.sync_api import expect

    for width, height in ((1280, 800), (390, 844)):
        page = logged_in(browser, demo, width, height)
        open_thread(page, client)
        mine = page.locator("#messages .msg.outbound", has_text=reply)
        expect(mine).to_have_count(1)
        expect(mine).to_have_attribute("data-status", "read")
        expect(mine.locator(".author")).to_have_text("Northwind Studio")
        expect(mine.locator(".via")).to_have_text(via)
        expect(mine.locator(".ticks")).to_have_text("✓✓")
        expect(mine.locator(".delivery-label")).to_have_text("Read")
        expect(page.locator("#thread")).not_to_contain_text("Sent elsewhere")
        slug = client.split()[0].lower()
        page.screenshot(path=str(shots / f"demo-imported-reply-{slug}-{width}.png"))
        page.context.close()


def test_reply_on_the_website_chat_see_the_ticks_and_the_answer(demo, browser, shots):
    """The website chat (the API channel) has a simulated visitor too: a reply is
    delivered, then read, then answered a few seconds later, live."""
    from playwright.sync_api import expect

    page = logged_in(browser, demo)
    open_thread(page, "Hiroshi Tanaka")
    expect(page.locator("#thread")).to_contain_text("spring workshop")
    mine, answer = reply_and_see_it_read(
        page, "Yes, it is in English. Shall we meet on Friday to talk it through"
    )
    expect(mine.locator(".via")).to_have_count(0)  # written here, by the member
    expect(answer).to_contain_text("that time works for me", timeout=20_000)
    expect(answer.locator(".author")).to_have_text("Hiroshi Tanaka")
    page.screenshot(path=str(shots / "demo-website-chat-answered.png"))


def test_a_restart_without_reset_keeps_the_data_and_the_channels_work(
    tmp_path_factory, browser, shots
):
    """``frontdesk demo`` stopped and started again (no ``--reset``) keeps its workspace:
    the same conversations (no seed twice), every channel still Connected to this run's
    stand-ins, and a WhatsApp reply still gets its ticks and an answer."""
    from playwright.sync_api import expect

    data = tmp_path_factory.mktemp("demo-again")

    def look(base: str, email: str, password: str):
        page = logged_in(browser, (base, email, password, data))
        count = page.locator('.count[data-count="all"]')
        expect(count).not_to_have_text("")
        page.goto(f"{base}/apps/")
        for name in (
            "Website chat",
            "WhatsApp Business",
            "LinkedIn",
            "WhatsApp (phone)",
            "hello@northwind.example",
        ):
            expect(page.locator("tr", has_text=name)).to_contain_text("Connected")
        page.goto(f"{base}/leads/")
        leads = page.locator(".lead-card-title").count()
        page.goto(f"{base}/")
        return page, int(count.inner_text()), leads

    with demo_env(data) as env:
        with demo_running(env, every="0") as first:
            page, conversations, leads = look(*first)
            page.context.close()
        with demo_running(env, every="0") as again:
            page, conversations_again, leads_again = look(*again)
            assert (conversations_again, leads_again) == (conversations, leads)
            assert conversations >= 25 and leads >= 5
            open_thread(page, "Kwame Mensah")
            page.fill("#reply-text", "Welcome back! How about a call on Friday?")
            page.keyboard.press("Enter")
            mine = page.locator("#messages .msg.outbound", has_text="Welcome back")
            expect(mine).to_have_attribute("data-status", "read", timeout=20_000)
            answer = page.locator("#messages .msg.inbound", has_text="that time works for me")
            expect(answer).to_have_count(1, timeout=20_000)
            expect(answer.locator(".author")).to_have_text("Kwame Mensah")  # not "Client"
            page.screenshot(path=str(shots / "demo-restarted.png"))
            page.context.close()  # before the demo stops (its live connection would retry)


@pytest.mark.browser_allows(r"status of 422")  # the refusal itself
def test_a_refused_reply_keeps_the_draft_and_says_why(demo, browser, shots):
    """A reply the server refuses (here: longer than any message may be) keeps what was
    typed in the box, with the reason beside it; nothing is sent."""
    from playwright.sync_api import expect

    page = logged_in(browser, demo)
    open_thread(page, "Yuki Sato")
    typed = "Here is our full price list: " + "monthly and yearly plans. " * 8000
    outbound_before = page.locator("#messages .msg.outbound").count()
    page.fill("#reply-text", typed)
    page.click("#send-btn")
    expect(page.locator("#reply-error")).to_contain_text("longer than")
    expect(page.locator("#reply-text")).to_have_value(typed)
    expect(page.locator("#messages .msg.outbound")).to_have_count(outbound_before)
    page.screenshot(path=str(shots / "demo-refused-reply.png"))
