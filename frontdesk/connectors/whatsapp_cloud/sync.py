"""WhatsApp Cloud's sync: the WABA's approved message templates, read from
``/{waba-id}/message_templates`` hourly and kept in the channel's ``sync_state`` (the reply
box offers them once the 24-hour window has closed)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.utils import timezone

from frontdesk.connectors.base import ProviderCallError, SyncPage, SyncRun
from frontdesk.connectors.whatsapp_cloud.client import GraphError, GraphUnreachable, graph_for

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

log = logging.getLogger("frontdesk.whatsapp")

TEMPLATE_SYNC_EVERY = timedelta(hours=1)
TEMPLATE_RETRY_AFTER = timedelta(minutes=10)
TEMPLATE_SALT = "frontdesk.whatsapp.template"
VARIABLE = re.compile(r"\{\{\s*([0-9A-Za-z_]+)\s*\}\}")


def template_pages(channel: ChannelPort, run: SyncRun) -> Iterator[SyncPage]:
    """The approved templates, hourly, as one page (the inbox stores them in
    ``sync_state``); after a failure, not again for a while."""
    state = dict(run.cursor)
    now = timezone.now()
    last = state.get("templates_synced_at")
    if last and now - datetime.fromisoformat(last) < TEMPLATE_SYNC_EVERY:
        return
    failed = state.get("templates_failed_at")
    if failed and now - datetime.fromisoformat(failed) < TEMPLATE_RETRY_AFTER:
        return
    refused: GraphError | None = None
    try:
        templates = fetch_templates(channel)
    except GraphError as exc:
        log.warning("template sync of channel %s failed: %s", channel.pk, exc)
        refused = exc if exc.needs_reconnect else None
    except GraphUnreachable as exc:
        log.warning("template sync of channel %s failed: %s", channel.pk, exc)
    else:
        yield SyncPage(cursor={**state, **templates})
        return
    # Not every minute while Meta is unreachable or refuses: try again in a while.
    yield SyncPage(cursor={**state, "templates_failed_at": now.isoformat()})
    if refused is not None:  # the inbox's sync runner flags the channel
        raise ProviderCallError(refused.reason, reconnect=True)


def fetch_templates(channel: ChannelPort) -> dict[str, Any]:
    """The WABA's approved templates (every page), as the ``sync_state`` keys that hold them:
    ``templates``, ``template_variables``, ``templates_synced_at``. Reads only; raises
    ``GraphError`` / ``GraphUnreachable``."""
    graph = graph_for(channel)
    templates: list[dict[str, Any]] = []
    after = None
    for _ in range(50):  # at most 50 pages of 100
        params: dict[str, Any] = {
            "fields": "name,language,status,category,components",
            "limit": 100,
        }
        if after:
            params["after"] = after
        page = graph.get(f"{channel.config['waba_id']}/message_templates", **params)
        for row in page.get("data") or []:
            if not isinstance(row, dict) or row.get("status") != "APPROVED":
                continue
            body = next(
                (
                    str(c.get("text") or "")
                    for c in row.get("components") or []
                    if isinstance(c, dict) and c.get("type") == "BODY"
                ),
                "",
            )
            name, language = str(row.get("name") or ""), str(row.get("language") or "")
            templates.append(
                {
                    "name": name,
                    "language": language,
                    "category": str(row.get("category") or ""),
                    "body": body,
                    "variables": template_variables(body),
                    # What the reply form posts back: tamper-proof, so the form needs no lookup.
                    "token": signing.dumps(
                        {"name": name, "language": language, "body": body}, salt=TEMPLATE_SALT
                    ),
                }
            )
        paging = page.get("paging")
        if not isinstance(paging, dict):
            break
        after = (paging.get("cursors") or {}).get("after")
        if not after or not paging.get("next"):
            break
    return {
        "templates": templates,
        # One input per distinct variable in the reply form (shared by the templates).
        "template_variables": sorted(
            {v for t in templates for v in t["variables"]},
            key=lambda v: (not v.isdigit(), int(v) if v.isdigit() else 0, v),
        ),
        "templates_synced_at": timezone.now().isoformat(),
    }


def template_variables(body: str) -> list[str]:
    seen: list[str] = []
    for name in VARIABLE.findall(body or ""):
        if name not in seen:
            seen.append(name)
    return seen
