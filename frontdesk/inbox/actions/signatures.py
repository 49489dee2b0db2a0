"""Who an email is from: the name in ``From`` and the signature under the text.

A member's own signature wins over the channel's team signature; both are composer markup,
rendered per channel by ``compose.render_body`` and editable on each message. The sender
name is the channel's own (an admin's setting) or "<member> at <workspace>", as Front and
Missive do, so the client sees a person and the company together.
"""

from __future__ import annotations

from django.db import transaction

from frontdesk.inbox.models import ChannelAccount, Message
from frontdesk.workspaces.models import Membership

SIGNATURE_LIMIT = 2000
SENDER_NAME_LIMIT = 120


def carries_signature(channel: ChannelAccount) -> bool:
    return bool(channel.connector.capabilities.signatures)


def signature_for(membership: Membership, channel: ChannelAccount) -> str:
    """The signature the composer starts with for this member on this channel."""
    if not carries_signature(channel):
        return ""
    return membership.signature.strip() or str(channel.config.get("signature") or "").strip()


def sender_name(message: Message) -> str:
    """The display name a reply is sent under (``OutboundMessage.sender_name``)."""
    channel = message.channel
    own = _one_line(str(channel.config.get("from_name") or ""))
    if own:
        return own
    workspace = channel.workspace.name
    author = message.author_user.display_name if message.author_user else ""
    return _one_line(f"{author} at {workspace}" if author else workspace)


def set_own_signature(membership: Membership, text: str) -> None:
    membership.signature = text.strip()[:SIGNATURE_LIMIT]
    membership.save(update_fields=["signature"])


def set_channel_identity(channel: ChannelAccount, *, from_name: str, signature: str) -> None:
    """An admin's sender name and team signature for one channel (empty: the defaults)."""
    with transaction.atomic():
        channel = ChannelAccount.objects.select_for_update().get(pk=channel.pk)
        config = dict(channel.config)
        for key, value in (
            ("from_name", _one_line(from_name)[:SENDER_NAME_LIMIT]),
            ("signature", signature.strip()[:SIGNATURE_LIMIT]),
        ):
            if value:
                config[key] = value
            else:
                config.pop(key, None)
        channel.config = config
        channel.save(update_fields=["config"])


def _one_line(text: str) -> str:
    return " ".join(text.split())
