"""A real HTTP server standing in for Unipile: its REST API v1 (``{dsn}/api/v1/...``) and v2
(``{base}/v2/...``) over the same accounts, chats and messages, and its hosted-auth wizard.

It follows the contract collected in ``/work/shared/reference/unipile.md`` (sources there):
the v1 OpenAPI specification, the official v2 SDK (``unipile/unipile-python``, generated from
Unipile's v2 OpenAPI) and the guides. Every request body is checked against the documented
one: a missing or unknown field, or a wrong type, gets the documented 400 (v1
``errors/invalid_parameters``, v2 ``api/invalid_parameters``), an undocumented path a 404,
an undocumented content type a 415.

v1: ``X-API-KEY``; ``GET /chats``, ``GET /chats/{id}/messages`` (newest first, ``cursor``,
``limit``, ``after``), ``GET /chats/{id}/attendees``, ``GET /users/{id}?account_id=``,
``GET /messages/{id}/attachments/{id}``, ``POST /chats/{id}/messages`` and ``POST /chats``
(multipart, 201 ``MessageSent`` / ``ChatStarted``), ``GET/POST /webhooks`` (a listed webhook
has ``account_ids`` as ``{id, name, type}`` objects and no ``source``), ``GET
/accounts/{id}`` and ``DELETE /accounts/{id}``, ``POST /hosted/accounts/link`` (200 ``HostedAuthUrl``). Webhooks are
delivered only for the events they subscribed to, with the headers registered with them.

v2: ``X-API-KEY``; RFC 7807 errors ``{object: "Error", type, status, title, detail,
req_id}``; lists ``{object, data, next_cursor}``; chats (``user_id``, ``user``,
``last_message_timestamp``; no ``timestamp`` nor ``attendee_provider_id``) and messages
(``sender {id, display_name, profile_url, public_picture_url}``, attachments with
``filename``/``is_unavailable``) in v2 shape; ``POST /v2/{account}/chats/{chat}/messages/send``
and ``POST /v2/{account}/chats/send`` as JSON (files as base64 ``{content, content_type,
filename}``); ``GET/POST /v2/webhooks/endpoints/`` and ``DELETE
/v2/webhooks/endpoints/{id}`` (``{url, trigger_events}``, the answer
and the listing carry the endpoint's ``secret``); ``POST /v2/auth/link`` (``{expires_on,
redirect_uri, providers, state?, account_id?}``) and ``GET /v2/accounts/{id}``. Events are
``{id, created_at, account_id, type, payload}``, posted to each endpoint subscribed to the
type. Unipile documents that v2 signs deliveries but not how: the stand-in adds a
``Unipile-Signature: t=<unix>,v0=<hex HMAC-SHA256 of "<t>.<body>">`` header (a scheme seen
only in third-party code), which Frontdesk does not rely on.

The hosted-auth wizard (``/hosted/{token}``, no API key: the user's browser) offers Approve,
Cancel and "Fail" (the provider refused the login); LinkedIn asks for a login, WhatsApp
shows a QR code to scan. v1 then POSTs ``{status, account_id, name}`` to the link's
``notify_url`` and sends the browser to ``success_redirect_url`` (or
``failure_redirect_url``); v2 sends it to ``redirect_uri`` with ``account_id``,
``provider`` and ``state`` (or ``error_title``).

``fail_next`` scripts error answers (either version); everything received is recorded.
Run it alone with ``python -m frontdesk.ops.demo.peers.unipile --port 8765``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from frontdesk.ops.demo.peers.local_server import root_of, start_server, stop_server

API_KEY = "unipile-test-key"
ISO_MS = re.compile(r"^[1-2]\d{3}-[0-1]\d-[0-3]\dT\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# v1 webhook events per source (OAS1 ``POST /api/v1/webhooks``) and the defaults when a
# webhook names none ("Default value include message_received"; account status: "the usual
# statuses, except for CONNECTING, OK and STOPPED").
V1_EVENTS = {
    "messaging": {
        "message_received",
        "message_read",
        "message_reaction",
        "message_edited",
        "message_deleted",
        "message_delivered",
    },
    "account_status": {
        "creation_success",
        "creation_fail",
        "deleted",
        "reconnected",
        "sync_success",
        "stopped",
        "ok",
        "connecting",
        "error",
        "credentials",
        "permissions",
    },
    "users": {"new_relation"},
    "email": {"mail_sent", "mail_received", "mail_moved"},
    "email_tracking": {"mail_opened", "mail_link_clicked"},
}
V1_DEFAULT_EVENTS = {
    "messaging": {"message_received"},
    "account_status": V1_EVENTS["account_status"] - {"connecting", "ok", "stopped"},
}
V1_WEBHOOK_FIELDS = {
    "request_url",
    "source",
    "name",
    "format",
    "account_ids",
    "enabled",
    "headers",
    "events",
    "data",
}
V1_HOSTED_FIELDS = {
    "type",
    "providers",
    "api_url",
    "expiresOn",
    "name",
    "notify_url",
    "success_redirect_url",
    "failure_redirect_url",
    "bypass_success_screen",
    "disabled_features",
    "disabled_options",
    "proxy",
    "sync_limit",
    "reconnect_account",
}
V1_PROVIDERS = {"LINKEDIN", "WHATSAPP", "INSTAGRAM", "MESSENGER", "TELEGRAM", "GOOGLE", "OUTLOOK"}
# v2 (unipile-python: create_webhook_endpoint_request.py, create_auth_link_request.py,
# send_message_request.py, start_chat_request.py).
V2_TRIGGER_EVENTS = {
    "account.status.disconnected",
    "account.status.running",
    "account.status.errored",
    "account.status.paused",
    "account.add",
    "account.reconnect",
    "account.remove",
    "account.initial_sync.running",
    "account.initial_sync.failed",
    "account.initial_sync.completed",
    "message.new",
    "message.update",
    "message.delete",
    "message.receipt.read",
    "message.receipt.delivery",
    "message.reaction.new",
    "chat.delete",
    "chat.update",
    "relation.request.accept",
}
V2_ENDPOINT_FIELDS = {"url", "trigger_events", "account_ids", "description"}
V2_AUTH_LINK_FIELDS = {
    "expires_on",
    "domain",
    "redirect_uri",
    "state",
    "config",
    "providers",
    "account_id",
}
V2_SEND_FIELDS = {"text", "quote_id", "attachments"}
V2_START_FIELDS = {"text", "name", "users_ids", "attachments", "specifics"}
V2_FILE_FIELDS = {"content", "content_type", "filename", "metadata", "send_mode"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # filename, type, data

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Refused(Exception):
    """A request the documented contract refuses: answered with this status and detail."""

    def __init__(self, status: int, kind: str, detail: str):
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list]:
    message = BytesParser(policy=default_policy).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    form: dict[str, str] = {}
    files: list[tuple[str, str, bytes]] = []
    if not message.is_multipart():
        raise ValueError("not multipart")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        data = part.get_payload(decode=True) or b""
        assert isinstance(data, bytes)
        if filename is not None:
            files.append((filename, part.get_content_type(), data))
        elif name:
            form[str(name)] = data.decode()
    return form, files


def iso(at: datetime) -> str:
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _ts(minutes_ago: float) -> str:
    return iso(datetime.now(UTC) - timedelta(minutes=minutes_ago))


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query (kept: what it already carries)."""
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit(parts._replace(query=query))


