"""The demo mailbox's outgoing server: a small SMTP server on loopback (RFC 5321 commands,
AUTH PLAIN and LOGIN of RFC 4954) that accepts one user's mail and hands each message to a
callback. No TLS: the email connector allows ``security = none`` on loopback only.

(The tests use aiosmtpd, a development dependency; the demo runs on a plain install.)
"""

from __future__ import annotations

import base64
import socketserver
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

Received = Callable[[str, list[str], EmailMessage], None]


class SmtpSink:
    def __init__(self, user: str, password: str, on_mail: Received) -> None:
        self.user, self.password, self.on_mail = user, password, on_mail
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                sink._session(self)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.host, self.port = "127.0.0.1", self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name="demo-smtp", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _login_ok(self, user: str, password: str) -> bool:
        return user == self.user and password == self.password

    def _session(self, h: socketserver.StreamRequestHandler) -> None:
        def say(line: str) -> None:
            h.wfile.write(line.encode() + b"\r\n")
            h.wfile.flush()

        def ask(prompt: str) -> str:
            say(f"334 {prompt}")
            return h.rfile.readline(4096).decode(errors="replace").strip()

        def b64(text: str) -> str:
            try:
                return base64.b64decode(text).decode()
            except ValueError:
                return ""

        say("220 demo-mail ESMTP ready")
        authed, sender = False, ""
        recipients: list[str] = []
        while line := h.rfile.readline(4096):
            text = line.decode(errors="replace").strip()
            verb, _, arg = text.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                say("250-demo-mail")
                say("250-AUTH PLAIN LOGIN")
                say("250 8BITMIME")
            elif verb == "HELO":
                say("250 demo-mail")
            elif verb == "AUTH":
                mechanism, _, initial = arg.partition(" ")
                if mechanism.upper() == "PLAIN":
                    _, user, password = (b64(initial or ask("")) + "\0\0").split("\0")[:3]
                elif mechanism.upper() == "LOGIN":
                    user = b64(initial) if initial else b64(ask("VXNlcm5hbWU6"))
                    password = b64(ask("UGFzc3dvcmQ6"))
                else:
                    say("504 5.5.4 Unrecognized authentication type")
                    continue
                authed = self._login_ok(user, password)
                say("235 2.7.0 Authentication successful" if authed else "535 5.7.8 Bad login")
            elif verb == "MAIL":
                if not authed:
                    say("530 5.7.0 Authentication required")
                    continue
                sender, recipients = arg.partition(":")[2].strip().strip("<>"), []
                say("250 OK")
            elif verb == "RCPT":
                recipients.append(arg.partition(":")[2].strip().strip("<>"))
                say("250 OK")
            elif verb == "DATA":
                if not recipients:
                    say("503 5.5.1 RCPT first")
                    continue
                say("354 End data with <CR><LF>.<CR><LF>")
                data = bytearray()
                while (chunk := h.rfile.readline(1 << 20)) and chunk not in (b".\r\n", b".\n"):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = BytesParser(policy=policy.default).parsebytes(bytes(data))
                say("250 OK queued")
                assert isinstance(message, EmailMessage)
                self.on_mail(sender, recipients, message)
            elif verb in ("RSET", "NOOP"):
                say("250 OK")
            elif verb == "QUIT":
                say("221 Bye")
                return
            else:
                say("502 5.5.2 Command not recognized")
