"""Meta's Embedded Signup: the popup hands back a code, the WABA id and the phone number id;
the server exchanges the code for a token, subscribes the app to the WABA, registers the
number, and stores the channel.

Offered when ``FRONTDESK_META_APP_ID``, ``FRONTDESK_META_APP_SECRET`` and
``FRONTDESK_META_CONFIG_ID`` are set (settings or environment). The app's webhook is set
once in Meta's dashboard to ``/webhooks/whatsapp/`` with ``FRONTDESK_META_VERIFY_TOKEN``.
``FRONTDESK_WHATSAPP_GRAPH_URL`` (default Meta's v21.0 root) is where the exchange happens.
``FRONTDESK_META_SDK_URL`` (default Facebook's ``sdk.js``) and ``FRONTDESK_META_ORIGINS``
(comma-separated; default www.facebook.com and web.facebook.com, where the popup runs and
posts its messages from) are what the connect page's Content-Security-Policy allows, on that
page only, and the only origins whose messages it reads (tests point them at a stand-in).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from frontdesk.connectors.base import ChannelSetup
from frontdesk.connectors.whatsapp_cloud.client import (
    DEFAULT_GRAPH_URL,
    Graph,
    GraphError,
    check_connection,
)

DEFAULT_SDK_URL = "https://connect.facebook.net/en_US/sdk.js"
DEFAULT_ORIGINS = ("https://www.facebook.com", "https://web.facebook.com")


def _setting(name: str) -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, "")).strip()


@dataclass(frozen=True)
class MetaApp:
    app_id: str
    app_secret: str
    config_id: str
    verify_token: str
    graph_url: str
    sdk_url: str = DEFAULT_SDK_URL
    origins: tuple[str, ...] = DEFAULT_ORIGINS

    @property
    def graph_version(self) -> str:
        return self.graph_url.rstrip("/").rsplit("/", 1)[-1] or "v21.0"


def meta_app() -> MetaApp | None:
    app_id, app_secret, config_id = (
        _setting("FRONTDESK_META_APP_ID"),
        _setting("FRONTDESK_META_APP_SECRET"),
        _setting("FRONTDESK_META_CONFIG_ID"),
    )
    if not (app_id and app_secret and config_id):
        return None
    return MetaApp(
        app_id=app_id,
        app_secret=app_secret,
        config_id=config_id,
        verify_token=_setting("FRONTDESK_META_VERIFY_TOKEN"),
        graph_url=(_setting("FRONTDESK_WHATSAPP_GRAPH_URL") or DEFAULT_GRAPH_URL).rstrip("/"),
        sdk_url=_setting("FRONTDESK_META_SDK_URL") or DEFAULT_SDK_URL,
        origins=tuple(
            o.strip().rstrip("/")
            for o in (_setting("FRONTDESK_META_ORIGINS") or ",".join(DEFAULT_ORIGINS)).split(",")
            if o.strip()
        ),
    )


@dataclass
class SignupResult:
    config: dict[str, Any]
    credentials: dict[str, Any]
    number: dict[str, Any]
    warnings: list[str]


def complete(
    app: MetaApp,
    code: str,
    waba_id: str,
    phone_number_id: str,
    setup: Callable[[dict[str, Any]], ChannelSetup],
) -> SignupResult:
    """Exchange the code, subscribe the app, register the number (``setup``: the connector's,
    which checks the configuration). Raises GraphError/ConfigError."""
    exchanged = Graph(app.graph_url, "").get(
        "oauth/access_token", client_id=app.app_id, client_secret=app.app_secret, code=code
    )
    token = str(exchanged.get("access_token") or "")
    if not token:
        raise GraphError("Meta did not return an access token for this code")
    checked = setup(
        {
            "phone_number_id": phone_number_id,
            "waba_id": waba_id,
            "access_token": token,
            "app_secret": app.app_secret,
            "verify_token": app.verify_token or secrets.token_urlsafe(24),
            "graph_url": app.graph_url,
        }
    )
    graph = Graph(app.graph_url, token)
    graph.post(f"{waba_id}/subscribed_apps", json={})
    warnings = []
    pin = f"{secrets.randbelow(10**6):06d}"
    try:
        graph.post(
            f"{phone_number_id}/register", json={"messaging_product": "whatsapp", "pin": pin}
        )
    except GraphError as exc:  # e.g. already registered with another two-step PIN
        warnings.append(f"The number could not be registered: {exc.reason}")
        pin = ""
    number: dict[str, Any] = {}
    with contextlib.suppress(GraphError):
        number = check_connection(app.graph_url, token, phone_number_id)
    credentials = {**checked.credentials}
    if pin:
        credentials["pin"] = pin
    return SignupResult(checked.config, credentials, number, warnings)
