"""A real SMTP server (aiosmtpd) on a loopback port that records every mail it accepts.

Logins: PLAIN/LOGIN against ``users`` (address -> password), and SASL XOAUTH2 checked
against the bearer tokens the local OAuth peer has issued (``token_check``). No TLS: the
connector allows ``security = none`` on loopback only. ``fail_next`` scripts an SMTP
error for the next MAIL transaction (e.g. ``(451, "try later")``).
"""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from frontdesk.connectors.email.tests.dovecot import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore[return-value]


class SmtpServer:
    def __init__(
        self,
        token_check: Callable[[str, str], bool] | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        """``tls_context``: offer STARTTLS and require it before a login."""
        self.users: dict[str, str] = {}
        self.received: list[Received] = []
        self.fail_next: list[tuple[int, str]] = []
        self.xoauth2_logins: list[str] = []
        self.auth_tempfail = False  # answer every login with 454 (a passing server problem)
        self.token_check = token_check or (lambda user, token: False)
        self._lock = threading.Lock()
        peer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with peer._lock:
                    if peer.fail_next:
                        code, text = peer.fail_next.pop(0)
                        return f"{code} {text}"
                    login = session.auth_data
                    peer.received.append(
                        Received(
                            envelope.mail_from,
                            list(envelope.rcpt_tos),
                            envelope.original_content or envelope.content,
                            login.login.decode()
                            if isinstance(login, LoginPassword)
                            else str(login),
                        )
                    )
                return "250 OK"

            async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
                if len(args) > 1:
                    blob = args[1]
                else:
                    answer = await server.challenge_auth("")
                    if not isinstance(answer, bytes):
                        return AuthResult(success=False, handled=False)
                    blob = answer.decode()
                try:
                    text = base64.b64decode(blob).decode()
                    fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
                    user, token = fields["user"], fields["auth"].removeprefix("Bearer ")
                except (ValueError, KeyError):
                    return AuthResult(success=False, handled=False)
                if peer.token_check(user, token):
                    peer.xoauth2_logins.append(user)
                    return AuthResult(success=True, auth_data=f"xoauth2:{user}")
                return AuthResult(success=False, handled=False)

        def authenticator(server, session, envelope, mechanism, auth_data):
            if peer.auth_tempfail:
                return AuthResult(
                    success=False,
                    handled=False,
                    message="454 4.7.0 Temporary authentication failure",
                )
            ok = (
                isinstance(auth_data, LoginPassword)
                and peer.users.get(auth_data.login.decode()) == auth_data.password.decode()
            )
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        self.port = free_port()
        self.host = "127.0.0.1"
        self.controller = Controller(
            Handler(),
            hostname=self.host,
            port=self.port,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=tls_context is not None,
            tls_context=tls_context,
            require_starttls=tls_context is not None,
            ready_timeout=10,
        )
        self.controller.start()

    def add_user(self, user: str, password: str) -> None:
        self.users[user] = password

    def close(self) -> None:
        self.controller.stop()
