"""WhatsApp Cloud API's Embedded Signup in Chromium: the connect page loads Facebook's SDK (a
stand-in on its own origins, facebook.py here), "Connect with Facebook" opens the
popup, the person finishes there, and the app exchanges the code at the Graph stand-in: the
number is Connected. The page's CSP allows exactly the SDK's and the popup's origins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Error as PlaywrightError

from frontdesk.connectors.whatsapp_cloud.tests.facebook import FacebookPeer
from frontdesk.connectors.whatsapp_cloud.tests.peer import GraphPeer
from tests.browser import OWNER, App, login, on_postgres_when_configured, running_app

pytestmark = pytest.mark.browser
CONFIG_ID = "998877"


class SignupApp(App):
    graph: GraphPeer
    facebook: FacebookPeer


@pytest.fixture(scope="module")
def signup_app(tmp_path_factory) -> Iterator[SignupApp]:
    graph = GraphPeer()
    facebook = FacebookPeer(graph.issue_code, graph.app_id, graph.phone_number_id, graph.waba_id)
    env = {
        "FRONTDESK_META_APP_ID": graph.app_id,
        "FRONTDESK_META_APP_SECRET": graph.app_secret,
        "FRONTDESK_META_CONFIG_ID": CONFIG_ID,
        "FRONTDESK_META_VERIFY_TOKEN": "app-level-verify",
        "FRONTDESK_WHATSAPP_GRAPH_URL": graph.url,
        "FRONTDESK_META_SDK_URL": facebook.sdk_url,
        "FRONTDESK_META_ORIGINS": facebook.dialog_origin,
        "FRONTDESK_FETCH_PRIVATE_ADDRESSES": "1",
    }
    try:
        with running_app(
            tmp_path_factory.mktemp("signup"),
            SignupApp,
            on_postgres=on_postgres_when_configured(),
            **env,
        ) as running:
            running.graph, running.facebook = graph, facebook
            yield running
    finally:
        facebook.close()
        graph.close()


def open_connect_page(app: SignupApp, browser):
    page = login(browser, app, OWNER[0], app.owner_password)
    page.goto(f"{app.base}/apps/")
    page.locator(".connect-tile", has_text="WhatsApp (Cloud API)").get_by_role(
        "link", name="Connect"
    ).click()
    page.wait_for_selector("#wa-es-start")
    return page


def click_and_let_close(popup, selector: str) -> None:
    """Click a popup button whose handler closes the popup (as Facebook's dialog does).
    Playwright's click can lose the race with that close and raise "Target closed"; that is
    the expected outcome only if the popup did close, which ``expect_event`` checks."""
    with popup.expect_event("close", timeout=20_000):
        try:
            popup.click(selector)
        except PlaywrightError as error:  # "Target closed": a click that closes its own page
            if "closed" not in str(error):
                raise


def test_connect_with_facebook_popup_approve_and_connected(signup_app, browser, shots):
    app = signup_app
    page = open_connect_page(app, browser)
    policy = page.evaluate(
        "async () => (await fetch(location.href)).headers.get('content-security-policy')"
    )
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["script-src"] == ["'self'", app.facebook.sdk_origin]
    assert directives["frame-src"] == ["'self'", app.facebook.dialog_origin]
    assert app.facebook.dialog_origin in directives["connect-src"]
    page.wait_for_function("() => !!window.FB")  # the SDK loaded under the page's CSP

    with page.expect_popup() as opened:
        page.click("#wa-es-start")
    popup = opened.value
    popup.wait_for_selector("#es-finish")
    assert popup.url.startswith(f"{app.facebook.dialog_origin}/dialog")
    [asked] = app.facebook.logins
    assert (asked["app_id"], asked["config_id"]) == (app.graph.app_id, CONFIG_ID)
    popup.screenshot(path=shots / "es-popup.png")
    click_and_let_close(popup, "#es-finish")

    page.wait_for_url(f"{app.base}/apps/", timeout=20_000)
    assert page.locator(".flash-success").inner_text().endswith("is connected.")
    row = page.locator("tr", has_text="WhatsApp")
    assert "Connected" in row.inner_text()
    page.screenshot(path=shots / "es-connected.png")
    # the app exchanged the code, subscribed to the WABA and registered the number
    assert app.graph.calls_to("/oauth/access_token", method="GET")
    assert app.graph.subscribed == [app.graph.waba_id]
    assert app.graph.phone_number_id in app.graph.registered
    [channel] = [c for c in app.api.get("/channels").json()["items"] if c["kind"] == "whatsapp"]
    assert channel["status"] == "connected"
    assert channel["config"]["phone_number_id"] == app.graph.phone_number_id


def test_cancel_in_the_popup_connects_nothing(signup_app, browser):
    app = signup_app
    before = app.api.get("/channels").json()["items"]
    page = open_connect_page(app, browser)
    page.wait_for_function("() => !!window.FB")
    with page.expect_popup() as opened:
        page.click("#wa-es-start")
    popup = opened.value
    click_and_let_close(popup, "#es-cancel")
    status = page.locator("#wa-es-status")
    status.wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('wa-es-status').textContent !== ''")
    assert "cancelled" in status.inner_text() and "nothing was connected" in status.inner_text()
    assert page.url.endswith("/connect/")
    assert app.api.get("/channels").json()["items"] == before


@pytest.mark.browser_allows(r"status of 400")  # the refused signup answers 400
def test_an_error_from_meta_is_said_in_words_and_connects_nothing(signup_app, browser):
    """Meta refuses the code exchange (here: the app secret no longer matches, Graph error
    101): the connect page says so in Meta's words, and no channel is left behind."""
    app = signup_app
    before = app.api.get("/channels").json()["items"]
    subscribed = list(app.graph.subscribed)
    page = open_connect_page(app, browser)
    page.wait_for_function("() => !!window.FB")
    secret, app.graph.app_secret = app.graph.app_secret, "rotated-at-meta"
    try:
        with page.expect_popup() as opened:
            page.click("#wa-es-start")
        click_and_let_close(opened.value, "#es-finish")
        said = page.locator("#connect-error")
        said.wait_for(timeout=20_000)
    finally:
        app.graph.app_secret = secret
    assert said.inner_text() == (
        "Meta refused: Error validating application. Invalid application ID. (error 101)"
    )
    assert "b'" not in page.content() and "Traceback" not in page.content()
    assert app.api.get("/channels").json()["items"] == before
    assert app.graph.subscribed == subscribed  # the app subscribed to nothing
