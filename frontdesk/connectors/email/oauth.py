"""OAuth 2.0 for mailboxes: authorization code + PKCE + state, refresh before expiry, XOAUTH2.

The refresh token lives only in ``ChannelPort.credentials`` (encrypted at rest). An
access token is refreshed when it has less than ``REFRESH_MARGIN`` seconds left; a
refused refresh (``invalid_grant``: revoked, password changed) means reconnecting.

This module calls the provider and returns values; the inbox stores refreshed tokens
(``inbox/credentials.py``): one refresh at a time per mailbox (a sync, the IDLE watcher, a
reply queue on a lock, and on PostgreSQL on the channel row), whoever comes next uses the
fresh token, and saving is a compare-and-set, so a refresh never overwrites a grant the
connect page stored meanwhile, nor another refresh's tokens.
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

from frontdesk.connectors import http as outbound
from frontdesk.connectors.email.providers import client_credentials, preset

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

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
    provider: str, redirect_uri: str, region: str = "", login_hint: str = "", state: str = ""
) -> AuthorizationRequest:
    p = preset(provider, region)
    client_id, _ = client_credentials(provider)
    verifier, challenge = pkce_pair()
    state = state or secrets.token_urlsafe(32)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": p.scope_separator.join(p.scopes),
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
        response = outbound.request("POST", p.token_url, data=form)
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


def _fresh(creds: dict[str, Any]) -> bool:
    return bool(creds.get("access_token")) and (
        float(creds.get("expires_at", 0)) - REFRESH_MARGIN > time.time()
    )


def _refresh(channel: ChannelPort, creds: dict[str, Any]) -> dict[str, Any]:
    if not creds.get("refresh_token"):
        raise OAuthError("no refresh token stored: connect the mailbox again", revoked=True)
    body = _token_request(
        channel.provider,
        channel.config.get("region", ""),
        {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]},
    )
    return _tokens(body, creds["refresh_token"])


def access_token(channel: ChannelPort, force: bool = False) -> str:
    """A valid access token, refreshed when close to expiry: the new tokens are values
    handed to the inbox, which stores them (``ChannelPort.refresh_credentials``: the
    refreshes of one mailbox take turns, a grant stored meanwhile is kept).

    ``force``: the server refused the token we hold; get another (or a newer stored one)."""
    creds = channel.credentials
    if _fresh(creds) and not force:
        return creds["access_token"]
    current = channel.refresh_credentials(
        creds.get("access_token"), _fresh, lambda stored: _refresh(channel, stored)
    )
    return current["access_token"]


def revoke(provider: str, region: str, token: str) -> bool:
    """Revoke a grant at the provider (its ``revoke_url``): True when it was revoked or was
    already dead (the provider answers 400 to an unknown token), False when the provider
    documents no way. Raises ``OAuthError`` when the provider could not be reached or
    answered anything else."""
    p = preset(provider, region)
    if not p.revoke_url or not token:
        return False
    try:
        if p.revoke_in_query:
            response = outbound.request("POST", p.revoke_url, params={"token": token})
        else:
            response = outbound.request("POST", p.revoke_url, data={"token": token})
    except httpx.HTTPError as exc:
        raise OAuthError(f"could not reach {p.label}: {exc.__class__.__name__}") from None
    if response.status_code < 300 or response.status_code == 400:
        return True
    raise OAuthError(f"{p.label} answered HTTP {response.status_code} to the revocation")


def xoauth2_string(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"
