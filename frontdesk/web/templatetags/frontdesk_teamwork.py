"""Display helpers for teamwork: mentions highlighted in a note."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from frontdesk.inbox.mentions import MENTIONS, spans

register = template.Library()


@register.simple_tag
def note_text(message, user_id: int | None = None) -> SafeString:
    """The note's text with each ``@Name`` it mentions marked (the reader's own stronger)."""
    mentions = message.extra.get(MENTIONS) if isinstance(message.extra, dict) else None
    pieces: list[str] = []
    for text, mentioned in spans(message.text, mentions or []):
        if mentioned is None:
            pieces.append(escape(text))
            continue
        mine = " mention-me" if mentioned == user_id else ""
        pieces.append(
            f'<mark class="mention{mine}" data-user="{int(mentioned)}">{escape(text)}</mark>'
        )
    html = "".join(pieces).replace("\r\n", "\n").replace("\n", "<br>")
    return mark_safe(html)  # noqa: S308 (every piece escaped)


@register.filter
def pks(rows) -> set[int]:
    """The ids of these rows (``l.pk in conversation.labels.all|pks``)."""
    return {row.pk for row in rows}