class UnipilePeer:
    def __init__(self, api_key: str = API_KEY, port: int = 0, first_id: int = 1) -> None:
        """``first_id``: where its ids start (a stand-in started again must not hand out
        the ids of messages the app already holds)."""
        self.api_key = api_key
        self.requests: list[Request] = []
        self.chats: dict[str, dict[str, Any]] = {}  # stored in v1's shape, served in both
        self.messages: dict[str, list[dict[str, Any]]] = {}  # chat id -> messages
        self.attendees: dict[str, list[dict[str, Any]]] = {}
        self.attachments: dict[tuple[str, str], bytes] = {}
        self.webhooks: list[dict[str, Any]] = []  # v1, with their ``source``
        self.profiles: dict[str, dict[str, Any]] = {}  # provider id -> LinkedIn profile
        self.hosted_links: list[dict[str, Any]] = []
        self.endpoints: list[dict[str, Any]] = []  # v2 webhook endpoints (with their secret)
        self.accounts: dict[str, dict[str, Any]] = {}  # account id -> {provider, user_id, ...}
        self.notified: list[tuple[str, int]] = []  # v1 notify_url calls: (status, answer)
        self.next_account_id: str | None = None  # what the wizard's next approval creates
        # v2: "some providers send attachments separately from the text, which can result in
        # multiple sent message IDs" (SendMessage200ResponseMessageId): do so when set.
        self.split_attachments = False
        self.failures: list[tuple[str, int, dict[str, Any], dict[str, str]]] = []
        self.on_request: Any = None  # a hook run before answering (used to race webhooks)
        self.before_answer: Any = None  # a hook run with (request, status, payload) once routed
        self.redirect_attachments_to: str | None = None
        self._ids = itertools.count(first_id)
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                peer._handle(self, "GET")

            def do_POST(self) -> None:
                peer._handle(self, "POST")

            def do_DELETE(self) -> None:
                peer._handle(self, "DELETE")

        self.server = start_server(Handler, port=port)

    # --- set-up helpers ----------------------------------------------------------------
    @property
    def dsn(self) -> str:
        return root_of(self.server)

    def close(self) -> None:
        stop_server(self.server)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):05d}"

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        detail: str = "",
        kind: str = "errors/unexpected_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        body = {"status": status, "type": kind, "title": f"HTTP {status}", "detail": detail}
        if path_prefix.startswith("/v2"):
            body = {"object": "Error", **body, "req_id": self.new_id("req")}
        self.failures.append((path_prefix, status, body, headers or {}))

    def add_account(self, account_id: str, network: str = "linkedin", owner_id: str = "") -> None:
        self.accounts[account_id] = {
            "provider": network.lower(),
            "user_id": owner_id or f"owner-of-{account_id}",
            "name": f"{network.title()} account",
            "created_at": _ts(0),
        }

    def add_chat(
        self,
        account_id: str,
        owner: dict[str, str],
        other: dict[str, str],
        minutes_ago: float = 10,
        chat_id: str | None = None,
    ) -> str:
        chat_id = chat_id or self.new_id("chat")
        network = self.accounts.get(account_id, {}).get("provider", "linkedin")
        self.chats[chat_id] = {
            "object": "Chat",
            "id": chat_id,
            "account_id": account_id,
            "account_type": network.upper(),
            "provider_id": "prov-" + chat_id,
            "attendee_provider_id": other["provider_id"],
            "name": other.get("name"),
            "type": 0,
            "timestamp": _ts(minutes_ago),
            "created_at": _ts(minutes_ago),
            "unread_count": 0,
        }
        self.messages[chat_id] = []
        self.attendees[chat_id] = [
            {
                "object": "ChatAttendee",
                "id": "att-" + owner["provider_id"],
                "account_id": account_id,
                "provider_id": owner["provider_id"],
                "name": owner.get("name", "Me"),
                "is_self": 1,
            },
            {
                "object": "ChatAttendee",
                "id": "att-" + other["provider_id"],
                "account_id": account_id,
                "provider_id": other["provider_id"],
                "name": other.get("name", ""),
                "is_self": 0,
                "profile_url": other.get("profile_url", ""),
                "picture_url": other.get("picture_url", ""),
            },
        ]
        return chat_id

    def add_message(
        self,
        chat_id: str,
        sender_id: str,
        text: str,
        minutes_ago: float = 5,
        is_sender: bool = False,
        attachments: list[tuple[str, str, bytes]] | None = None,
        message_id: str | None = None,
        seen: bool = False,
    ) -> dict[str, Any]:
        """``seen``: for a message the account sent, read by the other side."""
        message_id = message_id or self.new_id("msg")
        chat = self.chats[chat_id]
        atts = []
        for name, mimetype, data in attachments or []:
            att_id = self.new_id("file")
            self.attachments[(message_id, att_id)] = data
            atts.append(
                {
                    "id": att_id,
                    "type": "file",
                    "file_name": name,
                    "mimetype": mimetype,
                    "file_size": len(data),
                    "unavailable": False,
                }
            )
        message = {
            "object": "Message",
            "id": message_id,
            "account_id": chat["account_id"],
            "chat_id": chat_id,
            "chat_provider_id": chat["provider_id"],
            "provider_id": "prov-" + message_id,
            "sender_id": sender_id,
            "text": text,
            "timestamp": _ts(minutes_ago),
            "is_sender": 1 if is_sender else 0,
            "attachments": atts,
            "reactions": [],
            "seen": 1 if seen else 0,
            "hidden": 0,
            "deleted": 0,
        }
        self.messages[chat_id].append(message)
        if message["timestamp"] > chat["timestamp"]:
            chat["timestamp"] = message["timestamp"]
        return message

    def _person(self, chat_id: str, provider_id: str) -> dict[str, Any]:
        people = {a["provider_id"]: a for a in self.attendees[chat_id]}
        return people.get(provider_id, {"provider_id": provider_id})

    # --- v1 deliveries -----------------------------------------------------------------------
    def webhook_event(
        self, message: dict[str, Any], owner_id: str, account_type: str = "LINKEDIN"
    ) -> dict[str, Any]:
        """The documented ``message_received`` webhook body for a stored message."""
        chat_id = message["chat_id"]
        sender = self._person(chat_id, message["sender_id"])

        def attendee(a: dict[str, Any]) -> dict[str, Any]:
            return {
                "attendee_id": a.get("id", ""),
                "attendee_name": a.get("name", ""),
                "attendee_provider_id": a["provider_id"],
                "attendee_profile_url": a.get("profile_url", ""),
            }

        return {
            "account_id": message["account_id"],
            "account_type": account_type,
            "account_info": {"type": account_type, "feature": "classic", "user_id": owner_id},
            "event": "message_received",
            "chat_id": chat_id,
            "timestamp": message["timestamp"],
            "webhook_name": "Frontdesk",
            "message_id": message["id"],
            "message": message["text"],
            "sender": attendee(sender),
            "attendees": [attendee(a) for a in self.attendees[chat_id] if not a.get("is_self")],
            "attachments": [{**a, "url": f"att://{a['id']}"} for a in message["attachments"]],
        }

    def deliver(self, source: str, body: dict[str, Any], secret: str | None = None) -> list:
        """POST an event to every webhook registered for ``source``, its account and this
        event, as Unipile does: with the registered headers (``secret`` replaces the secret
        header's value)."""
        import httpx

        status = body.get("AccountStatus")
        account_id = (status or body).get("account_id")
        event = str(status.get("message", "")).lower() if status else body.get("event")
        answers = []
        for hook in self.deliveries(source):
            if hook.get("account_ids") and account_id not in hook["account_ids"]:
                continue
            if event not in hook["events"]:
                continue  # not subscribed: Unipile sends nothing
            headers = {h["key"]: h["value"] for h in hook.get("headers") or []}
            if secret is not None:
                headers = {
                    k: (secret if k.lower().endswith("secret") else v) for k, v in headers.items()
                }
            answers.append(
                httpx.post(
                    hook["request_url"], content=json.dumps(body), headers=headers, timeout=10
                )
            )
        return answers

    def account_status(self, account_id: str, message: str) -> dict[str, Any]:
        """The documented account-status webhook body."""
        network = self.accounts.get(account_id, {}).get("provider", "linkedin").upper()
        return {
            "AccountStatus": {"account_id": account_id, "account_type": network, "message": message}
        }

    def complete_hosted(
        self, link: dict[str, Any], account_id: str, status: str = "CREATION_SUCCESS"
    ):
        """The user finished the v1 wizard: Unipile calls the link's ``notify_url``."""
        import httpx

        body = {"status": status, "account_id": account_id, "name": link.get("name")}
        return httpx.post(link["notify_url"], json=body, timeout=10)

    def deliveries(self, source: str) -> list[dict[str, Any]]:
        """The webhooks registered for ``source``: where and with which headers to post."""
        return [w for w in self.webhooks if w["source"] == source]

    # --- v2 deliveries ----------------------------------------------------------------------
    def v2_event(self, kind: str, account_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An Event object as v2 posts it."""
        return {
            "id": self.new_id("evt_"),
            "created_at": _ts(0),
            "account_id": account_id,
            "type": kind,
            "payload": payload,
        }

    def v2_message_event(self, message: dict[str, Any]) -> dict[str, Any]:
        """``message.new`` for a stored message: the v2 Message object as its payload."""
        return self.v2_event("message.new", message["account_id"], self.v2_message(message))

    def deliver_v2(self, event: dict[str, Any], url: str | None = None) -> list:
        """POST an event to every v2 endpoint subscribed to its type (``url`` replaces the
        registered one: a forged delivery)."""
        import httpx

        raw = json.dumps(event).encode()
        answers = []
        for endpoint in self.endpoints:
            if event.get("type") not in endpoint["trigger_events"]:
                continue
            if endpoint["account_ids"] and event.get("account_id") not in endpoint["account_ids"]:
                continue
            headers = {
                "Content-Type": "application/json",
                "Unipile-Signature": v2_signature(endpoint["secret"], raw),
            }
            target = url or endpoint["url"]
            answers.append(httpx.post(target, content=raw, headers=headers, timeout=10))
        return answers

    def redirect_back(self, link: dict[str, Any], account_id: str) -> str:
        """The user finished the v2 wizard: where Unipile sends their browser back."""
        self.accounts.setdefault(account_id, {}).update(
            provider=_v2_provider(link), user_id=f"owner-of-{account_id}", name="Account"
        )
        return with_query(
            link["redirect_uri"],
            account_id=account_id,
            provider=_v2_provider(link),
            **({"state": link["state"]} if link.get("state") else {}),
        )

    # --- v2 shapes ---------------------------------------------------------------------------
    def v2_user(self, chat_id: str, provider_id: str) -> dict[str, Any]:
        person = self._person(chat_id, provider_id)
        user = {
            "object": "User",
            "id": provider_id,
            "type": "individual",
            "display_name": person.get("name") or "",
        }
        if person.get("profile_url"):
            user["profile_url"] = person["profile_url"]
        if person.get("picture_url"):
            user["public_picture_url"] = person["picture_url"]
        return user

    def v2_chat(self, chat: dict[str, Any]) -> dict[str, Any]:
        other = chat["attendee_provider_id"]
        return {
            "object": "Chat",
            "id": chat["id"],
            "name": chat.get("name") or "",
            "created_at": chat["created_at"],
            "updated_at": chat["timestamp"],
            "last_message_timestamp": chat["timestamp"],
            "muted_until": None,
            "user_id": other,
            "user": self.v2_user(chat["id"], other),
            "is_group": False,
            "is_1to1": True,
            "is_channel": False,
            "type": "1to1",
            "is_pinned": False,
            "is_readonly": False,
            "is_archived": False,
            "folders": [],
            "unread_count": chat.get("unread_count", 0),
            "provider": chat["account_type"].lower(),
        }

    def v2_message(self, message: dict[str, Any]) -> dict[str, Any]:
        chat = self.chats[message["chat_id"]]
        return {
            "object": "Message",
            "id": message["id"],
            "text": message["text"],
            "sender_id": message["sender_id"],
            "chat_id": message["chat_id"],
            "timestamp": message["timestamp"],
            "is_sender": bool(message["is_sender"]),
            "is_hidden": False,
            "is_seen": bool(message["seen"]),
            "is_delivered": True,
            "is_deleted": False,
            "is_edited": False,
            "is_pinned": False,
            "is_event": False,
            "is_mentionned": False,
            "reactions_counter": [],
            "sender": self.v2_user(message["chat_id"], message["sender_id"]),
            "provider": chat["account_type"].lower(),
            "attachments": [
                {
                    "object": "Attachment",
                    "id": a["id"],
                    "file_size": a["file_size"],
                    "is_unavailable": bool(a["unavailable"]),
                    "mimetype": a["mimetype"],
                    "url": f"att://{a['id']}",
                    "type": "file",
                    "filename": a["file_name"],
                }
                for a in message["attachments"]
            ],
        }

    def requests_to(self, method: str, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    # --- the server side ---------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        request = Request(
            method,
            parts.path,
            {k: v[-1] for k, v in parse_qs(parts.query).items()},
            {k.lower(): v for k, v in h.headers.items()},
            body,
        )
        with self._lock:
            self.requests.append(request)
        if self.on_request:
            self.on_request(request)
        if parts.path == "/favicon.ico":  # the wizard's browser asks; no API key for it
            status, payload, headers = 200, b"", {"Content-Type": "image/x-icon"}
        elif parts.path.startswith("/hosted/"):
            status, payload, headers = self._hosted(request)
        else:
            status, payload, headers = self._route(request)
        if self.before_answer:
            self.before_answer(request, status, payload)
        if isinstance(payload, str):
            data, content_type = payload.encode(), "text/html; charset=utf-8"
        elif isinstance(payload, bytes | bytearray):
            data, content_type = bytes(payload), "application/octet-stream"
        else:
            data, content_type = json.dumps(payload).encode(), "application/json"
        try:
            h.send_response(status)
            h.send_header("Content-Type", headers.pop("Content-Type", content_type))
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(self, r: Request) -> tuple[int, Any, dict[str, str]]:
        v2 = r.path.startswith("/v2/")
        key = r.headers.get("x-api-key")
        if not key or key != self.api_key:
            kind = "missing_credentials" if not key else "invalid_credentials"
            return _error(v2, 401, kind, "Missing API key" if not key else "Invalid API key")
        for i, (prefix, status, body, headers) in enumerate(self.failures):
            if r.path.startswith(prefix):
                del self.failures[i]
                return status, body, dict(headers)
        try:
            if v2:
                return self._route_v2(r)
            if r.path.startswith("/api/v1/"):
                return self._route_v1(r)
            raise Refused(404, "resource_not_found", "Not found")
        except Refused as exc:
            return _error(v2, exc.status, exc.kind, exc.detail)

    # --- v1 ----------------------------------------------------------------------------------
    def _route_v1(self, r: Request) -> tuple[int, Any, dict[str, str]]:
        segs = [unquote(s) for s in r.path[len("/api/v1/") :].strip("/").split("/")]
        if r.method == "GET" and segs == ["chats"]:
            chats = [
                c
                for c in self.chats.values()
                if c["account_id"] == r.query.get("account_id")
                and (not r.query.get("after") or c["created_at"] > r.query["after"])
            ]
            chats.sort(key=lambda c: c["timestamp"], reverse=True)
            return 200, _page("ChatList", chats, r.query), {}
        if len(segs) == 3 and segs[0] == "chats" and segs[2] == "messages":
            chat_id = segs[1]
            if chat_id not in self.chats:
                raise Refused(404, "resource_not_found", "Chat not found")
            if r.method == "GET":
                items = [
                    m
                    for m in self.messages[chat_id]
                    if not r.query.get("after") or m["timestamp"] > r.query["after"]
                ]
                items.sort(key=lambda m: m["timestamp"], reverse=True)
                return 200, _page("MessageList", items, r.query), {}
            return self._send_v1(r, chat_id)
        if r.method == "GET" and len(segs) == 3 and segs[0] == "chats" and segs[2] == "attendees":
            if segs[1] not in self.chats:
                raise Refused(404, "resource_not_found", "Chat not found")
            return 200, {"object": "ChatAttendeeList", "items": self.attendees[segs[1]]}, {}
        if (
            r.method == "GET"
            and len(segs) == 4
            and segs[0] == "messages"
            and segs[2] == "attachments"
        ):
            return self._attachment(segs[1], segs[3])
        if r.method == "POST" and segs == ["chats"]:
            return self._start_chat_v1(r)
        if r.method == "GET" and len(segs) == 2 and segs[0] == "users":
            if not r.query.get("account_id"):
                raise Refused(400, "invalid_parameters", "account_id is required")
            profile = self.profiles.get(segs[1])
            if profile is None:
                raise Refused(404, "resource_not_found", "User not found")
            return 200, {"object": "UserProfile", "provider": "LINKEDIN", **profile}, {}
        if r.method == "GET" and len(segs) == 2 and segs[0] == "accounts":
            account = self.accounts.get(segs[1])
            if account is None:
                raise Refused(404, "resource_not_found", "Account not found")
            return 200, {"object": "Account", "id": segs[1], "type": account["provider"]}, {}
        if r.method == "DELETE" and len(segs) == 2 and segs[0] == "accounts":
            # "Delete an account" (AccountsController_deleteAccount): unlinks it from Unipile.
            if self.accounts.pop(segs[1], None) is None:
                raise Refused(404, "resource_not_found", "Account not found")
            return 200, {"object": "AccountDeleted"}, {}
        if segs == ["webhooks"]:
            if r.method == "GET":
                listed = [self._listed_webhook(w) for w in self.webhooks]
                return 200, {"object": "WebhookList", "items": listed, "cursor": None}, {}
            hook = _v1_webhook(_json_object(r, v2=False))
            hook["id"] = self.new_id("wh")
            self.webhooks.append(hook)
            return 201, {"object": "WebhookCreated", "webhook_id": hook["id"]}, {}
        if r.method == "POST" and segs == ["hosted", "accounts", "link"]:
            body = _v1_hosted_link(_json_object(r, v2=False))
            token = self.new_id("hosted")
            self.hosted_links.append({"token": token, "version": "v1", **body})
            return 200, {"object": "HostedAuthUrl", "url": f"{self.dsn}/hosted/{token}"}, {}
        raise Refused(404, "resource_not_found", "Not found")

    def _listed_webhook(self, hook: dict[str, Any]) -> dict[str, Any]:
        """A webhook as ``GET /webhooks`` lists it: account objects, no ``source``."""
        accounts = [
            {"id": a, "name": "", "type": self.accounts.get(a, {}).get("provider", "linkedin")}
            for a in hook.get("account_ids") or []
        ]
        listed = {k: v for k, v in hook.items() if k != "source"}
        return {
            "object": "Webhook",
            **listed,
            "account_ids": [{**a, "type": a["type"].upper()} for a in accounts],
            "events": sorted(hook["events"]),
            "type": "AUTO",
        }

    def _send_v1(self, r: Request, chat_id: str) -> tuple[int, Any, dict[str, str]]:
        form, files = self._multipart(r)
        if not form.get("text") and not files:
            raise Refused(400, "invalid_parameters", "text or attachments")
        chat = self.chats[chat_id]
        if form.get("account_id") and form["account_id"] != chat["account_id"]:
            raise Refused(403, "account_mismatch", "Chat is not in this account")
        message = self._sent(chat_id, form.get("text", ""), files)
        return 201, {"object": "MessageSent", "message_id": message["id"]}, {}

    def _start_chat_v1(self, r: Request) -> tuple[int, Any, dict[str, str]]:
        form, files = self._multipart(r)
        if not form.get("account_id") or not form.get("attendees_ids"):
            raise Refused(400, "invalid_parameters", "account_id, attendees_ids")
        chat_id = self._new_chat(form["account_id"], form["attendees_ids"])
        message = self._sent(chat_id, form.get("text", ""), files)
        return 201, {"object": "ChatStarted", "chat_id": chat_id, "message_id": message["id"]}, {}

    def _multipart(self, r: Request) -> tuple[dict[str, str], list]:
        content_type = r.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise Refused(415, "unsupported_media_type", "multipart/form-data expected")
        try:
            form, files = parse_multipart(content_type, r.body)
        except ValueError:
            raise Refused(400, "malformed_request", "unreadable multipart body") from None
        r.form, r.files = form, files
        return form, files

    # --- v2 ----------------------------------------------------------------------------------
    def _route_v2(self, r: Request) -> tuple[int, Any, dict[str, str]]:
        segs = [unquote(s) for s in r.path[len("/v2/") :].split("/")]
        if segs == ["webhooks", "endpoints", ""]:  # documented with its trailing slash
            if r.method == "GET":
                listed = {"object": "WebhookEndpointList", "data": self.endpoints}
                return 200, {**listed, "has_more": False}, {}
            endpoint = _v2_endpoint(_json_object(r, v2=True))
            endpoint.update(
                object="WebhookEndpoint",
                id=self.new_id("whe_"),
                enabled=True,
                secret="whsec_" + secrets.token_urlsafe(24),
                application_id="app_test",
                account_targets=[],
            )
            self.endpoints.append(endpoint)
            return 200, endpoint, {}
        segs = [s for s in segs if s]
        if r.method == "DELETE" and len(segs) == 3 and segs[:2] == ["webhooks", "endpoints"]:
            # WebhooksApi ``DELETE /v2/webhooks/endpoints/{id}`` (Frontdesk reads the status).
            found = [e for e in self.endpoints if e["id"] == segs[2]]
            if not found:
                raise Refused(404, "resource_not_found", "Webhook endpoint not found")
            self.endpoints.remove(found[0])
            return 200, {"object": "WebhookEndpointDeleted", "id": segs[2]}, {}
        if r.method == "POST" and segs == ["auth", "link"]:
            body = _v2_auth_link(_json_object(r, v2=True))
            token = self.new_id("hosted")
            self.hosted_links.append({"token": token, "version": "v2", **body})
            return 200, {"object": "AuthLink", "link": f"{self.dsn}/hosted/{token}"}, {}
        if r.method == "GET" and len(segs) == 2 and segs[0] == "accounts":
            account = self.accounts.get(segs[1])
            if account is None:
                raise Refused(404, "resource_not_found", "Account not found")
            return 200, _v2_account(segs[1], account), {}
        if len(segs) < 2:
            raise Refused(404, "resource_not_found", "Not found")
        account_id, rest = segs[0], segs[1:]
        if r.method == "GET" and rest == ["chats"]:
            chats = [c for c in self.chats.values() if c["account_id"] == account_id]
            chats.sort(key=lambda c: c["timestamp"], reverse=True)
            return 200, _page_v2([self.v2_chat(c) for c in chats], r.query), {}
        if r.method == "POST" and rest == ["chats", "send"]:
            return self._start_chat_v2(r, account_id)
        if r.method == "GET" and len(rest) == 2 and rest[0] == "users":
            profile = self.profiles.get(rest[1])
            if profile is None:
                raise Refused(404, "resource_not_found", "User not found")
            return 200, _v2_profile(profile), {}
        if len(rest) < 2 or rest[0] != "chats":
            raise Refused(404, "resource_not_found", "Not found")
        chat = self.chats.get(rest[1])
        if chat is None or chat["account_id"] != account_id:
            raise Refused(404, "resource_not_found", "Chat not found")
        if r.method == "GET" and len(rest) == 2:
            return 200, self.v2_chat(chat), {}
        if r.method == "GET" and rest[2:] == ["messages"]:
            items = [
                m
                for m in self.messages[rest[1]]
                if not r.query.get("after") or m["timestamp"] > r.query["after"]
            ]
            items.sort(key=lambda m: m["timestamp"], reverse=True)
            return 200, _page_v2([self.v2_message(m) for m in items], r.query), {}
        if r.method == "POST" and rest[2:] == ["messages", "send"]:
            body = _v2_fields(_json_body(r), V2_SEND_FIELDS, required=("text",))
            files = _v2_files(body.get("attachments"))
            if not isinstance(body["text"], str):
                raise Refused(400, "invalid_parameters", "body/text must be string")
            if body.get("quote_id") is not None and not isinstance(body["quote_id"], str):
                raise Refused(400, "invalid_parameters", "body/quote_id must be string")
            r.form, r.files = {"text": body["text"]}, files
            return 200, {"object": "MessageSent", "message_id": self._sent_v2(rest[1], body)}, {}
        if (
            r.method == "GET"
            and len(rest) == 6
            and rest[2] == "messages"
            and rest[4] == "attachments"
        ):
            return self._attachment(rest[3], rest[5])
        raise Refused(404, "resource_not_found", "Not found")

    def _start_chat_v2(self, r: Request, account_id: str) -> tuple[int, Any, dict[str, str]]:
        body = _v2_fields(_json_body(r), V2_START_FIELDS, required=("text", "users_ids"))
        users = body["users_ids"]
        if isinstance(users, str):
            users = [users]
        if not isinstance(users, list) or not users or not all(isinstance(u, str) for u in users):
            raise Refused(400, "invalid_parameters", "body/users_ids must be a string or strings")
        if not isinstance(body["text"], str):
            raise Refused(400, "invalid_parameters", "body/text must be string")
        files = _v2_files(body.get("attachments"))
        r.files = files
        chat_id = self._new_chat(account_id, users[0])
        sent = self._sent_v2(chat_id, body)
        return 200, {"object": "ChatStarted", "chat_id": chat_id, "message_id": sent}, {}

    def _sent_v2(self, chat_id: str, body: dict[str, Any]) -> str | list[str]:
        files = _v2_files(body.get("attachments"))
        if self.split_attachments and files and body["text"]:
            return [
                self._sent(chat_id, body["text"], [])["id"],
                self._sent(chat_id, "", files)["id"],
            ]
        return self._sent(chat_id, body["text"], files)["id"]

    # --- shared --------------------------------------------------------------------------------
    def _new_chat(self, account_id: str, other_id: str) -> str:
        owner = {"provider_id": f"owner-of-{account_id}", "name": "Me"}
        for chat in self.chats.values():
            if chat["account_id"] == account_id:
                owner = next(
                    {"provider_id": a["provider_id"], "name": a["name"]}
                    for a in self.attendees[chat["id"]]
                    if a.get("is_self")
                )
                break
        return self.add_chat(account_id, owner, {"provider_id": other_id, "name": ""}, 0)

    def _sent(self, chat_id: str, text: str, files: list) -> dict[str, Any]:
        owner = next(a for a in self.attendees[chat_id] if a.get("is_self"))
        return self.add_message(
            chat_id,
            owner["provider_id"],
            text,
            minutes_ago=0,
            is_sender=True,
            attachments=[(name, mimetype, data) for name, mimetype, data in files],
        )

    def _attachment(self, message_id: str, attachment_id: str) -> tuple[int, Any, dict[str, str]]:
        if self.redirect_attachments_to:
            return 302, b"", {"Location": self.redirect_attachments_to}
        data = self.attachments.get((message_id, attachment_id))
        if data is None:
            raise Refused(404, "resource_not_found", "Attachment not found")
        return 200, data, {}

    # --- the hosted-auth wizard (the user's browser) -------------------------------------------
    def link(self, token: str) -> dict[str, Any] | None:
        return next((link for link in self.hosted_links if link["token"] == token), None)

    def approve(self, link: dict[str, Any]) -> str:
        """The user logged in (or scanned the code): the account Unipile creates, and where
        the browser goes next."""
        link["used"] = True
        account_id = (
            link.get("reconnect_account")
            or link.get("account_id")
            or self.next_account_id
            or self.new_id("acc-")
        )
        self.next_account_id = None
        if link["version"] == "v2":
            return self.redirect_back(link, account_id)
        self.accounts.setdefault(account_id, {}).update(
            provider=_v1_provider(link).lower(), user_id=f"owner-of-{account_id}", name="Account"
        )
        if link.get("notify_url"):
            created = link.get("type") == "create"
            answer = self.complete_hosted(
                link, account_id, "CREATION_SUCCESS" if created else "RECONNECTED"
            )
            self.notified.append((account_id, answer.status_code))
        return link.get("success_redirect_url") or ""

    def refuse(self, link: dict[str, Any], title: str) -> str:
        """The user cancelled, or the provider refused: where the browser goes next."""
        link["used"] = True
        if link["version"] == "v2":
            params = {"error_title": title}
            if link.get("state"):
                params["state"] = link["state"]
            return with_query(link["redirect_uri"], **params)
        return link.get("failure_redirect_url") or ""

    def _hosted(self, r: Request) -> tuple[int, Any, dict[str, str]]:
        token = r.path[len("/hosted/") :].strip("/")
        link = self.link(token)
        if link is None:
            return 404, _page_html("Link not found", "<p>This link does not exist.</p>"), {}
        expires = link.get("expiresOn") or link.get("expires_on") or ""
        if link.get("used") or expires < iso(datetime.now(UTC)):
            return 410, _page_html("Link expired", "<p>This link was used or has expired.</p>"), {}
        if r.method == "GET":
            return 200, _wizard(link), {}
        action = parse_qs(r.body.decode()).get("action", [""])[0]
        if action == "approve":
            target = self.approve(link)
        elif action == "cancel":
            target = self.refuse(link, "The authentication was cancelled")
        elif action == "fail":
            target = self.refuse(link, "Invalid credentials: the provider refused the login")
        else:
            return 400, _page_html("Unknown action", "<p>Approve, cancel or fail.</p>"), {}
        if not target:
            return 200, _page_html("Done", "<p>You can close this window.</p>"), {}
        return 303, b"", {"Location": target}


# --- contract checks -------------------------------------------------------------------------
def _error(v2: bool, status: int, kind: str, detail: str) -> tuple[int, Any, dict[str, str]]:
    body = {"status": status, "type": f"{'api' if v2 else 'errors'}/{kind}", "title": detail}
    body["detail"] = detail
    if v2:
        body = {"object": "Error", **body, "req_id": "req_" + secrets.token_hex(4)}
    return status, body, {}


def _json_body(r: Request) -> Any:
    if not r.headers.get("content-type", "").startswith("application/json"):
        raise Refused(415, "unsupported_media_type", "application/json expected")
    try:
        return json.loads(r.body)
    except ValueError:
        raise Refused(400, "malformed_request", "body is not JSON") from None


def _json_object(r: Request, v2: bool) -> dict[str, Any]:
    body = _json_body(r)
    if not isinstance(body, dict):
        raise Refused(400, "invalid_parameters", "body must be an object")
    return body


def _v1_webhook(body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - V1_WEBHOOK_FIELDS
    if unknown:
        raise Refused(400, "invalid_parameters", f"unknown fields {sorted(unknown)}")
    source = body.get("source")
    if not isinstance(body.get("request_url"), str) or source not in V1_EVENTS:
        raise Refused(400, "invalid_parameters", "request_url and a valid source are required")
    events = body.get("events")
    if events is None:
        events = sorted(V1_DEFAULT_EVENTS.get(source, V1_EVENTS[source]))
    if not isinstance(events, list) or not set(events) <= V1_EVENTS[source]:
        raise Refused(
            400, "invalid_parameters", f"events must be among {sorted(V1_EVENTS[source])}"
        )
    accounts = body.get("account_ids", [])
    if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
        raise Refused(400, "invalid_parameters", "account_ids must be strings")
    headers = body.get("headers", [])
    if not isinstance(headers, list) or not all(
        isinstance(h, dict) and set(h) == {"key", "value"} for h in headers
    ):
        raise Refused(400, "invalid_parameters", "headers must be {key, value} objects")
    if body.get("format", "json") not in ("json", "form"):
        raise Refused(400, "invalid_parameters", "format must be json or form")
    return {**body, "events": events, "account_ids": accounts, "headers": headers}


def _v1_provider(link: dict[str, Any]) -> str:
    providers = link.get("providers")
    return providers[0] if isinstance(providers, list) and providers else "LINKEDIN"


def _v1_hosted_link(body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - V1_HOSTED_FIELDS
    if unknown:
        raise Refused(400, "invalid_parameters", f"unknown fields {sorted(unknown)}")
    missing = [k for k in ("type", "providers", "api_url", "expiresOn") if not body.get(k)]
    if missing:
        raise Refused(400, "missing_parameters", f"missing {missing}")
    if body["type"] not in ("create", "reconnect"):
        raise Refused(400, "invalid_parameters", "type must be create or reconnect")
    if body["type"] == "reconnect" and not body.get("reconnect_account"):
        raise Refused(400, "missing_parameters", "reconnect_account is required to reconnect")
    if not ISO_MS.match(str(body["expiresOn"])):
        raise Refused(400, "invalid_parameters", "expiresOn must be YYYY-MM-DDTHH:MM:SS.sssZ")
    providers = body["providers"]
    if providers != "*" and not (
        isinstance(providers, list) and providers and set(providers) <= V1_PROVIDERS
    ):
        raise Refused(400, "invalid_parameters", "providers")
    return body


def _v2_fields(body: Any, allowed: set[str], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Refused(400, "invalid_parameters", "body must be object")
    unknown = set(body) - allowed
    if unknown:
        raise Refused(
            400, "invalid_parameters", f"body must NOT have additional properties {sorted(unknown)}"
        )
    missing = [k for k in required if k not in body]
    if missing:
        raise Refused(400, "invalid_parameters", f"body must have required properties {missing}")
    return body


def _v2_files(value: Any) -> list[tuple[str, str, bytes]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused(400, "invalid_parameters", "body/attachments must be array")
    files = []
    for item in value:
        if not isinstance(item, dict) or set(item) - V2_FILE_FIELDS:
            raise Refused(400, "invalid_parameters", "body/attachments items are MessageFile")
        if not all(isinstance(item.get(k), str) for k in ("content", "content_type", "filename")):
            raise Refused(
                400, "invalid_parameters", "MessageFile needs content, content_type, filename"
            )
        try:
            data = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError):
            raise Refused(400, "invalid_parameters", "content must be base64") from None
        files.append((item["filename"], item["content_type"], data))
    return files


def _v2_endpoint(body: dict[str, Any]) -> dict[str, Any]:
    body = _v2_fields(body, V2_ENDPOINT_FIELDS, required=("url", "trigger_events"))
    events = body["trigger_events"]
    if not isinstance(body["url"], str) or not body["url"].startswith(("http://", "https://")):
        raise Refused(400, "invalid_parameters", "body/url must be a URL")
    if not isinstance(events, list) or not events or not set(events) <= V2_TRIGGER_EVENTS:
        raise Refused(400, "invalid_parameters", "body/trigger_events must be allowed values")
    accounts = body.get("account_ids", [])
    if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
        raise Refused(400, "invalid_parameters", "body/account_ids must be strings")
    return {
        "url": body["url"],
        "trigger_events": list(events),
        "account_ids": accounts,
        "description": str(body.get("description") or ""),
    }


def _v2_provider(link: dict[str, Any]) -> str:
    providers = link.get("providers")
    first = providers[0] if isinstance(providers, list) and providers else providers
    return str(first or "linkedin").lower()


def _v2_auth_link(body: dict[str, Any]) -> dict[str, Any]:
    body = _v2_fields(body, V2_AUTH_LINK_FIELDS, required=("expires_on", "redirect_uri"))
    if not body.get("account_id") and not body.get("providers"):
        raise Refused(400, "invalid_parameters", "providers is required to link a new account")
    if not ISO_MS.match(str(body["expires_on"])):
        raise Refused(400, "invalid_parameters", "expires_on must be YYYY-MM-DDTHH:MM:SS.sssZ")
    redirect = body["redirect_uri"]
    if not isinstance(redirect, str) or not redirect.startswith(("http://", "https://")):
        raise Refused(400, "invalid_parameters", "redirect_uri must be a URL")
    if "state" in body and not isinstance(body["state"], str):
        raise Refused(400, "invalid_parameters", "state must be string")
    return body


def _v2_account(account_id: str, account: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "Account",
        "id": account_id,
        "user_id": account.get("user_id", ""),
        "name": account.get("name", ""),
        "created_at": account.get("created_at") or _ts(0),
        "application_id": "app_test",
        "status": account.get("status", "running"),
        "provider": account.get("provider", "linkedin"),
    }


def _v2_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """A stored (v1-shaped) LinkedIn profile as v2's ``GetUserProfile200Response``."""
    found = {
        "id": profile.get("provider_id", ""),
        "object": "User",
        "type": "individual",
        "public_identifier": profile.get("public_identifier"),
        "display_name": " ".join(
            p for p in (profile.get("first_name"), profile.get("last_name")) if p
        ),
        "first_name": profile.get("first_name"),
        "last_name": profile.get("last_name"),
        "description": profile.get("headline"),
        "location": profile.get("location"),
        "public_picture_url": profile.get("profile_picture_url"),
        "is_blocked": False,
        "provider": "linkedin",
        "specifics": {},
    }
    if profile.get("public_identifier"):
        found["profile_url"] = f"https://www.linkedin.com/in/{profile['public_identifier']}/"
    return {k: v for k, v in found.items() if v is not None}


def v2_signature(secret: str, raw: bytes, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={at},v0={digest}"


def _page_v2(items: list, query: dict[str, str]) -> dict[str, Any]:
    page = _page("List", items, query)
    return {"object": "List", "data": page["items"], "next_cursor": page["cursor"]}


def _page(obj: str, items: list, query: dict[str, str]) -> dict[str, Any]:
    limit = max(1, min(int(query.get("limit") or 100), 250))
    offset = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if query.get("cursor") else 0
    chunk = items[offset : offset + limit]
    more = offset + limit < len(items)
    cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
    return {"object": obj, "items": chunk, "cursor": cursor}


# --- the wizard's pages --------------------------------------------------------------------------
WIZARD_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;background:#f3f4f8;margin:0;color:#1d2230}
main{max-width:26rem;margin:4rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 2px 12px #0001}h1{font-size:1.3rem;margin:0 0 .5rem}.muted{color:#667}
.qr{width:10rem;height:10rem;margin:1rem auto;background:repeating-conic-gradient(#111 0 25%,#fff 0 50%) 0 0/1.25rem 1.25rem;border:.6rem solid #fff;outline:1px solid #ccd}
form{display:flex;flex-direction:column;gap:.6rem;margin-top:1.2rem}button{font:inherit;padding:.6rem;border-radius:8px;border:1px solid #ccd;background:#fff;cursor:pointer}
button.primary{background:#3b5bdb;color:#fff;border-color:#3b5bdb}label{display:flex;flex-direction:column;font-size:.9rem}
input{font:inherit;padding:.4rem;border:1px solid #ccd;border-radius:6px}
"""


def _page_html(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><link rel=icon href=data:,>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}"
        f"</title><style>{WIZARD_STYLE}</style></head><body><main><p class=muted>Unipile "
        f"(local stand-in)</p><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def _wizard(link: dict[str, Any]) -> str:
    provider = (_v2_provider(link) if link["version"] == "v2" else _v1_provider(link)).lower()
    reconnecting = link.get("type") == "reconnect" or bool(link.get("account_id"))
    if provider == "whatsapp":
        title = "Reconnect WhatsApp" if reconnecting else "Connect WhatsApp"
        ask = (
            "<p>Open WhatsApp on your phone, go to <b>Linked devices</b> and scan this code.</p>"
            '<div class=qr role=img aria-label="QR code"></div>'
        )
        approve = "I scanned the code"
    else:
        title = "Reconnect LinkedIn" if reconnecting else "Connect LinkedIn"
        ask = (
            "<p>Sign in to LinkedIn. Unipile keeps the session so your app can read and send "
            "your messages.</p><label>Email<input name=email value=me@example.com></label>"
            "<label>Password<input name=password type=password value=secret></label>"
        )
        approve = "Sign in and connect"
    form = (
        f'<form method=post action="/hosted/{html.escape(link["token"])}">{ask}'
        f"<button class=primary name=action value=approve id=approve>{approve}</button>"
        "<button name=action value=cancel id=cancel>Cancel</button>"
        "<button name=action value=fail id=fail>Simulate a refused login</button></form>"
    )
    return _page_html(title, form)


def main() -> None:  # pragma: no cover - a manual helper
    import argparse

    parser = argparse.ArgumentParser(description="Serve the Unipile stand-in.")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    peer = UnipilePeer(port=args.port)
    print(f"Unipile stand-in on {peer.dsn} (API key {API_KEY})", flush=True)
    threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
