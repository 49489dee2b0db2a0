"""A small HTTP/1.1 load generator for the HTTP benchmarks.

Keep-alive connections, every request encoded before the clock starts, responses read by
Content-Length. A general client such as httpx spends more CPU per request than the
server does; on a 2-core machine the figures would measure the client. This costs a
small fraction of that (like wrk), so the figures are the server's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit


def encode(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One POST of ``body`` to ``url``, ready to write on a keep-alive connection."""
    parts = urlsplit(url)
    lines = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            body = b""
            while size := int((await self.reader.readline()).strip(), 16):
                body += await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            body = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


Check = Callable[[int, bytes], None]

# uvicorn closes a keep-alive connection idle for 5 s (its ``timeout_keep_alive``). A
# request written on one just as it closes never reaches the app and fails with
# "the server closed the connection" (nothing was acknowledged: a real provider would send
# it again). Like any HTTP client's pool, never reuse a connection idle for that long.
MAX_IDLE_S = 4.0


async def closed_loop(
    url: str, requests: list[bytes], concurrency: int, check: Check
) -> tuple[list[float], float]:
    """Every request, ``concurrency`` at a time, each connection sending its next as soon as
    the last is answered. Returns per-request latencies and the total time."""
    timings: list[float] = []
    queue = iter(requests)

    async def worker() -> None:
        connection = Connection(url)
        try:
            for raw in queue:
                start = time.perf_counter()
                status, body = await connection.request(raw)
                timings.append(time.perf_counter() - start)
                check(status, body)
        finally:
            connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return timings, time.perf_counter() - start


async def open_loop(
    url: str, requests: list[bytes], rate: float, check: Check
) -> tuple[list[float], float, list[str]]:
    """Send request i at ``i / rate`` seconds, answered or not (a connection is opened when
    all are busy), so a slow server shows in the latencies instead of slowing the sender."""
    timings: list[float] = []
    failures: list[str] = []
    idle: list[tuple[float, Connection]] = []  # (idle since, connection), the newest last

    def take_connection() -> Connection:
        while idle:
            since, reused = idle.pop()
            if time.perf_counter() - since < MAX_IDLE_S:
                return reused
            reused.close()
        return Connection(url)

    async def one(raw: bytes, at: float) -> None:
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = take_connection()
        start = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(conn.request(raw), timeout=30)
        except (OSError, TimeoutError) as exc:
            conn.close()
            failures.append(f"{exc.__class__.__name__}: {exc}")
            return
        timings.append(time.perf_counter() - start)
        idle.append((time.perf_counter(), conn))
        check(status, body)

    begin = time.perf_counter() + 0.2
    await asyncio.gather(*(one(raw, begin + i / rate) for i, raw in enumerate(requests)))
    total = time.perf_counter() - begin
    for _, left in idle:
        left.close()
    return timings, total, failures
