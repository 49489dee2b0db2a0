"""Small clients for Unipile's REST API, one per version, behind one interface.

``UnipileClient`` speaks v1 (``{dsn}/api/v1/...``: the v1 OpenAPI specification);
``UnipileV2Client`` speaks v2 (``{base}/v2/...``: the paths and bodies of Unipile's official
v2 SDK, ``unipile/unipile-python``, generated from the v2 OpenAPI). Both authenticate with
the ``X-API-KEY`` header, return list pages as ``{"items", "cursor"}`` (v2's ``data`` and
``next_cursor`` are mapped) and raise ``UnipileError`` with the status and message of
Unipile's RFC 7807 error body (``{"type", "status", "title", "detail"}``), so the
connector's logic branches on the version only where the objects themselves differ.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings

from frontdesk.connectors import http as outbound

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort


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

    @property
    def root(self) -> str:
        return dsn_root(self.dsn) + "/api/v1"

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-API-KEY": self.api_key, "Accept": "application/json"}
        headers.update(kwargs.pop("headers", {}))
        try:
            response = outbound.request(
                method,
                self.root + path,
                headers=headers,
                timeout=self.timeout or settings.FRONTDESK_HTTP_TIMEOUT,
                whole=settings.FRONTDESK_HTTP_TRANSFER_TIMEOUT if "files" in kwargs else None,
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
    # v2 in the path; v2 lists under another key.

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
        if after:
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
            with outbound.stream(
                "GET",
                url,
                headers=headers,
                timeout=self.timeout or settings.FRONTDESK_HTTP_TIMEOUT,
                whole=settings.FRONTDESK_HTTP_TRANSFER_TIMEOUT,
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
        """v1: one webhook per source (messaging, account status) scoped to the account and
        carrying our secret header; a webhook already listed for the same URL, account,
        secret and events is reused, so a retry never registers a second one."""
        secret = credentials["webhook_secret"]
        existing = list(self.iter_webhooks())
        ids = []
        for source, events in V1_EVENTS.items():
            found = next(
                (w for w in existing if _same_v1_hook(w, url, account_id, secret, events)), None
            )
            if found:
                ids.append(str(found.get("id")))
                continue
            created = self.create_webhook(
                {
                    "request_url": url,
                    "name": f"{name} {source}",
                    "source": source,
                    "format": "json",
                    "account_ids": [account_id],
                    "events": events,
                    "headers": [
                        {"key": "Content-Type", "value": "application/json"},
                        {"key": SECRET_HEADER, "value": secret},
                    ],
                }
            )
            ids.append(str(created.get("webhook_id") or ""))
        return ids

    def hosted_link(self, link: HostedLink) -> str:
        """v1: ``POST /hosted/accounts/link``. Unipile POSTs the new account to
        ``notify_url`` and sends the browser to the success (or failure) URL."""
        body: dict[str, Any] = {
            "type": "reconnect" if link.account_id else "create",
            "providers": [link.provider],
            "api_url": dsn_root(self.dsn),
            "expiresOn": link.expires_on,
            "notify_url": link.notify_url,
            "name": link.name,
            "success_redirect_url": link.return_url,
            "failure_redirect_url": link.failure_url,
        }
        if link.account_id:
            body["reconnect_account"] = link.account_id
        return _link_url(self.create_hosted_link(body), "url")

    def get_account(self, account_id: str) -> dict[str, Any]:
        return self._json("GET", f"/accounts/{quote(account_id, safe='')}")

    def delete_account(self, account_id: str) -> None:
        """v1: ``DELETE /api/v1/accounts/{id}`` ("Delete an account": unlinks it from
        Unipile; provider sessions are revoked where supported, by default).
        https://developer.unipile.com/reference/accountscontroller_deleteaccount"""
        self._request("DELETE", f"/accounts/{quote(account_id, safe='')}")

    def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        """v2 only (``DELETE /v2/webhooks/endpoints/{id}``, unipile-python WebhooksApi)."""
        raise UnipileError(400, "v1 has no webhook endpoints")


