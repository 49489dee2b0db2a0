"""The app's connect form for the echo channel in a real Chromium against ``frontdesk run``
(the channel registered through the FRONTDESK_CONNECTORS environment variable alone), on a
laptop and a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.browser import OWNER, login, running_app
from tests.echo_channel.conftest import ECHO

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def echo_app(tmp_path_factory):
    paths = ",".join([*settings.FRONTDESK_CONNECTORS, ECHO])
    tmp = tmp_path_factory.mktemp("echo-ui")
    with running_app(tmp, FRONTDESK_CONNECTORS=paths, PYTHONPATH=str(ROOT)) as running:
        yield running


@pytest.mark.browser_allows(r"status of 400 .*/apps/echo/connect/")  # the refused room, on purpose
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["laptop", "phone"])
def test_connect_the_echo_channel_from_apps(echo_app, echo_server, browser, shots, width, height):
    base = echo_app.base
    page = login(
        browser,
        echo_app,
        OWNER[0],
        echo_app.owner_password,
        viewport={"width": width, "height": height},
    )
    page.goto(f"{base}/apps/")
    page.click("a[href='/apps/echo/connect/']")
    page.fill("input[name=name]", f"Echo {width}")
    page.fill("input[name=server_url]", echo_server.url)
    page.fill("input[name=room]", "not a room!")
    page.fill("input[name=token]", echo_server.token)
    page.click("#connect-save")
    assert "room must be letters" in page.locator("#connect-error").inner_text()
    assert page.input_value("input[name=name]") == f"Echo {width}"  # what was typed stays
    assert page.input_value("input[name=token]") == ""  # the secret is never sent back
    page.screenshot(path=str(shots / f"echo-connect-refused-{width}.png"), full_page=True)

    page.fill("input[name=room]", echo_server.room)
    page.fill("input[name=token]", echo_server.token)
    page.click("#connect-save")
    secret = page.locator("[data-reveal=webhook_secret]").inner_text()
    assert len(secret) > 30
    page.screenshot(path=str(shots / f"echo-connect-done-{width}.png"), full_page=True)
    page.click("text=Done")
    channels = echo_app.api.get("/channels").json()["items"]
    [channel] = [c for c in channels if c["name"] == f"Echo {width}"]
    assert channel["provider"] == "echo" and channel["status"] == "connected"
    assert page.locator(f"#channel-{channel['id']}").is_visible()
    # Its mark, as the channel's folder declares it (text and colours; the page's CSP allows
    # the <style> block that carries them: a violation fails the test).
    mark = page.locator(f"#channel-{channel['id']} .glyph")
    assert mark.inner_text() == "Ec"
    assert mark.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(252, 231, 243)"
    assert mark.evaluate("e => getComputedStyle(e).color") == "rgb(157, 23, 77)"
