"""The HTTP bridge from the ASGI server to Django's WSGI handler (frontdesk/core/http.py)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from frontdesk.core.http import SPOOL_BYTES, WSGIBridge


def scope(path: str = "/echo", query: bytes = b"", headers=()) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": list(headers),
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 51000),
        "scheme": "http",
    }


def call(app, scope: dict[str, Any], chunks: list[bytes], disconnect: bool = False):
    """Run one request through the bridge; returns what it sent to the server."""
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    if disconnect:
        incoming[-1] = {"type": "http.disconnect"}
    sent: list[dict[str, Any]] = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(WSGIBridge(app, threads=2)(scope, receive, send))
    return sent


def test_the_view_gets_the_whole_body_and_the_request_as_wsgi_describes_it():
    seen: dict[str, Any] = {}

    def app(environ, start_response):
        seen.update(environ)
        seen["body"] = environ["wsgi.input"].read()
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-One", "1")])
        return [b"stored ", b"it"]

    sent = call(
        app,
        scope(
            query=b"a=1&b=%C3%A9",
            headers=[
                (b"content-type", b"application/json"),
                (b"content-length", b"11"),
                (b"x-forwarded-for", b"10.0.0.1"),
                (b"x-forwarded-for", b"10.0.0.2"),
            ],
        ),
        [b"hello", b" ", b"world"],
    )
    assert seen["body"] == b"hello world"
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["QUERY_STRING"]) == (
        "POST",
        "/echo",
        "a=1&b=%C3%A9",
    )
    assert (seen["CONTENT_TYPE"], seen["CONTENT_LENGTH"]) == ("application/json", "11")
    assert seen["HTTP_X_FORWARDED_FOR"] == "10.0.0.1,10.0.0.2"
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    # A rendered response leaves in one piece.
    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"x-one", b"1")],
        },
        {"type": "http.response.body", "body": b"stored it"},
    ]


def test_a_large_upload_is_spooled_and_arrives_intact():
    big = bytes(range(256)) * (SPOOL_BYTES // 256 * 3)
    received: list[bytes] = []

    def app(environ, start_response):
        received.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    chunks = [big[i : i + 65536] for i in range(0, len(big), 65536)]
    call(app, scope(), chunks)
    assert received == [big]


def test_a_streamed_response_goes_chunk_by_chunk_and_is_closed():
    closed: list[bool] = []

    class Stream:
        streaming = True

        def __iter__(self):
            yield b"part 1,"
            yield b"part 2"

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Stream()

    sent = call(app, scope(), [b""])
    assert [m.get("body") for m in sent[1:]] == [b"part 1,", b"part 2", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, False]
    assert closed == [True]


def test_a_client_that_leaves_before_sending_its_body_never_reaches_the_view():
    called: list[bool] = []

    def app(environ, start_response):
        called.append(True)
        start_response("200 OK", [])
        return [b""]

    assert call(app, scope(), [b"partial", b"never"], disconnect=True) == []
    assert called == []


def test_webhooks_are_served_while_every_page_thread_is_busy_and_pages_while_webhooks_queue():
    """The webhook lane: a burst of either kind cannot take the other's threads."""
    release = {"/slow-page": threading.Event(), "/slow-hook": threading.Event()}

    def app(environ, start_response):
        if environ["PATH_INFO"] in release:
            release[environ["PATH_INFO"]].wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [threading.current_thread().name.encode()]

    lane = {"/webhooks/x/", "/slow-hook"}
    bridge = WSGIBridge(app, threads=2, lane_paths=lambda: lane, lane_threads=1)

    async def request(path: str) -> bytes:
        sent: list[dict[str, Any]] = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await bridge(scope(path), receive, send)
        return sent[-1]["body"]

    async def scenario() -> list[bytes]:
        served = []
        # Both page threads wait: a webhook is still answered at once, on the lane.
        pages = [asyncio.create_task(request("/slow-page")) for _ in range(2)]
        await asyncio.sleep(0.1)
        served.append(await asyncio.wait_for(request("/webhooks/x/"), 2))
        release["/slow-page"].set()
        await asyncio.gather(*pages)
        # The lane's one thread waits: a page is answered at once, the next webhook queues.
        hook = asyncio.create_task(request("/slow-hook"))
        await asyncio.sleep(0.1)
        queued = asyncio.create_task(request("/webhooks/x/"))
        served.append(await asyncio.wait_for(request("/page"), 2))
        assert not queued.done()
        release["/slow-hook"].set()
        served.append(await asyncio.wait_for(queued, 2))
        await hook
        return served

    try:
        webhook, page, queued = asyncio.run(scenario())
    finally:
        for event in release.values():
            event.set()
    assert webhook.startswith(b"http-lane") and queued.startswith(b"http-lane")
    assert page.startswith(b"http_")
