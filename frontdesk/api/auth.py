"""Bearer tokens: a member's API token (hashed at rest), or an API channel's own secret
for posting into that one channel."""

from __future__ import annotations

import hmac

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from frontdesk.workspaces.models import ApiToken, Membership, hash_token


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Membership | None:
        row = (
            ApiToken.objects.select_related("membership__workspace", "membership__user")
            .filter(token_hash=hash_token(token), membership__user__is_active=True)
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.membership


class ChannelSecretAuth(HttpBearer):
    """Accepts the channel's signing secret; the view checks it against the channel in the URL."""

    def authenticate(self, request: HttpRequest, token: str) -> str | None:
        return token or None


def secret_matches(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())
