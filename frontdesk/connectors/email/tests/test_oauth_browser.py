"""Connecting Gmail, Outlook and Zoho over OAuth in a real Chromium, under the app's CSP.

The app (`frontdesk run`) sends the browser to the local OAuth peer's consent page (its
authorize URL is a setting), the person approves or cancels there and comes back; the
mailbox is Dovecot, reached with XOAUTH2 checked against the same peer."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser import OWNER, App, login, on_postgres_when_configured, running_app

pytestmark = pytest.mark.browser
PROVIDERS = {"gmail": "Gmail", "outlook": "Outlook / Microsoft 365", "zoho": "Zoho Mail"}
INVALID = "This sign-in link is not valid"


@pytest.fixture(scope="module")
def oauth_app(tmp_path_factory, oauth_server, dovecot, smtp_server) -> Iterator[App]:
    env = {}
    for provider in PROVIDERS:
        key = f"FRONTDESK_{provider.upper()}"
        env |= {
            f"{key}_AUTHORIZE_URL": f"{oauth_server.url}/authorize",
            f"{key}_TOKEN_URL": f"{oauth_server.url}/token",
            f"{key}_CLIENT_ID": oauth_server.client_id,
            f"{key}_CLIENT_SECRET": oauth_server.client_secret,
            f"{key}_IMAP_HOST": "127.0.0.1",
            f"{key}_IMAP_PORT": str(dovecot.port),
            f"{key}_IMAP_SECURITY": "none",
            f"{key}_SMTP_HOST": "127.0.0.1",
            f"{key}_SMTP_PORT": str(smtp_server.port),
            f"{key}_SMTP_SECURITY": "none",
        }
    with running_app(
        tmp_path_factory.mktemp("oauth"), on_postgres=on_postgres_when_configured(), **env
    ) as running:
        yield running


@pytest.fixture
def consent(oauth_server):
    """The OAuth peer shows a consent page (Allow / Cancel) instead of approving at once."""
    oauth_server.consent_page, oauth_server.fail_with = True, ""
    yield oauth_server
    oauth_server.consent_page, oauth_server.fail_with = False, ""


def start(page, app: App, provider: str, address: str, name: str) -> None:
    page.goto(f"{app.base}/apps/")
    page.click(f"a[href='/connectors/email/{provider}/connect/']")
    page.fill("input[name=name]", name)
    page.fill("input[name=address]", address)
    page.click("#oauth-connect")
    page.wait_for_selector("#consent-user")  # the provider's own page, another origin


def background(locator) -> str:
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


def channel_names(app: App) -> list[str]:
    return [c["name"] for c in app.api.get("/channels").json()["items"]]


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_connect_with_oauth_approve_and_first_mail_imported(
    provider, oauth_app, browser, consent, mailbox, mail, shots
):
    mailbox.deliver(mail(f"Waiting in {provider}", subject="Before connecting"))
    page = login(browser, oauth_app, OWNER[0], oauth_app.owner_password)
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/oauth/callback/" in r.url else None)
    start(page, oauth_app, provider, mailbox.address, f"{provider} support")
    assert page.url.startswith(consent.url)
    assert page.inner_text("#consent-user") == mailbox.address  # login_hint carried over
    page.click("#consent-allow")
    page.wait_for_url(f"{oauth_app.base}/apps/")
    assert "is connected; its mail is being imported" in page.inner_text(".flash-success")
    assert background(page.locator(".flash-success")) != background(page.locator(".card").first)
    row = page.locator("tr", has_text=f"{provider} support")
    assert "Connected" in row.inner_text()
    page.screenshot(path=shots / f"oauth-{provider}-connected.png")
    page.goto(f"{oauth_app.base}/")
    page.wait_for_selector(f"text=Waiting in {provider}", timeout=30_000)
    assert len(callbacks) == 1


@pytest.mark.browser_allows(r"status of 400")  # the refused callback answers 400
def test_state_replayed_or_tampered_is_refused_in_words(
    oauth_app, browser, consent, mailbox, shots
):
    page = login(browser, oauth_app, OWNER[0], oauth_app.owner_password)
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/oauth/callback/" in r.url else None)
    start(page, oauth_app, "gmail", mailbox.address, "Replayed")
    page.click("#consent-allow")
    page.wait_for_url(f"{oauth_app.base}/apps/")
    [used] = callbacks
    names = channel_names(oauth_app)

    page.goto(used)  # the same code and state again (back button, a shared link)
    assert INVALID in page.inner_text("#connect-problem")
    assert page.locator("nav.sidebar").is_visible()  # inside the app, not a bare page
    page.screenshot(path=shots / "oauth-replayed.png")

    start(page, oauth_app, "gmail", mailbox.address, "Tampered")
    consent_url = page.url
    state = re.search(r"state=([^&]+)", consent_url).group(1)
    page.click("#consent-allow")
    page.wait_for_url(f"{oauth_app.base}/apps/")
    page.goto(used.replace(re.search(r"state=([^&]+)", used).group(1), state[:-2] + "xx"))
    assert INVALID in page.inner_text("#connect-problem")
    assert "b'" not in page.content() and "Error" not in page.inner_text("#connect-problem")
    assert len(channel_names(oauth_app)) == len(names) + 1


def test_cancel_at_the_provider_leaves_nothing_behind(oauth_app, browser, consent, mailbox):
    page = login(browser, oauth_app, OWNER[0], oauth_app.owner_password)
    before = channel_names(oauth_app)
    start(page, oauth_app, "outlook", mailbox.address, "Cancelled box")
    page.click("#consent-cancel")
    page.wait_for_url(f"{oauth_app.base}/apps/")
    said = page.locator(".flash li")
    assert said.inner_text() == "You cancelled at Outlook / Microsoft 365: nothing was connected."
    assert said.get_attribute("class") == "flash-info"  # said as it is: not a green success
    assert background(said) == background(page.locator(".card").first)  # neutral, like a card
    assert channel_names(oauth_app) == before
    assert page.locator("#sidebar, nav").filter(has_text="Cancelled box").count() == 0
    # a retry works: the same pending connection is reused, with a new state
    start(page, oauth_app, "outlook", mailbox.address, "Cancelled box")
    page.click("#consent-allow")
    page.wait_for_url(f"{oauth_app.base}/apps/")
    assert sorted(channel_names(oauth_app)) == sorted([*before, "Cancelled box"])


def test_an_error_from_the_provider_is_said_plainly(oauth_app, browser, consent, mailbox):
    consent.fail_with = "temporarily_unavailable"
    page = login(browser, oauth_app, OWNER[0], oauth_app.owner_password)
    before = channel_names(oauth_app)
    start(page, oauth_app, "zoho", mailbox.address, "Failing box")
    page.click("#consent-allow")
    page.wait_for_url(f"{oauth_app.base}/apps/")
    assert (
        page.inner_text(".flash-error") == "Zoho Mail did not connect the mailbox: Try again later."
    )
    assert channel_names(oauth_app) == before
