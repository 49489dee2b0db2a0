"""Reads of leads that the web pages, the API and the actions share (always per workspace)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum

from frontdesk.crm.models import OPEN_STAGES, Lead, LeadStage
from frontdesk.inbox.queries import contact_handles_prefetch

COLUMN_LIMIT = 100  # cards per column (the most recently updated); counts cover them all


class LeadNotFound(LookupError):
    """No such lead or conversation in this workspace (the caller answers 404)."""


def lead_for(workspace_id: int, lead_id: int) -> Lead:
    lead = (
        Lead.objects.filter(workspace_id=workspace_id, pk=lead_id)
        .select_related("contact", "owner", "source_channel", "source_conversation")
        .first()
    )
    if lead is None:
        raise LeadNotFound("lead not found")
    return lead


def open_lead_of(workspace_id: int, conversation_id: int) -> Lead | None:
    return (
        Lead.objects.filter(
            workspace_id=workspace_id, source_conversation_id=conversation_id, stage__in=OPEN_STAGES
        )
        .select_related("contact", "owner")
        .first()
    )


def lead_of_conversation(workspace_id: int, conversation_id: int) -> Lead | None:
    """The lead the contact panel shows: the open one, else the latest closed one."""
    return open_lead_of(workspace_id, conversation_id) or (
        Lead.objects.filter(workspace_id=workspace_id, source_conversation_id=conversation_id)
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass
class Column:
    stage: LeadStage
    leads: list[Lead] = field(default_factory=list)  # the first COLUMN_LIMIT
    count: int = 0  # every lead in the stage
    sums: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        """The stage's summed value per currency (all its leads), largest first."""
        return sorted(self.sums.items(), key=lambda item: -item[1])

    @property
    def hidden(self) -> int:
        return self.count - len(self.leads)


def board(
    workspace_id: int, stages: tuple[LeadStage, ...], owner_id: int | None = None
) -> list[Column]:
    """One column per stage: its count and totals over all its leads, and the most recently
    updated ones as cards."""
    rows = Lead.objects.filter(workspace_id=workspace_id, stage__in=stages)
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    columns = {stage: Column(stage) for stage in stages}
    per_currency = (
        rows.order_by().values_list("stage", "currency").annotate(n=Count("id"), total=Sum("value"))
    )
    for stage, currency, n, total in per_currency:
        column = columns[LeadStage(stage)]
        column.count += n
        if total is not None:
            column.sums[currency] += total
    cards = rows.select_related("contact", "owner").prefetch_related(contact_handles_prefetch())
    for stage, column in columns.items():
        if column.count:
            column.leads = list(
                cards.filter(stage=stage).order_by("-updated_at", "-id")[:COLUMN_LIMIT]
            )
    return list(columns.values())
