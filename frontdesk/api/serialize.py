"""Rows to the API's JSON shapes (shared by the API and the web's live updates)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from frontdesk.inbox.models import ChannelAccount, Contact, Conversation, Label, Message


def person(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.display_name, "email": user.email}


def contact(row: Contact) -> dict[str, Any]:
    return {
        "id": row.pk,
        "name": row.display_name,
        "company": row.company,
        "handles": [{"kind": h.kind, "value": h.value} for h in row.handles.all()],
    }


def public_auto_assign(row: ChannelAccount) -> dict[str, Any]:
    rule = row.auto_assign or {}
    return {
        "mode": rule.get("mode", "off"),
        "cap": rule.get("cap"),
        "member_ids": rule.get("member_ids"),
    }


def channel(row: ChannelAccount, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": row.pk,
        "kind": row.kind,
        "provider": row.provider,
        "name": row.name,
        "status": row.status,
        "last_error": row.last_error,
        "config": row.config,
        "auto_assign": public_auto_assign(row),
        "secret": secret,
        "removed": row.removed_at is not None,
        "removed_at": row.removed_at,
    }


def conversation(row: Conversation) -> dict[str, Any]:
    return {
        "id": row.pk,
        "channel": {
            "id": row.channel.pk,
            "kind": row.channel.kind,
            "provider": row.channel.provider,
            "removed": row.channel.removed_at is not None,
        },
        "contact": contact(row.contact),
        "subject": row.subject,
        "status": row.status,
        "assignee": person(row.assignee),
        "last_message_at": row.last_message_at,
        "snoozed_until": row.snoozed_until,
        "waiting_since": row.waiting_since,
        "preview": row.preview,
        "unread": bool(getattr(row, "is_unread", False)),
        "labels": [label(x) for x in row.labels.all()],
    }


def label(row: Label) -> dict[str, Any]:
    return {"id": row.pk, "name": row.name, "color": row.color}


def message(row: Message) -> dict[str, Any]:
    if row.author_user_id:
        author: dict[str, Any] | None = {"type": "member", **(person(row.author_user) or {})}
    elif row.direction == "inbound":
        author = {"type": "contact", "id": row.conversation.contact_id, "name": row.author_name}
    else:
        author = None
    return {
        "id": row.pk,
        "conversation_id": row.conversation_id,
        "direction": row.direction,
        "kind": row.kind,
        "text": row.text,
        "html": row.html,
        "subject": row.subject,
        "author": author,
        "provider_id": row.provider_id,
        "status": row.status or None,
        "error": row.error,
        "created_at": row.created_at,
        "mentions": [m["id"] for m in row.extra.get("mentions", [])]
        if isinstance(row.extra, dict)
        else [],
        "attachments": [
            {
                "id": a.pk,
                "name": a.name,
                "size": a.size,
                "content_type": a.content_type,
                "url": reverse("api-1:attachment_content", args=[a.pk]),
            }
            for a in row.attachments.all()
        ],
    }
