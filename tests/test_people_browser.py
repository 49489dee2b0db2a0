"""People in Chromium: invite -> the emailed link -> set a name and password -> in the inbox;
a forgotten password reset through the mailed link; a role change taking effect at once; the
profile's time zone shown in the thread; the people pages at phone width. Mail goes through
a real local SMTP server (FRONTDESK_SMTP_URL)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from frontdesk.connectors.email.tests.smtp import SmtpServer
from tests.browser import AGENT, OWNER, login, running_app

pytestmark = pytest.mark.browser

LINK = re.compile(r"(http://\S+/(?:invite|password/reset)/\S+/)")
PHONE = {"viewport": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.add_user("app@example.com", "smtp-secret")
    yield server
    server.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory, smtp):
    url = f"smtp+plain://app%40example.com:smtp-secret@127.0.0.1:{smtp.port}"
    with running_app(
        tmp_path_factory.mktemp("people"),
        agent_name="Agnes Agent",
        FRONTDESK_SMTP_URL=url,
        FRONTDESK_MAIL_FROM="team@example.com",
    ) as running:
        yield running


def mailed_link(smtp: SmtpServer, to: str, page) -> str:
    for _ in range(50):
        for received in reversed(smtp.received):
            if to in received.rcpt_tos:
                return LINK.search(received.message.get_content()).group(1)
        page.wait_for_timeout(100)
    raise AssertionError(f"no mail to {to}")


def no_wider_than_the_screen(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


@pytest.mark.browser_allows(r"status of 404 .*/invite/")  # the used link, opened again
def test_invite_accept_and_log_in_as_the_invitee(app, browser, smtp, shots):
    owner = login(browser, app, OWNER[0], app.owner_password)
    owner.click("nav >> text=Settings")
    owner.click("text=Members")
    owner.fill("#people-inv-email", "newt@example.com")
    owner.select_option("#people-inv-role", "admin")
    owner.click("button:has-text('Invite')")
    owner.wait_for_selector("text=Invitation sent to newt@example.com.")
    assert owner.is_visible("text=newt@example.com")  # waiting to be accepted
    owner.screenshot(path=str(shots / "members-laptop.png"), full_page=True)

    link = mailed_link(smtp, "newt@example.com", owner)
    newt = browser.new_context(**PHONE).new_page()
    newt.goto(link)
    newt.wait_for_selector("text=invited you to join")
    no_wider_than_the_screen(newt)
    newt.screenshot(path=str(shots / "invitation-phone.png"), full_page=True)
    newt.fill("#people-name", "Newt Scamander")
    newt.fill("#people-password", "salamander-fire-9")
    newt.click("button:has-text('Join')")
    newt.wait_for_url(f"{app.base}/")
    assert newt.locator(".me-name").first.text_content() == "Newt Scamander"  # signed in

    again = browser.new_context().new_page()
    again.goto(link)
    assert again.is_visible("text=expired or was already used")
    later = login(browser, app, "newt@example.com", "salamander-fire-9")
    later.goto(f"{app.base}/settings/mail/")  # an admin: the outgoing mail page opens
    assert later.is_visible("h1:has-text('Outgoing mail')")


def test_a_forgotten_password_is_reset_through_the_mailed_link(app, browser, smtp):
    page = browser.new_context().new_page()
    page.goto(f"{app.base}/login/")
    page.click("text=Forgot your password?")
    page.fill("#people-email", AGENT[0])
    page.click("button:has-text('Send the link')")
    page.wait_for_selector("text=is on its way")
    page.goto(mailed_link(smtp, AGENT[0], page))
    page.fill("#people-new1", "a-brand-new-secret-7")
    page.fill("#people-new2", "a-brand-new-secret-7")
    page.click("button:has-text('Set the password')")
    page.wait_for_url(f"{app.base}/")
    login(browser, app, AGENT[0], "a-brand-new-secret-7")
    AGENT_PASSWORD[0] = "a-brand-new-secret-7"


AGENT_PASSWORD = [AGENT[1]]


def test_a_role_change_takes_effect_at_once(app, browser):
    agent = login(browser, app, AGENT[0], AGENT_PASSWORD[0])
    agent.goto(f"{app.base}/settings/")
    assert not agent.is_visible("text=Outgoing mail")
    owner = login(browser, app, OWNER[0], app.owner_password)
    owner.goto(f"{app.base}/settings/members/")
    row = owner.locator(f"tr[data-member='{AGENT[0]}']")
    row.locator("select[name=role]").select_option("admin")
    row.locator("button:has-text('Change role')").click()
    owner.wait_for_selector("text=Agnes Agent is now admin.")
    agent.reload()
    assert agent.is_visible("text=Outgoing mail")


def test_the_profile_time_zone_is_used_in_the_thread(app, browser, shots):
    app.inbound("tz-1", "Tara Zone", "What time is it there?")
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/settings/profile/")
    page.select_option("#people-tz", "Asia/Kolkata")
    page.select_option("#people-locale", "de")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Your profile is saved.")
    page.goto(f"{app.base}/")
    page.click("#rows .row >> text=Tara Zone")
    title = page.locator(".msg time").first.get_attribute("title")
    assert title.endswith("IST"), title  # India Standard Time, in German date format
    assert re.match(r"\d{1,2}\. \w+\.? \d{4}, \d\d:\d\d IST", title), title
    page.screenshot(path=str(shots / "thread-kolkata.png"))


@pytest.mark.parametrize("path", ["/settings/", "/settings/members/", "/settings/profile/"])
def test_people_pages_fit_a_phone(app, browser, shots, path):
    page = login(browser, app, OWNER[0], app.owner_password, **PHONE)
    page.goto(f"{app.base}{path}")
    no_wider_than_the_screen(page)
    name = path.strip("/").replace("/", "-")
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)


def test_dark_mode_follows_the_system_and_the_profile_switch(app, browser, shots):
    app.inbound("dark-1", "Dana Dark", "Is it night there?")
    page = login(browser, app, AGENT[0], AGENT_PASSWORD[0], color_scheme="dark")

    def background() -> str:
        return page.evaluate("getComputedStyle(document.body).backgroundColor")

    assert background() == "rgb(15, 17, 21)"  # the system asks for dark
    page.click("#rows .row >> text=Dana Dark")
    page.wait_for_selector(".msg >> text=Is it night there?")
    page.screenshot(path=str(shots / "inbox-dark.png"))
    page.goto(f"{app.base}/settings/profile/")
    page.select_option("#people-theme", "light")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Your profile is saved.")
    assert background() == "rgb(246, 247, 249)"  # the switch wins over the system
    page.select_option("#people-theme", "dark")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Your profile is saved.")
    page.emulate_media(color_scheme="light")
    assert background() == "rgb(15, 17, 21)"
