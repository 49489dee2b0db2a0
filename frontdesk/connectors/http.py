"""Small HTTP helpers several connectors share (signatures, Retry-After, webhook bodies)."""

from __future__ import annotations

import hashlib
import hmac
import json
from email.utils import parsedate_to_datetime
from typing import Any

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


def json_object(body: bytes) -> dict[str, Any]:
    """A webhook's body as a JSON object, for every webhook: hostile JSON (not UTF-8, nested
    past the parser's recursion limit, a number of a million digits) raises ``ValueError``
    saying what is wrong, so it is answered 400, never 500. Call it after the sender's
    secret is checked whenever the secret does not depend on the body."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ValueError("body is not JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value
