"""A real HTTP server standing in for Unipile's v1 API (``{dsn}/api/v1/...``).

It follows the documented contract: the ``X-API-KEY`` header (401 with
``{"status", "type": "errors/...", "title", "detail"}`` otherwise); ``GET /chats`` and
``GET /chats/{id}/messages`` newest first with ``cursor``/``limit``/``after`` and a
``cursor`` in the answer; ``GET /chats/{id}/attendees``; ``GET /users/{id}`` (profiles); ``GET
/messages/{id}/attachments/{id}`` (bytes); ``POST /chats/{id}/messages`` and ``POST
/chats`` as multipart/form-data (201 ``MessageSent`` / ``ChatStarted``); ``GET/POST
/webhooks``; ``POST /hosted/accounts/link`` (201 ``HostedAuthURL``). ``fail_next`` scripts
error answers; everything received is recorded.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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
        self.failures: list[tuple[str, int, dict[str, Any], dict[str, str]]] = []
        self.on_request = None  # a hook run before answering (used to race webhooks)
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    # --- set-up helpers ----------------------------------------------------------------
    @property
    def dsn(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

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


def _err(status: int, kind: str, detail: str) -> dict[str, Any]:
    return {"status": status, "type": kind, "title": detail, "detail": detail}


def _page(obj: str, items: list, query: dict[str, str]) -> dict[str, Any]:
    limit = max(1, min(int(query.get("limit") or 100), 250))
    offset = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if query.get("cursor") else 0
    chunk = items[offset : offset + limit]
    more = offset + limit < len(items)
    cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
    return {"object": obj, "items": chunk, "cursor": cursor}
