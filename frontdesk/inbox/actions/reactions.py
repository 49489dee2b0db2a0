"""Reactions on a message, for every channel that has them (WhatsApp, LinkedIn ...)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from frontdesk.inbox import events
from frontdesk.inbox.messages import find_message
from frontdesk.inbox.models import ChannelAccount, Message

log = logging.getLogger("frontdesk.reactions")


def set_reaction(
    channel: ChannelAccount,
    provider_id: str,
    by: str,
    emoji: str,
    at: datetime | None = None,
    name: str = "",
) -> Message | None:
    """Put (or, with an empty emoji, remove) ``by``'s reaction on a message of this channel.

    ``extra["reactions"]`` is a list of ``{"by", "name", "emoji", "at"}``, one per reactor.
    With a time given, an older event never overwrites a newer one, so replays and
    out-of-order deliveries are harmless. A reaction to a message we never had is dropped.
    """
    with transaction.atomic():
        message = find_message(channel, provider_id, for_update=True)
        if message is None:
            log.info(
                "reaction on unknown message %s on channel %s ignored", provider_id, channel.pk
            )
            return None
        stamp = at.isoformat() if at else ""
        reactions = [r for r in message.extra.get("reactions", []) if isinstance(r, dict)]
        mine = next((r for r in reactions if r.get("by") == by), None)
        if mine is not None and stamp and str(mine.get("at") or "") > stamp:
            return message  # a newer reaction from this person is already there
        removed = message.extra.get("reactions_removed", {})
        if mine is None and not emoji:
            return message
        if mine is None and stamp and str(removed.get(by) or "") > stamp:
            return message  # removed later than this reaction was made
        reactions = [r for r in reactions if r.get("by") != by]
        if emoji:
            reactions.append({"by": by, "name": name, "emoji": emoji, "at": stamp})
        else:
            removed = {**removed, by: stamp}
        message.extra = {
            **message.extra,
            "reactions": reactions[-50:],
            "reactions_removed": removed,
        }
        message.save(update_fields=["extra"])
        events.message_updated(message)
    return message
