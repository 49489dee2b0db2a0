"""Dates and times in the member's locale and zone: the texts are kept per locale once made
(a page formats the same days and minutes many times), so a second member's locale or zone
must never get the first one's text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from frontdesk.core import l10n
from frontdesk.web.templatetags.frontdesk_ui import reltime

AT = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)  # a Thursday; Friday already in Berlin


def formatted(zone: str, locale: str) -> tuple[str, str, str, str]:
    timezone.activate(zone)
    l10n.activate(locale)
    try:
        return l10n.clock(AT), l10n.day(AT), l10n.weekday_short(AT), l10n.moment(AT)
    finally:
        timezone.deactivate()
        l10n.deactivate()


def test_each_locale_and_zone_gets_its_own_text_every_time():
    for _ in range(2):  # the second round reads what the first one kept
        assert formatted("UTC", "en") == (
            "11:30\u202fPM",
            "Jan 15, 2026",
            "Thu",
            "Jan 15, 2026, 11:30\u202fPM UTC",
        )
        assert formatted("UTC", "de") == (
            "23:30",
            "15. Jan. 2026",
            "Do",
            "15. Jan. 2026, 23:30 UTC",
        )
        assert formatted("Europe/Berlin", "de") == (
            "00:30",
            "16. Jan. 2026",
            "Fr",
            "16. Jan. 2026, 00:30 CET",
        )
        assert l10n.day(AT, weekday=True) == "Thursday, January 15, 2026"


def test_a_stamp_is_the_day_clock_and_moment_of_its_instant():
    """A timeline line's day, time and title, made in one go, read as the three apart."""
    for zone, locale in (("UTC", "en"), ("Europe/Berlin", "de")):
        timezone.activate(zone)
        l10n.activate(locale)
        try:
            at = l10n.stamp(AT)
            assert (at.day, at.clock, at.moment) == (l10n.day(AT), l10n.clock(AT), l10n.moment(AT))
            assert at.local == timezone.localtime(AT)
        finally:
            timezone.deactivate()
            l10n.deactivate()


def test_a_list_rows_time_reads_in_the_members_zone(monkeypatch):
    """reltime: minutes and hours, then the weekday within six days, then the day (with
    the year when not this one), each in the member's zone: late on Thursday in UTC is
    already Friday in Berlin."""
    now = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    older = datetime(2025, 12, 1, 23, 30, tzinfo=UTC)
    for zone, texts in (
        ("UTC", ["5m", "3h", "Thu", "Dec 1, 2025", "Jan 1"]),
        ("Europe/Berlin", ["5m", "3h", "Fri", "Dec 2, 2025", "Jan 2"]),
    ):
        timezone.activate(zone)
        try:
            assert [
                reltime(now - timedelta(minutes=5)),
                reltime(now - timedelta(hours=3)),
                reltime(AT),
                reltime(older),
                reltime(datetime(2026, 1, 1, 23, 30, tzinfo=UTC)),
            ] == texts, zone
        finally:
            timezone.deactivate()
