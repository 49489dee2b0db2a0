"""Connecting LinkedIn and WhatsApp (by QR code) through Unipile's hosted auth in a real
Chromium, under the app's CSP: Apps & integrations → Connect → the form → Unipile's page
(the stand-in, peer.py here, on its own origin) → approve, cancel or fail there →
back in the app. v1 (notify_url + success URL) and v2 (redirect with account_id). With
DATABASE_URL and REDIS_URL set, the app runs as web + worker on PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from frontdesk.connectors.unipile.tests.peer import API_KEY, UnipilePeer
from tests.browser import OWNER, App, login, on_postgres_when_configured, running_app

pytestmark = pytest.mark.browser
INVALID = "This sign-in link is not valid"
LABELS = {"linkedin": "LinkedIn", "whatsapp": "WhatsApp"}
# The account owner and a client, per network, as Unipile names them.
PEOPLE = {
    "linkedin": (
        {"provider_id": "ACoAABOwner", "name": "Olivia Owner"},
        {"provider_id": "ACoAABKim", "name": "Kim Prospect"},
    ),
    "whatsapp": (
        {"provider_id": "33700000000@s.whatsapp.net", "name": "Our number"},
        {"provider_id": "33612345678@s.whatsapp.net", "name": "Camille Client"},
    ),
}


class UnipileApp(App):
    peer: UnipilePeer


@pytest.fixture(scope="module")
def unipile_app(tmp_path_factory) -> Iterator[UnipileApp]:
    peer = UnipilePeer()
    try:
        with running_app(
            tmp_path_factory.mktemp("unipile"),
            UnipileApp,
            on_postgres=on_postgres_when_configured(),
        ) as running:
            running.peer = peer
            yield running
    finally:
        peer.close()


def waiting_account(peer: UnipilePeer, network: str, account_id: str, text: str) -> None:
    """What Unipile holds for the account the next approval connects: a chat to import."""
    owner, client = PEOPLE[network]
    peer.add_account(account_id, network, owner["provider_id"])
    chat = peer.add_chat(account_id, owner, client, minutes_ago=30)
    peer.add_message(chat, client["provider_id"], "Hello, are you there?", minutes_ago=20)
    peer.add_message(chat, client["provider_id"], text, minutes_ago=10)
    peer.next_account_id = account_id


def channels(app: App) -> dict[str, str]:
    return {c["name"]: c["status"] for c in app.api.get("/channels").json()["items"]}


def start(page, app: UnipileApp, network: str, version: str, name: str) -> None:
    """From Apps & integrations to Unipile's page."""
    page.goto(f"{app.base}/apps/")
    page.click(".connect-tile a[href='/connectors/unipile/connect/']")
    page.check(f"input[name=network][value={network}]")
    page.check(f"input[name=api_version][value={version}]")
    page.fill("input[name=name]", name)
    page.fill("input[name=dsn]", app.peer.dsn)
    page.fill("input[name=api_key]", API_KEY)
    page.click("#unipile-start")
    page.wait_for_selector("#approve")  # Unipile's own page, on another origin
    assert page.url.startswith(f"{app.peer.dsn}/hosted/")


def flash(page) -> str:
    return page.inner_text(".flash li")


@pytest.mark.parametrize(
    ("network", "version"),
    [("linkedin", "v2"), ("linkedin", "v1"), ("whatsapp", "v2"), ("whatsapp", "v1")],
)
def test_connect_approve_at_unipile_and_first_messages_imported(
    network, version, unipile_app, browser, shots
):
    app, peer = unipile_app, unipile_app.peer
    name = f"{LABELS[network]} {version} sales"
    text = f"Can we talk about the {network} {version} offer?"
    waiting_account(peer, network, f"acc-{network}-{version}", text)
    page = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 900}
    )
    start(page, app, network, version, name)
    heading = page.inner_text("h1")
    assert heading == f"Connect {LABELS[network]}"
    if network == "whatsapp":
        assert page.locator(".qr[role=img]").is_visible()
    page.screenshot(path=shots / f"unipile-{network}-{version}-standin-1280.png")
    assert name not in channels(app)  # nothing in the sidebar while at Unipile
    page.click("#approve")
    page.wait_for_url(f"{app.base}/apps/")
    assert flash(page) == f"{name} is connected; its messages are being imported."
    assert page.locator(".flash li").get_attribute("class") == "flash-success"
    row = page.locator("tr", has_text=name)
    assert "Connected" in row.inner_text()
    assert page.locator("nav.sidebar", has_text=name).count() == 1
    page.screenshot(path=shots / f"unipile-{network}-{version}-connected-1280.png")
    page.goto(f"{app.base}/")
    page.wait_for_selector(f"text={text}", timeout=30_000)  # imported by the first sync
    assert channels(app)[name] == "connected"
    if version == "v1":
        assert peer.notified[-1] == (f"acc-{network}-{version}", 200)


