"""OAuth 2.0 for mailboxes: authorization code + PKCE + state, refresh before expiry, XOAUTH2.

The refresh token lives only in ``ChannelAccount.credentials`` (encrypted at rest). An
access token is refreshed when it has less than ``REFRESH_MARGIN`` seconds left; a
refused refresh (``invalid_grant``: revoked, password changed) means reconnecting.

One refresh at a time per mailbox: threads of a process (a sync, the IDLE watcher, a
reply) queue on a lock, and on PostgreSQL the channel row stays locked
(``select_for_update``) during the refresh, so other processes wait too; whoever comes
next finds the fresh token and uses it. That matters where the provider rotates refresh
tokens: a second refresh with the old one would be refused. Saving is a compare-and-set
on the stored credentials in any case, so a refresh never overwrites a grant the connect
page stored meanwhile, nor another refresh's tokens.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from django.db import connection, transaction

from frontdesk.connectors import http as outbound
from frontdesk.connectors.email.providers import client_credentials, preset
from frontdesk.core.crypto import encrypt_json

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


_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _refresh_lock(channel_id: int) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(channel_id, threading.Lock())


def _stored(channel: ChannelAccount, for_update: bool = False) -> dict[str, Any]:
    rows = type(channel).objects.filter(pk=channel.pk).only("id", "credentials_encrypted")
    row = (rows.select_for_update() if for_update else rows).get()
    return row.credentials


def _refresh(channel: ChannelAccount, creds: dict[str, Any]) -> dict[str, Any]:
    if not creds.get("refresh_token"):
        raise OAuthError("no refresh token stored: connect the mailbox again", revoked=True)
    body = _token_request(
        channel.provider,
        channel.config.get("region", ""),
        {"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]},
    )
    return _tokens(body, creds["refresh_token"])


def access_token(channel: ChannelAccount, force: bool = False) -> str:
    """A valid access token, refreshed (and stored encrypted) when close to expiry.

    ``force``: the server refused the token we hold; get another (or a newer stored one)."""
    creds = channel.credentials
    if _fresh(creds) and not force:
        return creds["access_token"]
    if not channel.pk:  # not saved yet (the connect page's test): nothing to share
        creds.update(_refresh(channel, creds))
        channel.credentials = creds
        return creds["access_token"]
    held = creds.get("access_token")
    hold_row = connection.features.has_select_for_update  # PostgreSQL: other processes wait
    with _refresh_lock(channel.pk), transaction.atomic() if hold_row else nullcontext():
        stored = _stored(channel, for_update=hold_row)
        if _fresh(stored) and stored["access_token"] != held:
            channel.credentials = stored  # refreshed by someone else while we waited
            return stored["access_token"]
        tokens = _refresh(channel, stored)
        with transaction.atomic():  # compare-and-set: keep what others stored meanwhile
            current = _stored(channel, for_update=True)
            if current.get("refresh_token") != stored.get("refresh_token"):
                tokens.pop("refresh_token")  # reconnected meanwhile: the new grant stays
                if _fresh(current):
                    channel.credentials = current
                    return current["access_token"]
            current.update(tokens)
            type(channel).objects.filter(pk=channel.pk).update(
                credentials_encrypted=encrypt_json(current)
            )
    channel.credentials = current
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
