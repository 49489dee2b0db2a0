"""The CRM's deal screens: the deals board of one pipeline (drag a deal to another stage,
stale deals marked, the forecast above) and the list, a new deal, a deal's page, "Convert to
deal" on a lead's page, and the pipelines in settings.

Every change is a plain POST form; htmx swaps the part that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontdesk.crm.actions import deals as actions
from frontdesk.crm.actions import pipelines as pipeline_actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Deal, DealStatus, Pipeline, Priority, StageType
from frontdesk.crm.queries import board as board_queries
from frontdesk.crm.queries import contacts as contact_queries
from frontdesk.crm.queries import deals as queries
from frontdesk.crm.queries.timeline import deal_scope
from frontdesk.inbox.queries import BadCursor
from frontdesk.web.access import current_member, form_error, member_required, workspace_members
from frontdesk.web.views import crm_timeline
from frontdesk.web.views.leads import CURRENCIES, PAGE_SIZE
from frontdesk.web.views.shell import shell_context


def _hx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _deal(request: HttpRequest, deal_id: int) -> Deal:
    try:
        return queries.deal_for(current_member(request).workspace_id, deal_id)
    except queries.DealNotFound:
        raise Http404("no such deal") from None


def _date(raw: str, what: str = "the expected close date") -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise CrmError(f"pick {what} from the calendar") from None


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect(fallback)


# --- the board and the list ----------------------------------------------------------------


class DealsState:
    """The deals page: which pipeline, board or list, filters and sort (query string)."""

    def __init__(self, params: Any, me_id: int, pipelines: list[Pipeline]):
        get = lambda key: str(params.get(key, "")).strip()[:200]  # noqa: E731
        chosen = get("pipeline")
        self.pipeline = next((p for p in pipelines if str(p.pk) == chosen), pipelines[0])
        self.pipelines = pipelines
        self.view = "list" if get("view") == "list" else "board"
        owner = get("owner")
        self.owner = owner if owner in ("me", "none") or owner.isdigit() else ""
        status = get("status")
        self.status = status if status in DealStatus.values else ""
        stage = get("stage")
        stage_ids = {str(s.pk) for s in self.pipeline.stages.all()}
        self.stage = stage if stage in stage_ids else ""
        self.stale = get("stale") == "1"
        self.tag, self.q = get("tag"), get("q")
        sort = get("sort")
        self.sort = sort if sort in queries.DEAL_SORTS else "updated"
        self.me_id = me_id

    @property
    def owner_id(self) -> int | None:
        return (
            self.me_id if self.owner == "me" else int(self.owner) if self.owner.isdigit() else None
        )

    @property
    def filter(self) -> queries.DealFilter:
        return queries.DealFilter(
            pipeline_id=self.pipeline.pk,
            stage_id=int(self.stage) if self.stage else None,
            owner=self.owner,
            status=self.status,
            stale=self.stale,
            tag=self.tag,
            q=self.q,
        )

    def link(self, **override: Any) -> str:
        values: dict[str, Any] = {
            "pipeline": self.pipeline.pk,
            "view": "list" if self.view == "list" else "",
            "owner": self.owner,
            "status": self.status,
            "stage": self.stage,
            "stale": "1" if self.stale else "",
            "tag": self.tag,
            "q": self.q,
            "sort": "" if self.sort == "updated" else self.sort,
        }
        values.update(override)
        if values["view"] != "list":  # the board filters by owner only
            values = {k: values[k] for k in ("pipeline", "owner")}
        query = urlencode({k: v for k, v in values.items() if v})
        return reverse("deals") + (f"?{query}" if query else "")

    @property
    def board_link(self) -> str:
        return self.link(view="")

    @property
    def list_link(self) -> str:
        return self.link(view="list")

    @property
    def sorts(self) -> list[tuple[str, str]]:
        return [(key, sort.label) for key, sort in queries.DEAL_SORTS.items()]

    def column_link(self, stage_id: int, cursor: str) -> str:
        """A board column's next cards ("Show more"), with the board's owner filter."""
        query = {"stage": stage_id, "cursor": cursor, "owner": self.owner}
        return reverse("deal_board_column") + "?" + urlencode({k: v for k, v in query.items() if v})

    def stage_list_link(self, stage_id: int) -> str:
        """Every deal of one stage, in the list (where a column's "Show more" goes without
        JavaScript)."""
        return self.link(view="list", stage=stage_id)

    @property
    def filtered(self) -> bool:
        return any((self.owner, self.status, self.stage, self.stale, self.tag, self.q))


class MenuStage(NamedTuple):
    """What a card's Move menu shows of a stage."""

    pk: int
    name: str
    type: str


