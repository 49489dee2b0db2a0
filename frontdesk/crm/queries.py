"""Reads of leads that the web pages, the API and the actions share (always per workspace)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from frontdesk.crm.models import OPEN_STAGES, Lead, LeadStage

BOARD_LIMIT = 500  # leads on the board at once (the most recently updated)


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
    leads: list[Lead] = field(default_factory=list)

    @property
    def totals(self) -> list[tuple[str, Decimal]]:
        """The column's summed value per currency, largest first."""
        sums: dict[str, Decimal] = defaultdict(Decimal)
        for lead in self.leads:
            if lead.value is not None:
                sums[lead.currency] += lead.value
        return sorted(sums.items(), key=lambda item: -item[1])


def board(
    workspace_id: int, stages: tuple[LeadStage, ...], owner_id: int | None = None
) -> list[Column]:
    """The leads in these stages, one column per stage, most recently updated first."""
    rows = Lead.objects.filter(workspace_id=workspace_id, stage__in=stages)
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    columns = {stage: Column(stage) for stage in stages}
    rows = rows.select_related("contact", "owner").prefetch_related("contact__handles")
    for lead in rows.order_by("-updated_at", "-id")[:BOARD_LIMIT]:
        columns[LeadStage(lead.stage)].leads.append(lead)
    return list(columns.values())
