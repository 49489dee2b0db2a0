"""Every connector, by provider name. A new channel is one folder plus one line here."""

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, URLResolver

from frontdesk.connectors.api.connector import ApiConnector
from frontdesk.connectors.base import Connector
from frontdesk.connectors.email.connector import (
    EmailConnector,
    GmailConnector,
    OutlookConnector,
    ZohoConnector,
)
from frontdesk.connectors.unipile.connector import UnipileConnector
from frontdesk.connectors.whatsapp_cloud.connector import WhatsAppCloudConnector

CONNECTORS: dict[str, Connector] = {
    c.provider: c
    for c in (
        ApiConnector(),
        WhatsAppCloudConnector(),
        UnipileConnector(),
        EmailConnector(),
        GmailConnector(),
        OutlookConnector(),
        ZohoConnector(),
    )
}


class UnknownProvider(LookupError):
    pass


def get_connector(provider: str) -> Connector:
    try:
        return CONNECTORS[provider]
    except KeyError:
        raise UnknownProvider(f"unknown provider {provider!r}") from None


def connector_urlpatterns() -> list[URLPattern | URLResolver]:
    return [pattern for connector in CONNECTORS.values() for pattern in connector.urlpatterns()]


def worker_services() -> list[Callable[[], Any]]:
    """What the worker starts beside itself: each connector's ``worker_service``, once."""
    starts = (c.worker_service() for c in CONNECTORS.values())
    return list(dict.fromkeys(s for s in starts if s is not None))
