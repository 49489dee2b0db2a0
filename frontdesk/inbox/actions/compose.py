"""What the web composer sends: its light markup and the member's signature, rendered for
the channel (``inbox.formatting``), then queued like any reply."""

from __future__ import annotations

from typing import Any

from frontdesk.connectors.base import Connector, InboundAttachment
from frontdesk.inbox import formatting
from frontdesk.inbox.actions.send import queue_reply, start_conversation
from frontdesk.inbox.actions.signatures import SIGNATURE_LIMIT
from frontdesk.inbox.models import ChannelAccount, Conversation, Message
from frontdesk.workspaces.models import User


def render_body(connector: Connector, source: str, signature: str = "") -> formatting.Rendered:
    """The body as the channel takes it; a signature (on channels that carry one) follows
    the text after the usual "-- " line."""
    caps = connector.capabilities
    body = formatting.render(source, html_part=caps.html, markup=caps.markup)
    signature = signature.strip()[:SIGNATURE_LIMIT] if caps.signatures else ""
    if not signature:
        return body
    sig = formatting.render(signature, html_part=caps.html, markup=caps.markup)
    text = f"{body.text}\n\n-- \n{sig.text}" if body.text else f"-- \n{sig.text}"
    html = f'{body.html}\n<div class="signature">-- <br>{sig.html}</div>' if caps.html else ""
    return formatting.Rendered(text=text, html=html)


def reply(
    user: User,
    conversation: Conversation,
    source: str,
    attachments: list[InboundAttachment],
    extra: dict[str, Any],
    signature: str = "",
    after_message_id: int | None = None,
) -> Message:
    connector = conversation.channel.connector
    body = render_body(connector, source, signature) if source.strip() else None
    return queue_reply(
        user,
        conversation,
        body.text if body else "",
        attachments,
        extra,
        html=body.html if body else "",
        after_message_id=after_message_id,
    )


def start(
    user: User,
    channel: ChannelAccount,
    handle: str,
    source: str,
    contact_name: str,
    extra: dict[str, Any],
    signature: str = "",
) -> Message:
    body = render_body(channel.connector, source, signature) if source.strip() else None
    return start_conversation(
        user,
        channel,
        handle,
        body.text if body else "",
        contact_name,
        extra=extra,
        html=body.html if body else "",
    )
