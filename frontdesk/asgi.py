"""The one server entry point: HTTP and websockets on the same port.

HTTP goes to Django's WSGI handler on a fixed pool of threads (``core/http.py``: every
view is synchronous, and Django's ASGI path would start a thread and open a database
connection per request), as ``frontdesk/wsgi.py`` routes it: a provider's webhook skips the
middleware (``core/bare.py``) and is served by threads of its own.
Websockets go to Channels.
"""

from frontdesk import wsgi

# Django, set up by that import (before the imports below), routed as a WSGI server routes it.
wsgi_app = wsgi.application

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from frontdesk.core.http import WSGIBridge  # noqa: E402
from frontdesk.core.processes import started, stop_with_parent  # noqa: E402
from frontdesk.inbox.webhooks import webhook_paths  # noqa: E402
from frontdesk.realtime.consumers import EventsConsumer  # noqa: E402
from frontdesk.realtime.origin import OriginValidator  # noqa: E402

stop_with_parent()

application = ProtocolTypeRouter(
    {
        "http": WSGIBridge(
            wsgi_app,
            threads=settings.FRONTDESK_HTTP_THREADS,
            lane_paths=webhook_paths,
            lane_threads=settings.FRONTDESK_WEBHOOK_THREADS,
        ),
        "websocket": OriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/", EventsConsumer.as_asgi())]))
        ),
    }
)
started()
