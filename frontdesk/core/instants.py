"""Times that come from outside (an API body or query, a form, a page's cursor) as UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def in_utc(value: datetime) -> datetime:
    """The same instant in UTC; a time without an offset is left as it came. ISO 8601 (and
    Python) allow offsets up to 23:59 and PostgreSQL only up to 15:59: "+21:45" handed to it
    as given was answered 500. Raises ``ValueError`` for a time whose UTC is past year 9999
    (9999-12-31T23:00-05:00)."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None
