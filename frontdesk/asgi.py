"""The one server entry point: HTTP and websockets on the same port.

HTTP goes to Django's WSGI handler on a fixed pool of threads (``core/http.py``: every
view is synchronous, and Django's ASGI path would start a thread and open a database
connection per request); a provider's webhook skips the middleware (``core/bare.py``).
Websockets go to Channels.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from frontdesk.core.bare import BareHandler, by_path  # noqa: E402
from frontdesk.core.http import WSGIBridge  # noqa: E402
from frontdesk.core.processes import started, stop_with_parent  # noqa: E402
from frontdesk.inbox.webhooks import webhook_paths  # noqa: E402
from frontdesk.realtime.consumers import EventsConsumer  # noqa: E402
from frontdesk.realtime.origin import OriginValidator  # noqa: E402

stop_with_parent()

application = ProtocolTypeRouter(
    {
        "http": WSGIBridge(
            by_path(webhook_paths, BareHandler(), wsgi_app),
            threads=settings.FRONTDESK_HTTP_THREADS,
        ),
        "websocket": OriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/", EventsConsumer.as_asgi())]))
        ),
    }
)
started()
