"""Per-response additions to the app's Content-Security-Policy (``settings.SECURE_CSP``).

A connect page whose form leaves for a provider (OAuth consent, a hosted-auth wizard) adds
exactly that provider's origin to ``form-action`` on that response only; the rest of the
app keeps ``form-action 'self'``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponseBase


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL ("" for one without a host)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}".lower()


def allow(response: HttpResponseBase, **sources: list[str]) -> HttpResponseBase:
    """Add sources to directives (``form_action=[...]`` is ``form-action``) on this response."""
    current: dict[str, Any] = getattr(response, "_csp_config", None) or settings.SECURE_CSP
    policy = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in current.items()}
    for key, extra in sources.items():
        directive = key.replace("_", "-")
        values = policy.setdefault(directive, [])
        values.extend(s for s in extra if s and s not in values)
    response._csp_config = policy  # type: ignore[attr-defined]
    return response
