"""Every write to a deal: make one (from a lead, in one click, or by hand), move it through
its pipeline to won or lost, edit its fields.

A deal's status follows its stage's type: a won or lost stage closes it (``closed_at``), an
active one (re)opens it. Each change leaves a line on the timeline and sends one event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from frontdesk.crm import events
from frontdesk.crm.actions import activity
from frontdesk.crm.actions.pipelines import PipelineNotFound, stage_in, workspace_pipelines
from frontdesk.crm.actions.values import (
    UNSET,
    CrmError,
    clean_tags,
    clean_text,
    currency,
    member,
    money,
)
from frontdesk.crm.models import (
    ActivityKind,
    Deal,
    DealStatus,
    Lead,
    LeadStage,
    Priority,
    Stage,
    StageType,
)
from frontdesk.crm.queries.deals import DealNotFound, deal_for
from frontdesk.inbox.models import Contact
from frontdesk.workspaces.models import User

_STATUS = {StageType.ACTIVE: DealStatus.OPEN, StageType.WON: DealStatus.WON}


def _status_of(stage: Stage) -> str:
    return _STATUS.get(StageType(stage.type), DealStatus.LOST)


def _first_stage(workspace_id: int, pipeline_id: int | None, stage_id: int | None) -> Stage:
    """The stage a new deal starts in: the one given, else the first active stage of the
    pipeline given (or of the workspace's first pipeline)."""
    if stage_id is not None:
        stage = stage_in(workspace_id, stage_id)
        if pipeline_id is not None and stage.pipeline_id != pipeline_id:
            raise CrmError("that stage is not in that pipeline")
        return stage
    pipelines = workspace_pipelines(workspace_id)
    pipeline = next((p for p in pipelines if pipeline_id in (None, p.pk)), None)
    if pipeline is None:
        raise PipelineNotFound("pipeline not found")
    stages = list(pipeline.stages.all())
    return next((s for s in stages if s.type == StageType.ACTIVE), stages[0])


def _priority(value: Any) -> str:
    if value not in Priority.values:
        raise CrmError(f"priority must be one of {', '.join(Priority.values)}")
    return str(value)


def create_deal(
    workspace_id: int,
    by_user: User,
    *,
    contact_id: int,
    title: str,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    value: Decimal | str | float | None = None,
    currency_code: str = "EUR",
    priority: str = Priority.MEDIUM,
    owner_id: int | None = UNSET,
    source: str = "",
    tags: Any = (),
    expected_close_date: date | None = None,
    lead: Lead | None = None,
) -> Deal:
    contact = Contact.objects.filter(workspace_id=workspace_id, pk=contact_id).first()
    if contact is None:
        raise DealNotFound("contact not found")
    stage = _first_stage(workspace_id, pipeline_id, stage_id)
    now = timezone.now()
    status = _status_of(stage)
    deal = Deal(
        workspace_id=workspace_id,
        title=clean_text(title, 300, "a deal's title", required=True),
        pipeline_id=stage.pipeline_id,
        stage=stage,
        contact=contact,
        lead=lead,
        status=status,
        value=money(value),
        currency=currency(currency_code),
        priority=_priority(priority),
        owner=by_user if owner_id is UNSET else member(workspace_id, owner_id),
        source=clean_text(source, 50),
        tags=clean_tags(tags),
        expected_close_date=expected_close_date,
        stage_entered_at=now,
        closed_at=None if status == DealStatus.OPEN else now,
        created_by=by_user,
    )
    with transaction.atomic():
        deal.save(force_insert=True)
        activity.record(
            workspace_id,
            ActivityKind.DEAL,
            f"{by_user.display_name} created the deal {deal.title} in {stage.name}",
            contact_id=contact.pk,
            actor=by_user,
            lead=lead,
            deal=deal,
            extra={"stage_id": stage.pk},
        )
        events.deal_changed(workspace_id, deal.pk, deal.pipeline_id, by_user.pk)
    return deal


@dataclass(frozen=True)
class FromLead:
    deal: Deal
    created: bool  # False: the lead already had this deal


def convert_lead(
    workspace_id: int,
    lead_id: int,
    by_user: User,
    *,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    title: str | None = None,
    value: Decimal | str | float | None = UNSET,
    currency_code: str | None = None,
) -> FromLead:
    """The lead becomes a deal (its title, value, owner, source, tags, contact carried over)
    and the lead is Converted, linked to it; a lead that already has a deal answers it."""
    with transaction.atomic():
        lead = (
            Lead.objects.select_for_update().filter(workspace_id=workspace_id, pk=lead_id).first()
        )
        if lead is None:
            raise DealNotFound("lead not found")
        existing = Deal.objects.filter(lead=lead).first()
        if existing is not None:
            return FromLead(existing, created=False)
        deal = create_deal(
            workspace_id,
            by_user,
            contact_id=lead.contact_id,
            title=title or lead.title,
            pipeline_id=pipeline_id,
            stage_id=stage_id,
            value=lead.value if value is UNSET else value,
            currency_code=currency_code or lead.currency,
            owner_id=lead.owner_id,
            source=lead.source,
            tags=lead.tags,
            expected_close_date=lead.expected_close_date,
            lead=lead,
        )
        if lead.stage != LeadStage.CONVERTED:
            stage_from = lead.stage
            lead.stage = LeadStage.CONVERTED
            lead.save(update_fields=["stage", "updated_at"])
            activity.record(
                workspace_id,
                ActivityKind.LEAD,
                f"{by_user.display_name} converted the lead to the deal {deal.title}",
                contact_id=lead.contact_id,
                actor=by_user,
                lead=lead,
                deal=deal,
                extra={"from": stage_from, "to": LeadStage.CONVERTED, "deal_id": deal.pk},
            )
            events.lead_updated(
                workspace_id, lead.pk, lead.source_conversation_id, lead.stage, by_user.pk
            )
    return FromLead(deal, created=True)


def move_deal(
    workspace_id: int, deal_id: int, stage_id: int, by_user: User, lost_reason: str = ""
) -> Deal:
    """To another stage (of its pipeline, or another one's: the deal follows). A won or lost
    stage closes the deal; the reason it was lost is kept."""
    deal = deal_for(workspace_id, deal_id)
    stage = stage_in(workspace_id, stage_id)
    reason = clean_text(lost_reason, 300)
    if stage.pk == deal.stage_id and not (reason and deal.status == DealStatus.LOST):
        return deal
    before = deal.stage
    status = _status_of(stage)
    now = timezone.now()
    with transaction.atomic():
        deal.stage, deal.pipeline_id, deal.stage_entered_at = stage, stage.pipeline_id, now
        if status != deal.status:
            deal.closed_at = None if status == DealStatus.OPEN else now
        deal.status = status
        deal.lost_reason = reason if status == DealStatus.LOST else ""
        deal.save()
        if status == DealStatus.WON:
            text = f"{by_user.display_name} won the deal ({stage.name})"
        elif status == DealStatus.LOST:
            text = f"{by_user.display_name} lost the deal" + (f": {reason}" if reason else "")
        else:
            text = f"{by_user.display_name} moved the deal from {before.name} to {stage.name}"
        activity.record(
            workspace_id,
            ActivityKind.DEAL,
            text,
            contact_id=deal.contact_id,
            actor=by_user,
            deal=deal,
            extra={"from": before.pk, "to": stage.pk, "status": status},
        )
        events.deal_changed(workspace_id, deal.pk, deal.pipeline_id, by_user.pk)
    return deal


def update_deal(
    workspace_id: int,
    deal_id: int,
    by_user: User,
    *,
    title: str = UNSET,
    value: Decimal | str | float | None = UNSET,
    currency_code: str = UNSET,
    priority: str = UNSET,
    owner_id: int | None = UNSET,
    source: str = UNSET,
    tags: Any = UNSET,
    expected_close_date: date | None = UNSET,
    lost_reason: str = UNSET,
) -> Deal:
    """Change the fields given (one left out stays; None clears value, owner and date)."""
    deal = deal_for(workspace_id, deal_id)
    changed: dict[str, Any] = {}
    if title is not UNSET:
        changed["title"] = clean_text(title, 300, "a deal's title", required=True)
    if value is not UNSET:
        changed["value"] = money(value)
    if currency_code is not UNSET:
        changed["currency"] = currency(currency_code)
    if priority is not UNSET:
        changed["priority"] = _priority(priority)
    if owner_id is not UNSET:
        changed["owner"] = member(workspace_id, owner_id)
    if source is not UNSET:
        changed["source"] = clean_text(source, 50)
    if tags is not UNSET:
        changed["tags"] = clean_tags(tags)
    if expected_close_date is not UNSET:
        changed["expected_close_date"] = expected_close_date
    if lost_reason is not UNSET:
        changed["lost_reason"] = clean_text(lost_reason, 300)
    if not changed:
        return deal
    for field, new in changed.items():
        setattr(deal, field, new)
    with transaction.atomic():
        deal.save(update_fields=[*changed, "updated_at"])
        events.deal_changed(workspace_id, deal.pk, deal.pipeline_id, by_user.pk)
    return deal