SECRET_HEADER = "X-Frontdesk-Webhook-Secret"  # v1 only: v2 endpoints have no custom headers
# v1: every event a channel reacts to, per source. The account-status default leaves out
# OK, CONNECTING and STOPPED, so a channel put in error would never hear it is back.
V1_EVENTS = {
    "messaging": ["message_received", "message_read", "message_reaction"],
    "account_status": [
        "ok",
        "creation_success",
        "creation_fail",
        "reconnected",
        "sync_success",
        "connecting",
        "credentials",
        "permissions",
        "error",
        "stopped",
        "deleted",
    ],
}
# v2: the documented trigger events (create_webhook_endpoint_request.py) a channel reacts to.
V2_EVENTS = [
    "message.new",
    "message.receipt.read",
    "account.status.running",
    "account.status.disconnected",
    "account.status.errored",
    "account.status.paused",
    "account.remove",
]


@dataclass(frozen=True)
class HostedLink:
    """What a hosted-auth link needs, in either version (``account_id``: reconnect it)."""

    provider: str  # LINKEDIN | WHATSAPP
    expires_on: str
    return_url: str  # the browser comes back here (v2 adds account_id, provider, state)
    failure_url: str  # v1: the browser comes back here when it failed
    notify_url: str  # v1: Unipile POSTs the new account here
    state: str  # v2: echoed to return_url
    name: str
    account_id: str = ""


def _same_v1_hook(
    listed: dict[str, Any], url: str, account_id: str, secret: str, events: list[str]
) -> bool:
    """Whether a listed v1 webhook is ours for this account. A listing names accounts as
    ``{id, name, type}`` objects and has no ``source``: the events tell the source."""
    accounts = {a.get("id") if isinstance(a, dict) else a for a in listed.get("account_ids") or []}
    headers = {
        (h.get("key"), h.get("value")) for h in listed.get("headers") or [] if isinstance(h, dict)
    }
    return (
        listed.get("request_url") == url
        and account_id in accounts
        and (SECRET_HEADER, secret) in headers
        and set(events) <= set(listed.get("events") or [])
    )


def _link_url(data: dict[str, Any], *keys: str) -> str:
    for key in keys:
        url = data.get(key)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
    raise UnipileError(502, "Unipile did not return a hosted-auth URL")


def _page(data: dict[str, Any]) -> dict[str, Any]:
    """A v2 list page (``{data, next_cursor}``: GetChatsList200Response,
    GetMessagesList200Response) in the shape the connector reads: ``{"items", "cursor"}``."""
    items = data.get("data") if isinstance(data.get("data"), list) else []
    cursor = data.get("next_cursor")
    return {"items": items, "cursor": cursor if isinstance(cursor, str) and cursor else None}


