"""The part every HTTP stand-in shares: a threaded server on a free loopback port."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def start_server(
    handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None, port: int = 0
) -> ThreadingHTTPServer:
    """Serve ``handler`` on a loopback port (a free one unless given; over TLS when given a
    server context)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def root_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    scheme = "https" if isinstance(server.socket, ssl.SSLSocket) else "http"
    return f"{scheme}://{host!s}:{port}"


def stop_server(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()
