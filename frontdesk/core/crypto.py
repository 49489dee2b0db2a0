"""Secrets at rest: provider tokens and passwords are Fernet-encrypted JSON."""

import json
from functools import cache
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
    try:
        return json.loads(_fernet(settings.FRONTDESK_ENCRYPTION_KEY).decrypt(token.encode()))
    except InvalidToken as exc:
        raise RuntimeError(
            "Stored credentials cannot be decrypted: FRONTDESK_ENCRYPTION_KEY changed?"
        ) from exc
