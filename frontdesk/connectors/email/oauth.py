"""OAuth 2.0 for mailboxes: authorization code + PKCE + state, refresh before expiry, XOAUTH2.

The refresh token lives only in ``ChannelAccount.credentials`` (encrypted at rest). An
access token is refreshed when it has less than ``REFRESH_MARGIN`` seconds left; a
refused refresh (``invalid_grant``: revoked, password changed) means reconnecting.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from frontdesk.connectors.email.providers import client_credentials, preset

if TYPE_CHECKING:
    from frontdesk.inbox.models import ChannelAccount

REFRESH_MARGIN = 120


class OAuthError(Exception):
    """The provider refused: ``revoked`` tells a dead grant from a passing network problem."""

    def __init__(self, message: str, revoked: bool = False):
        super().__init__(message)
        self.revoked = revoked


@dataclass
class AuthorizationRequest:
    url: str
    state: str
    code_verifier: str


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def authorization_request(
    provider: str, redirect_uri: str, region: str = "", login_hint: str = ""
) -> AuthorizationRequest:
    p = preset(provider, region)
    client_id, _ = client_credentials(provider)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(p.scopes),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **p.extra_authorize_params,
    }
    if login_hint:
        params["login_hint"] = login_hint
    return AuthorizationRequest(f"{p.authorize_url}?{urlencode(params)}", state, verifier)


def _token_request(provider: str, region: str, data: dict[str, str]) -> dict[str, Any]:
    p = preset(provider, region)
    client_id, client_secret = client_credentials(provider)
    form = {"client_id": client_id, **data}
    if client_secret:
        form["client_secret"] = client_secret
    try:
        response = httpx.post(p.token_url, data=form, timeout=settings.FRONTDESK_HTTP_TIMEOUT)
    except httpx.HTTPError as exc:
        raise OAuthError(f"could not reach the token endpoint: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400 or "access_token" not in body:
        error = body.get("error", f"HTTP {response.status_code}") if isinstance(body, dict) else ""
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        revoked = error in ("invalid_grant", "unauthorized_client", "invalid_client")
        raise OAuthError(f"token endpoint refused: {error} {description}".strip(), revoked=revoked)
    return body


def _tokens(body: dict[str, Any], previous_refresh: str = "") -> dict[str, Any]:
    return {
        "access_token": body["access_token"],
        "refresh_token": body.get("refresh_token") or previous_refresh,
        "expires_at": time.time() + float(body.get("expires_in") or 3600),
    }


def exchange_code(
    provider: str, code: str, code_verifier: str, redirect_uri: str, region: str = ""
) -> dict[str, Any]:
    body = _token_request(
        provider,
        region,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "redirect_uri": redirect_uri,
        },
    )
    return _tokens(body)


def access_token(channel: ChannelAccount, force: bool = False) -> str:
    """A valid access token, refreshed (and stored encrypted) when close to expiry."""
    creds = channel.credentials
    fresh = float(creds.get("expires_at", 0)) - REFRESH_MARGIN > time.time()
    if creds.get("access_token") and fresh and not force:
        return creds["access_token"]
    if not creds.get("refresh_token"):
        raise OAuthError("no refresh token stored: connect the mailbox again", revoked=True)
    body = _token_request(
        channel.provider,
        channel.config.get("region", ""),
        {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]},
    )
    creds.update(_tokens(body, creds["refresh_token"]))
    channel.credentials = creds
    if channel.pk:
        channel.save(update_fields=["credentials_encrypted"])
    return creds["access_token"]


def xoauth2_string(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"
