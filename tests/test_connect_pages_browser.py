"""Apps & integrations and every connect page, in Chromium: inside the app's layout, and no
wider than a phone's screen."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser import OWNER, login

pytestmark = pytest.mark.browser


def connect_pages(page, base: str) -> list[str]:
    """Apps & integrations, then every page its Connect buttons lead to."""
    page.goto(f"{base}/apps/")
    links = page.locator(".connect-tile a").evaluate_all("links => links.map(a => a.href)")
    assert len(links) >= 5, links
    return [f"{base}/apps/", *links, f"{base}/connectors/email/oauth/callback/?state=forged"]


@pytest.mark.browser_allows(r"status of 400")  # the forged OAuth callback answers 400
@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "light"), (390, "dark")])
def test_connect_pages_sit_in_the_app_and_fit_the_screen(app, browser, shots, width, scheme):
    assert app.channel["id"]  # Apps lists at least one account
    page = login(
        browser,
        app,
        OWNER[0],
        app.owner_password,
        viewport={"width": width, "height": 900},
        color_scheme=scheme,
    )
    for url in connect_pages(page, app.base):
        page.goto(url)
        name = urlsplit(url).path.strip("/").replace("/", "-")
        page.screenshot(path=shots / f"connect-{name}-{width}-{scheme}.png", full_page=True)
        assert page.locator("nav.sidebar").is_visible(), url  # the app's layout, not a bare page
        assert page.locator("nav.sidebar a", has_text="Apps & integrations").count() == 1
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{url} is {wide} px wide on a {width} px screen"
