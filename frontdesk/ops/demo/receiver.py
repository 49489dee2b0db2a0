"""A loopback stand-in for the demo API channel's callback: it checks the signature and
acknowledges every reply with an id, so replies written in the demo turn "sent"."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def start_receiver(secret: str) -> tuple[ThreadingHTTPServer, str]:
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
            answer = json.dumps({"id": f"demo-out-{json.loads(body)['message_id']}"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-receiver", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/frontdesk-callback"
