"""The ceiling of a webhook served by Django, the way ``frontdesk run`` serves one.

A Django project of one URL, ``/webhooks/whatsapp/``, whose view checks the
``X-Hub-Signature-256`` HMAC, parses the JSON and answers 200: no database, no inbox.
It goes through what every Frontdesk webhook goes through (``core/http.py``'s bridge with
the webhook lane, ``core/bare.py``'s handler without middleware, Django's request, URL
resolving and response), and nothing else. ``bench/whatsapp_webhooks.py`` serves it like
the bare floor (uvicorn, as many processes) and prints its figure beside the app's and the
floor's: no webhook that Django serves, whatever it stores, can be faster than this.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

SECRET = os.environ.get("FLOOR_APP_SECRET", "bench-app-secret").encode()
WEBHOOK_PATH = "/webhooks/whatsapp/"


def webhook(request: HttpRequest) -> HttpResponse:
    given = request.headers.get("X-Hub-Signature-256", "").lower()
    expected = "sha256=" + hmac.new(SECRET, request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        return JsonResponse({"error": "bad signature"}, status=401)
    value = json.loads(request.body)["entry"][0]["changes"][0]["value"]
    return JsonResponse({"ok": True, "id": value["messages"][0]["id"]})


urlpatterns = [path(WEBHOOK_PATH.lstrip("/"), webhook)]

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-ceiling",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
    # the bridge's limits (core/limits.py), as frontdesk/settings.py sets them
    FRONTDESK_MAX_WEBHOOK_BYTES=5 * 1024 * 1024,
    FRONTDESK_MAX_FORM_BYTES=4 * 1024 * 1024,
)
django.setup()

from frontdesk.core.bare import BareHandler, by_path  # noqa: E402
from frontdesk.core.http import WSGIBridge  # noqa: E402


def _paths() -> frozenset[str]:
    return frozenset({WEBHOOK_PATH})


# The threads of ``frontdesk run``'s defaults (settings.FRONTDESK_HTTP_THREADS and
# FRONTDESK_WEBHOOK_THREADS).
app = WSGIBridge(
    by_path(_paths, BareHandler(), BareHandler()),
    threads=int(os.environ.get("FRONTDESK_HTTP_THREADS", "16")),
    lane_paths=_paths,
    lane_threads=int(os.environ.get("FRONTDESK_WEBHOOK_THREADS", "2")),
)
