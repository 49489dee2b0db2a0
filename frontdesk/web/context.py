"""The sidebar for the pages connectors' views render (connect pages): they extend
``web/connect_page.html`` (the app's layout) but cannot import web. Computed only when a
template reads it; other views pass their own context."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from frontdesk.connectors.registry import serves_view
from frontdesk.web.views.shell import shell_context

KEYS = ("state", "channels", "counts", "notification_count", "followups_due")


def shell(request: HttpRequest) -> dict[str, Any]:
    demo = {"demo_mode": settings.FRONTDESK_DEMO}  # `frontdesk demo` (the sidebar says so)
    member = getattr(request, "membership", None)
    match = request.resolver_match
    if member is None or match is None or not serves_view(match.func.__module__):
        return demo
    data = SimpleLazyObject(partial(shell_context, request))
    return (
        demo
        | {"membership": member}
        | {key: SimpleLazyObject(partial(data.__getitem__, key)) for key in KEYS}
    )
