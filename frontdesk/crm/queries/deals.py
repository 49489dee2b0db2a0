"""Reads of deals the board, the list, a deal's page, the forecast and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from frontdesk.crm.models import Deal, DealStatus, Pipeline, Stage
from frontdesk.crm.queries import tags as _tags  # noqa: F401  (registers tags__has_tag)
from frontdesk.crm.queries.board import Column, card_rows, fill_cards
from frontdesk.crm.queries.board import column_page as board_column_page
from frontdesk.crm.queries.paging import Sort, keyset_page, one_read_per_value
from frontdesk.inbox.queries import Page, prefetch_contact_names


class DealNotFound(LookupError):
    """No such deal (or lead, contact) in this workspace (the caller answers 404)."""


def deal_for(workspace_id: int, deal_id: int) -> Deal:
    deal = (
        Deal.objects.filter(workspace_id=workspace_id, pk=deal_id)
        .select_related("stage", "pipeline", "contact", "owner", "lead")
        .first()
    )
    if deal is None:
        raise DealNotFound("deal not found")
    return deal


def deal_of_lead(workspace_id: int, lead_id: int) -> Deal | None:
    return Deal.objects.filter(workspace_id=workspace_id, lead_id=lead_id).first()


def stale_condition(workspace_id: int, now: datetime | None = None) -> Q:
    """Open deals left untouched (``updated_at``) longer than their stage's rotting days, as
    a filter (one term per stage that rots: a workspace has few, each a range of the
    ``deal_stage_recent`` index); ``Deal.is_stale`` says it of one deal."""
    now = now or timezone.now()
    rotting = Stage.objects.filter(
        workspace_id=workspace_id, rotting_days__isnull=False
    ).values_list("pk", "rotting_days")
    terms = Q(pk__in=[])
    for stage_id, days in rotting:
        terms |= Q(stage_id=stage_id, updated_at__lt=now - timedelta(days=days or 0))
    return Q(status=DealStatus.OPEN) & terms


# One row of ``stage_totals``: stage id, status, currency, how many deals, their value.
StageTotal = tuple[int, str, str, int, Decimal | None]


def stage_totals(pipeline: Pipeline, owner_id: int | None = None) -> list[StageTotal]:
    """How many deals and their summed value per stage, status and currency, in one query
    the board's columns and the forecast share. Grouped in the order of the
    ``deal_board_sums`` index and counted with COUNT(*), not COUNT(id): the id is not in
    that index, so PostgreSQL can then answer from the index alone (an index-only scan),
    without reading the deals' rows (with an owner filter it reads them: the owner is not
    in the index). One stage apart from the next, so that the planner does
    (``one_read_per_value``): a deal's stage is always one of its pipeline's."""
    stage_ids = [stage.pk for stage in pipeline.stages.all()]
    if not stage_ids:
        return []
    rows = Deal.objects.filter(workspace_id=pipeline.workspace_id, pipeline=pipeline)
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    grouped = (
        rows.order_by()
        .values_list("stage_id", "status", "currency")
        .annotate(n=Count("*"), total=Sum("value"))
    )
    return one_read_per_value(grouped, "stage_id", stage_ids)


# What a deal's card shows besides a card's fields: its stage, whether it is stale, its
# priority.
DEAL_CARD_FIELDS = ("stage", "status", "priority")


def board(
    pipeline: Pipeline, owner_id: int | None = None, totals: list[StageTotal] | None = None
) -> list[Column[Stage]]:
    """One column per stage of the pipeline, in order: its count and value per currency
    over all its deals, and the most recently updated as cards (each knows if it is stale).
    ``totals``, the pipeline's ``stage_totals`` (all owners), saves reading them again when
    the board is not filtered by owner (the page has them for the forecast)."""
    stages = list(pipeline.stages.all())
    rows = Deal.objects.filter(workspace_id=pipeline.workspace_id, pipeline=pipeline)
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    columns = {s.pk: Column(s) for s in stages}
    if totals is None or owner_id is not None:
        totals = stage_totals(pipeline, owner_id)
    for stage_id, _status, currency, n, total in totals:
        if stage_id in columns:
            columns[stage_id].add(currency, n, total)
    board = fill_cards(columns, card_rows(rows, *DEAL_CARD_FIELDS), "stage_id")
    for column in board:  # each card's stage is its column's (its rotting days: stale)
        for deal in column.cards:
            deal.stage = column.stage
    return board


def stage_of(workspace_id: int, stage_id: int) -> Stage | None:
    """One stage of the workspace, with its pipeline."""
    return (
        Stage.objects.filter(workspace_id=workspace_id, pk=stage_id)
        .select_related("pipeline")
        .first()
    )


def column_page(
    stage: Stage, owner_id: int | None, cursor: str, limit: int | None = None
) -> tuple[Page, int]:
    """The next cards of one board column after ``cursor`` (its "Show more"), and how many
    of the column's deals come after them. A bad cursor raises ``BadCursor``."""
    rows = Deal.objects.filter(
        workspace_id=stage.workspace_id, pipeline_id=stage.pipeline_id, stage=stage
    )
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    page, left = board_column_page(rows, card_rows(rows, *DEAL_CARD_FIELDS), cursor, limit)
    for deal in page.items:
        deal.stage = stage
    return page, left


