"""Secrets at rest: provider tokens and passwords are Fernet-encrypted JSON."""

import json
from functools import cache, lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt_json(value: dict[str, Any]) -> str:
    return _fernet(settings.FRONTDESK_ENCRYPTION_KEY).encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    return json.loads(_plaintext(token, settings.FRONTDESK_ENCRYPTION_KEY))  # a fresh dict


@lru_cache(maxsize=256)
def _plaintext(token: str, key: str) -> bytes:
    """A token's plaintext, kept for the tokens in use: every signed webhook reads its
    channel's secret, and Fernet's decryption (an HMAC check and AES) was a tenth of its
    time. A token is never re-encrypted in place (a change makes a new token, with a new
    IV), so a cached plaintext cannot go stale; the key is part of the cache key."""
    try:
        return _fernet(key).decrypt(token.encode())
    except InvalidToken as exc:
        raise RuntimeError(
            "Stored credentials cannot be decrypted: FRONTDESK_ENCRYPTION_KEY changed?"
        ) from exc
