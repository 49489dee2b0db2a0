"""Small clients for Unipile's REST API, one per version, behind one interface.

``UnipileClient`` speaks v1 (``{dsn}/api/v1/...``); ``UnipileV2Client`` speaks v2
(``{base}/v2/{account_id}/...``, account-scoped paths, JSON bodies where v2 requires them).
Both authenticate with the ``X-API-KEY`` header, return list pages as ``{"items",
"cursor"}`` (v2's ``next_cursor`` is mapped to ``cursor``) and raise ``UnipileError`` with
the status and message of Unipile's RFC 7807 error body (``{"type", "status", "title",
"detail"}``), so the connector's logic never branches on the version.
Sources for v2: https://developer.unipile.com/v2.0/reference/api-usage (base URL, header,
pagination), /v2.0/reference/error-responses, /v2.0/reference/rate-limit (``retry-after``),
/v2.0/docs/migration-messaging-api, /v2.0/docs/migration-webhooks,
/v2.0/docs/authenticate-with-hosted-auth.
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


V2_DEFAULT_BASE = "https://api.unipile.com"  # v2 has one base URL for everybody


def dsn_root(dsn: str) -> str:
    """``https://api1.unipile.com:13111`` (a DSN given without a scheme is taken as https)."""
    dsn = dsn.strip().rstrip("/")
    if not dsn.lower().startswith(("http://", "https://")):
        dsn = "https://" + dsn
    for suffix in ("/api/v1", "/v2"):
        if dsn.endswith(suffix):
            dsn = dsn[: -len(suffix)]
    return dsn


def same_origin(url: str, dsn: str) -> bool:
    a, b = urlsplit(url), urlsplit(dsn_root(dsn))
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


