"""Fixtures and helpers for the WhatsApp tests: the tests here, and the few elsewhere that
need a WhatsApp channel (they import ``graph`` or ``make_whatsapp_channel`` from here)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from frontdesk.connectors.registry import get_connector
from frontdesk.connectors.whatsapp_cloud.tests.peer import GraphPeer, sign
from frontdesk.inbox.models import ChannelAccount
from tests.webhook_client import WebhookClient

APP_SECRET = "app-secret-0123456789"
VERIFY_TOKEN = "verify-me-please"
CLIENT_WA = "447700900123"


@pytest.fixture
def graph():
    peer = GraphPeer()
    yield peer
    peer.close()


def make_whatsapp_channel(
    membership, graph: GraphPeer, app_secret: str = APP_SECRET, name: str = "WhatsApp", **over
) -> ChannelAccount:
    config = {
        "phone_number_id": graph.phone_number_id,
        "waba_id": graph.waba_id,
        "access_token": graph.token,
        "app_secret": app_secret,
        "verify_token": VERIFY_TOKEN,
        "graph_url": graph.url,
        **over,
    }
    setup = get_connector("whatsapp_cloud").setup(config)
    channel = ChannelAccount(
        workspace=membership.workspace,
        kind="whatsapp",
        provider="whatsapp_cloud",
        name=name,
        config=setup.config,
    )
    channel.credentials = setup.credentials
    channel.save()
    return channel


@pytest.fixture
def wa(owner, graph) -> ChannelAccount:
    return make_whatsapp_channel(owner, graph)


def post_webhook(
    payload: dict[str, Any] | bytes,
    secret: str = APP_SECRET,
    signature: str | None = None,
    client: Client | None = None,
):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {}
    sig = signature if signature is not None else sign(secret, body)
    if sig:
        headers["X-Hub-Signature-256"] = sig
    return (client or WebhookClient()).post(
        "/webhooks/whatsapp/", data=body, content_type="application/json", headers=headers
    )


_counter = iter(range(1, 10**9))


def wamid() -> str:
    return f"wamid.HBgLNDQ3NzAwOTAwMTIzFQIAEhg{next(_counter):06d}"


def msg(kind: str, body: Any = None, sender: str = CLIENT_WA, **more: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "from": sender,
        "id": more.pop("id", None) or wamid(),
        "timestamp": str(more.pop("timestamp", int(time.time()))),
        "type": kind,
    }
    if body is not None:
        item[kind] = body
    item.update(more)
    return item


def contacts(name: str = "Zoe Client", wa_id: str = CLIENT_WA) -> list[dict[str, Any]]:
    return [{"profile": {"name": name}, "wa_id": wa_id}]
