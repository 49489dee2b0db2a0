"""A mailbox's history import, watched in Chromium: Apps & integrations and the sidebar say
"Importing: n of ~N messages" and count up live (no reload), then show the last sync."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser import OWNER, App, login, running_app

pytestmark = pytest.mark.browser
HISTORY = 80

# Every text an import line showed on this page, in order (the live updates included).
WATCH = """
window.__imports = [];
new MutationObserver(() => {
  document.querySelectorAll("[data-import-progress]").forEach((el) => {
    const seen = window.__imports;
    const text = el.closest("nav") ? "sidebar: " + el.textContent : "apps: " + el.textContent;
    if (!seen.includes(text)) seen.push(text);
  });
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


@pytest.fixture(scope="module")
def slow_import_app(tmp_path_factory) -> Iterator[App]:
    # One message per batch: the import moves in many small steps a person can watch.
    env = {"FRONTDESK_EMAIL_FETCH_BATCH": "1", "FRONTDESK_EMAIL_COMMIT_EVERY": "1"}
    with running_app(tmp_path_factory.mktemp("import"), **env) as running:
        yield running


def test_import_progress_counts_up_live_then_shows_the_last_sync(
    slow_import_app, browser, mailbox, smtp_server, mail, shots
):
    app = slow_import_app
    client = mailbox.imap()
    start = timezone.now() - timedelta(hours=2)
    try:
        for n in range(HISTORY):  # a minute apart: "History 79" is the newest
            sent = start + timedelta(minutes=n)
            client.append("INBOX", mail(f"History {n}", date=sent).as_bytes())
    finally:
        client.logout()
    page = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 900}
    )
    page.goto(f"{app.base}/connectors/email/imap/connect/")
    page.fill("input[name=name]", "Archive box")
    page.fill("input[name=address]", mailbox.address)
    page.fill("input[name=imap_host]", "127.0.0.1")
    page.fill("input[name=imap_port]", str(mailbox.dovecot.port))
    page.select_option("select[name=imap_security]", "none")
    page.fill("input[name=smtp_host]", "127.0.0.1")
    page.fill("input[name=smtp_port]", str(smtp_server.port))
    page.select_option("select[name=smtp_security]", "none")
    page.fill("input[name=password]", mailbox.password)
    page.add_init_script(WATCH)  # from the Apps page the save leads to
    page.click("#save-mailbox")
    page.wait_for_url(f"{app.base}/apps/")
    row = page.locator("tr", has_text="Archive box")
    line = row.locator("[data-import-progress]")
    page.wait_for_function(
        "() => /^Importing: [0-9,]+ of ~80 messages$/.test("
        "document.querySelector('tr[id^=channel-] [data-import-progress]')?.textContent || '')"
    )
    page.screenshot(path=shots / "import-progress-apps.png")
    # finished: the line goes, the time of the last sync stays
    page.wait_for_function(
        "() => [...document.querySelectorAll('tr[id^=channel-] [data-import-progress]')]"
        ".every((el) => el.textContent === '')",
        timeout=120_000,
    )
    assert "just now" in row.inner_text() or " ago" in row.inner_text()
    assert line.inner_text() == ""
    seen = page.evaluate("window.__imports")
    apps = [t.removeprefix("apps: ") for t in seen if t.startswith("apps: Importing")]
    sidebar = [t for t in seen if t.startswith("sidebar: Importing")]
    counts = [int(t.split()[1].replace(",", "")) for t in apps]
    assert len(counts) >= 3 and counts == sorted(counts), apps  # counted up live, in order
    assert all(t.endswith("of ~80 messages") for t in apps)
    assert sidebar, seen  # the sidebar said it too
    page.goto(f"{app.base}/")
    page.wait_for_selector(f"text=History {HISTORY - 1}")
