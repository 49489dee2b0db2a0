"""The one webhook door: route -> verify -> parse -> actions.

Every connector with a ``webhook_path`` is served here, with one answer policy:
401 for a missing or wrong signature, 400 for a body that cannot be read, 413 for one too
large, 200 ``{"ok": true, "ignored": ...}`` for traffic about no channel here or of no
interest, 200 ``{"ok": true}`` once everything it says is stored. A message that cannot
be stored (refused by the inbox's rules) is logged and the delivery still answered 200:
the provider would send the same refused message forever. A bug is a 500 (and logged by
Django), so the provider retries it. The connector only reads the traffic (values in,
values out); every write is an inbox action here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.signals import setting_changed
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from frontdesk.connectors.base import ChannelView, Connector, WebhookAnswer, WebhookRequest
from frontdesk.connectors.registry import CONNECTORS, get_connector
from frontdesk.core.rows import select_models
from frontdesk.inbox.models import ChannelAccount, ChannelStatus
from frontdesk.inbox.pipeline import apply

log = logging.getLogger("frontdesk.webhooks")


def _served() -> dict[str, Connector]:
    """Each webhook URL's path ("webhooks/whatsapp/") and the connector it serves."""
    return {c.webhook_path: c for c in CONNECTORS.values() if c.webhook_path}


def urlpatterns() -> list[URLPattern]:
    """The public webhook URLs (DESIGN.md section 5), one per connector that takes webhooks."""
    return [path(p, webhook_view(c.provider), name=c.webhook_name) for p, c in _served().items()]


@functools.cache
def webhook_paths() -> frozenset[str]:
    """The request paths of the webhook URLs ("/webhooks/whatsapp/", ...): served without
    the middleware (``core/bare.py``). Asked on every request, so worked out once: the
    registry only changes when a test changes ``FRONTDESK_CONNECTORS`` (``_forget_paths``)."""
    return frozenset("/" + p for p in _served())


def _forget_paths(*, setting: str, **kwargs: Any) -> None:
    if setting == "FRONTDESK_CONNECTORS":
        webhook_paths.cache_clear()


setting_changed.connect(_forget_paths)


def webhook_view(provider: str) -> Callable[[HttpRequest], HttpResponse]:
    connector = get_connector(provider)

    @csrf_exempt
    @require_http_methods(["GET", "POST"])
    def view(request: HttpRequest) -> HttpResponse:
        return receive(connector, request)

    view.__name__ = f"{provider}_webhook"
    return view


def receive(connector: Connector, request: HttpRequest) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    given = WebhookRequest(
        method=request.method or "",
        headers=request.headers,
        query=request.GET,
        body=b"" if request.method == "GET" else request.body,
        declared_length=length,
    )
    if request.method == "GET":
        live = list(_live(connector).only("pk", "credentials_encrypted"))
        return _response(connector, connector.webhook_handshake(given, live))
    try:
        deferred = deliver(connector, given)
    except WebhookAnswer as answer:
        return _response(connector, answer)
    if deferred:  # stored by a job once its attachments are downloaded
        return JsonResponse({"ok": True, "queued": True}, status=202)
    return JsonResponse({"ok": True})


def deliver(connector: Connector, request: WebhookRequest) -> bool:
    """Route each part to the channel it names, keep those the channel's secret signed, and
    write what they say. Raises ``WebhookAnswer`` for anything but a plain 200; returns
    whether a message was left to a job."""
    keys = connector.webhook_keys(request)
    signed: list[tuple[ChannelAccount, ChannelView]] = []
    if keys is not None:  # the secret is outside the body: checked before the body is read
        config = {f"config__{k}": v for k, v in keys.items()}
        signed = _signed(connector, list(_live(connector).filter(**config)), request)
        if not signed:
            raise WebhookAnswer.unsigned("unknown channel or wrong secret")
    parts = connector.webhook_split(request)
    routes = sorted({route for route, _ in parts})
    if not routes:
        return False
    field = connector.webhook_route_field
    if keys is None:
        candidates = _routed(connector, routes)
        if not candidates:
            log.warning(
                "%s webhook for unknown %s(s) %s ignored",
                connector.provider,
                connector.webhook_route_label,
                ", ".join(routes),
            )
            raise WebhookAnswer.ignored(f"unknown {connector.webhook_route_label}")
        signed = _signed(connector, candidates, request)
        if not signed:
            raise WebhookAnswer.unsigned("signature mismatch")
    by_route: dict[str, list[tuple[ChannelAccount, ChannelView]]] = {}
    for channel, view in signed:
        by_route.setdefault(str(channel.config.get(field)), []).append((channel, view))
    deferred = False
    for route, part in parts:
        targets = by_route.get(route)
        if not targets:
            log.warning(
                "%s: part for %s not signed by that channel: ignored", connector.provider, route
            )
            if len(parts) == 1:
                raise connector.webhook_unrouted(request)
            continue
        if len(targets) > 1:
            # One address lives in one workspace: the connected, most recently connected
            # channel gets it; a stale copy elsewhere (in error, awaiting reconnection) never does.
            log.warning("%s %s is on %d channels: routed to one", field, route, len(targets))
        channel, view = max(targets, key=lambda target: _routing_rank(target[0]))
        deferred |= apply(channel, connector.webhook_events(view, part))
    return deferred


def _signed(
    connector: Connector, channels: list[ChannelAccount], request: WebhookRequest
) -> list[tuple[ChannelAccount, ChannelView]]:
    """The channels whose secret signed the request, each with the view its connector is
    handed (made once per delivery)."""
    views = [(channel, channel.view()) for channel in channels]
    return [(c, view) for c, view in views if connector.webhook_signed_by(view, request)]


def _live(connector: Connector) -> QuerySet[ChannelAccount]:
    return ChannelAccount.objects.filter(provider=connector.provider).exclude(
        status=ChannelStatus.DISCONNECTED
    )


def _routed(connector: Connector, routes: list[str]) -> list[ChannelAccount]:
    """The live channels whose config's route field holds one of ``routes``.

    ``_live(...).filter(config__<field>__in=routes)`` in one hand-written statement, read
    by ``select_models``: the ORM compiling a JSON key lookup, then a raw queryset matching
    columns to fields, were most of a webhook's routing time (the hot path). Read on every
    webhook, never kept: a channel disconnected, reconnected or given a new secret counts
    from the next delivery, in every process."""
    vendor = connection.vendor
    if vendor == "postgresql":
        key, value = "config ->> %s", connector.webhook_route_field
    else:  # SQLite: JSON text; the key quoted as a JSON path member
        key, value = "json_extract(config, %s)", f'$."{connector.webhook_route_field}"'
    marks = ", ".join(["%s"] * len(routes))
    where = f"provider = %s AND status <> %s AND {key} IN ({marks})"
    params = [connector.provider, ChannelStatus.DISCONNECTED, value, *routes]
    return select_models(ChannelAccount, where, params)


def _routing_rank(channel: ChannelAccount) -> tuple[bool, Any, int]:
    return (channel.status == ChannelStatus.CONNECTED, channel.created_at, channel.pk)


def _response(connector: Connector, answer: WebhookAnswer) -> HttpResponse:
    if answer.status in (401, 403):  # a bad signature, an unknown verify token
        log.warning("%s webhook refused: %s", connector.provider, answer)
    if answer.text:
        return HttpResponse(answer.body["text"], status=answer.status, content_type="text/plain")
    return JsonResponse(answer.body, status=answer.status)
