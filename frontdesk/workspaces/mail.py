"""The app's own outgoing mail: invitations, password resets and notification emails.

Each workspace may set one SMTP server (``MailServer``, on Settings > Outgoing mail); an
instance-wide one can come from ``FRONTDESK_SMTP_URL`` (``smtp://user:password@host:587``,
``smtps://`` for TLS from the start, ``smtp+plain://`` for no TLS; ``FRONTDESK_MAIL_FROM``
the sender). ``send_app_mail`` answers False when neither is set, so the caller can show
the link instead; a server that refuses raises ``MailNotSent`` with its reason.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

from django.conf import settings

from frontdesk.core.crypto import decrypt_json
from frontdesk.workspaces.models import MailSecurity, MailServer


class MailNotSent(RuntimeError):
    """The SMTP server could not be reached or refused the mail."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str
    password: str
    from_address: str


def _timeout() -> float:
    return float(getattr(settings, "FRONTDESK_MAIL_TIMEOUT", 20))


def _from_env() -> SmtpSettings | None:
    url = getattr(settings, "FRONTDESK_SMTP_URL", "")
    if not url:
        return None
    parts = urlsplit(url)
    security = {"smtps": MailSecurity.SSL, "smtp+plain": MailSecurity.NONE}.get(
        parts.scheme, MailSecurity.STARTTLS
    )
    default_port = {MailSecurity.SSL: 465, MailSecurity.NONE: 25}.get(security, 587)
    return SmtpSettings(
        host=parts.hostname or "localhost",
        port=parts.port or default_port,
        security=security,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        from_address=getattr(settings, "FRONTDESK_MAIL_FROM", "") or "frontdesk@localhost",
    )


def smtp_settings(workspace_id: int | None) -> SmtpSettings | None:
    """The server this workspace's mail goes out through, or None when none is set."""
    row = MailServer.objects.filter(workspace_id=workspace_id).first() if workspace_id else None
    if row is None:
        return _from_env()
    return SmtpSettings(
        host=row.host,
        port=row.port,
        security=row.security,
        username=row.username,
        password=str(decrypt_json(row.secret).get("password", "")),
        from_address=row.from_address,
    )


def mail_configured(workspace_id: int | None) -> bool:
    return smtp_settings(workspace_id) is not None


def deliver(server: SmtpSettings, message: EmailMessage) -> None:
    """Send one message through ``server``; MailNotSent says why it could not."""
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if server.security == MailSecurity.SSL:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=_timeout(), context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=_timeout())
        with smtp:
            if server.security == MailSecurity.STARTTLS:
                smtp.starttls(context=context)
            if server.username:
                smtp.login(server.username, server.password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailNotSent(f"The mail server refused the login ({exc.smtp_code}).") from exc
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        reason = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        raise MailNotSent(f"The mail server refused the mail: {exc.smtp_code} {reason}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailNotSent(
            f"The mail server {server.host}:{server.port} could not be reached ({exc})."
        ) from exc


def send_app_mail(
    workspace_id: int | None, to: str, subject: str, text: str, *, sender_name: str = ""
) -> bool:
    """Send a plain-text mail from the app to ``to``. False: no mail server is set (nothing
    was sent); MailNotSent: the server refused or could not be reached."""
    server = smtp_settings(workspace_id)
    if server is None:
        return False
    message = EmailMessage()
    message["From"] = formataddr((sender_name or "Frontdesk", server.from_address))
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=server.from_address.rpartition("@")[2] or None)
    message.set_content(text)
    deliver(server, message)
    return True
