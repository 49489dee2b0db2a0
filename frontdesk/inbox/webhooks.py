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

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from frontdesk.connectors.base import Connector, InboundEvents, WebhookAnswer, WebhookRequest
from frontdesk.connectors.registry import CONNECTORS, get_connector
from frontdesk.inbox.actions.contacts import change_handle, keep_contact_facts
from frontdesk.inbox.actions.delivery import ingest_status
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.actions.reactions import set_reaction
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, ChannelStatus

log = logging.getLogger("frontdesk.webhooks")


def urlpatterns() -> list[URLPattern]:
    """The public webhook URLs (DESIGN.md section 5), one per connector that takes webhooks."""
    served = {c.webhook_path: c for c in CONNECTORS.values() if c.webhook_path}
    return [path(p, webhook_view(c.provider), name=c.webhook_name) for p, c in served.items()]


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
        deliver(connector, given)
    except WebhookAnswer as answer:
        return _response(connector, answer)
    return JsonResponse({"ok": True})


def deliver(connector: Connector, request: WebhookRequest) -> None:
    """Route each part to the channel it names, keep those the channel's secret signed, and
    write what they say. Raises ``WebhookAnswer`` for anything but a plain 200."""
    parts = connector.webhook_split(request)
    routes = sorted({route for route, _ in parts})
    if not routes:
        return
    field = connector.webhook_route_field
    candidates = list(_live(connector).filter(**{f"config__{field}__in": routes}))
    if not candidates:
        log.warning(
            "%s webhook for unknown %s(s) %s ignored",
            connector.provider,
            connector.webhook_route_label,
            ", ".join(routes),
        )
        raise WebhookAnswer.ignored(f"unknown {connector.webhook_route_label}")
    signed = [c for c in candidates if connector.webhook_signed_by(c, request)]
    if not signed:
        raise WebhookAnswer.unsigned("signature mismatch")
    by_route: dict[str, list[ChannelAccount]] = {}
    for channel in signed:
        by_route.setdefault(str(channel.config.get(field)), []).append(channel)
    for route, part in parts:
        targets = by_route.get(route)
        if not targets:
            log.warning(
                "%s: part for %s not signed by that channel: ignored", connector.provider, route
            )
            continue
        if len(targets) > 1:
            # One address lives in one workspace: the connected, most recently connected
            # channel gets it; a stale copy elsewhere (in error, awaiting reconnection) never does.
            log.warning("%s %s is on %d channels: routed to one", field, route, len(targets))
        channel = max(targets, key=_routing_rank)
        store(channel, connector.webhook_events(channel, part))


def store(channel: ChannelAccount, said: InboundEvents) -> None:
    """Write everything a piece of provider traffic says: messages, handle changes,
    reactions, statuses; problems the provider reported are logged."""
    connector = channel.connector
    for item in said.messages:
        try:
            result = ingest(channel, item)
        except ActionRefused as exc:
            log.warning(
                "%s message %s not stored: %s", channel.provider, item.provider_id[:80], exc
            )
            continue
        if not result.created:
            continue
        if item.contact_facts:
            keep_contact_facts(result.conversation.contact, item.contact_facts)
        if item.fetch_later:
            transaction.on_commit(partial(connector.fetch_later, result.message.pk))
    for change in said.handle_changes:
        change_handle(channel, change.kind, change.old, change.new)
    for reaction in said.reactions:
        if reaction.message_id and reaction.by:
            set_reaction(channel, reaction.message_id, reaction.by, reaction.emoji, reaction.at)
    for update in said.statuses:
        try:
            ingest_status(channel, update)
        except ActionRefused as exc:
            log.warning("%s status not applied: %s", channel.provider, exc)
    for problem in said.problems:
        log.warning("%s reported an error on channel %s: %s", channel.provider, channel.pk, problem)


def _live(connector: Connector) -> QuerySet[ChannelAccount]:
    return ChannelAccount.objects.filter(provider=connector.provider).exclude(
        status=ChannelStatus.DISCONNECTED
    )


def _routing_rank(channel: ChannelAccount) -> tuple[bool, Any, int]:
    return (channel.status == ChannelStatus.CONNECTED, channel.created_at, channel.pk)


def _response(connector: Connector, answer: WebhookAnswer) -> HttpResponse:
    if answer.status in (401, 403):  # a bad signature, an unknown verify token
        log.warning("%s webhook refused: %s", connector.provider, answer)
    if answer.text:
        return HttpResponse(answer.body["text"], status=answer.status, content_type="text/plain")
    return JsonResponse(answer.body, status=answer.status)
