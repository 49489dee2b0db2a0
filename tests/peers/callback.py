"""A real HTTP server standing in for an API channel's callback receiver.

It records every request (raw body and headers) and answers according to a script of
behaviours: ``ok``, ``ok-with-id``, ``error500``, ``rate-limit`` (429 + Retry-After),
``reject`` (400), ``hang`` (never answers within the client's timeout), ``drip`` (answers
at once, then sends its body one byte every ``drip_seconds``: no single read waits long).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.peers.local_server import root_of, start_server, stop_server


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class CallbackServer:
    behaviours: list[str] = field(default_factory=list)
    received: list[Recorded] = field(default_factory=list)
    hang_seconds: float = 3.0
    drip_seconds: float = 1.0
    drip_bytes: int = 30
    default: str = "ok"

    def __post_init__(self) -> None:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                peer.received.append(
                    Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                behaviour = peer.behaviours.pop(0) if peer.behaviours else peer.default
                if behaviour == "hang":
                    time.sleep(peer.hang_seconds)
                    return self._answer(200, b"{}")
                if behaviour == "drip":
                    return self._drip()
                if behaviour == "error500":
                    return self._answer(500, b'{"error":"boom"}')
                if behaviour == "rate-limit":
                    return self._answer(429, b'{"error":"slow down"}', {"Retry-After": "42"})
                if behaviour == "reject":
                    return self._answer(400, b'{"error":"unknown recipient"}')
                if behaviour == "ok-with-id":
                    return self._answer(
                        200, json.dumps({"id": f"ext-{len(peer.received)}"}).encode()
                    )
                return self._answer(200, b"{}")

            def _drip(self) -> None:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(peer.drip_bytes))
                    self.end_headers()
                    self.wfile.flush()
                    for _ in range(peer.drip_bytes):
                        time.sleep(peer.drip_seconds)
                        self.wfile.write(b" ")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _answer(
                self, code: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                try:
                    self.send_response(code)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = start_server(Handler)

    @property
    def url(self) -> str:
        return f"{root_of(self.server)}/hook"

    def close(self) -> None:
        stop_server(self.server)
