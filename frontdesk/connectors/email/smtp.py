"""SMTP: one reply leaves from the connected address, threaded for the client's mail program.

Message-ID is ours and stable across retries of one message (so a retry after a lost
answer is recognisably the same mail); In-Reply-To/References point at the conversation;
the body is text + HTML alternative; CC/BCC come from the reply box (``message.extra``).
"""

from __future__ import annotations

import html as html_lib
import logging
import mimetypes
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from frontdesk.connectors.base import (
    OutboundMessage,
    PermanentSendError,
    ReconnectNeeded,
    ReplyParent,
    SendResult,
    TransientSendError,
)
from frontdesk.connectors.email import oauth
from frontdesk.connectors.email.client import (
    LoginRefused,
    MailboxError,
    append_sent,
    login_token,
    login_user,
    timeout,
    tls_context,
    uses_oauth,
)
from frontdesk.connectors.email.message_ids import message_id_for

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

log = logging.getLogger("frontdesk.email")

MAX_RECIPIENTS = 100


def no_newlines(label: str, value: str) -> str:
    if any(ch in value for ch in "\r\n\x00"):
        raise PermanentSendError(f"{label} contains a line break: refused (header injection)")
    return value


def address_list(label: str, value: Any) -> list[str]:
    """Addresses from a list or a comma-separated string; anything odd is refused."""
    if not value:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    out = []
    for item in items:
        item = no_newlines(label, str(item)).strip()
        if not item:
            continue
        _, addr = parseaddr(item)
        if "@" not in addr or " " in addr or len(addr) > 320:
            raise PermanentSendError(f"{label}: {item!r} is not an email address")
        out.append(addr.lower())
    return out


def _references(parent: ReplyParent) -> list[str]:
    """References for a reply to ``parent``: its thread (at most 20), then its own id."""
    refs = [r.split("#", 1)[0] for r in parent.references if r]
    parent_id = parent.provider_id.split("#", 1)[0]
    return [*[r for r in refs if r != parent_id][-20:], parent_id]


def _subject(message: OutboundMessage, parent: ReplyParent | None) -> str:
    subject = message.subject or str(message.extra.get("subject") or "")
    if not subject and parent is not None:
        subject = parent.subject
        if subject and not subject.lower().startswith(("re:", "aw:", "sv:")):
            subject = f"Re: {subject}"
    return no_newlines("subject", subject)


def _html_of(text: str) -> str:
    paragraphs = html_lib.escape(text).replace("\r\n", "\n").split("\n\n")
    body = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f'<!doctype html><html><body><div dir="auto">{body}</div></body></html>'


def _quote(parent: ReplyParent) -> str:
    when = format_datetime(parent.sent_at) if parent.sent_at else ""
    who = parent.author
    lines = "\n".join(f"> {line}" for line in (parent.text or "").splitlines())
    return f"\n\nOn {when}, {who} wrote:\n{lines}"


def build(channel: ChannelPort, message: OutboundMessage) -> tuple[EmailMessage, list[str]]:
    """The MIME message and its envelope recipients (BCC included, not in the headers)."""
    address = channel.config["address"]
    to = address_list("to", message.to_handle)
    cc = address_list("cc", message.extra.get("cc"))
    bcc = address_list("bcc", message.extra.get("bcc"))
    if not to:
        raise PermanentSendError("the conversation has no email address to reply to")
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise PermanentSendError(f"more than {MAX_RECIPIENTS} recipients")
    parent = message.parent
    subject = _subject(message, parent)
    from_name = no_newlines(
        "name", message.sender_name or str(channel.config.get("from_name") or "")
    )

    msg = EmailMessage()
    msg["From"] = formataddr((from_name, address)) if from_name else address
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = f"<{message_id_for(channel, message.message_id)}>"
    if parent is not None:
        refs = _references(parent)
        msg["In-Reply-To"] = f"<{refs[-1]}>"
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    msg["Auto-Submitted"] = "no"
    text = message.text
    if parent is not None and message.extra.get("quote"):
        text += _quote(parent)
    msg.set_content(text)
    msg.add_alternative(message.html or _html_of(text), subtype="html")
    for attachment in message.attachments:
        ctype = attachment.content_type or mimetypes.guess_type(attachment.name)[0] or ""
        maintype, _, subtype = ctype.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        with open(attachment.path, "rb") as fh:
            msg.add_attachment(
                fh.read(), maintype=maintype, subtype=subtype, filename=attachment.name
            )
    return msg, to + cc + bcc


