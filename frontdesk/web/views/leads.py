"""The CRM's lead screens: the leads board (drag a card to another stage) and list, a new
lead made by hand, a lead's page, and "Convert to lead" in the inbox.

As in the inbox, every change is a plain POST form that htmx enhances: without JavaScript it
redirects back, with htmx it answers the one fragment that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontdesk.crm.actions import leads as actions
from frontdesk.crm.actions.pipelines import workspace_pipelines
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import DISMISSED_STAGES, PIPELINE_STAGES, Lead, LeadStage
from frontdesk.crm.queries import board as board_queries
from frontdesk.crm.queries import contacts as contact_queries
from frontdesk.crm.queries import deals as deal_queries
from frontdesk.crm.queries import leads as queries
from frontdesk.crm.queries.timeline import lead_scope
from frontdesk.inbox.queries import BadCursor
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
PAGE_SIZE = 50


def _hx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _lead(request: HttpRequest, lead_id: int) -> Lead:
    try:
        return queries.lead_for(current_member(request).workspace_id, lead_id)
    except queries.LeadNotFound:
        raise Http404("no such lead") from None


def _local_day_start(raw: str) -> datetime | None:
    """A date typed in a filter, as the start of that day in the member's time zone."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


# --- the board and the list ----------------------------------------------------------------


class LeadsState:
    """The leads page's view (board or list), filters and sort, from and to the query string.
    The board shows the pipeline (or the dismissed stages); the list filters any way."""

    KEYS = ("view", "show", "owner", "stage", "source", "tag", "after", "before", "q", "sort")

    def __init__(self, params: Any, me_id: int):
        get = lambda key: str(params.get(key, "")).strip()[:200]  # noqa: E731
        self.view = "list" if get("view") == "list" else "board"
        self.show = "closed" if get("show") == "closed" else ""
        owner = get("owner")
        self.owner = owner if owner in ("me", "none") or owner.isdigit() else ""
        stage = get("stage")
        self.stage = stage if stage in ("open", *LeadStage.values) else ""
        self.source, self.tag, self.q = get("source"), get("tag"), get("q")
        self.after = get("after") if _local_day_start(get("after")) else ""
        self.before = get("before") if _local_day_start(get("before")) else ""
        sort = get("sort")
        self.sort = sort if sort in queries.LEAD_SORTS else "updated"
        self.me_id = me_id

    @property
    def closed(self) -> bool:
        return self.show == "closed"

    @property
    def stages(self) -> tuple[LeadStage, ...]:
        return DISMISSED_STAGES if self.closed else PIPELINE_STAGES

    @property
    def owner_id(self) -> int | None:
        return (
            self.me_id if self.owner == "me" else int(self.owner) if self.owner.isdigit() else None
        )

    @property
    def filter(self) -> queries.LeadFilter:
        last_day = _local_day_start(self.before)
        return queries.LeadFilter(
            stage=self.stage,
            owner=self.owner,
            source=self.source,
            tag=self.tag,
            created_after=_local_day_start(self.after),
            # "before" names the last day wanted: up to the start of the next one.
            created_before=last_day + timedelta(days=1) if last_day else None,
            q=self.q,
        )

    def link(self, **override: Any) -> str:
        values = {k: getattr(self, k) for k in self.KEYS}
        values.update(override)
        if values["view"] == "board":
            values = {k: v for k, v in values.items() if k in ("owner", "show")}
        else:
            values.pop("show", None)
            if values.get("sort") == "updated":
                values.pop("sort")
        query = urlencode({k: v for k, v in values.items() if v})
        return reverse("leads") + (f"?{query}" if query else "")

    @property
    def board_link(self) -> str:
        return self.link(view="board")

    @property
    def list_link(self) -> str:
        return self.link(view="list")

    @property
    def open_link(self) -> str:
        return self.link(show="")

    @property
    def closed_link(self) -> str:
        return self.link(show="closed")

    @property
    def sorts(self) -> list[tuple[str, str]]:
        return [(key, sort.label) for key, sort in queries.LEAD_SORTS.items()]

    def column_link(self, stage: str, cursor: str) -> str:
        """A board column's next cards ("Show more"), with the board's owner filter."""
        query = {"stage": stage, "cursor": cursor, "owner": self.owner, "show": self.show}
        return reverse("lead_board_column") + "?" + urlencode({k: v for k, v in query.items() if v})

    def stage_list_link(self, stage: str) -> str:
        """Every lead of one stage, in the list (where a column's "Show more" goes without
        JavaScript)."""
        return self.link(view="list", stage=stage, show="")

    @property
    def filtered(self) -> bool:
        return any((self.owner, self.stage, self.source, self.tag, self.after, self.before, self.q))


