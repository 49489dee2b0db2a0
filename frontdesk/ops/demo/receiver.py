"""A loopback stand-in for the demo API channel's callback (the website's chat widget): it
checks the signature and acknowledges every reply with an id, so replies written in the demo
turn "sent"; ``on_reply`` (the simulated visitor) then hears of it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def start_receiver(
    secret: str, on_reply: Callable[[dict, str], None] | None = None
) -> tuple[ThreadingHTTPServer, str]:
    """``on_reply(body, id)``: called with each acknowledged reply and the id it was given."""

    class Handler(BaseHTTPRequestHandler):
        count = 0

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-Frontdesk-Signature", "")):
                self.send_response(401)
                self.end_headers()
                return
            Handler.count += 1
            reply = json.loads(body)
            given = f"demo-out-{reply['message_id']}"
            answer = json.dumps({"id": given}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            if on_reply is not None:
                on_reply(reply, given)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-receiver", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/frontdesk-callback"
