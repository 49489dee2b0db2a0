"""Small HTTP helpers several connectors share: every outbound call (``request``,
``stream``), signatures, Retry-After, webhook bodies.

Every call to a provider, a callback URL or an OAuth server goes through ``request`` or
``stream``, which hold the whole call (connect, TLS, sending, headers, body) to one
deadline. httpx's own timeout applies to each read, so a peer that answers at once and
then sends one byte every 2 s held a ``FRONTDESK_HTTP_TIMEOUT=3`` call for as long as it
liked; here each socket operation waits at most what is left of the deadline, and none
starts once it has passed (``httpx.TimeoutException``, as for any timeout).

Every connection is also checked for the address it reached: loopback, private ranges and
cloud metadata are refused (``httpx.ConnectError``) unless
``FRONTDESK_FETCH_PRIVATE_ADDRESSES`` is set for a closed network. Checking the address
connected to, not a lookup made earlier, holds against DNS rebinding. Admin-set URLs are
checked when saved too (``connectors.base.require_public_http_url``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx
from django.conf import settings
from django.utils import timezone

_deadline: ContextVar[float | None] = ContextVar("frontdesk_http_deadline", default=None)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to what is left of the current call's deadline."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the call took longer than its deadline")
    return left if timeout is None else min(timeout, left)


def is_public(address: str) -> bool:
    """A globally routable address (not loopback, private, link-local/metadata, reserved)."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_global
    except ValueError:
        return False


def private_allowed() -> bool:
    """Only on a closed network (and for the tests' local stand-ins)."""
    return bool(settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES)


def not_public(address: str) -> str:
    """Why an outbound call may not go to ``address``, in words ("" when it may)."""
    if private_allowed() or (address and is_public(address)):
        return ""
    return f"refused: {address or 'an unknown address'} is not a public address"


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``OSError`` when it does not)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise OSError(str(exc)) from exc
    return [str(info[4][0]) for info in found]


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        peer = stream.get_extra_info("server_addr")
        refused = not_public(str(peer[0]) if peer else "")
        if refused:
            stream.close()
            raise httpcore.ConnectError(refused)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def transport() -> httpx.HTTPTransport:
    """An httpx transport whose sockets keep to the current call's deadline."""
    made = httpx.HTTPTransport()
    made._pool = httpcore.ConnectionPool(  # the same pool httpx makes, on our sockets
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_DeadlineBackend(),
    )
    return made


_client: httpx.Client | None = None


def client() -> httpx.Client:
    """The process's client (connections reused; httpx clients are thread-safe)."""
    global _client
    if _client is None:
        _client = httpx.Client(transport=transport(), follow_redirects=False)
    return _client


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every socket operation inside ends by ``seconds`` from now (an outer deadline that
    ends sooner still holds)."""
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def _seconds(timeout: float | None, whole: float | None) -> tuple[float, float]:
    """(per operation, whole call): ``FRONTDESK_HTTP_TIMEOUT`` unless given."""
    each = timeout if timeout is not None else settings.FRONTDESK_HTTP_TIMEOUT
    return each, whole if whole is not None else each


def request(
    method: str,
    url: str,
    *,
    timeout: float | None = None,
    whole: float | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One outbound call, all of it within ``whole`` seconds (``timeout`` unless given;
    files to send or fetch: ``FRONTDESK_HTTP_TRANSFER_TIMEOUT``)."""
    each, total = _seconds(timeout, whole)
    with deadline(total):
        return client().request(method, url, timeout=each, **kwargs)


@contextmanager
def stream(
    method: str,
    url: str,
    *,
    timeout: float | None = None,
    whole: float | None = None,
    **kwargs: Any,
) -> Iterator[httpx.Response]:
    """``request``, its body read inside the block, which the deadline covers too."""
    each, total = _seconds(timeout, whole)
    with deadline(total), client().stream(method, url, timeout=each, **kwargs) as response:
        yield response


def sha256_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: our callbacks' signature and Meta's webhooks'."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None


def json_object(body: bytes) -> dict[str, Any]:
    """A webhook's body as a JSON object, for every webhook: hostile JSON (not UTF-8, nested
    past the parser's recursion limit, a number of a million digits) raises ``ValueError``
    saying what is wrong, so it is answered 400, never 500. Call it after the sender's
    secret is checked whenever the secret does not depend on the body."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ValueError("body is not JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value
