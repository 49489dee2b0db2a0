"""Several conversations at once (the list's selection): assign, label, change status.

One transaction for the lot: the conversations are locked in id order, each change is the
same action as on one conversation (its event line, its notification, its live event), and
if any input is refused nothing changes. Events go out once the whole lot has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from frontdesk.inbox.actions.conversation import assign, set_status
from frontdesk.inbox.actions.labels import change_labels, workspace_labels
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import Conversation, ConversationStatus
from frontdesk.workspaces.models import User
from frontdesk.workspaces.services import active_member

MAX_CONVERSATIONS = 200


@dataclass
class BulkChange:
    """What to do to each conversation; ``assign`` False leaves the assignee alone."""

    assign: bool = False
    assignee_id: int | None = None
    add_label_ids: Sequence[int] = field(default_factory=list)
    remove_label_ids: Sequence[int] = field(default_factory=list)
    status: str | None = None


def apply(
    actor: User, workspace_id: int, conversation_ids: Sequence[int], change: BulkChange
) -> list[Conversation]:
    """Apply ``change`` to these conversations of the workspace (all or none)."""
    wanted = set(conversation_ids)
    if not wanted:
        raise ActionRefused("select at least one conversation")
    if len(wanted) > MAX_CONVERSATIONS:
        raise ActionRefused(f"select at most {MAX_CONVERSATIONS} conversations at once")
    assignee = None
    if change.assign and change.assignee_id is not None:
        assignee = active_member(workspace_id, change.assignee_id)
        if assignee is None:
            raise ActionRefused("that person is not a member of this workspace")
    add = workspace_labels(workspace_id, list(change.add_label_ids))
    remove = workspace_labels(workspace_id, list(change.remove_label_ids))
    if change.status is not None and change.status not in (
        ConversationStatus.OPEN,
        ConversationStatus.PENDING,
        ConversationStatus.RESOLVED,
    ):
        raise ActionRefused("status must be open, pending or resolved (snooze one at a time)")
    if not (change.assign or add or remove or change.status):
        raise ActionRefused("choose what to do: assign, label or change the status")
    with transaction.atomic():
        rows = list(
            Conversation.objects.select_for_update(of=("self",))
            .filter(workspace_id=workspace_id, pk__in=wanted)
            .select_related("channel", "contact")
            .order_by("pk")
        )
        if missing := sorted(wanted - {row.pk for row in rows}):
            raise ActionRefused(f"no such conversations in this workspace: {missing}")
        for row in rows:
            if change.assign:
                assign(actor, row, assignee)
            if add or remove:
                change_labels(actor, row, add=add, remove=remove)
            if change.status:
                set_status(actor, row, change.status)
    return rows
