"""The connect page (manual form + "Test connection")."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def connect(request: HttpRequest) -> HttpResponse:
    return HttpResponse("WhatsApp connect page: coming soon", content_type="text/plain")