@cache
def _move_buttons() -> Mapping[str, str]:
    """Each stage's buttons in a card's Move menu: the stages are fixed, so they are
    rendered once per process, not on every board."""
    return MappingProxyType(
        {
            stage.value: render_to_string(
                "web/crm/_lead_move_buttons.html",
                {"all_stages": list(LeadStage), "current": stage.value},
            )
            for stage in LeadStage
        }
    )


def _card_menus(request: HttpRequest, state: LeadsState) -> dict[str, Any]:
    """The parts of every card's Move menu that are the same on each card (the form's
    head, its stage's buttons), rendered once per board rather than once per card."""
    return {
        "card_form_head": render_to_string(
            "web/crm/_card_form_head.html", {"next": state.link()}, request
        ),
        "move_buttons": _move_buttons(),
    }


@member_required
@require_GET
def leads(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    state = LeadsState(request.GET, member.user_id)
    context: dict[str, Any] = {
        "board_state": state,
        "stages": LeadStage.choices,
        "all_stages": list(LeadStage),
    }
    if state.view == "list":
        try:
            page = queries.lead_list(
                member.workspace_id,
                member.user_id,
                state.filter,
                state.sort,
                cursor=request.GET.get("cursor") or None,
                limit=PAGE_SIZE,
            )
        except BadCursor:
            return redirect(state.list_link)
        more = state.link(cursor=page.next_cursor) if page.next_cursor else ""
        context.update(page=page, more_link=more)
        if _hx(request) and request.GET.get("cursor"):
            return render(request, "web/crm/_lead_rows.html", context)
        partial = "web/crm/_lead_list.html"
    else:
        context["board"] = queries.board(member.workspace_id, state.stages, state.owner_id)
        for column in context["board"]:
            column.list_link = state.stage_list_link(column.stage.value)
            if column.next_cursor:
                column.more_link = state.column_link(column.stage.value, column.next_cursor)
        context.update(_card_menus(request, state))
        partial = "web/crm/_board.html"
    if _hx(request) and request.headers.get("HX-Target") in ("board", "lead-list"):
        return render(request, partial, context)
    return render(
        request,
        "web/crm/leads.html",
        {
            **shell_context(request),
            **context,
            "partial": partial,
            "members": workspace_members(member),
            "sources": queries.lead_sources(member.workspace_id),
        },
    )


@member_required
@require_GET
def board_column(request: HttpRequest) -> HttpResponse:
    """A board column's next cards after ``cursor`` and its next "Show more" (htmx puts
    them in place of the column's "Show more")."""
    member = current_member(request)
    state = LeadsState(request.GET, member.user_id)
    stage = request.GET.get("stage", "")
    if stage not in LeadStage.values:
        return HttpResponse("no such stage", status=400)
    try:
        page, left = queries.column_page(
            member.workspace_id, LeadStage(stage), state.owner_id, request.GET.get("cursor", "")
        )
    except BadCursor:
        return HttpResponse("invalid cursor", status=400)
    return render(
        request,
        "web/crm/_lead_cards.html",
        {
            "cards": page.items,
            "more_link": state.column_link(stage, page.next_cursor) if page.next_cursor else "",
            "left": left,
            "next_n": min(board_queries.COLUMN_LIMIT, left),
            "list_link": state.stage_list_link(stage),
            **_card_menus(request, state),
        },
    )


# --- a new lead ------------------------------------------------------------------------------


@member_required
@require_GET
def contact_picker(request: HttpRequest) -> HttpResponse:
    """Contacts matching what was typed in the new lead form's contact field (``new_name``),
    as choices beside "a new contact with this name"."""
    member = current_member(request)
    q = request.GET.get("new_name", "").strip()[:200]
    found = []
    if q:
        found = contact_queries.contact_list(
            member.workspace_id, member.user_id, contact_queries.ContactFilter(q=q), "name", limit=8
        ).items
    only_existing = request.GET.get("existing") == "1"  # a deal needs a contact that exists
    return render(
        request,
        "web/crm/_contact_picker.html",
        {"found": found, "q": q, "only_existing": only_existing},
    )


LEAD_FORM_KEYS = ("title", "value", "currency", "owner", "source", "stage", "close", "tags")


@member_required
@require_http_methods(["GET", "POST"])
def lead_new(request: HttpRequest) -> HttpResponse:
    """A lead for a contact of the workspace (``?contact=ID`` from a contact's page), or for
    a new contact typed in here."""
    member = current_member(request)
    data = request.POST if request.method == "POST" else request.GET
    form = {k: str(data.get(k, "")).strip() for k in LEAD_FORM_KEYS}
    form["currency"] = form["currency"] or "EUR"
    form["stage"] = form["stage"] or LeadStage.NEW
    chosen = data.get("contact", "")
    contact = (
        contact_queries.contact_for(member.workspace_id, int(chosen)) if chosen.isdigit() else None
    )
    error = ""
    if request.method == "POST":
        try:
            lead = actions.create_lead_for(
                member.workspace_id,
                member.user,
                contact_id=contact.pk if contact else None,
                new_contact={
                    "name": request.POST.get("new_name", ""),
                    "email": request.POST.get("new_email", ""),
                },
                title=form["title"],
                value=form["value"],
                currency=form["currency"],
                owner_id=int(form["owner"]) if form["owner"].isdigit() else None,
                source=form["source"],
                stage=form["stage"],
                expected_close_date=_parse_date(form["close"]),
                tags=form["tags"],
            )
        except CrmError as exc:
            error = str(exc)
        else:
            return redirect("lead", lead.pk)
    elif not form["owner"]:
        form["owner"] = str(member.user_id)
    return render(
        request,
        "web/crm/lead_new.html",
        {
            **shell_context(request),
            "form": form,
            "contact": contact,
            "new_name": request.POST.get("new_name", ""),
            "new_email": request.POST.get("new_email", ""),
            "members": workspace_members(member),
            "currencies": CURRENCIES,
            "stages": LeadStage.choices,
            "error": error,
        },
        status=400 if error else 200,
    )


# --- one lead ----------------------------------------------------------------------------


def _lead_context(request: HttpRequest, lead: Lead, **extra: Any) -> dict[str, Any]:
    currencies = CURRENCIES if lead.currency in CURRENCIES else [lead.currency, *CURRENCIES]
    return {
        "lead": lead,
        "members": workspace_members(current_member(request)),
        "assignee_ids": {a.user_id for a in lead.assignments.all()},
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
            "deal": deal_queries.deal_of_lead(lead.workspace_id, lead.pk),
            "pipelines": workspace_pipelines(lead.workspace_id),
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
            source=request.POST.get("source", ""),
            tags=request.POST.get("tags", ""),
            assignee_ids=[int(i) for i in request.POST.getlist("assignees") if i.isdigit()],
        )
    except CrmError as exc:
        return form_error(request, str(exc), "#lead-form-error")
    if not _hx(request):
        return redirect("lead", lead.pk)
    lead = _lead(request, lead.pk)
    context = _lead_context(request, lead, saved=True, oob=True)
    return render(request, "web/crm/_lead_form.html", context)


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Where a form asked to go back to (a page of this site only)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect(fallback)


@member_required
@require_POST
def lead_stage(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Move the lead to a stage: from its page's stage bar, or from the board (a card
    dragged to a column, or its "Move to" menu), which then refreshes itself."""
    member = current_member(request)
    lead = _lead(request, lead_id)
    from_board = request.POST.get("from") == "board"
    try:
        lead = actions.change_stage(
            member.workspace_id, lead.pk, request.POST.get("stage", ""), member.user
        )
    except CrmError as exc:
        if from_board and _hx(request):
            return HttpResponse(str(exc), status=400)
        return form_error(request, str(exc), "#stage-error")
    if not _hx(request):
        return _back(request, reverse("lead", args=[lead.pk]))
    if from_board:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "fd:leads"
        return response
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