@dataclass
class UnipileClient:
    dsn: str
    api_key: str
    timeout: float | None = None
    start_chat_sends_files = True  # v1's start-a-chat is multipart: text and files at once

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
    # Where the versions differ in shape: v1 names the account in the query or the form,
    # v2 in the path; v2 lists under another key and has no date filter on messages.
    lists_after = True

    def _scope(self, account_id: str) -> str:
        return ""

    def _account(self, account_id: str) -> dict[str, str]:
        return {"account_id": account_id}

    def _listed(self, data: dict[str, Any]) -> dict[str, Any]:
        return data

    def list_chats(self, account_id: str, cursor: str | None = None, limit=50) -> dict[str, Any]:
        params: dict[str, Any] = {**self._account(account_id), "limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self._listed(self._json("GET", f"{self._scope(account_id)}/chats", params=params))

    def list_messages(
        self,
        account_id: str,
        chat_id: str,
        cursor: str | None = None,
        after: str | None = None,
        limit=100,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if after and self.lists_after:
            params["after"] = after
        path = f"{self._scope(account_id)}/chats/{quote(chat_id, safe='')}/messages"
        return self._listed(self._json("GET", path, params=params))

    def chat_attendees(self, account_id: str, chat_id: str) -> list[dict[str, Any]]:
        data = self._json("GET", f"/chats/{quote(chat_id, safe='')}/attendees")
        return [a for a in data.get("items") or [] if isinstance(a, dict)]

    def get_chat(self, account_id: str, chat_id: str) -> dict[str, Any]:
        return self._json("GET", f"{self._scope(account_id)}/chats/{quote(chat_id, safe='')}")

    def attachment_url(self, account_id: str, chat_id: str, message_id: str, att_id: str) -> str:
        return f"{self.root}/messages/{quote(message_id, safe='')}/attachments/{quote(att_id, safe='')}"

    def download_attachment(
        self, account_id: str, chat_id: str, message_id: str, attachment_id: str, limit: int
    ) -> bytes:
        """The attachment's bytes, refusing more than ``limit`` (streamed, never all read)."""
        url = self.attachment_url(account_id, chat_id, message_id, attachment_id)
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
        account_id: str,
        chat_id: str,
        text: str,
        files: list[tuple[str, bytes, str]],
        quote_id: str = "",
    ) -> dict[str, Any]:
        fields = {"text": text, **self._account(account_id)}
        if quote_id:
            fields["quote_id"] = quote_id
        body, content_type = multipart(fields, files)
        path = f"{self._scope(account_id)}/chats/{quote(chat_id, safe='')}/messages"
        return self._json("POST", path, content=body, headers={"Content-Type": content_type})

    def start_chat(
        self, account_id: str, attendee_id: str, text: str, files: list[tuple[str, bytes, str]]
    ) -> dict[str, Any]:
        fields = {"account_id": account_id, "attendees_ids": attendee_id, "text": text}
        body, content_type = multipart(fields, files)
        return self._json("POST", "/chats", content=body, headers={"Content-Type": content_type})

    def user_profile(self, identifier: str, account_id: str) -> dict[str, Any]:
        """A user's profile (LinkedIn: headline, picture, current company in ``experience``)."""
        params = {**self._account(account_id), "linkedin_sections": "experience"}
        path = f"{self._scope(account_id)}/users/{quote(identifier, safe='')}"
        return self._json("GET", path, params=params)

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

    def register_webhooks(
        self, url: str, name: str, account_id: str, credentials: dict[str, Any]
    ) -> list[str]:
        """v1: one webhook per source, authenticated by our secret header; reuse a match."""
        secret = credentials["webhook_secret"]
        ids = []
        existing = list(self.iter_webhooks())
        for source in ("messaging", "account_status"):
            found = next(
                (
                    w
                    for w in existing
                    if w.get("request_url") == url
                    and w.get("source") == source
                    and account_id in (w.get("account_ids") or [])
                    and any(
                        isinstance(h, dict)
                        and h.get("key") == SECRET_HEADER
                        and h.get("value") == secret
                        for h in w.get("headers") or []
                    )
                ),
                None,
            )
            if found:
                ids.append(str(found.get("id")))
                continue
            body: dict[str, Any] = {
                "request_url": url,
                "name": f"{name} {source}",
                "source": source,
                "format": "json",
                "account_ids": [account_id],
                "headers": [
                    {"key": "Content-Type", "value": "application/json"},
                    {"key": SECRET_HEADER, "value": secret},
                ],
            }
            if source == "messaging":
                body["events"] = ["message_received", "message_read", "message_reaction"]
            else:
                body["events"] = ["creation_success", "reconnected", "credentials", "error"]
            created = self.create_webhook(body)
            ids.append(str(created.get("webhook_id") or ""))
        return ids

    def hosted_link(
        self,
        *,
        link_type: str,
        provider: str,
        expires_on: str,
        callback_url: str,
        status_url: str,
        name: str,
        account_id: str = "",
    ) -> str:
        """v1: ``POST /hosted/accounts/link``; Unipile POSTs the result to ``notify_url``."""
        body: dict[str, Any] = {
            "type": link_type,
            "providers": [provider],
            "api_url": dsn_root(self.dsn),
            "expiresOn": expires_on,
            "notify_url": callback_url,
            "name": name,
            "success_redirect_url": status_url,
            "failure_redirect_url": f"{status_url}?failed=1",
        }
        if link_type == "reconnect":
            body["reconnect_account"] = account_id
        return _link_url(self.create_hosted_link(body), "url")

    def get_account(self, account_id: str) -> dict[str, Any]:
        return self._json("GET", f"/accounts/{quote(account_id, safe='')}")


SECRET_HEADER = "X-Frontdesk-Webhook-Secret"  # v1 only: v2 signs its webhooks instead
V2_EVENTS = [
    "message.new",
    "message.read",
    "account.status.running",
    "account.status.disconnected",
    "account.status.errored",
    "account.status.paused",
]


def _link_url(data: dict[str, Any], *keys: str) -> str:
    for key in keys:
        url = data.get(key)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
    raise UnipileError(502, "Unipile did not return a hosted-auth URL")


def _page(data: dict[str, Any]) -> dict[str, Any]:
    """A v2 list page in the shape the connector reads: ``{"items", "cursor"}``.

    v2 answers ``next_cursor`` (https://developer.unipile.com/v2.0/reference/api-usage,
    "Pagination"); the list key is not spelled out there, so ``items`` (v1's, and the
    stand-in's) is read, with ``data`` accepted as well.
    """
    items = data.get("items")
    if not isinstance(items, list):
        items = data.get("data") if isinstance(data.get("data"), list) else []
    cursor = data.get("next_cursor")
    return {"items": items, "cursor": cursor if isinstance(cursor, str) and cursor else None}


@dataclass
class UnipileV2Client(UnipileClient):
    """Unipile v2: ``{base}/v2``, the account id in every path (migration-messaging-api:
    "The account_id must now be consistently included in the path params"), messages under
    ``/chats/{chat_id}/`` ("/messages/* routes are now under /chats/:chat_id/*")."""

    @property
    def root(self) -> str:
        return dsn_root(self.dsn or V2_DEFAULT_BASE) + "/v2"

    lists_after = False  # no date filter in v2's docs: the backfill stops at the window
    start_chat_sends_files = False

    def _scope(self, account_id: str) -> str:
        return "/" + quote(account_id, safe="")

    def _account(self, account_id: str) -> dict[str, str]:
        # Sending in a chat stays multipart as in v1 (the migration guide changes only "Start
        # a chat"), minus account_id, which is in the path.
        return {}

    def _listed(self, data: dict[str, Any]) -> dict[str, Any]:
        return _page(data)

    def chat_attendees(self, account_id: str, chat_id: str) -> list[dict[str, Any]]:
        return []  # "The concept of independent attendees is not present in v2."

    def attachment_url(self, account_id: str, chat_id: str, message_id: str, att_id: str) -> str:
        return (
            f"{self.root}{self._scope(account_id)}/chats/{quote(chat_id, safe='')}"
            f"/messages/{quote(message_id, safe='')}/attachments/{quote(att_id, safe='')}"
        )

    def start_chat(
        self, account_id: str, attendee_id: str, text: str, files: list[tuple[str, bytes, str]]
    ) -> dict[str, Any]:
        """``POST /v2/{account_id}/chats/send``: JSON only, ``attendees_ids`` is ``users_ids``.
        JSON carries no files: the connector sends them next, in the new chat."""
        assert not files, "v2 starts a chat with text only"
        return self._json(
            "POST",
            f"{self._scope(account_id)}/chats/send",
            json={"users_ids": [attendee_id], "text": text},
        )

    def get_account(self, account_id: str) -> dict[str, Any]:
        return self._json("GET", f"/accounts/{quote(account_id, safe='')}")

    def register_webhooks(
        self, url: str, name: str, account_id: str, credentials: dict[str, Any]
    ) -> list[str]:
        """v2: one webhook *endpoint* receives every event type of the application's accounts
        (migration-webhooks). Unipile gives its signing secret when the endpoint is created;
        it is kept in ``credentials["webhook_signing_secret"]`` (the caller saves it)."""
        known = str(credentials.get("webhook_endpoint_id") or "")
        if known and credentials.get("webhook_signing_secret"):
            listed = self._json("GET", "/webhooks/endpoints")
            for endpoint in _page(listed)["items"]:
                if (
                    isinstance(endpoint, dict)
                    and endpoint.get("id") == known
                    and endpoint.get("url") == url
                ):
                    return [known]
        created = self._json(
            "POST",
            "/webhooks/endpoints",
            json={"url": url, "name": name, "events": V2_EVENTS},
        )
        secret = created.get("secret")
        endpoint_id = created.get("id")
        if not isinstance(secret, str) or not secret or not isinstance(endpoint_id, str):
            raise UnipileError(502, "Unipile did not return the webhook endpoint's secret")
        credentials["webhook_endpoint_id"] = endpoint_id
        credentials["webhook_signing_secret"] = secret
        return [endpoint_id]

    def hosted_link(
        self,
        *,
        link_type: str,
        provider: str,
        expires_on: str,
        callback_url: str,
        status_url: str,
        name: str,
        account_id: str = "",
    ) -> str:
        """v2: ``POST /v2/auth/link`` (providers, expires_on, redirect_uri); the user comes
        back to ``redirect_uri``. Reconnecting passes the ``account_id`` (status-lifecycle)."""
        body: dict[str, Any] = {
            "providers": [provider],
            "expires_on": expires_on,
            "redirect_uri": callback_url,
            "name": name,
        }
        if link_type == "reconnect":
            body["account_id"] = account_id
        return _link_url(self._json("POST", "/auth/link", json=body), "link", "url")


def client_for(api_version: str, dsn: str, api_key: str) -> UnipileClient:
    if api_version == "v2":
        return UnipileV2Client(dsn or V2_DEFAULT_BASE, api_key)
    return UnipileClient(dsn, api_key)