@dataclass
class Forecast:
    currency: str
    open_value: Decimal = Decimal(0)
    weighted_value: Decimal = Decimal(0)
    won_this_month: Decimal = Decimal(0)


def forecast(
    pipeline: Pipeline, now: datetime | None = None, totals: list[StageTotal] | None = None
) -> list[Forecast]:
    """Per currency: the value of the open deals, the same weighted by their stage's win
    probability, and what was won since the start of this month (in the current time
    zone, the member's). ``totals``: the pipeline's ``stage_totals`` (all owners), when
    the caller has them already (the deals page, for its board)."""
    now = timezone.localtime(now or timezone.now())
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = Deal.objects.filter(workspace_id=pipeline.workspace_id, pipeline=pipeline).order_by()
    lines: dict[str, Forecast] = {}

    def line(currency: str) -> Forecast:
        return lines.setdefault(currency, Forecast(currency))

    # Per stage (``stage_totals``, from the ``deal_board_sums`` index alone), weighted here
    # by each stage's probability: joining the stages read every open deal's row.
    if totals is None:
        totals = stage_totals(pipeline)
    open_rows = [
        (stage_id, currency, total)
        for stage_id, status, currency, _n, total in totals
        if status == DealStatus.OPEN and total is not None
    ]
    # The pipeline's stages (workspace_pipelines prefetches them); a query only for a
    # stage not among them.
    probabilities = {s.pk: s.probability for s in pipeline.stages.all()}
    missing = {stage_id for stage_id, _, _ in open_rows} - probabilities.keys()
    if missing:
        probabilities.update(Stage.objects.filter(pk__in=missing).values_list("pk", "probability"))
    for stage_id, currency, total in open_rows:
        line(currency).open_value += total
        line(currency).weighted_value += total * probabilities[stage_id] / 100
    won = (
        rows.filter(status=DealStatus.WON, closed_at__gte=month_start)
        .values_list("currency")
        .annotate(total=Sum("value"))
    )
    for currency, total in won:
        if total is not None:
            line(currency).won_this_month += total
    cents = Decimal("0.01")
    for f in lines.values():
        f.open_value = f.open_value.quantize(cents)
        f.weighted_value = f.weighted_value.quantize(cents)
        f.won_this_month = f.won_this_month.quantize(cents)
    return sorted(lines.values(), key=lambda f: (-f.open_value, f.currency))


DEAL_SORTS = {
    "updated": Sort("updated_at", descending=True, label="Recently updated"),
    "created": Sort("created_at", descending=True, label="Newest first"),
    "value": Sort("value", descending=True, label="Highest value"),
    "close": Sort("expected_close_date", label="Closing soonest"),
    "title": Sort("title", label="Title"),
}


@dataclass
class DealFilter:
    pipeline_id: int | None = None
    stage_id: int | None = None
    owner: str = ""  # "me", "none" or a user id
    status: str = ""  # open, won, lost
    stale: bool = False
    tag: str = ""
    q: str = ""


def filtered(workspace_id: int, me_id: int, flt: DealFilter) -> QuerySet[Deal]:
    rows = Deal.objects.filter(workspace_id=workspace_id)
    if flt.pipeline_id is not None:
        rows = rows.filter(pipeline_id=flt.pipeline_id)
    if flt.stage_id is not None:
        rows = rows.filter(stage_id=flt.stage_id)
    if flt.owner == "me":
        rows = rows.filter(owner_id=me_id)
    elif flt.owner == "none":
        rows = rows.filter(owner__isnull=True)
    elif flt.owner.isdigit():
        rows = rows.filter(owner_id=int(flt.owner))
    if flt.status:
        rows = rows.filter(status=flt.status)
    if flt.stale:
        rows = rows.filter(stale_condition(workspace_id))
    if flt.tag:
        rows = rows.filter(tags__has_tag=flt.tag)
    q = flt.q.strip()[:200]
    if q:
        rows = rows.filter(Q(title__icontains=q) | Q(contact__name__icontains=q))
    return rows


def deal_list(
    workspace_id: int,
    me_id: int,
    flt: DealFilter,
    sort: str = "updated",
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    rows = filtered(workspace_id, me_id, flt).select_related(
        "contact", "owner", "stage", "pipeline"
    )
    page = keyset_page(rows, DEAL_SORTS.get(sort, DEAL_SORTS["updated"]), cursor, limit)
    prefetch_contact_names(page.items)
    return page


def contact_deals(workspace_id: int, contact_id: int) -> list[Deal]:
    return list(
        Deal.objects.filter(workspace_id=workspace_id, contact_id=contact_id)
        .select_related("stage", "owner")
        .order_by("-updated_at", "-id")[:50]
    )


def deal_counts(workspace_id: int) -> dict[int, int]:
    """Deals per stage id, for the settings page."""
    rows = (
        Deal.objects.filter(workspace_id=workspace_id)
        .order_by()
        .values_list("stage_id")
        .annotate(n=Count("id"))
    )
    return dict(rows)
