"""Login throttle: too many failed sign-ins within ``FRONTDESK_LOGIN_WINDOW_MINUTES`` and
sign-in is refused for a while, even with the right password. Three counts, each in the
window:

- one account from one address (``FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT``, 10): a guesser is
  stopped at that address, while the account's owner, signing in from anywhere else,
  is not affected. So nobody can lock a real user out from one address, however long
  they keep trying: their refused tries are not even counted;
- one address, whatever accounts (``FRONTDESK_LOGIN_MAX_FAILURES_ADDRESS``, 50): one
  address trying many accounts;
- one account from all addresses together (``FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT_TOTAL``,
  100): guessing spread over many addresses. Reaching it takes at least ten addresses (each
  adds at most 10), and the account is free again 15 minutes after they stop.

IPv6 addresses are counted by their /64 network, the block one subscriber gets, so hopping
addresses inside it does not give a guesser fresh tries.

Failures are rows in the database, so every web process (embedded SQLite or PostgreSQL)
counts the same ones. An email without an account counts and locks exactly like one with
an account, and the refusal happens before any password is checked, so the answer never
tells whether an account exists. Signing in clears that address's failures for the account;
a password reset by email clears all of the account's. API tokens are not passwords and are
not throttled here.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from frontdesk.workspaces.models import LoginFailure


def client_address(request: HttpRequest | None) -> str:
    """The address the request came from (behind a proxy: the one the proxy saw); an IPv6
    address as its /64 network."""
    if request is None:
        return ""
    address = str(request.META.get("REMOTE_ADDR", ""))
    if settings.FRONTDESK_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            address = forwarded.split(",")[-1].strip()
    return address_key(address)


def address_key(address: str) -> str:
    """What the throttle counts an address by: IPv4 as is, IPv6 by its /64 network."""
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address[:45]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


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
    email = email.strip().lower()
    counts: list[tuple[dict[str, str], int]] = [
        ({"address": address}, settings.FRONTDESK_LOGIN_MAX_FAILURES_ADDRESS),
    ]
    if email:
        counts += [
            ({"email": email, "address": address}, settings.FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT),
            ({"email": email}, settings.FRONTDESK_LOGIN_MAX_FAILURES_ACCOUNT_TOTAL),
        ]
    ends = []
    for match, limit in counts:
        if not all(match.values()):
            continue
        recent = list(
            LoginFailure.objects.filter(**match, at__gte=since)
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


def cleared(email: str, address: str | None = None) -> None:
    """The account's owner proved who they are: signed in from ``address`` (its failures
    for the account go), or reset the password by email (``address`` None: all of them)."""
    failures = LoginFailure.objects.filter(email=email.strip().lower())
    if address is not None:
        failures = failures.filter(address=address)
    failures.delete()
