"""A local OAuth 2.0 authorization server standing in for Google/Microsoft/Zoho.

``/authorize`` answers like a consent page the user accepted: a redirect back to
``redirect_uri`` with ``code`` and the same ``state``. With ``consent_page`` set it shows a
consent page instead (as Google, Microsoft and Zoho do): "Allow" sends the browser back
with a code, "Cancel" with ``error=access_denied`` (RFC 6749 §4.1.2.1); ``fail_with`` makes
"Allow" come back with that error code instead (e.g. ``server_error``). The user who
consents is the ``login_hint`` if one was given, else ``login_user``. ``/token`` follows RFC 6749 + PKCE
(RFC 7636, S256): ``authorization_code`` (checks the verifier and the redirect URI) and
``refresh_token``; a revoked refresh token gets ``400 invalid_grant``. ``/revoke`` (Google's form) and
``/oauth/v2/token/revoke?token=`` (Zoho's) revoke a token and record it. ``/introspect``
(RFC 7662) lets Dovecot's oauth2 passdb check the bearer tokens IMAP clients present.
With ``rotate`` set, a refresh also returns a new refresh token and the old one stops
working at once (rotation with reuse refused, as OAuth 2.1 recommends).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlparse

from tests.peers.local_server import root_of, start_server, stop_server

CONSENT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Sign in</title></head>
<body><h1>Sign in</h1><p id="consent-user">{user}</p>
<p>Frontdesk wants to read, send and manage your mail ({scope}).</p>
<form method="post" action="/authorize/decide"><input type="hidden" name="ticket" value="{ticket}">
<button name="decision" value="cancel" id="consent-cancel">Cancel</button>
<button name="decision" value="allow" id="consent-allow">Allow</button></form></body></html>"""


@dataclass
class OAuthServer:
    expires_in: int = 3600
    client_id: str = "test-client"
    client_secret: str = "test-secret"
    codes: dict[str, dict] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    login_user: str = "someone@example.test"  # who "consents" on /authorize
    rotate: bool = False
    consent_page: bool = False
    fail_with: str = ""
    consents: dict[str, dict] = field(default_factory=dict)  # open consent pages
    revocations: list[tuple[str, str]] = field(default_factory=list)  # (path, token) asked

    def __post_init__(self) -> None:
        peer = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path != "/authorize":
                    return self._json(404, {"error": "not_found"})
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if q.get("client_id") != peer.client_id or q.get("code_challenge_method") != "S256":
                    return self._json(400, {"error": "invalid_request"})
                if not peer.consent_page:
                    return self._back(peer._grant(q))
                ticket = secrets.token_urlsafe(12)
                peer.consents[ticket] = q
                user = html.escape(q.get("login_hint") or peer.login_user)
                page = CONSENT_PAGE.format(ticket=ticket, user=user, scope=html.escape(q["scope"]))
                data = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _back(self, target: str) -> None:
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                path = urlparse(self.path).path
                if path == "/authorize/decide":
                    q = peer.consents.pop(form.get("ticket", ""), None)
                    if q is None:
                        return self._json(400, {"error": "invalid_request"})
                    if form.get("decision") != "allow":
                        return self._back(peer._refusal(q, "access_denied", "The user cancelled"))
                    if peer.fail_with:
                        return self._back(peer._refusal(q, peer.fail_with, "Try again later"))
                    return self._back(peer._grant(q))
                if path == "/token":
                    peer.token_requests.append(form)
                    status, body = peer._token(form)
                    return self._json(status, body)
                if path in ("/revoke", "/oauth/v2/token/revoke"):
                    # Google: POST /revoke with the token form-encoded; Zoho: POST
                    # /oauth/v2/token/revoke?token=... Both: 200, or 400 for a token unknown.
                    query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                    token = (query if path != "/revoke" else form).get("token", "")
                    peer.revocations.append((path, token))
                    if not peer.revoke_token(token):
                        return self._json(400, {"error": "invalid_token"})
                    return self._json(200, {"status": "success"} if path != "/revoke" else {})
                if path == "/introspect":
                    return self._json(200, peer._introspect(form.get("token", "")))
                return self._json(404, {"error": "not_found"})

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = start_server(Handler)

    @property
    def url(self) -> str:
        return root_of(self.server)

    def _grant(self, q: dict[str, str]) -> str:
        """Where the browser goes once the user allowed: back with a new code."""
        code = secrets.token_urlsafe(16)
        with self._lock:
            self.codes[code] = {
                "challenge": q.get("code_challenge", ""),
                "redirect_uri": q.get("redirect_uri", ""),
                "user": (q.get("login_hint") if self.consent_page else "") or self.login_user,
            }
        return q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})

    def _refusal(self, q: dict[str, str], error: str, description: str) -> str:
        params = {"error": error, "error_description": description, "state": q.get("state", "")}
        return q["redirect_uri"] + "?" + urlencode(params)

    def issue(self, user: str) -> str:
        """A refresh token for ``user``, as if they had consented earlier."""
        token = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens[token] = user
        return token

    def revoke(self, refresh_token: str) -> None:
        self.refresh_tokens.pop(refresh_token, None)
        self.access_tokens.clear()

    def revoke_token(self, token: str) -> bool:
        """Revoke a refresh token (and the access tokens of its user) or one access token;
        False when the token is unknown."""
        with self._lock:
            user = self.refresh_tokens.pop(token, None)
            if user is not None:
                for access, (who, _) in list(self.access_tokens.items()):
                    if who == user:
                        del self.access_tokens[access]
                return True
            return self.access_tokens.pop(token, None) is not None

    def _access(self, user: str) -> dict:
        token = "at-" + secrets.token_urlsafe(16)
        self.access_tokens[token] = (user, time.time() + self.expires_in)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}

    def _token(self, form: dict[str, str]) -> tuple[int, dict]:
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return 401, {"error": "invalid_client"}
        with self._lock:
            grant = form.get("grant_type")
            if grant == "authorization_code":
                entry = self.codes.pop(form.get("code", ""), None)
                if entry is None or entry["redirect_uri"] != form.get("redirect_uri"):
                    return 400, {"error": "invalid_grant"}
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != entry["challenge"]:
                    return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
                body = self._access(entry["user"])
                body["refresh_token"] = self.issue(entry["user"])
                return 200, body
            if grant == "refresh_token":
                user = self.refresh_tokens.get(form.get("refresh_token", ""))
                if user is None:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "Token has been revoked",
                    }
                body = self._access(user)
                if self.rotate:
                    del self.refresh_tokens[form["refresh_token"]]
                    body["refresh_token"] = self.issue(user)
                return 200, body
        return 400, {"error": "unsupported_grant_type"}

    def valid(self, user: str, token: str) -> bool:
        entry = self.access_tokens.get(token)
        return bool(entry and entry[0] == user and entry[1] > time.time())

    def _introspect(self, token: str) -> dict:
        entry = self.access_tokens.get(token)
        if not entry or entry[1] <= time.time():
            return {"active": "false"}
        return {"active": "true", "username": entry[0]}

    def close(self) -> None:
        stop_server(self.server)