def test_the_connect_page_and_unipiles_page_at_1280_and_390(unipile_app, browser, shots):
    app = unipile_app
    for width in (1280, 390):
        page = login(
            browser, app, OWNER[0], app.owner_password, viewport={"width": width, "height": 900}
        )
        page.goto(f"{app.base}/connectors/unipile/connect/")
        page.screenshot(path=shots / f"unipile-connect-page-{width}.png", full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        start(page, app, "whatsapp", "v2", f"Looking {width}")
        page.screenshot(path=shots / f"unipile-standin-page-{width}.png", full_page=True)
        page.click("#cancel")
        page.wait_for_url(f"{app.base}/apps/")


def test_without_javascript_the_hand_over_page_links_to_unipile(unipile_app, browser, shots):
    app, peer = unipile_app, unipile_app.peer
    page = login(browser, app, OWNER[0], app.owner_password, java_script_enabled=False)
    page.goto(f"{app.base}/connectors/unipile/connect/")
    page.check("input[name=network][value=whatsapp]")
    page.fill("input[name=dsn]", peer.dsn)
    page.fill("input[name=api_key]", API_KEY)
    page.click("#unipile-start")
    page.wait_for_url(f"{app.base}/connectors/unipile/continue/*/")
    assert page.locator("nav.sidebar").is_visible()
    assert "scan it with WhatsApp" in page.inner_text("main")
    page.screenshot(path=shots / "unipile-hand-over-no-js-1280.png")
    page.click("#unipile-continue")
    page.wait_for_selector("#cancel")
    assert page.url == f"{peer.dsn}/hosted/{peer.hosted_links[-1]['token']}"
    page.click("#cancel")
    page.wait_for_url(f"{app.base}/apps/")


def test_cancel_at_unipile_leaves_nothing_behind_and_a_retry_works(unipile_app, browser):
    app, peer = unipile_app, unipile_app.peer
    page = login(browser, app, OWNER[0], app.owner_password)
    before = channels(app)
    for version in ("v1", "v2"):
        start(page, app, "linkedin", version, f"Cancelled {version}")
        page.click("#cancel")
        page.wait_for_url(f"{app.base}/apps/")
        said = flash(page)
        assert said.startswith("Unipile did not connect the LinkedIn account")
        if version == "v2":  # v2 says why
            assert said == (
                "Unipile did not connect the LinkedIn account: The authentication was cancelled."
            )
        else:
            assert said == V1_FAILED
        assert channels(app) == before
        assert page.locator("nav.sidebar", has_text=f"Cancelled {version}").count() == 0
    # Start again and approve: one channel.
    waiting_account(peer, "linkedin", "acc-after-cancel", "After a cancel")
    start(page, app, "linkedin", "v2", "Cancelled v2")
    page.click("#approve")
    page.wait_for_url(f"{app.base}/apps/")
    assert channels(app) == {**before, "Cancelled v2": "connected"}


V1_FAILED = (
    "Unipile did not connect the LinkedIn account (cancelled, or the login was refused): "
    "nothing was connected. Try again when you are ready."
)


def test_an_error_at_unipile_is_said_plainly(unipile_app, browser):
    app = unipile_app
    page = login(browser, app, OWNER[0], app.owner_password)
    before = channels(app)
    start(page, app, "linkedin", "v2", "Refused login")
    page.click("#fail")
    page.wait_for_url(f"{app.base}/apps/")
    assert flash(page) == (
        "Unipile did not connect the LinkedIn account: "
        "Invalid credentials: the provider refused the login."
    )
    assert page.locator(".flash li").get_attribute("class") == "flash-error"
    assert channels(app) == before


def test_v1_cancelled_and_refused_read_the_same_because_unipile_tells_them_apart_nowhere(
    unipile_app, browser
):
    """v1's hosted auth sends the browser to ``failure_redirect_url`` with nothing that says
    why (reference: HOST), so one message, true for both, is shown for either."""
    app = unipile_app
    page = login(browser, app, OWNER[0], app.owner_password)
    before = channels(app)
    for button in ("#cancel", "#fail"):
        start(page, app, "linkedin", "v1", f"v1 {button}")
        page.click(button)
        page.wait_for_url(f"{app.base}/apps/")
        assert flash(page) == V1_FAILED
        assert page.locator(".flash li").get_attribute("class") == "flash-error"
        assert channels(app) == before


@pytest.mark.browser_allows(r"status of 400")  # the refused return answers 400
def test_state_replayed_or_tampered_is_refused_in_words(unipile_app, browser, shots):
    app, peer = unipile_app, unipile_app.peer
    page = login(browser, app, OWNER[0], app.owner_password)
    returns: list[str] = []
    page.on("request", lambda r: returns.append(r.url) if "/unipile/return/" in r.url else None)
    waiting_account(peer, "linkedin", "acc-replayed", "Replayed hello")
    start(page, app, "linkedin", "v2", "Replayed")
    page.click("#approve")
    page.wait_for_url(f"{app.base}/apps/")
    [used] = returns
    names = channels(app)

    page.goto(used)  # the same way back again (the back button, a shared link)
    assert INVALID in page.inner_text("#connect-problem")
    assert page.locator("nav.sidebar").is_visible()  # inside the app, not a bare page
    page.screenshot(path=shots / "unipile-replayed.png")

    waiting_account(peer, "linkedin", "acc-tampered", "Tampered hello")
    start(page, app, "linkedin", "v2", "Tampered")
    state = peer.hosted_links[-1]["state"]
    page.goto(used.replace(used.split("state=")[1].split("&")[0], state[:-2] + "xx"))
    problem = page.inner_text("#connect-problem")
    assert INVALID in problem and "b'" not in page.content() and "Error" not in problem
    assert channels(app) == names


def test_reconnect_a_channel_in_error_through_unipile(unipile_app, browser, shots):
    app, peer = unipile_app, unipile_app.peer
    page = login(browser, app, OWNER[0], app.owner_password)
    waiting_account(peer, "linkedin", "acc-reconnect", "Before the error")
    start(page, app, "linkedin", "v2", "Needs a login")
    page.click("#approve")
    page.wait_for_url(f"{app.base}/apps/")
    page.goto(f"{app.base}/")
    page.wait_for_selector("text=Before the error", timeout=30_000)  # the endpoint is registered
    lost = peer.v2_event("account.status.disconnected", "acc-reconnect", {"timestamp": "now"})
    assert {r.status_code for r in peer.deliver_v2(lost)} == {200}
    assert channels(app)["Needs a login"] == "needs_reconnect"

    page.goto(f"{app.base}/apps/")
    row = page.locator("tr", has_text="Needs a login")
    row.get_by_role("link", name="Reconnect").click()
    page.click("form[action$='/reconnect/'] button")
    page.wait_for_selector("#approve")
    assert page.inner_text("h1") == "Reconnect LinkedIn"
    page.click("#approve")
    page.wait_for_url(f"{app.base}/apps/")
    assert flash(page) == "Needs a login is connected again."
    assert "Connected" in page.locator("tr", has_text="Needs a login").inner_text()
    assert channels(app)["Needs a login"] == "connected"
    page.screenshot(path=shots / "unipile-reconnected.png")


def test_remove_a_connected_account_deletes_it_at_unipile_or_says_why_not(unipile_app, browser):
    """Remove channel on a v1 LinkedIn account: Unipile is asked to delete it and the page
    says so; when Unipile is down, the channel goes all the same and a warning says what
    to do at Unipile."""
    app, peer = unipile_app, unipile_app.peer
    page = login(browser, app, OWNER[0], app.owner_password)
    for account_id, name in (("acc-remove-ok", "To remove"), ("acc-remove-down", "Unipile down")):
        waiting_account(peer, "linkedin", account_id, f"Hello from {name}")
        start(page, app, "linkedin", "v1", name)
        page.click("#approve")
        page.wait_for_url(f"{app.base}/apps/")
        assert channels(app)[name] == "connected"
        if account_id == "acc-remove-down":
            peer.fail_next("/api/v1/accounts/", 503, "Service unavailable")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("tr", has_text=name).get_by_role("button", name="Remove channel").click()
        page.wait_for_selector(f".flash-success >> text={name} is removed")
        assert name not in channels(app)
        assert page.locator("nav.sidebar", has_text=name).count() == 0
        deletes = [r.path for r in peer.requests_to("DELETE", "/api/v1/accounts/")]
        assert deletes[-1] == f"/api/v1/accounts/{account_id}"
        said = page.locator(".flash li").all_inner_texts()
        if account_id == "acc-remove-ok":
            assert said == [
                f"{name} is removed. Its conversations stay in the inbox, marked as from a"
                " removed channel. Unipile was asked to delete the LinkedIn account."
            ]
            assert account_id not in peer.accounts
        else:
            assert said[1] == (
                f"LinkedIn (Unipile) was not told that {name} is gone (Unipile answered HTTP"
                " 503: Service unavailable). Remove the account, or Frontdesk's access to it,"
                " in the provider's own settings."
            )
            assert page.locator(".flash li").nth(1).get_attribute("class") == "flash-warning"
            assert account_id in peer.accounts
