"""Login throttle: after too many failed sign-ins for one account, or from one address,
within ``FRONTDESK_LOGIN_WINDOW_MINUTES``, sign-in is refused for a while, even with the
right password.

Failures are rows in the database, so every web process (embedded SQLite or PostgreSQL)
counts the same ones. An email without an account counts and locks exactly like one with
an account, and the refusal happens before any password is checked, so the answer never
tells whether an account exists. A password reset by email clears its account's failures.
API tokens are not passwords and are not throttled here.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from frontdesk.workspaces.models import LoginFailure


def client_address(request: HttpRequest | None) -> str:
    """The address the request came from (behind a proxy: the one the proxy saw)."""
    if request is None:
        return ""
    if settings.FRONTDESK_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:45]
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def _since() -> datetime:
    return timezone.now() - timedelta(minutes=settings.FRONTDESK_LOGIN_WINDOW_MINUTES)


def _free_at(failures: list[datetime], limit: int) -> datetime | None:
    """When the oldest failure that keeps the count at ``limit`` leaves the window."""
    if len(failures) < limit:
        return None
    return failures[limit - 1] + timedelta(minutes=settings.FRONTDESK_LOGIN_WINDOW_MINUTES)


def refusal(email: str, address: str) -> str:
    """Why sign-in is refused now, in words, or "" when it may go ahead."""
    since = _since()
    ends = []
    for field, value, limit in (
        ("email", email.strip().lower(), settings.FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT),
        ("address", address, settings.FRONTDESK_LOGIN_MAX_FAILURES_ADDRESS),
    ):
        if not value:
            continue
        recent = list(
            LoginFailure.objects.filter(**{field: value}, at__gte=since)
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if (end := _free_at(recent, limit)) is not None:
            ends.append(end)
    if not ends:
        return ""
    minutes = max(1, math.ceil((max(ends) - timezone.now()).total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed sign-ins. Try again in {minutes} {unit}, "
        "or reset your password with “Forgot your password?”."
    )


def failed(email: str, address: str) -> None:
    """Count one failed sign-in (and forget those that left the window)."""
    LoginFailure.objects.filter(at__lt=_since()).delete()
    LoginFailure.objects.create(email=email.strip().lower()[:254], address=address)


def cleared(email: str) -> None:
    """The account's owner proved who they are (signed in, reset the password)."""
    LoginFailure.objects.filter(email=email.strip().lower()).delete()
