"""The connect page's adapter steps (the app's ``web/views/connect.py`` drives them): a manual
form (ids, token, app secret, a generated verify token) with the webhook URL to paste into
Meta's dashboard, "Test connection" and save; and, when a Meta app is configured, Meta's
Embedded Signup popup (``signup.py``).

``?channel=<id>`` reconnects an existing channel (new token or secret) instead of adding one.
Saving tests the connection first: a channel is only stored as connected when Meta accepted
the token for that phone number. Values in, values out: nothing here touches the inbox.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse

from frontdesk.connectors.base import (
    ChannelSetup,
    ConfigError,
    ConnectionTried,
    ConnectPopup,
    ProviderCallError,
    SyncPage,
)
from frontdesk.connectors.whatsapp_cloud import signup
from frontdesk.connectors.whatsapp_cloud.client import (
    DEFAULT_GRAPH_URL,
    GraphError,
    GraphUnreachable,
)
from frontdesk.connectors.whatsapp_cloud.signup import meta_app

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort
    from frontdesk.connectors.whatsapp_cloud.connector import WhatsAppCloudConnector

FIELDS = ("name", "phone_number_id", "waba_id", "access_token", "app_secret", "verify_token")
SECRETS = ("access_token", "app_secret", "verify_token")


def form(existing: ChannelPort | None, posted: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: "" for name in FIELDS}
    values["graph_url"] = ""
    values["mark_read"] = True
    if existing is not None:
        values.update(
            mark_read=bool(existing.config.get("mark_read", True)),
            name=existing.name,
            phone_number_id=existing.config.get("phone_number_id", ""),
            waba_id=existing.config.get("waba_id", ""),
            graph_url=existing.config.get("graph_url", ""),
        )
    else:
        values["verify_token"] = secrets.token_urlsafe(24)
    if posted:
        for name in (*FIELDS, "graph_url"):
            values[name] = str(posted.get(name, "")).strip()[:2000]
        values["mark_read"] = posted.get("mark_read") == "on"
        app = meta_app()
        if "code" in posted and app is not None:  # the popup's answer: the app's token
            values["verify_token"] = app.verify_token
    return values


def page_context(values: Mapping[str, Any], existing: ChannelPort | None) -> dict[str, Any]:
    return {
        "channel": existing,
        "webhook_url": settings.BASE_URL + reverse("whatsapp_webhook"),
        "default_graph_url": DEFAULT_GRAPH_URL,
        "meta_app": meta_app() if existing is None else None,
    }


def setup_from_form(
    connector: WhatsAppCloudConnector, values: Mapping[str, Any], existing: ChannelPort | None
) -> ChannelSetup:
    config: dict[str, Any] = {k: values[k] for k in FIELDS if k != "name"}
    config["mark_read"] = values["mark_read"]
    graph_url = str(values.get("graph_url") or "")
    if graph_url and graph_url.rstrip("/") != DEFAULT_GRAPH_URL:
        config["graph_url"] = graph_url
    if existing is not None:  # a blank secret keeps the stored one, never shown again
        for name in SECRETS:
            config[name] = config[name] or existing.credentials.get(name, "")
    setup = connector.setup(config)
    if existing is not None:
        setup.config = {**(existing.config or {}), **setup.config}
    return setup


def try_number(check: Callable[[], dict[str, Any]]) -> ConnectionTried:
    """The number as Meta knows it (``check``: ``check_connection``), shown beside
    "Connection works."."""
    try:
        number = check()
    except GraphError as exc:
        trace = f" (fbtrace_id {exc.fbtrace_id})" if exc.fbtrace_id else ""
        raise ConfigError(f"Meta refused: {exc.reason}{trace}") from None
    except GraphUnreachable as exc:
        raise ProviderCallError(str(exc), retry=True) from None
    return ConnectionTried(details={"number": number}, name=_name(number))


def _name(number: Mapping[str, Any]) -> str:
    return f"WhatsApp {number.get('display_phone_number', '')}"


def popup() -> ConnectPopup | None:
    app = meta_app()
    return ConnectPopup(script=app.sdk_url, origins=app.origins) if app is not None else None


def popup_complete(
    posted: Mapping[str, str], setup: Callable[[dict[str, Any]], ChannelSetup]
) -> tuple[ChannelSetup, ConnectionTried]:
    """Embedded Signup finished: exchange its code, subscribe the app, register the number
    (``setup``: the connector's)."""
    app = meta_app()
    if app is None:
        raise ConfigError("Embedded Signup is not configured on this server.")
    code = str(posted.get("code", "")).strip()[:2000]
    waba_id = str(posted.get("waba_id", "")).strip()[:64]
    phone_number_id = str(posted.get("phone_number_id", "")).strip()[:64]
    if not code or not waba_id or not phone_number_id:
        raise ConfigError(
            "Meta's signup did not finish (no code, WABA id or phone number id came back)."
        )
    try:
        result = signup.complete(app, code, waba_id, phone_number_id, setup)
    except GraphError as exc:
        raise ConfigError(f"Meta refused: {exc.reason}") from None
    except GraphUnreachable as exc:
        raise ProviderCallError(str(exc), retry=True) from None
    return (
        ChannelSetup(config=result.config, credentials=result.credentials),
        ConnectionTried(name=_name(result.number), warnings=list(result.warnings)),
    )


def templates_now(
    channel: ChannelPort, fetch: Callable[[ChannelPort], dict[str, Any]]
) -> SyncPage | None:
    """The approved templates at once (``fetch``: ``fetch_templates``), for the reply box
    (else the hourly sync tries again)."""
    with contextlib.suppress(GraphError, GraphUnreachable):
        return SyncPage(cursor={**(channel.sync_state or {}), **fetch(channel)})
    return None
