"""The composer's light markup, turned into what each channel takes.

A member writes ``**bold**`` (or ``*bold*``), ``_italic_``, lines starting with ``- `` or
``1. `` for lists, and ``[words](https://link)``: the toolbar inserts exactly these. The
connector's capabilities decide what leaves: HTML with a plain-text twin (email, the API
channel), the channel's own markup (WhatsApp: ``*bold*``, ``_italic_``, ``- `` lists), or
plain text with the markers taken out (LinkedIn).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?://|mailto:)[^\s)]+)\)")
_URL = re.compile(r"(?<![\w/=\"'])(https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])")
_BOLD2 = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_BOLD1 = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![\w_])")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_NUMBER = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_PLACEHOLDER = "\x00{}\x00"


@dataclass(frozen=True)
class Rendered:
    """One message body in the form a channel takes: ``text`` always, ``html`` when asked."""

    text: str
    html: str = ""


def render(source: str, *, html_part: bool, markup: str = "") -> Rendered:
    """The body a channel receives: HTML with a plain-text twin when it takes HTML, else its
    own markup (``markup="whatsapp"``), else plain text."""
    source = source.replace("\r\n", "\n").strip()
    if html_part:
        return Rendered(text=to_plain(source), html=to_html(source))
    if markup == "whatsapp":
        return Rendered(text=to_whatsapp(source))
    return Rendered(text=to_plain(source))


# --- blocks --------------------------------------------------------------------------------


@dataclass
class _Block:
    kind: str  # "p", "ul" or "ol"
    lines: list[str]
    after_blank: bool  # a blank line separates it from the block before


def _blocks(source: str) -> list[_Block]:
    """Paragraphs and lists, in order."""
    blocks: list[_Block] = []
    blank = False
    for line in source.split("\n"):
        bullet, number = _BULLET.match(line), _NUMBER.match(line)
        kind = "ul" if bullet else "ol" if number else "p"
        item = bullet.group(1) if bullet else number.group(2) if number else line
        if not line.strip():
            blank = True  # a blank line ends the block
        elif blocks and not blank and blocks[-1].kind == kind:
            blocks[-1].lines.append(item)
        else:
            blocks.append(_Block(kind, [item], after_blank=blank))
            blank = False
    return blocks


# --- inline --------------------------------------------------------------------------------


def _inline(text: str, link, bold, italic, plain) -> str:
    """Links first (their URLs keep their underscores and stars), then bold and italic."""
    kept: list[str] = []

    def keep(value: str) -> str:
        kept.append(value)
        return _PLACEHOLDER.format(len(kept) - 1)

    text = _LINK.sub(lambda m: keep(link(m.group(1), m.group(2))), text)
    text = _URL.sub(lambda m: keep(link(m.group(1), m.group(1))), text)
    text = plain(text)
    text = _BOLD2.sub(lambda m: bold(m.group(1)), text)
    text = _BOLD1.sub(lambda m: bold(m.group(1)), text)
    text = _ITALIC.sub(lambda m: italic(m.group(1)), text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _html_link(words: str, url: str) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(words)}</a>'


def _text_link(words: str, url: str) -> str:
    return url if words == url else f"{words} ({url})"


def to_html(source: str) -> str:
    def inline(text: str) -> str:
        return _inline(
            text,
            _html_link,
            lambda t: f"<strong>{t}</strong>",
            lambda t: f"<em>{t}</em>",
            lambda t: html.escape(t, quote=False),
        )

    parts = []
    for block in _blocks(source):
        if block.kind == "p":
            parts.append("<p>" + "<br>".join(inline(line) for line in block.lines) + "</p>")
        else:
            items = "".join(f"<li>{inline(line)}</li>" for line in block.lines)
            parts.append(f"<{block.kind}>{items}</{block.kind}>")
    return "\n".join(parts)


def to_plain(source: str) -> str:
    def inline(text: str) -> str:
        return _inline(text, _text_link, lambda t: t, lambda t: t, lambda t: t)

    return _join(source, inline, bullet="• ")


def to_whatsapp(source: str) -> str:
    def inline(text: str) -> str:
        return _inline(text, _text_link, lambda t: f"*{t}*", lambda t: f"_{t}_", lambda t: t)

    return _join(source, inline, bullet="- ")


def _join(source: str, inline, bullet: str) -> str:
    out = ""
    for block in _blocks(source):
        if block.kind == "ul":
            text = "\n".join(bullet + inline(line) for line in block.lines)
        elif block.kind == "ol":
            text = "\n".join(f"{i}. {inline(line)}" for i, line in enumerate(block.lines, 1))
        else:
            text = "\n".join(inline(line) for line in block.lines)
        out += ("\n\n" if block.after_blank else "\n") + text if out else text
    return out
