"""Labels: the workspace's list (admins keep it) and the labels on each conversation."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction

from frontdesk.inbox import events
from frontdesk.inbox.actions.conversation import event_line
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import LABEL_COLORS, Conversation, ConversationLabel, Label
from frontdesk.workspaces.models import User

NAME_LIMIT = 50


def _clean(name: str, color: str) -> tuple[str, str]:
    name = " ".join(str(name or "").split())
    if not name:
        raise ActionRefused("a label needs a name")
    if len(name) > NAME_LIMIT:
        raise ActionRefused(f"a label's name is at most {NAME_LIMIT} characters")
    color = str(color or "").strip().lower()
    if color not in LABEL_COLORS:
        raise ActionRefused(f"color must be one of {', '.join(LABEL_COLORS)}")
    return name, color


def _save(label: Label) -> Label:
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError:
        raise ActionRefused(f"there is already a label called “{label.name}”") from None
    return label


def create_label(workspace_id: int, name: str, color: str) -> Label:
    name, color = _clean(name, color)
    return _save(Label(workspace_id=workspace_id, name=name, color=color))


def update_label(label: Label, name: str, color: str) -> Label:
    label.name, label.color = _clean(name, color)
    _save(label)
    events.labels_changed(label.workspace_id)
    return label


def delete_label(label: Label) -> None:
    """The label goes from every conversation that had it (their threads keep the lines
    that said it was added)."""
    label.delete()
    events.labels_changed(label.workspace_id)


def workspace_labels(workspace_id: int, label_ids: list[int]) -> list[Label]:
    """The workspace's labels with these ids; an id that is not one of them is refused."""
    wanted = set(label_ids)
    found = list(Label.objects.filter(workspace_id=workspace_id, pk__in=wanted))
    if unknown := sorted(wanted - {label.pk for label in found}):
        raise ActionRefused(f"no such labels in this workspace: {unknown}")
    return found


def change_labels(
    actor: User,
    conversation: Conversation,
    add: Sequence[Label] = (),
    remove: Sequence[Label] = (),
) -> bool:
    """Add and remove labels on one conversation (already checked to be its workspace's):
    one event line says what changed, and every open page is told. False: nothing changed."""
    current = set(
        ConversationLabel.objects.filter(conversation=conversation).values_list(
            "label_id", flat=True
        )
    )
    added = [label for label in add if label.pk not in current]
    removed = [label for label in remove if label.pk in current and label not in added]
    if not added and not removed:
        return False
    with transaction.atomic():
        ConversationLabel.objects.bulk_create(
            [
                ConversationLabel(
                    workspace_id=conversation.workspace_id, conversation=conversation, label=label
                )
                for label in added
            ],
            ignore_conflicts=True,  # a teammate added it at the same instant
        )
        ConversationLabel.objects.filter(
            conversation=conversation, label__in=[label.pk for label in removed]
        ).delete()
        parts = []
        if added:
            parts.append("added " + ", ".join(label.name for label in added))
        if removed:
            parts.append("removed " + ", ".join(label.name for label in removed))
        line = event_line(
            conversation,
            actor,
            f"{actor.display_name} {' and '.join(parts)}",
            action="labels",
            added=[label.pk for label in added],
            removed=[label.pk for label in removed],
        )
        line.save()
        events.conversation_labels(conversation, line.pk)
    return True


def set_labels(actor: User, conversation: Conversation, label_ids: list[int]) -> bool:
    """Exactly these labels on the conversation (the API's PUT)."""
    wanted = workspace_labels(conversation.workspace_id, label_ids)
    current = Label.objects.filter(
        pk__in=ConversationLabel.objects.filter(conversation=conversation).values("label_id")
    )
    keep = {label.pk for label in wanted}
    return change_labels(
        actor, conversation, add=wanted, remove=[c for c in current if c.pk not in keep]
    )
