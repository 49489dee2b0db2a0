"""The server's entry point serves a provider's webhook without the middleware (the hot path,
``core/bare.py``) and every other URL with it; a webhook keeps the Host check and the
answers of the door (frontdesk/connectors/whatsapp_cloud/tests/test_inbound.py runs the door itself this way)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from frontdesk.connectors.whatsapp_cloud.tests.conftest import APP_SECRET, contacts, msg
from frontdesk.connectors.whatsapp_cloud.tests.conftest import graph as graph
from frontdesk.connectors.whatsapp_cloud.tests.conftest import wa as wa
from frontdesk.connectors.whatsapp_cloud.tests.peer import sign
from frontdesk.inbox.models import Message
from frontdesk.inbox.webhooks import webhook_paths
from frontdesk.wsgi import application

factory = RequestFactory()


@pytest.fixture(autouse=True)
def keep_the_test_database() -> Iterator[None]:
    """As Django's test client does: the request signals would close the test's database
    connection (its transaction, rolled back after the test)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
        started["status"], started["headers"] = int(status.split()[0]), dict(headers)

    answer = application(environ, start_response)
    body = b"".join(answer)
    answer.close()  # type: ignore[attr-defined]
    return started["status"], started["headers"], body


def signed(payload: dict[str, Any], **extra: str) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    return factory.post(
        "/webhooks/whatsapp/",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(APP_SECRET, body)},
        **extra,
    ).environ


def test_every_registered_webhook_url_takes_the_bare_path():
    assert {"/webhooks/whatsapp/", "/webhooks/unipile/"} <= webhook_paths()
    assert "/login/" not in webhook_paths()


def test_a_channel_registered_later_gets_its_webhook_served_bare_and_dropped_with_it(settings):
    """The bare paths are worked out once, not per request: a change of the connectors (a
    test's echo channel) is followed, both ways."""
    post = factory.post("/webhooks/echo/", data=b"not json", content_type="application/json")
    assert "/webhooks/echo/" not in webhook_paths()
    settings.FRONTDESK_CONNECTORS = [*settings.FRONTDESK_CONNECTORS, "tests.echo_channel"]
    assert "/webhooks/echo/" in webhook_paths()
    status, headers, _ = call(post.environ)
    assert status == 400  # the door's answer to a body it cannot read ...
    assert "Content-Security-Policy" not in headers  # ... without the page middleware
    settings.FRONTDESK_CONNECTORS = [p for p in settings.FRONTDESK_CONNECTORS if "echo" not in p]
    assert "/webhooks/echo/" not in webhook_paths()
    status, headers, _ = call(post.environ)
    assert status == 404
    assert "Content-Security-Policy" in headers  # an ordinary URL again


def test_a_signed_webhook_is_stored_without_the_page_middleware(wa, graph):
    status, headers, body = call(signed(graph.webhook(messages=[msg("text", {"body": "Hi"})])))
    assert (status, json.loads(body)) == (200, {"ok": True})
    assert Message.objects.get().text == "Hi"
    # No page headers, no cookie: the middleware did not run for it ...
    assert "Content-Security-Policy" not in headers
    assert "X-Frame-Options" not in headers
    assert "Set-Cookie" not in headers
    # ... while a page through the same entry point still gets them.
    status, headers, _ = call(factory.get("/login/").environ)
    assert status == 200
    assert "Content-Security-Policy" in headers
    assert headers.get("X-Frame-Options") == "SAMEORIGIN"


def test_a_webhook_for_a_host_not_served_here_is_400_and_stores_nothing(wa, graph):
    payload = graph.webhook(messages=[msg("text", {"body": "Hi"})], contacts=contacts())
    status, _, _ = call(signed(payload, HTTP_HOST="evil.example"))
    assert status == 400
    assert not Message.objects.exists()
