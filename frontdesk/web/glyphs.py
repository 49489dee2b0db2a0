"""Each channel kind's mark (``Connector.glyphs``): its short text, and its colours as a
small stylesheet made from the registered connectors (``/glyphs.css``), so that a channel
added by one folder gets its colours with no line in ``app.css``."""

from __future__ import annotations

import hashlib
import re

from django.http import HttpRequest, HttpResponse

from frontdesk.connectors import registry

# What may reach the stylesheet (connectors declare it, but it is CSS).
_CSS_KIND = re.compile(r"^[a-z0-9_-]{1,40}$")
_CSS_HEX = re.compile(r"^#[0-9a-fA-F]{3,8}$")


def text(kind: str) -> str:
    glyph = registry.glyphs().get(kind)
    return glyph.text if glyph else str(kind)[:3]


def stylesheet() -> str:
    return "".join(
        f".glyph.k-{kind} {{ background: {g.background}; color: {g.colour}; }}\n"
        for kind, g in registry.glyphs().items()
        if _CSS_KIND.match(kind) and _CSS_HEX.match(g.background) and _CSS_HEX.match(g.colour)
    )


def version() -> str:
    return hashlib.sha256(stylesheet().encode()).hexdigest()[:12]


def glyphs_css(request: HttpRequest) -> HttpResponse:
    """The stylesheet; kept a year by the browser when asked for by its current version
    (the page links ``?v=<version>``, which changes with the connectors)."""
    response = HttpResponse(stylesheet(), content_type="text/css; charset=utf-8")
    current = request.GET.get("v") == version()
    response["Cache-Control"] = "public, max-age=31536000, immutable" if current else "no-cache"
    return response
