"""The WSGI entry point, for a WSGI server of your own and for ``frontdesk/asgi.py`` (what
``frontdesk run`` serves), which hands it every HTTP request: a provider's webhook skips the
middleware (``core/bare.py``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
_full = get_wsgi_application()

from frontdesk.core.bare import BareHandler, by_path  # noqa: E402
from frontdesk.inbox.webhooks import webhook_paths  # noqa: E402

application = by_path(webhook_paths, BareHandler(), _full)
