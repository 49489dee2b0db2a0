"""Django's test client as the server serves a provider's webhook: without the middleware
(``frontdesk/core/bare.py``), so the webhook tests exercise the path production takes."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.test.client import ClientHandler

from frontdesk.core.bare import strip_middleware


class _BareClientHandler(ClientHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async)
        strip_middleware(self)


class WebhookClient(Client):
    def __init__(self, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.handler = _BareClientHandler(enforce_csrf_checks=False)