@lru_cache(maxsize=256)
def _move_buttons(stages: tuple[MenuStage, ...]) -> Mapping[int, str]:
    """Each stage's buttons in a card's Move menu, the same on every board of a pipeline
    with these stages: rendered once per process for each (what they show is the key, so
    a renamed, added or moved stage renders them anew)."""
    return MappingProxyType(
        {
            stage.pk: render_to_string(
                "web/crm/_deal_move_buttons.html", {"stages": stages, "current": stage.pk}
            )
            for stage in stages
        }
    )


def _card_menus(request: HttpRequest, state: DealsState) -> dict[str, Any]:
    """The parts of every card's Move menu that are the same on each card (the form's
    head, its stage's buttons), rendered once per board rather than once per card."""
    stages = list(state.pipeline.stages.all())
    return {
        "stages": stages,
        "card_form_head": render_to_string(
            "web/crm/_card_form_head.html", {"next": state.link()}, request
        ),
        "move_buttons": _move_buttons(tuple(MenuStage(s.pk, s.name, s.type) for s in stages)),
    }


@member_required
@require_GET
def board_column(request: HttpRequest) -> HttpResponse:
    """A board column's next cards after ``cursor`` and its next "Show more" (htmx puts
    them in place of the column's "Show more")."""
    member = current_member(request)
    raw = request.GET.get("stage", "")
    stage = queries.stage_of(member.workspace_id, int(raw)) if raw.isdigit() else None
    if stage is None:
        return HttpResponse("no such stage", status=400)
    state = DealsState(request.GET, member.user_id, [stage.pipeline])
    try:
        page, left = queries.column_page(stage, state.owner_id, request.GET.get("cursor", ""))
    except BadCursor:
        return HttpResponse("invalid cursor", status=400)
    return render(
        request,
        "web/crm/_deal_cards.html",
        {
            "cards": page.items,
            "now": timezone.now(),
            "more_link": state.column_link(stage.pk, page.next_cursor) if page.next_cursor else "",
            "left": left,
            "next_n": min(board_queries.COLUMN_LIMIT, left),
            "list_link": state.stage_list_link(stage.pk),
            **_card_menus(request, state),
        },
    )


