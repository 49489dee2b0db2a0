"""The demo's client website: its chat widget's backend, which calls the API channel's door
with the channel's secret, as a customer's own server would. A peer of the app, not the app:
its calls do not go through ``connectors.http``."""

from __future__ import annotations

from typing import Any

import httpx


def post_to_api_channel(
    base_url: str, channel_id: int, secret: str, what: str, payload: dict[str, Any]
) -> httpx.Response:
    """``what`` is "messages" (a visitor writes) or "statuses" (a reply's ticks)."""
    return httpx.post(
        f"{base_url}/api/v1/channels/{channel_id}/{what}",
        json=payload,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
