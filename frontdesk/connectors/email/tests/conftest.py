"""Real servers for the email channel: Dovecot (IMAP), aiosmtpd (SMTP), a local OAuth server.

They start once per session; every test gets its own mailbox (a new Dovecot user).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone
from imapclient import IMAPClient

from frontdesk.connectors.email.tests.dovecot import Dovecot
from frontdesk.connectors.email.tests.oauth import OAuthServer
from frontdesk.connectors.email.tests.smtp import SmtpServer
from frontdesk.connectors.registry import get_connector
from frontdesk.inbox.models import ChannelAccount


@pytest.fixture(scope="session")
def oauth_server():
    server = OAuthServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def dovecot(oauth_server):
    server = Dovecot(introspection_url=f"{oauth_server.url}/introspect")
    yield server
    server.close()


@pytest.fixture(scope="session")
def smtp_server(oauth_server):
    server = SmtpServer(token_check=oauth_server.valid)
    yield server
    server.close()


@dataclass
class Mailbox:
    address: str
    password: str
    dovecot: Dovecot

    def imap(self) -> IMAPClient:
        client = IMAPClient(self.dovecot.host, port=self.dovecot.port, ssl=False, timeout=10)
        client.login(self.address, self.password)
        return client

    def deliver(self, raw: bytes | EmailMessage, folder: str = "INBOX") -> int:
        """Put one message in a folder with IMAP APPEND; returns its UID."""
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        client = self.imap()
        try:
            answer = client.append(folder, data)
        finally:
            client.logout()
        # b"[APPENDUID <validity> <uid>] ..."
        return int(answer.split(b"]")[0].split()[-1])

    def folder(self, name: str) -> list[bytes]:
        client = self.imap()
        try:
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [fetched[u][b"BODY[]"] for u in sorted(fetched)]
        finally:
            client.logout()


@pytest.fixture
def mailbox(dovecot, smtp_server) -> Mailbox:
    address, password = dovecot.add_user()
    smtp_server.add_user(address, password)
    return Mailbox(address, password, dovecot)


def make_channel(owner, mailbox: Mailbox, smtp_server: SmtpServer, **config) -> ChannelAccount:
    setup = get_connector(config.pop("provider", "imap")).setup(
        {
            "address": mailbox.address,
            "imap_host": "127.0.0.1",
            "imap_port": mailbox.dovecot.port,
            "imap_security": "none",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            "username": mailbox.address,
            "password": mailbox.password,
            **config,
        }
    )
    channel = ChannelAccount(
        workspace=owner.workspace,
        kind="email",
        provider="imap",
        name="Support mailbox",
        config=setup.config,
    )
    channel.credentials = setup.credentials
    channel.save()
    return channel


@pytest.fixture
def email_channel(owner, mailbox, smtp_server) -> ChannelAccount:
    return make_channel(owner, mailbox, smtp_server)


@pytest.fixture
def mail() -> Callable[..., EmailMessage]:
    def build(
        text: str = "Hello, I would like a quote.",
        sender: str = "Carla Client <carla@client.test>",
        to: str = "support@example.test",
        subject: str = "Quote request",
        message_id: str | None = None,
        in_reply_to: str | None = None,
        references: list[str] | None = None,
        html: str | None = None,
        date=None,
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(date or timezone.now())
        msg["Message-ID"] = message_id or make_msgid(domain="client.test")
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to
        if references:
            msg["References"] = " ".join(references)
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
        return msg

    return build


def new_id() -> str:
    return f"<{uuid.uuid4().hex}@client.test>"
