"""Dates, times and numbers in the member's locale format (Babel), in their time zone.

The workspace middleware activates the signed-in member's zone (Django's
``timezone.activate``) and locale (``activate`` here) for the request; templates format
with the ``frontdesk_ui`` filters that call these. Without an active locale: "en".
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache
from typing import NamedTuple

from asgiref.local import Local
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_decimal
from django.utils import timezone

_state = Local()
DEFAULT = "en"


def activate(locale: str) -> None:
    try:
        Locale.parse(locale or DEFAULT)
    except (UnknownLocaleError, ValueError):
        locale = DEFAULT
    _state.locale = locale or DEFAULT


def deactivate() -> None:
    _state.locale = DEFAULT


def current() -> str:
    return getattr(_state, "locale", DEFAULT)


@cache
def _parsed(name: str) -> Locale:
    return Locale.parse(name)


def _current() -> Locale:
    """The active locale, parsed once per name (Babel parses a name on every call: a
    timeline's 50 lines parsed it 400 times)."""
    return _parsed(current())


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


# A page formats the same few days and minutes many times (a timeline's 50 lines: 200
# Babel calls, each a pattern walk): each text is made once per locale and kept.
@lru_cache(maxsize=4096)
def _clock_text(hour: int, minute: int, locale: str) -> str:
    return format_time(time(hour, minute), "short", locale=_parsed(locale))


@lru_cache(maxsize=4096)
def _day_text(value: date, form: str, locale: str) -> str:
    if form == "full":
        return format_date(value, "full", locale=_parsed(locale))
    return format_skeleton(form, value, locale=_parsed(locale))


def clock(value: datetime) -> str:
    """14:05 or 2:05 PM."""
    local = _local(value)
    return _clock_text(local.hour, local.minute, current())


def day(value: date | datetime, *, weekday: bool = False, year: bool = True) -> str:
    """Mar 3, 2026 / 3 mars 2026 (``year`` False: Mar 3); with ``weekday`` the locale's full
    form (Tuesday, March 3, 2026 / Dienstag, 3. März 2026)."""
    if isinstance(value, datetime):
        value = _local(value).date()
    form = "full" if weekday else "yMMMd" if year else "MMMd"
    return _day_text(value, form, current())


def weekday_short(value: date | datetime) -> str:
    """Tue / Di."""
    if isinstance(value, datetime):
        value = _local(value).date()
    return _day_text(value, "EEE", current())


def moment(value: datetime) -> str:
    """Mar 3, 2026, 14:05 (for titles and timelines), with the zone's abbreviation."""
    return stamp(value).moment


class Stamp(NamedTuple):
    local: datetime  # in the member's zone
    day: str  # as ``day``
    clock: str  # as ``clock``
    moment: str  # as ``moment``


def stamp(value: datetime) -> Stamp:
    """An instant's day, time of day and moment, moved to the member's zone once (a
    timeline line shows all three: each apart moved it again, some 15 calls a time)."""
    local = _local(value)
    locale = current()
    on_day = _day_text(local.date(), "yMMMd", locale)
    at = _clock_text(local.hour, local.minute, locale)
    return Stamp(local, on_day, at, f"{on_day}, {at} {local.tzname() or ''}".strip())


def number(value: int | float | Decimal) -> str:
    return format_decimal(value, locale=_current())