def _smtp(channel: ChannelPort) -> smtplib.SMTP:
    cfg = channel.config
    host, port, security = cfg["smtp_host"], int(cfg["smtp_port"]), cfg["smtp_security"]
    try:
        server: smtplib.SMTP
        if security == "tls":
            server = smtplib.SMTP_SSL(host, port, timeout=timeout(), context=tls_context())
        else:
            server = smtplib.SMTP(host, port, timeout=timeout())
            if security == "starttls":
                server.starttls(context=tls_context())
    except socket.gaierror as exc:
        raise MailboxError(f"SMTP: cannot resolve {host}: {exc}", "dns") from None
    except ssl.SSLError as exc:
        raise MailboxError(f"SMTP: TLS with {host}:{port} failed: {exc}", "tls") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailboxError(f"SMTP: cannot connect to {host}:{port}: {exc}") from None
    try:
        if uses_oauth(channel):
            server.ehlo()
            try:
                _xoauth2(server, channel, login_token(channel))
            except smtplib.SMTPAuthenticationError:
                # the server may drop a token before its announced expiry: refresh once
                _xoauth2(server, channel, login_token(channel, force=True))
        else:
            # One mechanism, not smtplib's try-them-all: a refusal is a refusal.
            server.ehlo_or_helo_if_needed()
            server.user = login_user(channel)
            server.password = channel.credentials.get("password", "")
            advertised = server.esmtp_features.get("auth", "").upper().split()
            if "PLAIN" in advertised:
                server.auth("PLAIN", server.auth_plain, initial_response_ok=True)
            elif "LOGIN" in advertised:
                server.auth("LOGIN", server.auth_login, initial_response_ok=True)
            else:
                server.login(server.user, server.password)
    except smtplib.SMTPAuthenticationError as exc:
        server.close()
        if 400 <= exc.smtp_code < 500:  # 454: a temporary authentication failure
            raise MailboxError(f"SMTP: {host} cannot log in now: {_reply(exc)}", "auth") from None
        raise LoginRefused(f"SMTP: {host} refused the login: {_reply(exc)}") from None
    except smtplib.SMTPNotSupportedError:
        server.close()
        if channel.credentials.get("password"):
            raise LoginRefused(f"SMTP: {host} offers no login on this connection") from None
    except BaseException:
        server.close()
        raise
    return server


def _xoauth2(server: smtplib.SMTP, channel: ChannelPort, token: str) -> None:
    auth = oauth.xoauth2_string(login_user(channel), token)
    server.auth("XOAUTH2", lambda challenge=None: auth, initial_response_ok=True)


def test_login(channel: ChannelPort) -> None:
    server = _smtp(channel)
    try:
        server.quit()
    except smtplib.SMTPException:
        server.close()


def _reply(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}".strip()


def send(channel: ChannelPort, message: OutboundMessage, saves_sent: bool) -> SendResult:
    msg, recipients = build(channel, message)
    try:
        server = _smtp(channel)
    except LoginRefused as exc:
        raise ReconnectNeeded(str(exc)) from None
    except MailboxError as exc:
        raise TransientSendError(str(exc)) from None
    try:
        refused = server.send_message(msg, from_addr=channel.config["address"], to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        reasons = "; ".join(f"{a}: {_reply_tuple(r)}" for a, r in exc.recipients.items())
        raise PermanentSendError(f"SMTP refused every recipient: {reasons}"[:1000]) from None
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TransientSendError(f"SMTP: {_reply(exc)}") from None
        raise PermanentSendError(f"SMTP: {_reply(exc)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientSendError(f"SMTP: connection lost while sending: {exc}") from None
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()
    if refused:
        log.warning("message %s: some recipients refused: %s", message.message_id, refused)
    if not saves_sent:
        sent_copy = msg
        bcc = address_list("bcc", message.extra.get("bcc"))
        if bcc:
            sent_copy["Bcc"] = ", ".join(bcc)
        try:
            append_sent(channel, sent_copy.as_bytes())
        except Exception as exc:  # the mail left: a missing Sent copy must not fail it
            log.warning("message %s: could not file it in Sent: %s", message.message_id, exc)
    return SendResult(provider_id=message_id_for(channel, message.message_id))


def _reply_tuple(value: tuple[int, bytes]) -> str:
    code, text = value
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
