"""Telling one member about something: assigned to them, a mention, a new message in a
conversation they own, a snooze that ended, a follow-up that fell due.

``notify`` is the one way a notification is made, for the inbox's actions and the CRM's
alike (the CRM passes its rows by id). The bell reads them; members who chose a kind by
email get a digest (``inbox.actions.notification_mail``) a few minutes later, unless they
have read it in the app by then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from frontdesk.inbox import events
from frontdesk.inbox.models import Conversation, Notification, NotificationKind
from frontdesk.workspaces.models import Membership


def _email_delay() -> timedelta:
    return timedelta(seconds=settings.FRONTDESK_NOTIFY_EMAIL_DELAY_SECONDS)


# A follow-up falling due is about a time: it goes out with the next round of digests (each
# minute), not a delay later. The rest waits the delay (a member who reads it in the app
# first gets no mail, and a burst becomes one mail).
MAILED_AT_ONCE = frozenset({NotificationKind.FOLLOWUP_DUE})


def notify(
    workspace_id: int,
    user_id: int | None,
    kind: str,
    text: str,
    *,
    actor_id: int | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
    followup_id: int | None = None,
) -> Notification | None:
    """Notify ``user_id`` (no one for ``None``, nor the member who did the thing, nor
    someone who is not an active member of the workspace). A new message in a conversation
    whose notification is still unread updates that one instead of adding another."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if user_id is None or user_id == actor_id:
        return None
    wanted = (
        Membership.objects.filter(workspace_id=workspace_id, user_id=user_id, user__is_active=True)
        .values_list("email_notifications", flat=True)
        .first()
    )
    if wanted is None:
        return None
    now = timezone.now()
    email_due = None
    if kind in (wanted or []):
        email_due = now if kind in MAILED_AT_ONCE else now + _email_delay()
    fields = {
        "text": text[:500],
        "actor_id": actor_id,
        "message_id": message_id,
        "created_at": now,
    }
    with transaction.atomic():
        row = None
        if kind == NotificationKind.NEW_MESSAGE and conversation_id is not None:
            row = _fold_new_message(workspace_id, user_id, conversation_id, fields, email_due)
        if row is None:
            row = Notification(
                workspace_id=workspace_id,
                user_id=user_id,
                kind=kind,
                conversation_id=conversation_id,
                lead_id=lead_id,
                deal_id=deal_id,
                followup_id=followup_id,
                email_due_at=email_due,
                **fields,
            )
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:  # a concurrent new message made the unread one first
                if kind != NotificationKind.NEW_MESSAGE or conversation_id is None:
                    raise
                row = _fold_new_message(workspace_id, user_id, conversation_id, fields, email_due)
                assert row is not None
        events.notification_created(row)
    return row


def conversation_title(conversation: Conversation) -> str:
    """How a notification names a conversation: its contact, and the subject if any."""
    title = conversation.contact.display_name
    return f"{title} · {conversation.subject}" if conversation.subject else title


def _fold_new_message(
    workspace_id: int,
    user_id: int,
    conversation_id: int,
    fields: dict[str, Any],
    email_due: datetime | None,
) -> Notification | None:
    unread = Notification.objects.filter(
        workspace_id=workspace_id,
        user_id=user_id,
        conversation_id=conversation_id,
        kind=NotificationKind.NEW_MESSAGE,
        read_at__isnull=True,
    )
    if not unread.update(
        count=F("count") + 1, email_due_at=Coalesce(F("email_due_at"), email_due), **fields
    ):
        return None
    return unread.first()


def mark_read(workspace_id: int, user_id: int, ids: Iterable[int] | None = None) -> int:
    """Mark some of the member's notifications read (``ids=None``: all of them); a read
    notification is never mailed. Returns how many changed."""
    rows = Notification.objects.filter(
        workspace_id=workspace_id, user_id=user_id, read_at__isnull=True
    )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return _read(workspace_id, user_id, rows)


def mark_conversation_read(workspace_id: int, user_id: int, conversation_id: int) -> int:
    """The member opened the conversation: what it notified them of is seen."""
    rows = Notification.objects.filter(
        workspace_id=workspace_id,
        user_id=user_id,
        conversation_id=conversation_id,
        read_at__isnull=True,
    )
    return _read(workspace_id, user_id, rows)


def _read(workspace_id: int, user_id: int, rows: QuerySet[Notification]) -> int:
    with transaction.atomic():
        changed: int = rows.update(read_at=timezone.now(), email_due_at=None)
        if changed:
            events.notification_read(workspace_id, user_id)
    return changed
