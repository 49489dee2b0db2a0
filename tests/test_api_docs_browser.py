"""The API's browsable docs render in Chromium under the app's CSP, from the app's own files."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1440, 390])
def test_the_api_docs_render_from_the_app_itself(app, browser, shots, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{app.base}/api/v1/docs")

    page.wait_for_selector("#swagger-ui .info .title")
    assert "Frontdesk API" in page.inner_text("#swagger-ui .info .title")
    conversations = page.locator(".opblock-summary-path", has_text="/api/v1/conversations")
    assert conversations.count() >= 2
    # An operation opens with its parameters and a "Try it out" button.
    page.locator(".opblock-get .opblock-summary", has_text="/api/v1/me").first.click()
    page.wait_for_selector(".opblock.is-open .try-out__btn")
    page.screenshot(path=shots / f"api-docs-{width}.png")

    assert fetched and all(url.startswith(app.base) for url in fetched), fetched
    assert any(url.endswith("/static/ninja/swagger-ui-bundle.js") for url in fetched)


def test_a_call_can_be_tried_from_the_docs_with_a_token(app, browser):
    token = app.api.headers["Authorization"].removeprefix("Bearer ")
    page = browser.new_page()
    page.goto(f"{app.base}/api/v1/docs")
    page.click("button.authorize")
    page.fill(".auth-container input", token)
    page.click(".auth-btn-wrapper button.authorize")
    page.click(".auth-btn-wrapper button.btn-done")
    page.locator(".opblock-get .opblock-summary", has_text="/api/v1/me").first.click()
    page.click(".opblock.is-open .try-out__btn")
    page.click(".opblock.is-open .execute")
    answer = page.locator(".opblock.is-open .live-responses-table tbody .response-col_status")
    answer.first.wait_for()
    assert answer.first.inner_text().strip() == "200"
    assert "owner@example.com" in page.inner_text(".opblock.is-open .live-responses-table")
