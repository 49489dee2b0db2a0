"""A real HTTP server standing in for Meta's Graph API (WhatsApp Business Cloud API).

It follows the documented contract: ``/v21.0/{phone-number-id}/messages`` answers
``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]}``;
``/{phone-number-id}/media`` takes a multipart upload and answers ``{"id"}``; ``/{media-id}``
answers ``{"url", "mime_type", "sha256", "file_size", "id", "messaging_product"}`` and the
URL serves the bytes to the same bearer token; ``/{waba-id}/message_templates`` pages with
``paging.cursors.after``; ``/{phone-number-id}`` describes the number. Every call needs
``Authorization: Bearer <token>``; errors are
``{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}``.

``fail_next`` scripts errors for the next calls to ``/messages``: a Meta error code (e.g.
131047, 130429, 131026, 190), ``"500"`` for a server error, ``"hang"`` to time out or
``None`` to answer that call normally (``[None, 130429]`` fails only the second call).
``status()`` builds a status for a sent wamid as Meta does, echoing the message's
``biz_opaque_callback_data``.
``webhook()`` builds a delivery and ``deliver()`` signs it with ``X-Hub-Signature-256``
(HMAC-SHA256 of the raw body, keyed with the app secret) and POSTs it over real HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from frontdesk.ops.demo.peers.local_server import root_of, start_server, stop_server

VERSION = "v21.0"

ERRORS: dict[int, tuple[int, str, str, int | None]] = {
    # code: (HTTP status, message, type, subcode)
    190: (401, "Error validating access token: Session has expired.", "OAuthException", 463),
    100: (400, "(#100) Invalid parameter", "OAuthException", None),
    130429: (400, "(#130429) Rate limit hit", "OAuthException", None),
    131056: (
        400,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "OAuthException",
        None,
    ),
    131047: (400, "(#131047) Re-engagement message", "OAuthException", 2494010),
    131026: (400, "(#131026) Message undeliverable", "OAuthException", None),
    131051: (400, "(#131051) Unsupported message type", "OAuthException", None),
    132001: (
        404,
        "(#132001) Template name does not exist in the translation",
        "OAuthException",
        2494073,
    ),
    131000: (500, "(#131000) Something went wrong", "OAuthException", None),
}

DETAILS = {
    131047: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    131026: "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number.",
    130429: "Cloud API message throughput has been reached.",
}


def error_body(code: int) -> tuple[int, dict[str, Any]]:
    status, message, kind, subcode = ERRORS.get(
        code, (400, f"(#{code}) Error", "OAuthException", None)
    )
    err: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(8),
    }
    if subcode is not None:
        err["error_subcode"] = subcode
    if code in DETAILS:
        err["error_data"] = {"messaging_product": "whatsapp", "details": DETAILS[code]}
    return status, {"error": err}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Media:
    data: bytes
    mime_type: str
    sha256: str = ""
    file_size: int | None = None
    url: str | None = None  # override the download URL (e.g. a host that is not Meta's)
    failures: int = 0  # answer 500 this many times before serving the bytes


@dataclass
class GraphPeer:
    token: str = "EAAG-test-token"
    phone_number_id: str = "106540352242922"
    waba_id: str = "102290129340398"
    display_phone_number: str = "+1 555-010-0199"
    verified_name: str = "Acme Support"
    quality_rating: str = "GREEN"
    templates: list[dict[str, Any]] = field(default_factory=list)
    template_page_size: int = 2
    fail_next: list[Any] = field(default_factory=list)
    hang_seconds: float = 2.0
    calls: list[Call] = field(default_factory=list)
    # wamid -> the biz_opaque_callback_data it was sent with (echoed in its statuses)
    callback_data: dict[str, str] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    # Embedded Signup: the app's credentials and the single-use codes the popup hands out.
    app_id: str = "1234567890"
    app_secret: str = "meta-app-secret"
    codes: dict[str, str] = field(default_factory=dict)  # code -> access token it grants
    subscribed: list[str] = field(default_factory=list)  # WABA ids the app subscribed to
    registered: dict[str, str] = field(default_factory=dict)  # phone number id -> pin
    uploads: dict[str, tuple[str, str, bytes]] = field(
        default_factory=dict
    )  # id -> (name, type, data)
    # called with (message body, wamid) for each message accepted (the demo's clients)
    on_sent: Any = None

    def __post_init__(self) -> None:
        peer = self
        self._ids = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                peer._handle(self, "GET")

            def do_POST(self) -> None:
                peer._handle(self, "POST")

            def do_DELETE(self) -> None:
                peer._handle(self, "DELETE")

        self.server = start_server(Handler)

    # --- addresses -----------------------------------------------------------------------
    @property
    def root(self) -> str:
        return root_of(self.server)

    @property
    def url(self) -> str:
        """The Graph API root to configure as ``graph_url``."""
        return f"{self.root}/{VERSION}"

    def close(self) -> None:
        stop_server(self.server)

    def calls_to(self, suffix: str, method: str = "POST") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(suffix)]

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Messages POSTed to ``/messages`` that were accepted (read receipts left out)."""
        return [
            c.json
            for c in self.calls_to("/messages")
            if getattr(c, "accepted", False) and c.json.get("status") != "read"
        ]

    @property
    def read_receipts(self) -> list[str]:
        """The message ids marked read through ``/messages``."""
        return [
            c.json["message_id"]
            for c in self.calls_to("/messages")
            if getattr(c, "accepted", False) and c.json.get("status") == "read"
        ]

    def add_media(self, media_id: str, data: bytes, mime_type: str, **kw: Any) -> Media:
        item = Media(data=data, mime_type=mime_type, sha256=hashlib.sha256(data).hexdigest(), **kw)
        self.media[media_id] = item
        return item

    # --- the server ----------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        call = Call(
            method,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in h.headers.items()},
            body,
        )
        self.calls.append(call)
        if method == "GET" and parts.path == f"/{VERSION}/oauth/access_token":
            return self._exchange(h, call)
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(h, *error_body(190))
        if parts.path == "/whatsapp_business/attachments/":
            return self._download(h, call)
        prefix = f"/{VERSION}/"
        if not parts.path.startswith(prefix):
            return self._json(
                h,
                404,
                {
                    "error": {
                        "message": "Unknown path",
                        "type": "GraphMethodException",
                        "code": 100,
                        "fbtrace_id": "Anotfound",
                    }
                },
            )
        segments = parts.path[len(prefix) :].strip("/").split("/")
        if method == "POST" and segments == [self.phone_number_id, "messages"]:
            return self._messages(h, call)
        if method == "POST" and segments == [self.phone_number_id, "media"]:
            return self._upload(h, call)
        if method == "POST" and segments == [self.waba_id, "subscribed_apps"]:
            self.subscribed.append(self.waba_id)
            return self._json(h, 200, {"success": True})
        if method == "DELETE" and segments == [self.waba_id, "subscribed_apps"]:
            # "Unsubscribe your app from a WABA's webhooks": answers {"success": true}.
            self.subscribed = [w for w in self.subscribed if w != self.waba_id]
            return self._json(h, 200, {"success": True})
        if method == "POST" and segments == [self.phone_number_id, "register"]:
            body = json.loads(call.body or b"{}")
            pin = str(body.get("pin") or "")
            if body.get("messaging_product") != "whatsapp" or not (len(pin) == 6 and pin.isdigit()):
                return self._json(h, *error_body(100))
            self.registered[self.phone_number_id] = pin
            return self._json(h, 200, {"success": True})
        if method == "GET" and segments == [self.waba_id, "message_templates"]:
            return self._templates(h, call)
        if method == "GET" and segments == [self.phone_number_id]:
            return self._json(
                h,
                200,
                {
                    "display_phone_number": self.display_phone_number,
                    "verified_name": self.verified_name,
                    "quality_rating": self.quality_rating,
                    "id": self.phone_number_id,
                },
            )
        if method == "GET" and len(segments) == 1 and segments[0] in self.media:
            item = self.media[segments[0]]
            return self._json(
                h,
                200,
                {
                    "messaging_product": "whatsapp",
                    "url": item.url
                    or f"{self.root}/whatsapp_business/attachments/?mid={segments[0]}&ext=1&hash=x",
                    "mime_type": item.mime_type,
                    "sha256": item.sha256,
                    "file_size": item.file_size if item.file_size is not None else len(item.data),
                    "id": segments[0],
                },
            )
        status, err = error_body(100)
        err["error"]["message"] = (
            f"Unsupported {method} request. Object with ID '{segments[0]}' does not exist"
        )
        return self._json(h, status, err)

    def issue_code(self) -> str:
        """A code as Embedded Signup's popup returns it; exchanging it grants ``token``."""
        code = "AQ" + secrets.token_urlsafe(24)
        self.codes[code] = self.token
        return code

    def _exchange(self, h: BaseHTTPRequestHandler, call: Call) -> None:
        q = {k: v[0] for k, v in call.query.items()}
        if q.get("client_id") != self.app_id or q.get("client_secret") != self.app_secret:
            _, err = error_body(101)
            err["error"]["message"] = "Error validating application. Invalid application ID."
            return self._json(h, 400, err)
        token = self.codes.pop(q.get("code", ""), None)
        if token is None:
            _, err = error_body(100)
            err["error"]["message"] = "This authorization code has been used."
            err["error"]["error_subcode"] = 36009
            return self._json(h, 400, err)
        return self._json(h, 200, {"access_token": token, "token_type": "bearer"})

    def _messages(self, h: BaseHTTPRequestHandler, call: Call) -> None:
        try:
            body = json.loads(call.body)
        except ValueError:
            return self._json(h, *error_body(100))
        failure = self.fail_next.pop(0) if self.fail_next else None
        if failure is not None:
            if failure == "hang":
                time.sleep(self.hang_seconds)
                return self._json(h, 200, {})
            if failure == "500":
                return self._raw(h, 502, b"Bad Gateway", "text/html")
            return self._json(h, *error_body(int(failure)))
        if body.get("messaging_product") != "whatsapp" or (
            not body.get("to") and body.get("status") != "read"
        ):
            return self._json(h, *error_body(100))
        if body.get("status") == "read":
            call.accepted = True  # type: ignore[attr-defined]
            return self._json(h, 200, {"success": True})
        kind = body.get("type", "text")
        if kind not in body:
            return self._json(h, *error_body(100))
        call.accepted = True  # type: ignore[attr-defined]
        wamid = "wamid.HBgL" + secrets.token_hex(12).upper()
        message: dict[str, Any] = {"id": wamid}
        if body.get("biz_opaque_callback_data"):
            self.callback_data[wamid] = str(body["biz_opaque_callback_data"])
        if kind == "template":
            message["message_status"] = "accepted"
        if self.on_sent is not None:
            self.on_sent(body, wamid)
        return self._json(
            h,
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": str(body["to"]).lstrip("+")}],
                "messages": [message],
            },
        )

    def _upload(self, h: BaseHTTPRequestHandler, call: Call) -> None:
        ctype = call.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return self._json(h, *error_body(100))
        msg = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + call.body
        )
        fields: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = (
                part.get_filename(),
                part.get_content_type(),
                part.get_payload(decode=True),
            )
        if (
            "file" not in fields
            or fields.get("messaging_product", (None, None, b""))[2] != b"whatsapp"
        ):
            return self._json(h, *error_body(100))
        media_id = str(4490709327000000 + next(self._ids))
        self.uploads[media_id] = fields["file"]
        return self._json(h, 200, {"id": media_id})

    def _templates(self, h: BaseHTTPRequestHandler, call: Call) -> None:
        after = int((call.query.get("after") or ["0"])[0] or 0)
        limit = min(int((call.query.get("limit") or ["25"])[0]), self.template_page_size)
        page = self.templates[after : after + limit]
        body: dict[str, Any] = {
            "data": page,
            "paging": {"cursors": {"before": str(after), "after": str(after + len(page))}},
        }
        if after + len(page) < len(self.templates):
            body["paging"]["next"] = (
                f"{self.url}/{self.waba_id}/message_templates?limit={limit}&after={after + len(page)}"
            )
        return self._json(h, 200, body)

    def _download(self, h: BaseHTTPRequestHandler, call: Call) -> None:
        media_id = (call.query.get("mid") or [""])[0]
        item = self.media.get(media_id)
        if item is None:
            return self._raw(h, 404, b"not found", "text/plain")
        if item.failures > 0:
            item.failures -= 1
            return self._raw(h, 500, b"try again", "text/plain")
        return self._raw(h, 200, item.data, item.mime_type)

    def _json(self, h: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        self._raw(h, status, json.dumps(body).encode(), "application/json")

    def _raw(self, h: BaseHTTPRequestHandler, status: int, data: bytes, ctype: str) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # --- webhooks ------------------------------------------------------------------------
    def status(self, wamid: str, status: str, recipient_id: str = "") -> dict[str, Any]:
        """One entry of ``statuses`` for a message this peer accepted."""
        item: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": recipient_id,
        }
        if wamid in self.callback_data:
            item["biz_opaque_callback_data"] = self.callback_data[wamid]
        return item

    def webhook(
        self,
        messages: list[dict[str, Any]] | None = None,
        statuses: list[dict[str, Any]] | None = None,
        contacts: list[dict[str, Any]] | None = None,
        phone_number_id: str | None = None,
    ) -> dict[str, Any]:
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": self.display_phone_number.replace("+", "")
                .replace(" ", "")
                .replace("-", ""),
                "phone_number_id": phone_number_id or self.phone_number_id,
            },
        }
        if contacts is not None:
            value["contacts"] = contacts
        if messages is not None:
            value["messages"] = messages
        if statuses is not None:
            value["statuses"] = statuses
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": self.waba_id, "changes": [{"value": value, "field": "messages"}]}],
        }

    def deliver(
        self,
        url: str,
        payload: dict[str, Any] | bytes,
        app_secret: str,
        signature: str | None = None,
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        headers["X-Hub-Signature-256"] = (
            signature if signature is not None else sign(app_secret, body)
        )
        return httpx.post(url, content=body, headers=headers, timeout=10)
