"""The websocket's origin check: the page that opens a socket must be this site, exactly.

Browsers send ``Origin`` with every websocket handshake and never block a cross-site one,
so this is the websocket's CSRF check. Channels' ``AllowedHostsOriginValidator`` compares
only the host name, so ``http://127.0.0.1:9999`` (another service on the same machine) or
``http://`` for an ``https://`` site passed. Here the whole origin (scheme, host and port)
must equal the site's own (the ``Host`` the socket was opened on, itself an allowed host)
or one of ``CSRF_TRUSTED_ORIGINS`` (the configured base URL).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http.request import split_domain_port, validate_host


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin1")).strip()
    return ""


def allowed_origin(scope: dict[str, Any]) -> bool:
    origin = _header(scope, b"origin").lower().rstrip("/")
    if not origin:
        return False
    if origin in {o.lower().rstrip("/") for o in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    host = _header(scope, b"host").lower()
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    secure = scope.get("scheme") == "wss"
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if (
        proxy
        and _header(scope, proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode())
        == proxy[1]
    ):
        secure = True
    return origin == f"{'https' if secure else 'http'}://{host}"


class OriginValidator:
    """Closes a websocket whose origin is not this site's before anything else runs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not allowed_origin(scope):
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 4403})
            return None
        return await self.app(scope, receive, send)
