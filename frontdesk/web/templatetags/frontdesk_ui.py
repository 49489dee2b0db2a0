"""Small display helpers for the inbox templates (no queries in here)."""

from __future__ import annotations

import re
import zlib
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import nh3
from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from frontdesk.connectors.registry import UnknownProvider
from frontdesk.core import l10n
from frontdesk.inbox import formatting
from frontdesk.web import glyphs

register = template.Library()


# A list or a board shows the same few people's initials and colours on every row: each is
# worked out once per process for a name or an id (both plain values).
@register.filter
@lru_cache(maxsize=4096)
def initials(name: str) -> str:
    parts = [p for p in str(name or "").replace("@", " ").replace(".", " ").split() if p]
    if not parts:
        return "?"
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[-1][0]).upper()


@register.filter
@lru_cache(maxsize=4096)
def tint(value: object) -> str:
    """A stable colour class (``tint-0`` .. ``tint-7``) for an avatar."""
    return f"tint-{zlib.crc32(str(value).encode()) % 8}"


@register.filter
def kind_glyph(kind: str) -> str:
    """A channel kind's short mark, as its connector declares it (``Connector.glyphs``)."""
    return glyphs.text(kind)


@register.simple_tag
def glyph_stylesheet() -> str:
    """The link to the channel kinds' colours (``web/glyphs.py``)."""
    href = f"{reverse('glyphs_css')}?v={glyphs.version()}"
    return format_html('<link rel="stylesheet" href="{}">', href)


@register.filter
def sent_from(channel: Any) -> str:
    """Where a message the team sent outside Frontdesk came from: the channel's connector
    says ("sent from LinkedIn", "sent from your mail program")."""
    try:
        return channel.connector.sent_outside()
    except UnknownProvider:  # a connector no longer configured
        return "sent outside Frontdesk"


@register.filter
def reltime(value: datetime | None) -> str:
    """5m, 3h, Mon, Nov 3, 2024-11-03: short enough for a list row."""
    if not value:
        return ""
    now = timezone.now()
    delta = now - value
    if delta < timedelta(minutes=1):
        return "now"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)}m"
    if delta < timedelta(hours=24):
        return f"{int(delta.total_seconds() // 3600)}h"
    local = timezone.localtime(value).date()  # moved to the member's zone once
    if delta < timedelta(days=6):
        return l10n.weekday_short(local)
    return l10n.day(local, year=local.year != timezone.localtime(now).year)


@register.filter
def waited(value: datetime | None) -> str:
    """How long since ``value``, for "waiting 3 h": minutes, then hours, then days."""
    if not value:
        return ""
    minutes = max(0, int((timezone.now() - value).total_seconds() // 60))
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


@register.filter
def dayname(value: datetime) -> str:
    local = timezone.localtime(value).date()
    today = timezone.localtime(timezone.now()).date()
    if local == today:
        return "Today"
    if local == today - timedelta(days=1):
        return "Yesterday"
    return l10n.day(local, weekday=True)


@register.filter
def clock(value: datetime | None) -> str:
    """The time of day in the member's zone and locale: 14:05, 2:05 PM."""
    return l10n.clock(value) if value else ""


@register.filter
def event_text(message: Any) -> str:
    """An event line in the reader's zone: "snoozed this conversation until" a time stored
    in ``extra.until`` (the stored text says it in UTC, for the API)."""
    until = message.extra.get("until") if isinstance(message.extra, dict) else None
    head, found, _ = message.text.rpartition(" until ")
    if not until or not found:
        return str(message.text)
    try:
        return f"{head} until {l10n.moment(datetime.fromisoformat(until))}"
    except ValueError:
        return str(message.text)


@register.filter
def moment(value: datetime | None) -> str:
    """Date, time and zone in the member's locale (for titles): Mar 3, 2026, 14:05 CET."""
    return l10n.moment(value) if value else ""


@register.filter
def day(value: datetime | None) -> str:
    """A date in the member's locale: Mar 3, 2026."""
    return l10n.day(value) if value else ""


@register.filter
def filesize(size: int) -> str:
    size = int(size or 0)
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@register.filter
def media_kind(content_type: str) -> str:
    """image, audio, video or file: how an attachment is shown."""
    major = str(content_type or "").split("/", 1)[0]
    return major if major in {"image", "audio", "video"} else "file"


@register.filter
def lookup(mapping: dict, key: object) -> object:
    """``counts|lookup:channel.pk``: a dict value by a (stringified) key; 0 when absent."""
    return mapping.get(str(key), 0) if mapping else 0


_REMOTE_IMG = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.IGNORECASE)


@register.filter
def remote_images(html: str) -> bool:
    """Does this email load images from elsewhere (blocked until the reader allows it)?"""
    return bool(_REMOTE_IMG.search(html or ""))


@register.filter
def markup(text: str) -> SafeString:
    """A note's light markup (the composer's **bold**, lists, links) as HTML; escaped first."""
    return mark_safe(formatting.to_html(str(text or "")))  # noqa: S308 - built from escaped text


_RICH_TAGS = {"p", "br", "strong", "b", "em", "i", "ul", "ol", "li", "a", "div"}


@register.filter
def rich(html: str) -> SafeString:
    """A reply's HTML as the composer made it, shown in the bubble: only formatting tags
    survive (no styles, no images), links open outside."""
    return mark_safe(  # noqa: S308 - sanitized by nh3 with a formatting-only allowlist
        nh3.clean(
            str(html or ""),
            tags=_RICH_TAGS,
            attributes={"a": {"href"}, "div": {"class"}},
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
            set_tag_attribute_values={"a": {"target": "_blank"}},
        )
    )
