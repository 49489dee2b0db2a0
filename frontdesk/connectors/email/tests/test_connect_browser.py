"""Connecting a mailbox in a real Chromium against `frontdesk run` (Dovecot + aiosmtpd peers),
and against `frontdesk web` + `frontdesk worker` on PostgreSQL + Redis when configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import OWNER, App, login, on_postgres_when_configured, running_app
from tests.fixtures import wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    """The app this module connects a mailbox in: embedded on SQLite, and on PostgreSQL +
    Redis (``frontdesk web`` + ``frontdesk worker``) in the suite's second pass."""
    with running_app(
        tmp_path_factory.mktemp("imap-connect"), on_postgres=on_postgres_when_configured()
    ) as running:
        yield running


@pytest.mark.browser_allows(r"status of 400 .*/connectors/email/imap/connect/")  # wrong password
def test_connect_a_mailbox_test_the_connection_and_save(app, browser, mailbox, smtp_server, mail):
    base = app.base
    mailbox.deliver(mail("Waiting in the mailbox", subject="Before connecting"))
    page = login(
        browser, app, OWNER[0], app.owner_password, viewport={"width": 1280, "height": 900}
    )
    page.context.set_default_timeout(15_000)

    page.goto(f"{base}/apps/")
    page.click("a[href='/connectors/email/imap/connect/']")
    page.fill("input[name=name]", "Support mailbox")
    page.fill("input[name=address]", mailbox.address)
    page.fill("input[name=imap_host]", "127.0.0.1")
    page.fill("input[name=imap_port]", str(mailbox.dovecot.port))
    page.select_option("select[name=imap_security]", "none")
    page.fill("input[name=smtp_host]", "127.0.0.1")
    page.fill("input[name=smtp_port]", str(smtp_server.port))
    page.select_option("select[name=smtp_security]", "none")
    page.fill("input[name=password]", "wrong-password")
    page.click("#test-connection")
    assert "refused the login" in page.locator("#connect-error").inner_text()

    page.fill("input[name=password]", mailbox.password)
    page.click("#test-connection")
    assert "IMAP login works (folders: INBOX, Sent)" in page.locator("#connect-ok").inner_text()

    page.fill("input[name=password]", mailbox.password)  # the page never echoes a password
    page.click("#save-mailbox")
    page.wait_for_url(f"{base}/apps/")
    row = page.locator("tr", has_text="Support mailbox")
    assert "Connected" in row.inner_text()
    # the first sync starts on save: the waiting mail shows up in the inbox
    page.goto(f"{base}/")
    page.wait_for_selector("text=Waiting in the mailbox", timeout=30_000)

    # reply from the thread with a Cc: it leaves by SMTP, threaded
    page.click("text=Waiting in the mailbox")
    page.click("details.email-fields summary")
    page.fill("#email-cc", "boss@client.test")
    page.fill("#reply-text", "Thanks, we are on it.")
    page.click("#send-btn")
    wait_for(
        lambda: [r for r in smtp_server.received if r.mail_from == mailbox.address], timeout=20
    )
    [sent] = [r for r in smtp_server.received if r.mail_from == mailbox.address]
    assert sorted(sent.rcpt_tos) == ["boss@client.test", "carla@client.test"]
    assert sent.message["Subject"] == "Re: Before connecting"
    assert sent.message["In-Reply-To"]
