"""The timeline's own lines: notes members write (pinned or not), and the record other CRM
actions leave of what they did (a stage change, a deal won, a follow-up done).

``record`` is called inside the action's transaction, so the line exists exactly when the
change does; it publishes ``timeline.changed`` for open pages to show it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from frontdesk.crm import events
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Activity, ActivityKind, Deal, Lead
from frontdesk.inbox.models import Contact
from frontdesk.workspaces.models import Membership, User

MAX_NOTE = 10_000


class NoteNotFound(LookupError):
    """No such note in this workspace (the caller answers 404)."""


def record(
    workspace_id: int,
    kind: str,
    text: str,
    *,
    contact_id: int,
    actor: User | None,
    lead: Lead | None = None,
    deal: Deal | None = None,
    extra: dict[str, Any] | None = None,
) -> Activity:
    activity = Activity.objects.create(
        workspace_id=workspace_id,
        contact_id=contact_id,
        lead=lead,
        deal=deal,
        kind=kind,
        text=text,
        actor=actor,
        extra=extra or {},
    )
    events.timeline_changed(
        workspace_id, contact_id, lead.pk if lead else None, deal.pk if deal else None
    )
    return activity


def touch_deal(workspace_id: int, deal: Deal, user_id: int | None) -> None:
    """The deal was worked on (a note on it, a follow-up on it done): its ``updated_at``
    moves to now, which restarts its rotting clock (``Deal.is_stale``) and puts its card
    first in its column. One UPDATE, in the caller's transaction; open boards refetch it."""
    Deal.objects.filter(workspace_id=workspace_id, pk=deal.pk).update(updated_at=timezone.now())
    events.deal_changed(workspace_id, deal.pk, deal.pipeline_id, user_id)


def add_note(
    workspace_id: int,
    by_user: User,
    text: str,
    *,
    contact_id: int | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
    pinned: bool = False,
) -> Activity:
    """A note on a contact, or on a lead or deal (then also on its contact's timeline). A
    note on a deal counts as work on it: it is not stale from then (``touch_deal``)."""
    text = str(text or "").strip()
    if not text:
        raise CrmError("write the note first")
    if len(text) > MAX_NOTE:
        raise CrmError(f"a note has at most {MAX_NOTE} characters")
    lead = deal = None
    if deal_id is not None:
        deal = Deal.objects.filter(workspace_id=workspace_id, pk=deal_id).first()
        if deal is None:
            raise NoteNotFound("deal not found")
        contact_id = deal.contact_id
    elif lead_id is not None:
        lead = Lead.objects.filter(workspace_id=workspace_id, pk=lead_id).first()
        if lead is None:
            raise NoteNotFound("lead not found")
        contact_id = lead.contact_id
    elif contact_id is None or not (
        Contact.objects.filter(workspace_id=workspace_id, pk=contact_id).exists()
    ):
        raise NoteNotFound("contact not found")
    with transaction.atomic():
        note = record(
            workspace_id,
            ActivityKind.NOTE,
            text,
            contact_id=contact_id,
            actor=by_user,
            lead=lead,
            deal=deal,
        )
        if pinned:
            note.pinned = True
            note.save(update_fields=["pinned"])
        if deal is not None:
            touch_deal(workspace_id, deal, by_user.pk)
    return note


def _note(workspace_id: int, note_id: int) -> Activity:
    note = Activity.objects.filter(
        workspace_id=workspace_id, pk=note_id, kind=ActivityKind.NOTE
    ).first()
    if note is None:
        raise NoteNotFound("note not found")
    return note


def pin_note(workspace_id: int, note_id: int, pinned: bool, by_user: User) -> Activity:
    """Pinned notes stay on top of the contact's (and lead's) page."""
    note = _note(workspace_id, note_id)
    if note.pinned != pinned:
        with transaction.atomic():
            note.pinned = pinned
            note.save(update_fields=["pinned"])
            events.timeline_changed(workspace_id, note.contact_id, note.lead_id, note.deal_id)
    return note


def delete_note(workspace_id: int, note_id: int, by: Membership) -> None:
    """Its author, or an owner or admin, may delete a note."""
    note = _note(workspace_id, note_id)
    if note.actor_id != by.user_id and not by.is_admin:
        raise CrmError("only its author or an admin can delete a note")
    with transaction.atomic():
        note.delete()
        events.timeline_changed(workspace_id, note.contact_id, note.lead_id, note.deal_id)
