"""Small HTTP helpers several connectors share (signatures, Retry-After)."""

from __future__ import annotations

import hashlib
import hmac
from email.utils import parsedate_to_datetime

from django.utils import timezone


def sha256_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: our callbacks' signature and Meta's webhooks'."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None
