"""Publish one small event per change, after the transaction that made it commits."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger("frontdesk.realtime")


def workspace_group(workspace_id: int) -> str:
    return f"workspace.{workspace_id}"


def publish(workspace_id: int, event_type: str, **data: Any) -> None:
    event = {"type": event_type, **data}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(
                workspace_group(workspace_id), {"type": "fd.event", "event": event}
            )
        except Exception:  # a lost live update must never undo or break the write
            log.exception("could not publish %s", event_type)

    transaction.on_commit(send)
