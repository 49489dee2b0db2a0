"""IMAP, the session: connect (TLS or STARTTLS), log in (password or XOAUTH2, the token
refreshed once when the server drops it early), find the Sent folder, check a login, APPEND
a copy of a sent reply to Sent. ``MailboxError`` says exactly what failed and at which
stage; ``LoginRefused`` is a refused credential (the channel needs reconnecting).

The sync (``sync.py``), the IDLE watcher (``idle.py``) and SMTP (``smtp.py``) share these
connections, timeouts and the TLS context.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from frontdesk.connectors.email import oauth
from frontdesk.connectors.email.providers import setting

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

log = logging.getLogger("frontdesk.email")

SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent", "[Gmail]/Sent Mail")


class MailboxError(Exception):
    """The mailbox could not be used; the message says exactly what failed."""

    def __init__(self, message: str, stage: str = "connect"):
        super().__init__(message)
        self.stage = stage


class LoginRefused(MailboxError):
    """Credentials were refused (a changed password, a revoked token)."""

    def __init__(self, message: str):
        super().__init__(message, stage="auth")


def timeout() -> float:
    return float(setting("FRONTDESK_EMAIL_TIMEOUT", "20"))


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca := setting("FRONTDESK_EMAIL_CA_FILE"):
        context.load_verify_locations(ca)
    return context


def login_user(channel: ChannelPort) -> str:
    return channel.config.get("username") or channel.config["address"]


def uses_oauth(channel: ChannelPort) -> bool:
    return channel.config.get("auth") == "oauth"


@contextmanager
def connect(channel: ChannelPort) -> Iterator[IMAPClient]:
    cfg = channel.config
    host, port, security = cfg["imap_host"], int(cfg["imap_port"]), cfg["imap_security"]
    try:
        client = IMAPClient(
            host,
            port=port,
            ssl=security == "tls",
            ssl_context=tls_context() if security == "tls" else None,
            timeout=timeout(),
        )
        if security == "starttls":
            client.starttls(tls_context())
    except socket.gaierror as exc:
        raise MailboxError(f"IMAP: cannot resolve {host}: {exc}", "dns") from None
    except ssl.SSLError as exc:
        raise MailboxError(f"IMAP: TLS with {host}:{port} failed: {exc}", "tls") from None
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"IMAP: cannot connect to {host}:{port}: {exc}", "connect") from None
    try:
        try:
            if uses_oauth(channel):
                try:
                    client.oauth2_login(login_user(channel), login_token(channel))
                except LoginError:
                    # the server may drop a token before its announced expiry: refresh once
                    client.oauth2_login(login_user(channel), login_token(channel, force=True))
            else:
                client.login(login_user(channel), channel.credentials.get("password", ""))
        except LoginError as exc:
            if "UNAVAILABLE" in _text(exc).upper():  # RFC 5530: a passing server problem
                raise MailboxError(
                    f"IMAP: {host} cannot log in now: {_text(exc)}", "auth"
                ) from None
            raise LoginRefused(f"IMAP: {host} refused the login: {_text(exc)}") from None
        yield client
    finally:
        try:
            client.logout()
        except Exception:  # the connection may already be gone
            try:
                client.shutdown()
            except Exception:
                log.debug("IMAP connection to %s already closed", host)


def login_token(channel: ChannelPort, force: bool = False) -> str:
    """The OAuth access token to log in to IMAP or SMTP with (``force``: a fresh one); a
    revoked grant is ``LoginRefused``, any other failure a ``MailboxError``."""
    try:
        return oauth.access_token(channel, force=force)
    except oauth.OAuthError as exc:
        if exc.revoked:
            raise LoginRefused(f"OAuth: {exc}") from None
        raise MailboxError(f"OAuth: {exc}", "auth") from None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def find_sent(client: IMAPClient) -> str | None:
    try:
        found = client.find_special_folder(b"\\Sent")
    except (IMAPClientError, imaplib.IMAP4.error):
        found = None
    if found:
        return found
    names = {name for _, _, name in client.list_folders()}
    return next((n for n in SENT_NAMES if n in names), None)


def test_login(channel: ChannelPort) -> list[str]:
    """Log in and open both folders; the folder names found (raises ``MailboxError``)."""
    with connect(channel) as client:
        try:
            client.select_folder("INBOX", readonly=True)
        except (IMAPClientError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"IMAP: cannot open INBOX: {exc}", "folder") from None
        sent = find_sent(client)
        return ["INBOX", *([sent] if sent else [])]


def append_sent(channel: ChannelPort, raw: bytes) -> str | None:
    """File a copy of what SMTP sent in the Sent folder (providers that do not do it)."""
    with connect(channel) as client:
        folder = find_sent(client)
        if folder is None:
            folder = "Sent"
            client.create_folder(folder)
        client.append(folder, raw, flags=[b"\\Seen"])
        return folder
