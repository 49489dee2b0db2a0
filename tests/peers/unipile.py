"""A real HTTP server standing in for Unipile's API, v1 (``{dsn}/api/v1/...``) and v2
(``{base}/v2/...``), over the same accounts, chats and messages.

v1 follows the documented contract: the ``X-API-KEY`` header (401 with
``{"status", "type": "errors/...", "title", "detail"}`` otherwise); ``GET /chats`` and
``GET /chats/{id}/messages`` newest first with ``cursor``/``limit``/``after`` and a
``cursor`` in the answer; ``GET /chats/{id}/attendees``; ``GET /users/{id}`` (profiles); ``GET
/messages/{id}/attachments/{id}`` (bytes); ``POST /chats/{id}/messages`` and ``POST
/chats`` as multipart/form-data (201 ``MessageSent`` / ``ChatStarted``); ``GET/POST
/webhooks``; ``POST /hosted/accounts/link`` (201 ``HostedAuthURL``). Webhooks carry the
headers registered with them (Frontdesk's secret header).

v2, as documented (and where the documentation is silent, as marked "not documented"):

- Base URL ``https://api.unipile.com/v2``, ``X-API-KEY`` header, errors are RFC 7807
  ``{"object": "Error", "type": "api/...", "status", "title", "detail", "req_id"}``, a 429
  carries ``retry-after`` seconds, lists are paginated with ``next_cursor``
  (https://developer.unipile.com/v2.0/reference/api-usage, /v2.0/reference/error-responses,
  /v2.0/reference/rate-limit). The list key ``items`` is not documented (v1's is used).
- Account-scoped paths, messages under their chat
  (https://developer.unipile.com/v2.0/docs/migration-messaging-api): ``GET
  /v2/{account_id}/chats``, ``GET /v2/{account_id}/chats/{chat_id}``, ``GET
  /v2/{account_id}/chats/{chat_id}/messages`` (also in /v2.0/docs/linkedin-retrieve-chats-
  messages), ``POST /v2/{account_id}/chats/send`` (JSON only, ``users_ids``), ``POST
  /v2/{account_id}/chats/{chat_id}/messages`` (multipart: not documented for v2, v1's),
  ``GET /v2/{account_id}/chats/{chat_id}/messages/{message_id}/attachments/{id}`` (path by
  the "messages under /chats/:chat_id/" rule), ``GET /v2/{account_id}/users/{id}``, ``GET
  /v2/accounts/{id}``.
- Hosted auth (https://developer.unipile.com/v2.0/docs/authenticate-with-hosted-auth):
  ``POST /v2/auth/link`` with ``providers``, ``expires_on``, ``redirect_uri`` answers the
  wizard's ``link``; the user comes back to ``redirect_uri`` (the ``account_id`` query
  parameter there is not documented in the stored copy).
- Webhook endpoints (https://developer.unipile.com/v2.0/docs/migration-webhooks): ``GET/POST
  /v2/webhooks/endpoints``; one endpoint gets every event of the application's accounts.
  Its signing ``secret`` in the creation answer is not documented in the stored copy.
- Events (https://developer.unipile.com/v2.0/reference/event-types-1): the body is ``{id,
  created_at, account_id, type, payload}``; ``message.new`` carries the Message object
  (https://developer.unipile.com/docs/message-payload), ``message.read`` the ids only,
  ``account.status.running|disconnected|errored|paused`` a ``timestamp``. Each delivery is
  signed: ``Unipile-Signature: t=<unix>,v0=<hex HMAC-SHA256 of "<t>.<body>">`` (the
  scheme public v2 integrations verify; the stored copy of "Secure your webhook endpoint"
  in /v2.0/docs/configure-a-webhook stops before it).

``fail_next`` scripts error answers (either version); everything received is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.peers.local_server import root_of, start_server, stop_server

API_KEY = "unipile-test-key"


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
        if filename is not None:
            files.append((filename, part.get_content_type(), data))
        elif name:
            form[str(name)] = data.decode()
    return form, files


def _ts(minutes_ago: float) -> str:
    from datetime import UTC, datetime, timedelta

    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class UnipilePeer:
    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[Request] = []
        self.chats: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # chat id -> messages
        self.attendees: dict[str, list[dict[str, Any]]] = {}
        self.attachments: dict[tuple[str, str], bytes] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.profiles: dict[str, dict[str, Any]] = {}  # provider id -> LinkedIn profile
        self.hosted_links: list[dict[str, Any]] = []
        self.endpoints: list[dict[str, Any]] = []  # v2 webhook endpoints (with their secret)
        self.accounts: set[str] = set()  # v2 accounts linked through the wizard
        self.failures: list[tuple[str, int, dict[str, Any], dict[str, str]]] = []
        self.on_request = None  # a hook run before answering (used to race webhooks)
        self.before_answer = None  # a hook run with (request, status, payload) once routed
        self.redirect_attachments_to: str | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                peer._handle(self, "GET")

            def do_POST(self) -> None:
                peer._handle(self, "POST")

        self.server = start_server(Handler)

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

    def add_chat(
        self,
        account_id: str,
        owner: dict[str, str],
        other: dict[str, str],
        minutes_ago: float = 10,
        chat_id: str | None = None,
    ) -> str:
        chat_id = chat_id or self.new_id("chat")
        self.chats[chat_id] = {
            "object": "Chat",
            "id": chat_id,
            "account_id": account_id,
            "account_type": "LINKEDIN",
            "provider_id": "prov-" + chat_id,
            "attendee_provider_id": other["provider_id"],
            "name": other.get("name"),
            "type": 0,
            "timestamp": _ts(minutes_ago),
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
    ) -> dict[str, Any]:
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
            "seen": 0,
            "hidden": 0,
            "deleted": 0,
        }
        self.messages[chat_id].append(message)
        if message["timestamp"] > chat["timestamp"]:
            chat["timestamp"] = message["timestamp"]
        return message

    def webhook_event(
        self, message: dict[str, Any], owner_id: str, account_type: str = "LINKEDIN"
    ) -> dict[str, Any]:
        """The documented ``message_received`` webhook body for a stored message."""
        chat_id = message["chat_id"]
        people = {a["provider_id"]: a for a in self.attendees[chat_id]}
        sender = people.get(message["sender_id"], {"provider_id": message["sender_id"]})

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
        """POST an event to every webhook registered for ``source`` and its account, as
        Unipile does: the registered headers (``secret`` replaces the secret header's value)."""
        import httpx

        account_id = body.get("account_id") or body.get("AccountStatus", {}).get("account_id")
        answers = []
        for hook in self.deliveries(source):
            if hook.get("account_ids") and account_id not in hook["account_ids"]:
                continue
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

    def complete_hosted(
        self, link: dict[str, Any], account_id: str, status: str = "CREATION_SUCCESS"
    ):
        """The user finished the wizard: Unipile calls the link's ``notify_url``."""
        import httpx

        body = {"status": status, "account_id": account_id, "name": link.get("name")}
        return httpx.post(link["notify_url"], json=body, timeout=10)

    # --- v2 events --------------------------------------------------------------------
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
        """``message.new`` for a stored message: the Message object as its payload (no
        attendees in v2)."""
        return self.v2_event("message.new", message["account_id"], dict(message))

    def deliver_v2(
        self, event: dict[str, Any], secret: str | None = None, at: int | None = None
    ) -> list:
        """POST an event to every v2 endpoint, signed with the endpoint's secret (``secret``
        signs with another one, ``at`` pretends another time: a forged or replayed event)."""
        import httpx

        raw = json.dumps(event).encode()
        answers = []
        for endpoint in self.endpoints:
            headers = {
                "Content-Type": "application/json",
                "Unipile-Signature": v2_signature(secret or endpoint["secret"], raw, at),
            }
            answers.append(httpx.post(endpoint["url"], content=raw, headers=headers, timeout=10))
        return answers

    def redirect_back(self, link: dict[str, Any], account_id: str) -> str:
        """The user finished the v2 wizard: where Unipile sends their browser back."""
        self.accounts.add(account_id)
        separator = "&" if "?" in link["redirect_uri"] else "?"
        return f"{link['redirect_uri']}{separator}account_id={account_id}"

    def deliveries(self, source: str) -> list[dict[str, Any]]:
        """The webhooks registered for ``source``: where and with which headers to post."""
        return [w for w in self.webhooks if w["source"] == source]

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
        status, payload, headers = self._route(request)
        if self.before_answer:
            self.before_answer(request, status, payload)
        if isinstance(payload, bytes | bytearray):
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
        key = r.headers.get("x-api-key")
        if not key:
            return 401, _err(401, "errors/missing_credentials", "Missing API key"), {}
        if key != self.api_key:
            return 401, _err(401, "errors/invalid_credentials", "Invalid API key"), {}
        for i, (prefix, status, body, headers) in enumerate(self.failures):
            if r.path.startswith(prefix):
                del self.failures[i]
                return status, body, dict(headers)
        if r.path.startswith("/v2/"):
            return self._route_v2(r)
        if not r.path.startswith("/api/v1/"):
            return 404, _err(404, "errors/resource_not_found", "Not found"), {}
        segs = [unquote(s) for s in r.path[len("/api/v1/") :].strip("/").split("/")]
        if r.method == "GET" and segs == ["chats"]:
            chats = [
                c
                for c in self.chats.values()
                if c["account_id"] == r.query.get("account_id")
                and (not r.query.get("after") or c["timestamp"] > r.query["after"])
            ]
            chats.sort(key=lambda c: c["timestamp"], reverse=True)
            return 200, _page("ChatList", chats, r.query), {}
        if len(segs) == 3 and segs[0] == "chats" and segs[2] == "messages":
            chat_id = segs[1]
            if chat_id not in self.chats:
                return 404, _err(404, "errors/resource_not_found", "Chat not found"), {}
            if r.method == "GET":
                items = [
                    m
                    for m in self.messages[chat_id]
                    if not r.query.get("after") or m["timestamp"] > r.query["after"]
                ]
                items.sort(key=lambda m: m["timestamp"], reverse=True)
                return 200, _page("MessageList", items, r.query), {}
            return self._send(r, chat_id)
        if r.method == "GET" and len(segs) == 3 and segs[0] == "chats" and segs[2] == "attendees":
            if segs[1] not in self.chats:
                return 404, _err(404, "errors/resource_not_found", "Chat not found"), {}
            return 200, {"object": "ChatAttendeeList", "items": self.attendees[segs[1]]}, {}
        if (
            r.method == "GET"
            and len(segs) == 4
            and segs[0] == "messages"
            and segs[2] == "attachments"
        ):
            if self.redirect_attachments_to:
                return 302, b"", {"Location": self.redirect_attachments_to}
            data = self.attachments.get((segs[1], segs[3]))
            if data is None:
                return 404, _err(404, "errors/resource_not_found", "Attachment not found"), {}
            return 200, data, {}
        if r.method == "POST" and segs == ["chats"]:
            return self._start_chat(r)
        if r.method == "GET" and len(segs) == 2 and segs[0] == "users":
            if not r.query.get("account_id"):
                return 400, _err(400, "errors/invalid_parameters", "account_id is required"), {}
            profile = self.profiles.get(segs[1])
            if profile is None:
                return 404, _err(404, "errors/resource_not_found", "User not found"), {}
            return 200, {"object": "UserProfile", "provider": "LINKEDIN", **profile}, {}
        if segs == ["webhooks"]:
            if r.method == "GET":
                return 200, {"object": "WebhookList", "items": self.webhooks, "cursor": None}, {}
            body = r.json
            if not isinstance(body, dict) or not body.get("request_url"):
                return 400, _err(400, "errors/invalid_parameters", "request_url is required"), {}
            hook = {"id": self.new_id("wh"), "enabled": True, **body}
            self.webhooks.append(hook)
            return 201, {"object": "WebhookCreated", "webhook_id": hook["id"]}, {}
        if r.method == "POST" and segs == ["hosted", "accounts", "link"]:
            body = r.json
            missing = [k for k in ("type", "providers", "api_url", "expiresOn") if not body.get(k)]
            if missing:
                return 400, _err(400, "errors/invalid_parameters", f"missing {missing}"), {}
            token = self.new_id("hosted")
            self.hosted_links.append({"token": token, **body})
            return 201, {"object": "HostedAuthURL", "url": f"{self.dsn}/hosted/{token}"}, {}
        return 404, _err(404, "errors/resource_not_found", "Not found"), {}

    def _route_v2(self, r: Request) -> tuple[int, Any, dict[str, str]]:
        def err(status: int, kind: str, detail: str):
            return status, {"object": "Error", **_err(status, kind, detail), "req_id": "req"}, {}

        segs = [unquote(s) for s in r.path[len("/v2/") :].strip("/").split("/")]
        if segs[:2] == ["webhooks", "endpoints"] and len(segs) == 2:
            if r.method == "GET":
                listed = [{k: v for k, v in e.items() if k != "secret"} for e in self.endpoints]
                return (
                    200,
                    {"object": "WebhookEndpointList", "items": listed, "next_cursor": None},
                    {},
                )
            body = r.json
            if not isinstance(body, dict) or not body.get("url"):
                return err(400, "api/invalid_parameters", "url is required")
            endpoint = {
                "object": "WebhookEndpoint",
                "id": self.new_id("whe_"),
                "url": body["url"],
                "events": body.get("events") or ["*"],
                "secret": "whsec_" + secrets.token_urlsafe(24),
            }
            self.endpoints.append(endpoint)
            return 201, endpoint, {}
        if r.method == "POST" and segs == ["auth", "link"]:
            body = r.json
            missing = [k for k in ("providers", "expires_on", "redirect_uri") if not body.get(k)]
            if missing:
                return err(400, "api/invalid_parameters", f"missing {missing}")
            token = self.new_id("hosted")
            self.hosted_links.append({"token": token, **body})
            return 201, {"object": "AuthLink", "link": f"{self.dsn}/hosted/{token}"}, {}
        if r.method == "GET" and len(segs) == 2 and segs[0] == "accounts":
            if segs[1] not in self.accounts:
                return err(404, "api/resource_not_found", "Account not found")
            return 200, {"object": "Account", "id": segs[1], "status": "running"}, {}
        if len(segs) < 2:
            return err(404, "api/resource_not_found", "Not found")
        account_id, rest = segs[0], segs[1:]
        if r.method == "GET" and rest == ["chats"]:
            chats = [c for c in self.chats.values() if c["account_id"] == account_id]
            chats.sort(key=lambda c: c["timestamp"], reverse=True)
            return 200, _page_v2("ChatList", chats, r.query), {}
        if r.method == "POST" and rest == ["chats", "send"]:
            return self._start_chat_v2(r, account_id)
        if r.method == "GET" and len(rest) == 2 and rest[0] == "users":
            profile = self.profiles.get(rest[1])
            if profile is None:
                return err(404, "api/resource_not_found", "User not found")
            return 200, {"object": "UserProfile", "provider": "LINKEDIN", **profile}, {}
        if len(rest) < 2 or rest[0] != "chats":
            return err(404, "api/resource_not_found", "Not found")
        chat = self.chats.get(rest[1])
        if chat is None or chat["account_id"] != account_id:
            return err(404, "api/resource_not_found", "Chat not found")
        if r.method == "GET" and len(rest) == 2:
            return 200, chat, {}
        if rest[2:] == ["messages"]:
            if r.method == "GET":
                items = sorted(self.messages[rest[1]], key=lambda m: m["timestamp"], reverse=True)
                return 200, _page_v2("MessageList", items, r.query), {}
            parsed = self._multipart(r)
            if parsed is None:
                return err(415, "api/unsupported_media_type", "multipart expected")
            form, files = parsed
            if "account_id" in form:
                return err(400, "api/invalid_parameters", "account_id belongs in the path")
            if not form.get("text") and not files:
                return err(400, "api/invalid_parameters", "text or attachments")
            owner = next(a for a in self.attendees[rest[1]] if a.get("is_self"))
            message = self.add_message(
                rest[1], owner["provider_id"], form.get("text", ""), minutes_ago=0, is_sender=True
            )
            return 201, {"object": "MessageSent", "message_id": message["id"]}, {}
        if (
            r.method == "GET"
            and len(rest) == 6
            and rest[2] == "messages"
            and rest[4] == "attachments"
        ):
            if self.redirect_attachments_to:
                return 302, b"", {"Location": self.redirect_attachments_to}
            data = self.attachments.get((rest[3], rest[5]))
            if data is None:
                return err(404, "api/resource_not_found", "Attachment not found")
            return 200, data, {}
        return err(404, "api/resource_not_found", "Not found")

    def _start_chat_v2(self, r: Request, account_id: str) -> tuple[int, Any, dict[str, str]]:
        if not r.headers.get("content-type", "").startswith("application/json"):
            body = _err(415, "api/unsupported_media_type", "application/json only")
            return 415, {"object": "Error", **body}, {}
        body = r.json
        users = body.get("users_ids") if isinstance(body, dict) else None
        if not isinstance(users, list) or not users:
            return 400, {"object": "Error", **_err(400, "api/invalid_parameters", "users_ids")}, {}
        owner = {"provider_id": f"owner-of-{account_id}", "name": "Me"}
        for chat in self.chats.values():
            if chat["account_id"] == account_id:
                owner = next(
                    {"provider_id": a["provider_id"], "name": a["name"]}
                    for a in self.attendees[chat["id"]]
                    if a.get("is_self")
                )
                break
        chat_id = self.add_chat(account_id, owner, {"provider_id": users[0], "name": ""}, 0)
        message = self.add_message(
            chat_id, owner["provider_id"], body.get("text", ""), minutes_ago=0, is_sender=True
        )
        return 201, {"object": "ChatStarted", "chat_id": chat_id, "message_id": message["id"]}, {}

    def _multipart(self, r: Request) -> tuple[dict[str, str], list] | None:
        content_type = r.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return None
        try:
            form, files = parse_multipart(content_type, r.body)
        except ValueError:
            return None
        r.form, r.files = form, files
        return form, files

    def _send(self, r: Request, chat_id: str) -> tuple[int, Any, dict[str, str]]:
        parsed = self._multipart(r)
        if parsed is None:
            return 415, _err(415, "errors/unsupported_media_type", "multipart expected"), {}
        form, files = parsed
        if not form.get("text") and not files:
            return 400, _err(400, "errors/invalid_parameters", "text or attachments"), {}
        chat = self.chats[chat_id]
        if form.get("account_id") and form["account_id"] != chat["account_id"]:
            return 403, _err(403, "errors/account_mismatch", "Chat is not in this account"), {}
        owner = next(a for a in self.attendees[chat_id] if a.get("is_self"))
        message = self.add_message(
            chat_id, owner["provider_id"], form.get("text", ""), minutes_ago=0, is_sender=True
        )
        return 201, {"object": "MessageSent", "message_id": message["id"]}, {}

    def _start_chat(self, r: Request) -> tuple[int, Any, dict[str, str]]:
        parsed = self._multipart(r)
        if parsed is None:
            return 415, _err(415, "errors/unsupported_media_type", "multipart expected"), {}
        form, _files = parsed
        if not form.get("account_id") or not form.get("attendees_ids"):
            return 400, _err(400, "errors/invalid_parameters", "account_id, attendees_ids"), {}
        owner = {"provider_id": f"owner-of-{form['account_id']}", "name": "Me"}
        other = {"provider_id": form["attendees_ids"], "name": ""}
        for chat in self.chats.values():
            if chat["account_id"] == form["account_id"]:
                owner = next(
                    {"provider_id": a["provider_id"], "name": a["name"]}
                    for a in self.attendees[chat["id"]]
                    if a.get("is_self")
                )
                break
        chat_id = self.add_chat(form["account_id"], owner, other, minutes_ago=0)
        message = self.add_message(
            chat_id, owner["provider_id"], form.get("text", ""), minutes_ago=0, is_sender=True
        )
        return 201, {"object": "ChatStarted", "chat_id": chat_id, "message_id": message["id"]}, {}


def v2_signature(secret: str, raw: bytes, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={at},v0={digest}"


def _page_v2(obj: str, items: list, query: dict[str, str]) -> dict[str, Any]:
    page = _page(obj, items, query)
    return {"object": obj, "items": page["items"], "next_cursor": page["cursor"]}


def _err(status: int, kind: str, detail: str) -> dict[str, Any]:
    return {"status": status, "type": kind, "title": detail, "detail": detail}


def _page(obj: str, items: list, query: dict[str, str]) -> dict[str, Any]:
    limit = max(1, min(int(query.get("limit") or 100), 250))
    offset = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if query.get("cursor") else 0
    chunk = items[offset : offset + limit]
    more = offset + limit < len(items)
    cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
    return {"object": obj, "items": chunk, "cursor": cursor}