@dataclass
class UnipileV2Client(UnipileClient):
    """Unipile v2: ``{base}/v2``, the account id in every messaging path, messages under
    their chat, JSON bodies (files as base64 ``MessageFile`` objects), ``data`` and
    ``next_cursor`` in lists (paths and bodies: unipile-python ``docs/MessagingApi.md``,
    ``UsersApi.md``, ``WebhooksApi.md``, ``HostedAuthApi.md``)."""

    @property
    def root(self) -> str:
        return dsn_root(self.dsn or V2_DEFAULT_BASE) + "/v2"

    def _scope(self, account_id: str) -> str:
        return "/" + quote(account_id, safe="")

    def _account(self, account_id: str) -> dict[str, str]:
        return {}  # the account is in the path

    def _listed(self, data: dict[str, Any]) -> dict[str, Any]:
        return _page(data)

    def chat_attendees(self, account_id: str, chat_id: str) -> list[dict[str, Any]]:
        return []  # v2 chats name their 1to1 participant themselves (``user_id``, ``user``)

    def attachment_url(self, account_id: str, chat_id: str, message_id: str, att_id: str) -> str:
        return (
            f"{self.root}{self._scope(account_id)}/chats/{quote(chat_id, safe='')}"
            f"/messages/{quote(message_id, safe='')}/attachments/{quote(att_id, safe='')}"
        )

    def send_message(
        self,
        account_id: str,
        chat_id: str,
        text: str,
        files: list[tuple[str, bytes, str]],
        quote_id: str = "",
    ) -> dict[str, Any]:
        """``POST /v2/{account_id}/chats/{chat_id}/messages/send`` (SendMessageRequest)."""
        body: dict[str, Any] = {"text": text}
        if quote_id:
            body["quote_id"] = quote_id
        if files:
            body["attachments"] = _message_files(files)
        path = f"{self._scope(account_id)}/chats/{quote(chat_id, safe='')}/messages/send"
        return self._json("POST", path, json=body)

    def start_chat(
        self, account_id: str, attendee_id: str, text: str, files: list[tuple[str, bytes, str]]
    ) -> dict[str, Any]:
        """``POST /v2/{account_id}/chats/send`` (StartChatRequest: ``users_ids``, ``text``,
        ``attachments``)."""
        body: dict[str, Any] = {"users_ids": [attendee_id], "text": text}
        if files:
            body["attachments"] = _message_files(files)
        return self._json("POST", f"{self._scope(account_id)}/chats/send", json=body)

    def user_profile(self, identifier: str, account_id: str) -> dict[str, Any]:
        path = f"{self._scope(account_id)}/users/{quote(identifier, safe='')}"
        return self._json("GET", path)

    def register_webhooks(
        self, url: str, name: str, account_id: str, credentials: dict[str, Any]
    ) -> list[str]:
        """v2: one webhook *endpoint* receives the events of every account of the Unipile
        application (``POST /v2/webhooks/endpoints/`` with ``{url, trigger_events}``). An
        endpoint already listed for this URL and these events is reused. Unipile returns the
        endpoint's signing ``secret``; it is kept (encrypted) in ``credentials``."""
        listed = self._json("GET", "/webhooks/endpoints/")
        found = next(
            (
                e
                for e in _page(listed)["items"]
                if isinstance(e, dict)
                and e.get("url") == url
                and set(V2_EVENTS) <= set(e.get("trigger_events") or [])
                and e.get("enabled", True)
            ),
            None,
        )
        if found is None:
            found = self._json(
                "POST",
                "/webhooks/endpoints/",
                json={"url": url, "trigger_events": V2_EVENTS, "description": name},
            )
        endpoint_id = found.get("id")
        if not isinstance(endpoint_id, str) or not endpoint_id:
            raise UnipileError(502, "Unipile did not return the webhook endpoint's id")
        credentials["webhook_endpoint_id"] = endpoint_id
        if isinstance(found.get("secret"), str):
            credentials["webhook_signing_secret"] = found["secret"]
        return [endpoint_id]

    def delete_account(self, account_id: str) -> None:
        """Not in the v2 contract Frontdesk follows (/work/shared/reference/unipile.md):
        Unipile's v2 reference has a "Remove an Account" page, but its method and path are
        not in any text checked, so Frontdesk does not guess them."""
        raise UnipileError(400, "removing a v2 account is not documented")

    def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        """``DELETE /v2/webhooks/endpoints/{id}`` (unipile-python ``docs/WebhooksApi.md``)."""
        self._request("DELETE", f"/webhooks/endpoints/{quote(endpoint_id, safe='')}")

    def hosted_link(self, link: HostedLink) -> str:
        """v2: ``POST /v2/auth/link`` (CreateAuthLinkRequest: ``providers``, ``expires_on``,
        ``redirect_uri``, ``state``; ``account_id`` to re-authenticate). The browser comes
        back to ``redirect_uri`` with ``account_id``, ``provider`` and ``state``, or with
        ``error_title`` when it failed."""
        body: dict[str, Any] = {
            "providers": [link.provider],
            "expires_on": link.expires_on,
            "redirect_uri": link.return_url,
            "state": link.state,
        }
        if link.account_id:
            body["account_id"] = link.account_id
        return _link_url(self._json("POST", "/auth/link", json=body), "link")


def _message_files(files: list[tuple[str, bytes, str]]) -> list[dict[str, str]]:
    """Files as v2's MessageFile objects: base64 ``content``, ``content_type``, ``filename``."""
    return [
        {
            "content": base64.b64encode(data).decode(),
            "content_type": content_type or "application/octet-stream",
            "filename": name,
        }
        for name, data, content_type in files
    ]


def client_for(api_version: str, dsn: str, api_key: str) -> UnipileClient:
    if api_version == "v2":
        return UnipileV2Client(dsn or V2_DEFAULT_BASE, api_key)
    return UnipileClient(dsn, api_key)


def api_version(channel: ChannelPort) -> str:
    """The channel's Unipile API version; channels saved before v2 existed are v1."""
    return "v2" if (channel.config or {}).get("api_version") == "v2" else "v1"
