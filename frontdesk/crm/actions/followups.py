"""Every write to a follow-up: schedule one (about a lead, a deal, a contact or a
conversation), mark it done or not, move it to another time, give it to someone else; and
the reminder round that tells each assignee once when theirs falls due.

A follow-up's ``notified_at`` says its reminder went out. Moving ``due_at`` clears it, so
the reminder goes out again at the new time; the round claims each row with a conditional
UPDATE, so a reminder goes out once even with two workers or after a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from frontdesk.crm import events
from frontdesk.crm.actions import activity
from frontdesk.crm.actions.values import UNSET, CrmError, clean_text, member
from frontdesk.crm.models import ActivityKind, Deal, FollowUp, Lead
from frontdesk.inbox.actions.notifications import notify
from frontdesk.inbox.models import Contact, Conversation, NotificationKind
from frontdesk.workspaces.models import User

MAX_NOTE = 500
REMIND_BATCH = 500


class FollowUpNotFound(LookupError):
    """No such follow-up (or lead, deal, contact, conversation) in this workspace: 404."""


def _aware(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise CrmError("due_at must be a date and time")
    if timezone.is_naive(value):
        raise CrmError("due_at needs a time zone offset, such as 2026-03-02T09:00:00+01:00")
    return value


def _subject(
    workspace_id: int,
    lead_id: int | None,
    deal_id: int | None,
    contact_id: int | None,
    conversation_id: int | None,
) -> dict[str, Any]:
    """The rows a new follow-up points at, from the one id given."""
    given = [
        n
        for n, v in (
            ("lead", lead_id),
            ("deal", deal_id),
            ("contact", contact_id),
            ("conversation", conversation_id),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise CrmError("say what the follow-up is about: one lead, deal, contact or conversation")
    ws = {"workspace_id": workspace_id}
    if lead_id is not None:
        lead = Lead.objects.filter(pk=lead_id, **ws).first()
        if lead is None:
            raise FollowUpNotFound("lead not found")
        return {"lead": lead, "contact_id": lead.contact_id}
    if deal_id is not None:
        deal = Deal.objects.filter(pk=deal_id, **ws).first()
        if deal is None:
            raise FollowUpNotFound("deal not found")
        return {"deal": deal, "contact_id": deal.contact_id}
    if conversation_id is not None:
        found = Conversation.objects.filter(pk=conversation_id, **ws).values("contact_id").first()
        if found is None:
            raise FollowUpNotFound("conversation not found")
        return {"conversation_id": conversation_id, "contact_id": found["contact_id"]}
    if contact_id is None or not Contact.objects.filter(pk=contact_id, **ws).exists():
        raise FollowUpNotFound("contact not found")
    return {"contact_id": contact_id}


def _record(followup: FollowUp, text: str, by_user: User | None) -> None:
    activity.record(
        followup.workspace_id,
        ActivityKind.FOLLOWUP,
        text,
        contact_id=followup.contact_id,
        actor=by_user,
        lead=followup.lead,
        deal=followup.deal,
        extra={"followup_id": followup.pk, "due_at": followup.due_at.isoformat()},
    )


def _about(note: str) -> str:
    return f": {note}" if note else ""


def create_followup(
    workspace_id: int,
    by_user: User,
    due_at: datetime,
    note: str = "",
    *,
    assignee_id: int | None = UNSET,
    lead_id: int | None = None,
    deal_id: int | None = None,
    contact_id: int | None = None,
    conversation_id: int | None = None,
) -> FollowUp:
    """Schedule a follow-up; its assignee is the member who schedules it unless another
    (or nobody, ``None``) is given."""
    due_at = _aware(due_at)
    note = clean_text(note, MAX_NOTE)
    subject = _subject(workspace_id, lead_id, deal_id, contact_id, conversation_id)
    assignee = by_user if assignee_id is UNSET else member(workspace_id, assignee_id, "assignee")
    with transaction.atomic():
        followup = FollowUp.objects.create(
            workspace_id=workspace_id,
            due_at=due_at,
            note=note,
            assignee=assignee,
            created_by=by_user,
            **subject,
        )
        _record(followup, f"Follow-up scheduled{_about(note)}", by_user)
        events.followups_changed(workspace_id, [followup.assignee_id])
    return followup_for(workspace_id, followup.pk)  # as stored: its time in UTC


def followup_for(workspace_id: int, followup_id: int) -> FollowUp:
    found = (
        FollowUp.objects.filter(workspace_id=workspace_id, pk=followup_id)
        .select_related("lead", "deal", "contact", "assignee")
        .first()
    )
    if found is None:
        raise FollowUpNotFound("follow-up not found")
    return found


def _mark(followup: FollowUp, done: bool, by_user: User) -> None:
    """Done (or open again), with its line on the timeline; done, it counts as work on its
    deal, if any (``activity.touch_deal``: the deal is not stale from then)."""
    followup.done_at = timezone.now() if done else None
    word = "done" if done else "reopened"
    _record(followup, f"Follow-up {word}{_about(followup.note)}", by_user)
    if done and followup.deal is not None:
        activity.touch_deal(followup.workspace_id, followup.deal, by_user.pk)


def update_followup(
    workspace_id: int,
    followup_id: int,
    by_user: User,
    *,
    done: bool = UNSET,
    due_at: datetime = UNSET,
    note: str = UNSET,
    assignee_id: int | None = UNSET,
) -> FollowUp:
    """Change what is given, all or nothing. A new ``due_at`` re-arms the reminder (and
    reopens a done follow-up unless ``done`` is given too). Done, it counts as work on its
    deal, if any: the deal is not stale from then (``activity.touch_deal``)."""
    with transaction.atomic():
        followup = (
            FollowUp.objects.select_for_update()
            .filter(workspace_id=workspace_id, pk=followup_id)
            .first()
        )
        if followup is None:
            raise FollowUpNotFound("follow-up not found")
        changed: list[str] = []
        was_assignee = followup.assignee_id
        if note is not UNSET:
            followup.note = clean_text(note, MAX_NOTE)
            changed.append("note")
        if assignee_id is not UNSET:
            assignee = member(workspace_id, assignee_id, "assignee")
            if followup.assignee_id != (assignee.pk if assignee else None):
                followup.assignee = assignee
                changed.append("assignee")
                if assignee is not None:
                    notify(
                        workspace_id,
                        assignee.pk,
                        NotificationKind.ASSIGNED,
                        f"{by_user.display_name} gave you a follow-up{_about(followup.note)}",
                        actor_id=by_user.pk,
                        lead_id=followup.lead_id,
                        deal_id=followup.deal_id,
                        followup_id=followup.pk,
                    )
        if due_at is not UNSET:
            due_at = _aware(due_at)
            if due_at != followup.due_at:
                followup.due_at, followup.notified_at = due_at, None
                changed += ["due_at", "notified_at"]
                if done is UNSET and followup.done_at is not None:
                    done = False
        if done is not UNSET and bool(done) != followup.done:
            _mark(followup, bool(done), by_user)
            changed.append("done_at")
        elif "due_at" in changed:
            _record(followup, f"Follow-up rescheduled{_about(followup.note)}", by_user)
        if changed:
            followup.save(update_fields=changed)
            events.followups_changed(workspace_id, [was_assignee, followup.assignee_id])
    return followup_for(workspace_id, followup.pk)


def remind_due(now: datetime | None = None) -> int:
    """Tell each assignee of an open follow-up that fell due, once (a periodic task)."""
    now = now or timezone.now()
    due = list(
        FollowUp.objects.filter(done_at__isnull=True, notified_at__isnull=True, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:REMIND_BATCH]
    )
    told = 0
    for pk in due:
        with transaction.atomic():
            claimed = FollowUp.objects.filter(
                pk=pk, done_at__isnull=True, notified_at__isnull=True, due_at__lte=now
            ).update(notified_at=now)
            if not claimed:
                continue
            followup = FollowUp.objects.select_related("contact").get(pk=pk)
            told += 1
            name = followup.contact.display_name
            notify(
                followup.workspace_id,
                followup.assignee_id,
                NotificationKind.FOLLOWUP_DUE,
                f"Follow-up due with {name}{_about(followup.note)}",
                conversation_id=followup.conversation_id,
                lead_id=followup.lead_id,
                deal_id=followup.deal_id,
                followup_id=followup.pk,
            )
            events.followups_changed(followup.workspace_id, [followup.assignee_id])
    return told
