"""Each channel kind's mark comes from its connector (``Connector.glyphs``): its text in
the page, its colours in ``/glyphs.css``, which every page links by its current version."""

from __future__ import annotations

import re

from django.test import Client

from frontdesk.connectors import registry
from frontdesk.connectors.base import Glyph
from tests.fixtures import PASSWORD


def test_the_pages_link_the_kinds_colours_by_their_version(owner):
    client = Client()
    assert client.login(username=owner.user.email, password=PASSWORD)
    page = client.get("/apps/").content.decode()
    link = re.search(r'<link rel="stylesheet" href="(/glyphs\.css\?v=[0-9a-f]{12})">', page)
    assert link, "every page links the kinds' colours"
    assert '<span class="glyph big k-email" aria-hidden="true">@</span>' in page

    css = Client().get(link[1])  # no session needed: it is public styling
    assert css.status_code == 200 and css["Content-Type"] == "text/css; charset=utf-8"
    assert css["Cache-Control"] == "public, max-age=31536000, immutable"
    body = css.content.decode()
    assert ".glyph.k-whatsapp { background: #dcfce7; color: #166534; }" in body
    assert ".glyph.k-linkedin { background: #dbeafe; color: #1e40af; }" in body
    # An old version's URL is answered with today's rules, not kept a year.
    assert Client().get("/glyphs.css?v=000000000000")["Cache-Control"] == "no-cache"


def test_a_declaration_that_is_not_a_colour_never_reaches_the_stylesheet(monkeypatch):
    declared = {
        "ok": Glyph("OK", "#fff", "#000"),
        "bad": Glyph("B", "red;} body { display: none", "#000"),
        "x;} body {": Glyph("X", "#fff", "#000"),
    }
    monkeypatch.setattr(registry, "glyphs", lambda: declared)
    body = Client().get("/glyphs.css").content.decode()
    assert body == ".glyph.k-ok { background: #fff; color: #000; }\n"
