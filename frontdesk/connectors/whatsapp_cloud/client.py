"""A small client for the WhatsApp Business Cloud API (the Meta Graph API).

Errors come back as ``{"error": {"message", "type", "code", "error_subcode",
"error_data": {"details"}, "fbtrace_id"}}``; ``GraphError`` keeps those fields and
``classify`` says whether retrying can help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from frontdesk.connectors import http as outbound

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"

# Meta's documented codes worth retrying: throttling, temporary outages, "try again".
TRANSIENT_CODES = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131048, 131056, 133004}
# The access token expired, was revoked, or lacks permission: an admin has to reconnect.
RECONNECT_CODES = {190, 102, 10, 200, 463, 467}

FRIENDLY = {
    131047: "More than 24 hours have passed since the customer last wrote: "
    "only an approved template can be sent until they write again",
    131026: "Message undeliverable (the number may not be on WhatsApp, or has not "
    "accepted the latest terms)",
    131051: "Unsupported message type",
    130429: "WhatsApp rate limit reached",
    131056: "Too many messages to this number in a short time",
    190: "The WhatsApp access token expired or was revoked: reconnect the channel",
    132001: "The template does not exist in this language, or is not approved",
}


@dataclass
class GraphError(Exception):
    message: str
    code: int | None = None
    subcode: int | None = None
    type: str = ""
    details: str = ""
    fbtrace_id: str = ""
    http_status: int = 0

    def __str__(self) -> str:
        return self.reason

    @property
    def reason(self) -> str:
        head = FRIENDLY.get(self.code or 0, self.message or "Graph API error")
        parts = [f"{head} (error {self.code})" if self.code is not None else head]
        if self.details and self.details not in head:
            parts.append(self.details)
        elif self.message and self.message not in head and self.code in FRIENDLY:
            parts.append(self.message)
        return ": ".join(parts)[:1000]

    @property
    def transient(self) -> bool:
        if self.code in TRANSIENT_CODES:
            return True
        return self.code is None and (self.http_status >= 500 or self.http_status == 429)

    @property
    def needs_reconnect(self) -> bool:
        return self.code in RECONNECT_CODES or (self.http_status == 401 and self.code is None)


class GraphUnreachable(Exception):
    """Timeouts and connection errors: always worth retrying."""


def error_from(response: httpx.Response) -> GraphError:
    try:
        body = response.json()
    except ValueError:
        body = None
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return GraphError(
            f"Graph API answered HTTP {response.status_code}", http_status=response.status_code
        )
    data = err.get("error_data") if isinstance(err.get("error_data"), dict) else {}

    def _int(value: Any) -> int | None:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    return GraphError(
        message=str(err.get("message") or "")[:500],
        code=_int(err.get("code")),
        subcode=_int(err.get("error_subcode")),
        type=str(err.get("type") or ""),
        details=str((data or {}).get("details") or "")[:500],
        fbtrace_id=str(err.get("fbtrace_id") or ""),
        http_status=response.status_code,
    )


class Graph:
    """One channel's view of the Graph API: its root URL and its bearer token."""

    def __init__(self, root: str, token: str, timeout: float | None = None):
        self.root = root.rstrip("/")
        self.token = token
        self.timeout = timeout if timeout is not None else settings.FRONTDESK_HTTP_TIMEOUT

    @property
    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": "Frontdesk"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        url = f"{self.root}/{path.lstrip('/')}"
        try:
            whole = settings.FRONTDESK_HTTP_TRANSFER_TIMEOUT if "files" in kw else None
            response = outbound.request(
                method, url, headers=self.headers, timeout=self.timeout, whole=whole, **kw
            )
        except httpx.TimeoutException:
            raise GraphUnreachable("the Graph API did not answer in time") from None
        except httpx.HTTPError as exc:
            raise GraphUnreachable(f"could not reach the Graph API: {exc}") from None
        if response.status_code >= 400:
            raise error_from(response)
        try:
            body = response.json()
        except ValueError:
            raise GraphError(
                "the Graph API answered something that is not JSON",
                http_status=response.status_code,
            ) from None
        return body if isinstance(body, dict) else {"data": body}

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, json=json)

    def host(self) -> str:
        return urlsplit(self.root).netloc.lower()


def graph_for(channel: ChannelPort) -> Graph:
    return Graph(
        channel.config.get("graph_url") or DEFAULT_GRAPH_URL,
        str(channel.credentials.get("access_token") or ""),
    )


def check_connection(graph_url: str, token: str, phone_number_id: str) -> dict[str, Any]:
    """What "Test connection" shows: the number as Meta knows it (raises GraphError)."""
    return Graph(graph_url or DEFAULT_GRAPH_URL, token).get(
        phone_number_id, fields="display_phone_number,verified_name,quality_rating"
    )
