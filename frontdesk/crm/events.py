"""Every live event the CRM sends, one typed function each: the only CRM module that
publishes. Each goes out after the transaction that made the change commits (``publish``
defers to ``on_commit``), to every open page of the workspace (``app.js`` listens)."""

from __future__ import annotations

from frontdesk.realtime.publish import publish


def lead_created(
    workspace_id: int, lead_id: int, conversation_id: int | None, message_id: int | None, stage: str
) -> None:
    publish(
        workspace_id,
        "lead.created",
        lead_id=lead_id,
        conversation_id=conversation_id,
        message_id=message_id,
        stage=stage,
    )


def lead_updated(
    workspace_id: int, lead_id: int, conversation_id: int | None, stage: str, user_id: int | None
) -> None:
    publish(
        workspace_id,
        "lead.updated",
        lead_id=lead_id,
        conversation_id=conversation_id,
        stage=stage,
        user_id=user_id,
    )


def contact_created(workspace_id: int, contact_id: int, user_id: int | None) -> None:
    publish(workspace_id, "contact.created", contact_id=contact_id, user_id=user_id)


def contact_updated(workspace_id: int, contact_id: int, user_id: int | None) -> None:
    """The same event the inbox sends when a connector fills a contact in: open contact
    panels and contact pages fetch it again."""
    publish(workspace_id, "contact.updated", contact_id=contact_id, user_id=user_id)


def contacts_removed(
    workspace_id: int, deleted: list[int], archived: list[int], user_id: int | None
) -> None:
    publish(workspace_id, "contacts.removed", deleted=deleted, archived=archived, user_id=user_id)


def timeline_changed(
    workspace_id: int, contact_id: int, lead_id: int | None, deal_id: int | None = None
) -> None:
    """A line was added to (or a note pinned on, or removed from) these timelines."""
    publish(
        workspace_id, "timeline.changed", contact_id=contact_id, lead_id=lead_id, deal_id=deal_id
    )


def deal_changed(workspace_id: int, deal_id: int, pipeline_id: int, user_id: int | None) -> None:
    """A deal was made, moved or edited: open boards and its page fetch it again."""
    publish(workspace_id, "deal.changed", deal_id=deal_id, pipeline_id=pipeline_id, user_id=user_id)


def contacts_imported(
    workspace_id: int, import_id: int, result: dict[str, int], user_id: int | None
) -> None:
    """A CSV file's contacts came in at once (one event, not one per contact)."""
    publish(workspace_id, "contacts.imported", import_id=import_id, user_id=user_id, **result)


def followups_changed(workspace_id: int, user_ids: list[int | None]) -> None:
    """Follow-ups of these members were scheduled, fell due, were done, moved or given to
    someone else: their sidebars count the due ones again."""
    users = sorted({u for u in user_ids if u is not None})
    if users:
        publish(workspace_id, "followups.changed", user_ids=users)
