"""Bearer tokens: a member's API token (hashed at rest), or an API channel's own secret
for posting into that one channel."""

from __future__ import annotations

import hmac

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer

from frontdesk.workspaces.models import ApiToken, Membership, hash_token


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Membership | None:
        # One flat query on every API call: the membership's user and workspace load only
        # if a view asks for them (most need just the ids).
        found = list(
            ApiToken.objects.filter(
                token_hash=hash_token(token), membership__user__is_active=True
            ).values_list(
                "pk",
                "last_used_at",
                "membership_id",
                "membership__workspace_id",
                "membership__user_id",
                "membership__role",
            )[:1]
        )
        if not found:
            return None
        token_id, last_used_at, membership_id, workspace_id, user_id, role = found[0]
        now = timezone.now()
        if last_used_at is None or (now - last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
        membership = Membership(
            pk=membership_id, workspace_id=workspace_id, user_id=user_id, role=role
        )
        membership._state.adding, membership._state.db = False, "default"
        return membership


class ChannelSecretAuth(HttpBearer):
    """Accepts the channel's signing secret; the view checks it against the channel in the URL."""

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        return token or None


def secret_matches(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def request_member(request: HttpRequest) -> Membership:
    """The membership a member token authenticated (a channel's secret is not one)."""
    auth = request.auth  # type: ignore[attr-defined]
    if not isinstance(auth, Membership):
        raise HttpError(401, "a member API token is required")
    return auth
