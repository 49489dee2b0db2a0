"""TLS for real: Dovecot with implicit TLS and STARTTLS, SMTP with STARTTLS, a private CA."""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path

import pytest

from frontdesk.connectors.email import client
from frontdesk.connectors.email.tests.conftest import Mailbox, make_channel
from frontdesk.connectors.email.tests.dovecot import Dovecot
from frontdesk.connectors.email.tests.smtp import SmtpServer
from frontdesk.connectors.email.tests.tls import make_certificates
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import Conversation, Message
from frontdesk.inbox.outbox import deliver
from frontdesk.inbox.sync import run_sync


@pytest.fixture(scope="module")
def pki():
    directory = Path(tempfile.mkdtemp(prefix="fd-tls-"))
    directory.chmod(0o755)
    yield make_certificates(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_dovecot(pki):
    _, cert, key = pki
    server = Dovecot(tls=(str(cert), str(key)))
    yield server
    server.close()


@pytest.fixture(scope="module")
def tls_smtp(pki):
    _, cert, key = pki
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = SmtpServer(tls_context=context)
    yield server
    server.close()


@pytest.fixture
def tls_mailbox(tls_dovecot, tls_smtp) -> Mailbox:
    address, password = tls_dovecot.add_user()
    tls_smtp.add_user(address, password)
    return Mailbox(address, password, tls_dovecot)


def test_implicit_tls_imap_and_starttls_smtp_with_a_private_ca(
    owner, tls_mailbox, tls_smtp, settings, mail, pki
):
    settings.FRONTDESK_EMAIL_CA_FILE = str(pki[0])
    channel = make_channel(
        owner,
        tls_mailbox,
        tls_smtp,
        imap_port=tls_mailbox.dovecot.tls_port,
        imap_security="tls",
        smtp_security="starttls",
    )
    assert channel.connector.test_connection(channel) == ["INBOX", "Sent"]
    tls_mailbox.deliver(mail("over TLS"))
    run_sync(channel)
    assert Message.objects.get().text == "over TLS"
    reply = queue_reply(owner.user, Conversation.objects.get(), "answer over TLS")
    assert deliver(reply.pk) == "sent"
    [received] = [r for r in tls_smtp.received if r.mail_from == tls_mailbox.address]
    assert received.message["In-Reply-To"]


def test_starttls_imap_on_the_plain_port(owner, tls_mailbox, tls_smtp, settings, pki):
    settings.FRONTDESK_EMAIL_CA_FILE = str(pki[0])
    channel = make_channel(
        owner, tls_mailbox, tls_smtp, imap_security="starttls", smtp_security="starttls"
    )
    assert channel.connector.test_connection(channel) == ["INBOX", "Sent"]


def test_an_untrusted_certificate_is_a_tls_failure(owner, tls_mailbox, tls_smtp):
    channel = make_channel(
        owner,
        tls_mailbox,
        tls_smtp,
        imap_port=tls_mailbox.dovecot.tls_port,
        imap_security="tls",
        smtp_security="starttls",
    )
    with pytest.raises(client.MailboxError) as failure:
        channel.connector.test_connection(channel)
    assert failure.value.stage == "tls"
    assert "certificate verify failed" in str(failure.value)
