"""The Message-IDs of the mail we send: ``frontdesk.<message id>.<tag>@<domain>``, the tag an
HMAC of the channel and the message, so a copy of our own reply found in the mailbox (the
Sent folder) names the message it came from, and no one else can make one."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

_OUR_ID = re.compile(r"^frontdesk\.(\d+)\.([0-9a-f]{20})@")


def message_id_for(channel: ChannelPort, message_id: int) -> str:
    domain = channel.config["address"].rsplit("@", 1)[-1]
    tag = hmac.new(
        settings.SECRET_KEY.encode(), f"{channel.pk}:{message_id}".encode(), hashlib.sha256
    ).hexdigest()[:20]
    return f"frontdesk.{message_id}.{tag}@{domain}"


def our_message(channel: ChannelPort, message_id: str) -> int | None:
    """The Frontdesk message id a Message-ID ``message_id_for`` made for this channel names,
    or None."""
    found = _OUR_ID.match(message_id)
    if not found or message_id_for(channel, int(found.group(1))) != message_id:
        return None
    return int(found.group(1))
