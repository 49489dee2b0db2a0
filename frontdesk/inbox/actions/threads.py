"""Which conversation (and contact) a message belongs to, created when new.

The default thread is the handle itself, so the common case (a known client writing
again) costs one indexed lookup and never touches the contact tables.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from frontdesk.connectors import registry
from frontdesk.connectors.base import InboundMessage
from frontdesk.core.rows import fetch_one, insert_row
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, Contact, ContactHandle, Conversation

_LATEST_REFERENCED = (
    "SELECT m.conversation_id, c.contact_id FROM inbox_message m"
    " JOIN inbox_conversation c ON c.id = m.conversation_id"
    " WHERE m.channel_id = %s AND m.provider_id IN ({marks})"
    " ORDER BY m.created_at DESC LIMIT 1"
)


def conversation_of_inbound(
    channel: ChannelAccount,
    handle_kind: str,
    handle_value: str,
    item: InboundMessage,
    at: datetime,
) -> Conversation:
    """The conversation an inbound message joins: one it references, its thread, or a new one."""
    if item.references:
        # the conversation of the latest message it references (one row, no ORM: this ran
        # for most replies and was the costliest statement of a mail sync)
        refs = list(dict.fromkeys(item.references[-50:]))
        marks = ", ".join(["%s"] * len(refs))  # placeholders only; the ids are parameters
        found = fetch_one(_LATEST_REFERENCED.format(marks=marks), [channel.pk, *refs])
        if found:
            return Conversation.from_db(
                "default",
                ["id", "workspace_id", "channel_id", "contact_id"],
                (found[0], channel.workspace_id, channel.pk, found[1]),
            )
    thread_key = item.thread_key or default_thread_key(handle_kind, handle_value)
    return conversation_with(
        channel, handle_kind, handle_value, item.contact_name, thread_key, item.subject, at
    )


def default_thread_key(handle_kind: str, handle_value: str) -> str:
    """One conversation per person on a channel, unless the provider names its threads."""
    return f"{handle_kind}:{handle_value}"


def conversation_with(
    channel: ChannelAccount,
    handle_kind: str,
    handle_value: str,
    contact_name: str,
    thread_key: str,
    subject: str = "",
    at: datetime | None = None,
) -> Conversation:
    """The conversation of this thread on the channel, created (with its contact) if new."""
    thread_key = thread_key[:500]
    found = fetch_one(
        "SELECT id, contact_id FROM inbox_conversation WHERE channel_id = %s AND thread_key = %s",
        [channel.pk, thread_key],
    )
    if found:
        conversation_id, contact_id = found
        return Conversation.from_db(
            "default",
            ["id", "workspace_id", "channel_id", "contact_id"],
            (conversation_id, channel.workspace_id, channel.pk, contact_id),
        )
    contact = _contact_for(channel, handle_kind, handle_value, contact_name)
    conversation = Conversation(
        workspace_id=channel.workspace_id,
        channel=channel,
        contact=contact,
        thread_key=thread_key,
        subject=subject[:500],
        last_message_at=at or timezone.now(),
    )
    if insert_row(conversation, if_absent=True):
        return conversation
    # A concurrent message of the same thread created it first.
    return Conversation.objects.get(channel=channel, thread_key=thread_key)


def _contact_for(channel: ChannelAccount, kind: str, value: str, name: str) -> Contact:
    """The contact owning this handle in the workspace (from any channel), or a new one."""
    found = _handle_owner(channel.workspace_id, kind, value)
    if found:
        if name and not found.name:
            found.name = name[:300]
            found.save(update_fields=["name", "updated_at"])
        return found
    require_declared_kind(kind)
    contact = Contact(workspace_id=channel.workspace_id, name=name[:300])
    insert_row(contact)
    handle = ContactHandle(
        workspace_id=channel.workspace_id, contact=contact, kind=kind, value=value
    )
    if insert_row(handle, if_absent=True):
        return contact
    contact.delete()  # a concurrent message from the same person created the contact first
    owner = _handle_owner(channel.workspace_id, kind, value)
    assert owner is not None
    return owner


def require_declared_kind(kind: str) -> None:
    """A new address is of a kind some registered connector declares (``handle_kinds``)."""
    if kind not in registry.handle_kinds():
        raise ActionRefused(
            f"no registered channel declares the address kind {kind[:40]!r}: its connector "
            "lists the kinds of address it brings in handle_kinds"
        )


def _handle_owner(workspace_id: int, kind: str, value: str) -> Contact | None:
    row = fetch_one(
        "SELECT c.id, c.name FROM inbox_contacthandle h JOIN inbox_contact c ON c.id = h.contact_id"
        " WHERE h.workspace_id = %s AND h.kind = %s AND h.value = %s",
        [workspace_id, kind, value],
    )
    if row is None:
        return None
    return Contact.from_db(
        "default", ["id", "workspace_id", "name"], (row[0], workspace_id, row[1])
    )


def recipient_in_thread(channel: ChannelAccount, thread_key: str) -> str:
    """The handle (of the channel's kind) of the contact whose conversation on this channel
    is the provider thread ``thread_key``; "" when no conversation has it."""
    if not thread_key:
        return ""
    conversation = (
        Conversation.objects.filter(channel=channel, thread_key=thread_key)
        .select_related("contact")
        .first()
    )
    if conversation is None:
        return ""
    found = conversation.contact.handles.filter(kind=channel.connector.handle_kind).first()
    return found.value if found else ""


def adopt_thread_key(channel: ChannelAccount, conversation_id: int, thread_key: str) -> None:
    """A provider thread our send started (a new chat) becomes the conversation's, so the
    replies in it land there; never one another conversation already holds."""
    if not Conversation.objects.filter(channel=channel, thread_key=thread_key).exists():
        Conversation.objects.filter(pk=conversation_id, channel=channel).update(
            thread_key=thread_key[:500]
        )
