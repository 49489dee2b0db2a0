"""HTTP requests from the ASGI server to Django's WSGI handler, one hand-off each way.

Every view is synchronous, so each request runs on a fixed pool of threads, each with its
reused database connection (Django's ASGI path starts a thread and opens a connection per
request). A general ASGI-to-WSGI adapter crosses between the event loop and the thread
several times per request (body, start, each chunk, end), each crossing a wake-up of
both sides; under load that cost more than the view. Here the loop reads the whole body
(spooled to disk when large), the thread runs Django and renders the whole response, and
the loop writes it: one crossing each way. Streaming responses (files) still go chunk by
chunk. A body over its route's limit (``core/limits.py``) is refused with 413 before it
is read (declared) or once it passes the limit (chunked).
"""

from __future__ import annotations

import asyncio
import html
import json
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from frontdesk.core.limits import body_limit, too_large_message

# A request body above this is spooled to a temporary file instead of kept in memory.
SPOOL_BYTES = 1 << 20

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


def build_environ(scope: Scope, body: BinaryIO) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) of an ASGI HTTP scope."""
    script_name = scope.get("root_path", "").encode().decode("latin1")
    path_info = scope["path"].encode().decode("latin1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server_name, server_port = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope["query_string"].decode("ascii"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"], port = scope["client"]
        environ["REMOTE_PORT"] = str(port)
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1")
        if name == "content-length":
            key = "CONTENT_LENGTH"
        elif name == "content-type":
            key = "CONTENT_TYPE"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.strip().isdigit():
            return int(value)
    return 0


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    """413 with the limit in words: JSON for the API and webhooks, a page for people."""
    text = too_large_message(limit)
    if scope["path"].startswith(("/api/", "/webhooks/", "/connectors/")):
        kind, body = b"application/json", json.dumps({"detail": text}).encode()
    else:
        page = f"<!doctype html><title>Too large</title><p>{html.escape(text)}</p>"
        kind, body = b"text/html; charset=utf-8", page.encode()
    length = str(len(body)).encode()
    headers = [(b"content-type", kind), (b"content-length", length), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Response:
    """What the thread hands back: status and headers, and the body whole or as chunks."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.chunks: Iterator[bytes] | None = None
        self.close: Callable[[], None] = lambda: None

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info=None):
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in headers]
        return self._refuse_write

    @staticmethod
    def _refuse_write(data: bytes) -> None:
        raise NotImplementedError("write() is not supported: return an iterable")


class WSGIBridge:
    """``threads`` serve every request, except those to ``lane_paths()`` (exact paths),
    served by a pool of their own of ``lane_threads``.

    The lane is for the webhook door: provider traffic that comes in bursts and spends its
    time writing. The threads of one process take turns at one database writer, and each
    more thread waiting for it only adds hand-offs of the interpreter lock to every turn:
    2 threads per process take more webhooks per second than the 16 of the shared pool
    (measured in docs/decisions/0004). A burst also no longer fills the threads members'
    pages are served from."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        threads: int,
        lane_paths: Callable[[], Collection[str]] = frozenset,
        lane_threads: int = 0,
    ) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")
        self.lane_paths = lane_paths
        self.lane = (
            ThreadPoolExecutor(max_workers=lane_threads, thread_name_prefix="http-lane")
            if lane_threads > 0
            else self.executor
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        limit = body_limit(scope["path"])
        if _declared_length(scope) > limit:  # refused before a byte is read
            await _too_large(scope, send, limit)
            return
        body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        try:
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:  # a chunked body that goes on past the limit
                    await _too_large(scope, send, limit)
                    return
                body.write(chunk)
                if not message.get("more_body"):
                    break
            body.seek(0)
            loop = asyncio.get_running_loop()
            environ = build_environ(scope, body)  # type: ignore[arg-type]
            pool = self.lane if scope["path"] in self.lane_paths() else self.executor
            response = await loop.run_in_executor(pool, self._run, environ)
            start = {"type": "http.response.start", "status": response.status}
            await send({**start, "headers": response.headers})
            if response.chunks is None:
                await send({"type": "http.response.body", "body": response.body})
            else:
                await self._stream(loop, pool, response, send)
        finally:
            body.close()

    async def _stream(
        self,
        loop: asyncio.AbstractEventLoop,
        pool: ThreadPoolExecutor,
        response: Response,
        send: Send,
    ) -> None:
        chunks = response.chunks
        assert chunks is not None

        def next_chunk() -> bytes | None:
            return next(chunks, None)

        try:
            while True:
                chunk = await loop.run_in_executor(pool, next_chunk)
                if chunk is None:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await loop.run_in_executor(pool, response.close)

    def _run(self, environ: dict[str, Any]) -> Response:
        response = Response()
        result = self.app(environ, response.start_response)
        rendered = isinstance(result, list | tuple) or getattr(result, "streaming", None) is False
        if not rendered:  # a file or a generator: stream it
            response.chunks = iter(result)
            response.close = getattr(result, "close", response.close)
            return response
        try:
            response.body = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        return response
