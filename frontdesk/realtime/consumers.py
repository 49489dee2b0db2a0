"""The websocket at /ws/: a logged-in member receives their workspace's events."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from frontdesk.realtime.layer import ProcessGroupLayer
from frontdesk.realtime.publish import workspace_group
from frontdesk.workspaces.models import Membership


@database_sync_to_async
def _workspace_ids(user: Any, wanted: Any) -> list[int]:
    ids = list(
        Membership.objects.filter(user=user)
        .order_by("created_at", "id")
        .values_list("workspace_id", flat=True)
    )
    if wanted in ids:
        return [wanted]
    return ids[:1]


class EventsConsumer(AsyncJsonWebsocketConsumer):
    groups: list[str]

    async def connect(self) -> None:
        if isinstance(self.channel_layer, ProcessGroupLayer):
            self.channel_layer.listen()  # this process now serves a socket: hear the events
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        session = self.scope.get("session")
        wanted = session.get("workspace_id") if session is not None else None
        self.groups = [workspace_group(w) for w in await _workspace_ids(user, wanted)]
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def fd_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Presence: a member says which conversation they are viewing and whether they type.

        Relayed to the workspace as-is (never stored); only ids and the sender's own name go out.
        """
        if not isinstance(content, dict) or content.get("type") != "presence" or not self.groups:
            return
        conversation_id = content.get("conversation_id")
        if conversation_id is not None and not isinstance(conversation_id, int):
            return
        user = self.scope["user"]
        event = {
            "type": "presence",
            "user_id": user.pk,
            "name": user.display_name,
            "conversation_id": conversation_id,
            "typing": bool(content.get("typing")),
        }
        await self.channel_layer.group_send(self.groups[0], {"type": "fd.event", "event": event})
