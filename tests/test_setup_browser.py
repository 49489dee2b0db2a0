"""First run in Chromium: a fresh ``frontdesk run`` sends the first visitor to setup, the
printed link makes the workspace and signs its owner in, and the link is refused after."""

from __future__ import annotations

import pytest

from tests.live import base_env, embedded, printed_setup_link

pytestmark = pytest.mark.browser


@pytest.mark.browser_allows(r"status of 404 .*/setup/")  # the used link, opened again
def test_first_run_setup_page_then_the_link_refused(tmp_path, browser, shots):
    env = base_env(tmp_path / "data")
    with embedded(env, set_up=False) as (base, _):
        link = printed_setup_link(env)
        assert link and link.startswith(f"{base}/setup/")

        visitor = browser.new_context().new_page()
        visitor.goto(f"{base}/")
        visitor.wait_for_url(f"{base}/setup/")
        assert visitor.is_visible("text=open the setup link")

        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.goto(link)
        page.fill("#setup-workspace", "Northwind Studio")
        page.fill("#setup-name", "Dana Reyes")
        page.fill("#setup-email", "dana@northwind.test")
        page.fill("#setup-password", "a-long-password-9")
        page.screenshot(path=str(shots / "setup-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("button:has-text('Create workspace')")
        page.wait_for_url(f"{base}/")
        assert page.locator(".me-name").first.text_content() == "Dana Reyes"  # signed in
        assert page.locator(".ws-name").first.text_content() == "Northwind Studio"
        assert page.is_visible("text=Next step: connect a channel")
        page.screenshot(path=str(shots / "setup-done-phone.png"))

        visitor.goto(link)
        assert visitor.is_visible("text=This setup link was already used or is not valid.")
        assert not visitor.is_visible("#setup-workspace")
        visitor.goto(f"{base}/")
        visitor.wait_for_url(f"{base}/login/?next=/")
        page.context.close()  # before the server stops under its websocket
