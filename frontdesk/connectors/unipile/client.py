"""A small client for Unipile's v1 REST API (``{dsn}/api/v1/...``, ``X-API-KEY`` header).

Errors come back as ``{"title", "detail", "type": "errors/...", "status"}``; they are
raised as ``UnipileError`` with that status and message so callers can map them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings


def multipart(fields: dict[str, str], files: list[tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body (always multipart, even without files, as Unipile expects)."""
    boundary = "frontdesk-" + secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for filename, data, content_type in files:
        safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        parts.append(
            (
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="attachments"; filename="{safe}"\r\n'
                f"Content-Type: {content_type or 'application/octet-stream'}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class UnipileError(Exception):
    def __init__(self, status: int, message: str, kind: str = "", retry_after: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.retry_after = retry_after


class UnipileUnreachable(Exception):
    """The DSN did not answer (network error or timeout)."""


class AttachmentTooBig(Exception):
    pass


def _error(response: httpx.Response) -> UnipileError:
    message, kind = "", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        kind = str(body.get("type") or "")
        message = str(body.get("detail") or body.get("title") or body.get("message") or "")
    if not message:
        message = response.text[:300] or response.reason_phrase
    return UnipileError(
        response.status_code,
        message[:500],
        kind,
        retry_after=response.headers.get("Retry-After"),
    )


def dsn_root(dsn: str) -> str:
    """``https://api1.unipile.com:13111`` (a DSN given without a scheme is taken as https)."""
    dsn = dsn.strip().rstrip("/")
    if not dsn.lower().startswith(("http://", "https://")):
        dsn = "https://" + dsn
    if dsn.endswith("/api/v1"):
        dsn = dsn[: -len("/api/v1")]
    return dsn


def same_origin(url: str, dsn: str) -> bool:
    a, b = urlsplit(url), urlsplit(dsn_root(dsn))
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


@dataclass
class UnipileClient:
    dsn: str
    api_key: str
    timeout: float | None = None

    @property
    def root(self) -> str:
        return dsn_root(self.dsn) + "/api/v1"

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-KEY": self.api_key, "Accept": "application/json"}
        headers.update(kwargs.pop("headers", {}))
        try:
            response = httpx.request(
                method,
                self.root + path,
                headers=headers,
                timeout=self.timeout or settings.FRONTDESK_HTTP_TIMEOUT,
                follow_redirects=False,
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise UnipileUnreachable(f"could not reach Unipile: {exc.__class__.__name__}") from None
        if response.status_code >= 300:
            raise _error(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, **kwargs)
        try:
            data = response.json()
        except ValueError:
            raise UnipileError(response.status_code, "Unipile answered with invalid JSON") from None
        if not isinstance(data, dict):
            raise UnipileError(response.status_code, "Unipile answered with unexpected JSON")
        return data

    # --- messaging ------------------------------------------------------------------
    def list_chats(self, account_id: str, cursor: str | None = None, limit=50) -> dict[str, Any]:
        params: dict[str, Any] = {"account_id": account_id, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._json("GET", "/chats", params=params)

    def list_messages(
        self, chat_id: str, cursor: str | None = None, after: str | None = None, limit=100
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if after:
            params["after"] = after
        return self._json("GET", f"/chats/{quote(chat_id, safe='')}/messages", params=params)

    def chat_attendees(self, chat_id: str) -> list[dict[str, Any]]:
        data = self._json("GET", f"/chats/{quote(chat_id, safe='')}/attendees")
        return [a for a in data.get("items") or [] if isinstance(a, dict)]

    def download_attachment(self, message_id: str, attachment_id: str, limit: int) -> bytes:
        """The attachment's bytes, refusing more than ``limit`` (streamed, never all read)."""
        url = (
            f"{self.root}/messages/{quote(message_id, safe='')}"
            f"/attachments/{quote(attachment_id, safe='')}"
        )
        headers = {"X-API-KEY": self.api_key}
        try:
            with httpx.stream(
                "GET",
                url,
                headers=headers,
                timeout=self.timeout or settings.FRONTDESK_HTTP_TIMEOUT,
                follow_redirects=False,
            ) as response:
                if 300 <= response.status_code < 400:
                    raise UnipileError(response.status_code, "redirect refused (DSN host only)")
                if response.status_code >= 400:
                    response.read()
                    raise _error(response)
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise AttachmentTooBig(f"{declared} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise AttachmentTooBig(f"more than {limit} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise UnipileUnreachable(f"could not reach Unipile: {exc.__class__.__name__}") from None

    def send_message(
        self,
        chat_id: str,
        account_id: str,
        text: str,
        files: list[tuple[str, bytes, str]],
        quote_id: str = "",
    ) -> dict[str, Any]:
        fields = {"text": text, "account_id": account_id}
        if quote_id:
            fields["quote_id"] = quote_id
        body, content_type = multipart(fields, files)
        return self._json(
            "POST",
            f"/chats/{quote(chat_id, safe='')}/messages",
            content=body,
            headers={"Content-Type": content_type},
        )

    def start_chat(
        self, account_id: str, attendee_id: str, text: str, files: list[tuple[str, bytes, str]]
    ) -> dict[str, Any]:
        fields = {"account_id": account_id, "attendees_ids": attendee_id, "text": text}
        body, content_type = multipart(fields, files)
        return self._json("POST", "/chats", content=body, headers={"Content-Type": content_type})

    def user_profile(self, identifier: str, account_id: str) -> dict[str, Any]:
        """A user's profile (LinkedIn: headline, picture, current company in ``experience``)."""
        params = {"account_id": account_id, "linkedin_sections": "experience"}
        return self._json("GET", f"/users/{quote(identifier, safe='')}", params=params)

    # --- webhooks and hosted auth ---------------------------------------------------
    def iter_webhooks(self) -> Iterator[dict[str, Any]]:
        cursor = None
        for _ in range(100):
            params: dict[str, str] = {"cursor": cursor} if cursor else {}
            data = self._json("GET", "/webhooks", params=params)
            yield from (w for w in data.get("items") or [] if isinstance(w, dict))
            cursor = data.get("cursor")
            if not cursor:
                return

    def create_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/webhooks", json=body)

    def create_hosted_link(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/hosted/accounts/link", json=body)
