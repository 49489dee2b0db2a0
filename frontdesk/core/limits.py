"""How many bytes a request body may carry, by where it goes: every limit in one place.

The HTTP bridge (``core/http.py``) asks before it reads a byte: a declared
``Content-Length`` over the limit is answered 413 at once, and a chunked body is read only
up to it. Nothing is stored from a refused request; the sender is told the limit.

- webhooks (providers calling in, unauthenticated until their signature is checked):
  ``FRONTDESK_MAX_WEBHOOK_BYTES``;
- uploads (the composer's files) and the REST API (files as base64):
  ``FRONTDESK_MAX_UPLOAD_BYTES``, by default room for a few files at the attachment limit;
- every other page and form: ``FRONTDESK_MAX_FORM_BYTES``.
"""

from __future__ import annotations

import re

from django.conf import settings

_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/webhooks/|^/connectors/unipile/notify/"), "FRONTDESK_MAX_WEBHOOK_BYTES"),
    (re.compile(r"^/api/"), "FRONTDESK_MAX_UPLOAD_BYTES"),
    (re.compile(r"^/c/\d+/reply$"), "FRONTDESK_MAX_UPLOAD_BYTES"),
    # A CSV file of contacts: the import's own limit, with room for the form around it
    # (the view tells a file over the limit in words; far over, this answers 413).
    (re.compile(r"^/contacts/import$"), "FRONTDESK_MAX_IMPORT_BYTES"),
]


def body_limit(path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    for pattern, setting in _ROUTES:
        if pattern.match(path):
            limit = int(getattr(settings, setting))
            return limit * 2 + 65536 if setting == "FRONTDESK_MAX_IMPORT_BYTES" else limit
    return int(settings.FRONTDESK_MAX_FORM_BYTES)


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def too_large_message(limit: int) -> str:
    return (
        f"This request is too large: the limit here is {megabytes(limit)}. "
        "Nothing was saved; send less at a time."
    )
