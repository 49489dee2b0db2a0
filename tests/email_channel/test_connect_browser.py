"""Connecting a mailbox in a real Chromium against `frontdesk run` (Dovecot + aiosmtpd peers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import wait_for
from tests.live import base_env, embedded
from tests.test_browser import CHROMIUM, browser  # noqa: F401  (the module's browser fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("email-ui")
    env = base_env(tmp / "data")
    env["FRONTDESK_LOG_LEVEL"] = "WARNING"
    with embedded(env) as (base, _):
        login = (tmp / "data" / "first-login.txt").read_text()
        yield base, login.split("password:")[1].split()[0]


def test_connect_a_mailbox_test_the_connection_and_save(
    server,
    browser,  # noqa: F811
    mailbox,
    smtp_server,
    mail,
):
    base, password = server
    mailbox.deliver(mail("Waiting in the mailbox", subject="Before connecting"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/login/")
    page.fill("#id_username", "owner@example.com")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

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
    assert errors == []
    context.close()
