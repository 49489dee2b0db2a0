"""A real HTTP server standing in for an Echo chat server (the contract in ``connector.py``).

It records what it was sent, answers ``{"id": ...}`` (or, per a script of behaviours,
``error503`` / ``unauthorized`` / ``reject``), and plays the room's echo bot: each message
it accepted comes back as the recipient's answer ``"echo: <text>"``, beside a ``delivered``
status for it, as signed webhook deliveries (``deliveries``) for a test to post to
``/webhooks/echo/``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from frontdesk.connectors.http import sha256_signature
from tests.peers.local_server import root_of, start_server, stop_server


@dataclass
class EchoServer:
    room: str = "lobby"
    token: str = "room-token"
    behaviours: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        peer = self
        ids = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != f"/rooms/{peer.room}/messages":
                    return self._answer(404, {"error": "no such room"})
                behaviour = peer.behaviours.pop(0) if peer.behaviours else "ok"
                if behaviour == "error503":
                    return self._answer(503, {"error": "busy"})
                if self.headers.get("Authorization") != f"Bearer {peer.token}":
                    return self._answer(401, {"error": "bad token"})
                if behaviour == "reject":
                    return self._answer(400, {"error": "unknown recipient"})
                sent = json.loads(body)
                sent["id"] = f"echo-{next(ids)}"
                sent["idempotency_key"] = self.headers.get("Idempotency-Key", "")
                peer.received.append(sent)
                return self._answer(200, {"id": sent["id"]})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = start_server(Handler)
        self.url = root_of(self.server)

    def close(self) -> None:
        stop_server(self.server)

    # --- what the service posts to the webhook URL -------------------------------------
    @staticmethod
    def delivery(room: str, *events: dict[str, Any]) -> bytes:
        return json.dumps({"room": room, "events": list(events)}).encode()

    @staticmethod
    def signed(secret: str, body: bytes) -> dict[str, str]:
        return {"X-Echo-Signature": sha256_signature(secret, body)}

    def deliveries(self) -> list[bytes]:
        """For each message accepted so far: a delivered status, then the echo bot's answer."""
        out = []
        for sent in self.received:
            out.append(
                self.delivery(
                    self.room,
                    {"type": "status", "id": sent["id"], "status": "delivered"},
                    {
                        "type": "message",
                        "id": f"{sent['id']}-echo",
                        "from": sent["to"],
                        "text": f"echo: {sent['text']}",
                        "reply_to": sent["id"],
                    },
                )
            )
        return out