@member_required
@require_GET
def deals(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    pipelines = pipeline_actions.workspace_pipelines(member.workspace_id)
    state = DealsState(request.GET, member.user_id, pipelines)
    # The pipeline's count and value per stage, read once for the forecast and the board.
    totals = queries.stage_totals(state.pipeline)
    context: dict[str, Any] = {
        "deals_state": state,
        "forecast": queries.forecast(state.pipeline, totals=totals),
        "statuses": DealStatus.choices,
    }
    if state.view == "list":
        try:
            page = queries.deal_list(
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
        context.update(page=page, more_link=more, now=timezone.now())
        if _hx(request) and request.GET.get("cursor"):
            return render(request, "web/crm/_deal_rows.html", context)
        partial = "web/crm/_deal_list.html"
    else:
        board = queries.board(state.pipeline, state.owner_id, totals)
        for column in board:
            column.list_link = state.stage_list_link(column.stage.pk)
            if column.next_cursor:
                column.more_link = state.column_link(column.stage.pk, column.next_cursor)
        context.update(board=board, now=timezone.now(), **_card_menus(request, state))
        partial = "web/crm/_deal_board.html"
    if _hx(request) and request.headers.get("HX-Target") in ("deal-board", "deal-list"):
        return render(request, partial, {**context, "oob_forecast": True})
    return render(
        request,
        "web/crm/deals.html",
        {
            **shell_context(request),
            **context,
            "partial": partial,
            "members": workspace_members(member),
        },
    )


# --- a new deal, and a lead's deal -----------------------------------------------------------

DEAL_FORM_KEYS = ("title", "value", "currency", "stage", "owner", "priority", "source", "close")


@member_required
@require_http_methods(["GET", "POST"])
def deal_new(request: HttpRequest) -> HttpResponse:
    """A deal for a contact of the workspace (``?contact=ID``), or for one picked here."""
    member = current_member(request)
    data = request.POST if request.method == "POST" else request.GET
    form = {k: str(data.get(k, "")).strip() for k in DEAL_FORM_KEYS}
    form["currency"] = form["currency"] or "EUR"
    form["priority"] = form["priority"] or Priority.MEDIUM
    chosen = str(data.get("contact", ""))
    contact = (
        contact_queries.contact_for(member.workspace_id, int(chosen)) if chosen.isdigit() else None
    )
    pipelines = pipeline_actions.workspace_pipelines(member.workspace_id)
    error = ""
    if request.method == "POST":
        try:
            if contact is None:
                raise CrmError("pick the contact this deal is with")
            deal = actions.create_deal(
                member.workspace_id,
                member.user,
                contact_id=contact.pk,
                title=form["title"],
                stage_id=int(form["stage"]) if form["stage"].isdigit() else None,
                value=form["value"],
                currency_code=form["currency"],
                priority=form["priority"],
                owner_id=int(form["owner"]) if form["owner"].isdigit() else None,
                source=form["source"],
                expected_close_date=_date(form["close"]),
            )
        except pipeline_actions.PipelineNotFound:
            error = "pick a stage of one of your pipelines"
        except CrmError as exc:
            error = str(exc)
        else:
            return redirect("deal", deal.pk)
    elif not form["owner"]:
        form["owner"] = str(member.user_id)
    return render(
        request,
        "web/crm/deal_new.html",
        {
            **shell_context(request),
            "form": form,
            "contact": contact,
            "pipelines": pipelines,
            "members": workspace_members(member),
            "currencies": CURRENCIES,
            "priorities": Priority.choices,
            "error": error,
        },
        status=400 if error else 200,
    )


@member_required
@require_POST
def lead_to_deal(request: HttpRequest, lead_id: int) -> HttpResponse:
    """ "Convert to deal" on a lead's page: the deal opens, the lead is Converted."""
    member = current_member(request)
    pipeline = request.POST.get("pipeline", "")
    try:
        made = actions.convert_lead(
            member.workspace_id,
            lead_id,
            member.user,
            pipeline_id=int(pipeline) if pipeline.isdigit() else None,
        )
    except (queries.DealNotFound, pipeline_actions.PipelineNotFound):
        raise Http404("no such lead") from None
    if not made.created:
        messages.info(request, "This lead already is this deal.")
    return redirect("deal", made.deal.pk)


# --- one deal ------------------------------------------------------------------------------


def _deal_context(request: HttpRequest, deal: Deal, **extra: Any) -> dict[str, Any]:
    currencies = CURRENCIES if deal.currency in CURRENCIES else [deal.currency, *CURRENCIES]
    stages = list(deal.pipeline.stages.order_by("position", "id"))
    reached = next((i for i, s in enumerate(stages) if s.pk == deal.stage_id), -1)
    steps = [
        {
            "stage": s,
            "state": "current" if i == reached else "done" if i < reached else "ahead",
        }
        for i, s in enumerate(stages)
        if s.type != StageType.LOST
    ]
    return {
        "deal": deal,
        "stale": deal.is_stale(),
        "steps": steps,
        "lost_stages": [s for s in stages if s.type == StageType.LOST],
        "members": workspace_members(current_member(request)),
        "currencies": currencies,
        "priorities": Priority.choices,
        **extra,
    }


@member_required
@require_GET
def deal_page(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = _deal(request, deal_id)
    record = crm_timeline.Record("deals", deal.pk, deal_scope(deal))
    return render(
        request,
        "web/crm/deal.html",
        {
            **shell_context(request),
            **_deal_context(request, deal),
            **crm_timeline.timeline_context(request, record),
        },
    )


@member_required
@require_POST
def deal_update(request: HttpRequest, deal_id: int) -> HttpResponse:
    member = current_member(request)
    deal = _deal(request, deal_id)
    owner = request.POST.get("owner", "")
    fields: dict[str, Any] = {}
    if "lost_reason" in request.POST:
        fields["lost_reason"] = request.POST.get("lost_reason", "")
    try:
        actions.update_deal(
            member.workspace_id,
            deal.pk,
            member.user,
            title=request.POST.get("title", ""),
            value=request.POST.get("value", ""),
            currency_code=request.POST.get("currency", deal.currency),
            priority=request.POST.get("priority", deal.priority),
            owner_id=int(owner) if owner.isdigit() else None,
            source=request.POST.get("source", ""),
            tags=request.POST.get("tags", ""),
            expected_close_date=_date(request.POST.get("expected_close_date", "")),
            **fields,
        )
    except CrmError as exc:
        return form_error(request, str(exc), "#deal-form-error")
    if not _hx(request):
        return redirect("deal", deal.pk)
    deal = _deal(request, deal.pk)
    return render(
        request, "web/crm/_deal_form.html", _deal_context(request, deal, saved=True, oob=True)
    )


@member_required
@require_POST
def deal_stage(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Move the deal to a stage: its page's stage bar (and the lost form, with the reason),
    or the board (a card dragged, or its Move menu), which then refreshes itself."""
    member = current_member(request)
    deal = _deal(request, deal_id)
    stage = request.POST.get("stage", "")
    from_board = request.POST.get("from") == "board"
    try:
        if not stage.isdigit():
            raise CrmError("pick a stage")
        actions.move_deal(
            member.workspace_id,
            deal.pk,
            int(stage),
            member.user,
            lost_reason=request.POST.get("lost_reason", ""),
        )
    except pipeline_actions.PipelineNotFound:
        raise Http404("no such stage") from None
    except CrmError as exc:
        if from_board and _hx(request):
            return HttpResponse(str(exc), status=400)
        return form_error(request, str(exc), "#stage-error")
    if not _hx(request):
        return _back(request, reverse("deal", args=[deal.pk]))
    if from_board:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "fd:deals"
        return response
    deal = _deal(request, deal.pk)
    return render(request, "web/crm/_deal_stage_path.html", _deal_context(request, deal, oob=True))


# --- settings: pipelines and stages --------------------------------------------------------


def _stage_fields(request: HttpRequest) -> dict[str, str]:
    return {k: request.POST.get(k, "") for k in ("name", "type", "probability", "rotting_days")}


@member_required
@require_http_methods(["GET", "POST"])
def pipelines_settings(request: HttpRequest) -> HttpResponse:
    """Owners and admins add, rename and remove pipelines and stages; everyone may look."""
    member = current_member(request)
    ws = member.workspace_id
    error = ""
    if request.method == "POST":
        if not member.is_admin:
            return HttpResponseForbidden("Only owners and admins can change the pipelines.")
        action = request.POST.get("action", "")
        ref = request.POST.get("id", "")
        ref_id = int(ref) if ref.isdigit() else 0
        try:
            if action == "add_pipeline":
                pipeline_actions.create_pipeline(ws, request.POST.get("name", ""))
            elif action == "rename_pipeline":
                pipeline_actions.rename_pipeline(ws, ref_id, request.POST.get("name", ""))
            elif action == "default_pipeline":
                pipeline_actions.make_default(ws, ref_id)
            elif action == "delete_pipeline":
                pipeline_actions.delete_pipeline(ws, ref_id)
            elif action == "add_stage":
                pipeline_actions.add_stage(ws, ref_id, _stage_fields(request))
            elif action == "change_stage":
                pipeline_actions.change_stage(ws, ref_id, _stage_fields(request))
            elif action in ("stage_up", "stage_down"):
                pipeline_actions.move_stage(ws, ref_id, -1 if action == "stage_up" else 1)
            elif action == "remove_stage":
                target = request.POST.get("move_to", "")
                moved = pipeline_actions.remove_stage(
                    ws, ref_id, int(target) if target.isdigit() else None
                )
                if moved:
                    messages.success(request, f"Stage removed; its {moved} deals moved.")
            else:
                return HttpResponse("Unknown action.", status=400)
        except pipeline_actions.PipelineNotFound:
            raise Http404("no such pipeline or stage") from None
        except CrmError as exc:
            error = str(exc)
        else:
            return redirect("pipelines_settings")
    return render(
        request,
        "web/crm/pipelines.html",
        {
            **shell_context(request),
            "pipelines": pipeline_actions.workspace_pipelines(ws),
            "counts": queries.deal_counts(ws),
            "types": StageType.choices,
            "error": error,
        },
        status=400 if error else 200,
    )
