"""The CRM's screens: the leads board, a lead's page, and "Convert to lead" in the inbox.

As in the inbox, every change is a plain POST form that htmx enhances: without JavaScript it
redirects back, with htmx it answers the one fragment that changed.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from frontdesk.crm.actions import leads as actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import DISMISSED_STAGES, PIPELINE_STAGES, Lead, LeadStage
from frontdesk.crm.queries import leads as queries
from frontdesk.crm.queries.timeline import lead_scope
from frontdesk.web.access import (
    conversation_or_404,
    current_member,
    form_error,
    member_required,
    workspace_members,
)
from frontdesk.web.views import crm_timeline
from frontdesk.web.views.shell import shell_context

CURRENCIES = ["EUR", "USD", "GBP", "CHF", "CAD", "AUD", "BRL", "INR", "JPY"]


def _hx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _lead(request: HttpRequest, lead_id: int) -> Lead:
    try:
        return queries.lead_for(current_member(request).workspace_id, lead_id)
    except queries.LeadNotFound:
        raise Http404("no such lead") from None


# --- the board ---------------------------------------------------------------------------


class BoardState:
    """The board's filters: whose leads (anyone, "me", a member id) and which stages."""

    def __init__(self, params: Any, me_id: int):
        owner = str(params.get("owner", ""))
        self.owner = owner if owner == "me" or owner.isdigit() else ""
        self.closed = params.get("show") == "closed"
        self.owner_id = me_id if self.owner == "me" else int(self.owner) if self.owner else None

    @property
    def stages(self) -> tuple[LeadStage, ...]:
        return DISMISSED_STAGES if self.closed else PIPELINE_STAGES

    def link(self, **override: Any) -> str:
        values = {"owner": self.owner, "show": "closed" if self.closed else "", **override}
        query = urlencode({k: v for k, v in values.items() if v})
        return reverse("leads") + (f"?{query}" if query else "")

    @property
    def open_link(self) -> str:
        return self.link(show="")

    @property
    def closed_link(self) -> str:
        return self.link(show="closed")


@member_required
@require_GET
def leads(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    state = BoardState(request.GET, member.user_id)
    context = {
        "board": queries.board(member.workspace_id, state.stages, state.owner_id),
        "board_state": state,
    }
    if _hx(request) and request.headers.get("HX-Target") == "board":
        return render(request, "web/crm/_board.html", context)
    return render(
        request,
        "web/crm/leads.html",
        {**shell_context(request), **context, "members": workspace_members(member)},
    )


# --- one lead ----------------------------------------------------------------------------


def _lead_context(request: HttpRequest, lead: Lead, **extra: Any) -> dict[str, Any]:
    currencies = CURRENCIES if lead.currency in CURRENCIES else [lead.currency, *CURRENCIES]
    return {
        "lead": lead,
        "members": workspace_members(current_member(request)),
        "steps": _steps(lead),
        "dismissed": DISMISSED_STAGES,
        "currencies": currencies,
        **extra,
    }


def _steps(lead: Lead) -> list[dict[str, str]]:
    """The pipeline as the stage bar shows it: each stage done, current or still ahead."""
    reached = PIPELINE_STAGES.index(lead.stage) if lead.stage in PIPELINE_STAGES else -1
    return [
        {
            "value": stage.value,
            "label": stage.label,
            "state": "current" if i == reached else "done" if i < reached else "ahead",
        }
        for i, stage in enumerate(PIPELINE_STAGES)
    ]


@member_required
@require_GET
def lead_page(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = _lead(request, lead_id)
    record = crm_timeline.Record("leads", lead.pk, lead_scope(lead))
    return render(
        request,
        "web/crm/lead.html",
        {
            **shell_context(request),
            **_lead_context(request, lead),
            **crm_timeline.timeline_context(request, record),
        },
    )


def _parse_date(raw: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise CrmError("pick the expected close date from the calendar") from None


@member_required
@require_POST
def lead_update(request: HttpRequest, lead_id: int) -> HttpResponse:
    member = current_member(request)
    lead = _lead(request, lead_id)
    owner = request.POST.get("owner", "")
    try:
        lead = actions.update_lead(
            member.workspace_id,
            lead.pk,
            member.user,
            title=request.POST.get("title", ""),
            value=request.POST.get("value", ""),
            currency=request.POST.get("currency", lead.currency),
            owner_id=int(owner) if owner.isdigit() else None,
            expected_close_date=_parse_date(request.POST.get("expected_close_date", "")),
        )
    except CrmError as exc:
        return form_error(request, str(exc), "#lead-form-error")
    if not _hx(request):
        return redirect("lead", lead.pk)
    lead = _lead(request, lead.pk)
    context = _lead_context(request, lead, saved=True, oob=True)
    return render(request, "web/crm/_lead_form.html", context)


@member_required
@require_POST
def lead_stage(request: HttpRequest, lead_id: int) -> HttpResponse:
    member = current_member(request)
    lead = _lead(request, lead_id)
    try:
        lead = actions.change_stage(
            member.workspace_id, lead.pk, request.POST.get("stage", ""), member.user
        )
    except CrmError as exc:
        return form_error(request, str(exc), "#stage-error")
    if not _hx(request):
        return redirect("lead", lead.pk)
    lead = _lead(request, lead.pk)
    return render(request, "web/crm/_stage_path.html", _lead_context(request, lead, oob=True))


# --- the inbox's contact panel -------------------------------------------------------------


def _panel(request: HttpRequest, conversation_id: int, **extra: Any) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    lead = queries.lead_of_conversation(member.workspace_id, conversation.pk)
    return render(
        request,
        "web/crm/_lead_actions.html",
        {"conversation": conversation, "lead": lead, **extra},
    )


@member_required
@require_GET
def lead_panel(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The panel's lead line again (after a live event about this conversation's lead)."""
    return _panel(request, conversation_id)


@member_required
@require_POST
def convert(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    converted = actions.convert_to_lead(member.workspace_id, conversation.pk, member.user)
    if not _hx(request):
        return redirect("conversation", conversation.pk)
    return _panel(request, conversation.pk, already=not converted.created, event=converted.event)
