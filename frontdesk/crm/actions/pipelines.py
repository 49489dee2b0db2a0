"""Pipelines and their stages (the settings page and the API): every workspace has at least
one, each with at least one active, one won and one lost stage; a stage that holds deals is
removed only by moving them to another stage first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Prefetch
from django.utils import timezone

from frontdesk.crm.actions.values import CrmError, clean_text
from frontdesk.crm.models import Deal, DealStatus, Pipeline, Stage, StageType
from frontdesk.workspaces.models import Workspace

# Every workspace starts with this one (Pipedrive's default, with won and lost as stages).
DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES: list[dict[str, Any]] = [
    {"name": "Qualified", "type": StageType.ACTIVE, "probability": 10, "rotting_days": 14},
    {"name": "Contact made", "type": StageType.ACTIVE, "probability": 25, "rotting_days": 14},
    {"name": "Proposal sent", "type": StageType.ACTIVE, "probability": 50, "rotting_days": 14},
    {"name": "Negotiation", "type": StageType.ACTIVE, "probability": 75, "rotting_days": 7},
    {"name": "Won", "type": StageType.WON, "probability": 100, "rotting_days": None},
    {"name": "Lost", "type": StageType.LOST, "probability": 0, "rotting_days": None},
]
MAX_STAGES = 30


class PipelineNotFound(LookupError):
    """No such pipeline or stage in this workspace (the caller answers 404)."""


def workspace_pipelines(workspace_id: int) -> list[Pipeline]:
    """The workspace's pipelines with their stages in order (the default one made on first
    use, so every workspace has one)."""
    rows = _pipelines(workspace_id)
    if not rows:
        ensure_pipeline(workspace_id)
        rows = _pipelines(workspace_id)
    return rows


def _pipelines(workspace_id: int) -> list[Pipeline]:
    return list(
        Pipeline.objects.filter(workspace_id=workspace_id)
        .prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("position", "id")))
        .order_by("position", "id")
    )


def ensure_pipeline(workspace_id: int) -> None:
    """Give a workspace without a pipeline the default one (at most once, also when two
    requests ask at the same moment: the workspace row is locked while checking)."""
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace_id).first()
        if not Pipeline.objects.filter(workspace_id=workspace_id).exists():
            _create(workspace_id, DEFAULT_PIPELINE, DEFAULT_STAGES)


def _clean_stage(raw: dict[str, Any]) -> dict[str, Any]:
    name = clean_text(raw.get("name"), 100, "a stage's name", required=True)
    kind = str(raw.get("type") or StageType.ACTIVE)
    if kind not in StageType.values:
        raise CrmError(f"a stage's type must be one of {', '.join(StageType.values)}")
    probability = _number(raw.get("probability"), f"{name}: the probability", 0, 100)
    default = {StageType.WON: 100, StageType.LOST: 0}.get(StageType(kind))
    rotting = _number(raw.get("rotting_days"), f"{name}: the rotting days", 1, 3650)
    return {
        "name": name,
        "type": kind,
        "probability": probability if probability is not None else (default or 0),
        "rotting_days": rotting if kind == StageType.ACTIVE else None,
    }


def _number(raw: Any, what: str, low: int, high: int) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise CrmError(f"{what} must be a whole number") from None
    if not low <= value <= high:
        raise CrmError(f"{what} must be between {low} and {high}")
    return value


def _check_types(types: Iterable[str]) -> None:
    present = set(types)
    missing = [t.label.lower() for t in StageType if t.value not in present]
    if missing:
        raise CrmError(f"a pipeline needs at least one {' and one '.join(missing)} stage")


def _create(workspace_id: int, name: str, stages: list[dict[str, Any]]) -> Pipeline:
    position = Pipeline.objects.filter(workspace_id=workspace_id).aggregate(n=Max("position"))
    pipeline = Pipeline.objects.create(
        workspace_id=workspace_id, name=name, position=(position["n"] or 0) + 1
    )
    Stage.objects.bulk_create(
        Stage(workspace_id=workspace_id, pipeline=pipeline, position=i, **stage)
        for i, stage in enumerate(stages)
    )
    return pipeline


def create_pipeline(
    workspace_id: int, name: str, stages: list[dict[str, Any]] | None = None
) -> Pipeline:
    """A new pipeline, with the given stages in order (the default stages if none)."""
    name = clean_text(name, 100, "a pipeline's name", required=True)
    cleaned = [_clean_stage(s) for s in (stages if stages is not None else DEFAULT_STAGES)]
    if len(cleaned) > MAX_STAGES:
        raise CrmError(f"a pipeline has at most {MAX_STAGES} stages")
    _check_types(s["type"] for s in cleaned)
    try:
        with transaction.atomic():
            return _create(workspace_id, name, cleaned)
    except IntegrityError:
        raise CrmError(f"there already is a pipeline named {name!r}") from None


def pipeline_in(workspace_id: int, pipeline_id: int) -> Pipeline:
    pipeline = Pipeline.objects.filter(workspace_id=workspace_id, pk=pipeline_id).first()
    if pipeline is None:
        raise PipelineNotFound("pipeline not found")
    return pipeline


def stage_in(workspace_id: int, stage_id: int) -> Stage:
    stage = (
        Stage.objects.filter(workspace_id=workspace_id, pk=stage_id)
        .select_related("pipeline")
        .first()
    )
    if stage is None:
        raise PipelineNotFound("stage not found")
    return stage


def rename_pipeline(workspace_id: int, pipeline_id: int, name: str) -> Pipeline:
    pipeline = pipeline_in(workspace_id, pipeline_id)
    pipeline.name = clean_text(name, 100, "a pipeline's name", required=True)
    try:
        with transaction.atomic():
            pipeline.save(update_fields=["name"])
    except IntegrityError:
        raise CrmError(f"there already is a pipeline named {pipeline.name!r}") from None
    return pipeline


def make_default(workspace_id: int, pipeline_id: int) -> Pipeline:
    """The pipeline the deals page opens on (and a new deal goes to, unless told): the
    first in the workspace's order, so the others keep theirs after it."""
    pipeline = pipeline_in(workspace_id, pipeline_id)
    with transaction.atomic():
        order = list(
            Pipeline.objects.select_for_update()
            .filter(workspace_id=workspace_id)
            .order_by("position", "id")
        )
        order.sort(key=lambda p: p.pk != pipeline.pk)  # stable: the others keep their order
        for position, each in enumerate(order):
            if each.position != position:
                Pipeline.objects.filter(pk=each.pk).update(position=position)
    return pipeline


def delete_pipeline(workspace_id: int, pipeline_id: int) -> None:
    """Only a pipeline without deals, and never the workspace's last one."""
    pipeline = pipeline_in(workspace_id, pipeline_id)
    if Deal.objects.filter(pipeline=pipeline).exists():
        raise CrmError(f"{pipeline.name} has deals: move them to another pipeline first")
    if Pipeline.objects.filter(workspace_id=workspace_id).count() == 1:
        raise CrmError("a workspace keeps at least one pipeline")
    pipeline.delete()


def add_stage(workspace_id: int, pipeline_id: int, raw: dict[str, Any]) -> Stage:
    """A new stage, placed before the won and lost stages (an active one) or at the end."""
    pipeline = pipeline_in(workspace_id, pipeline_id)
    fields = _clean_stage(raw)
    with transaction.atomic():
        stages = list(pipeline.stages.select_for_update().order_by("position", "id"))
        if len(stages) >= MAX_STAGES:
            raise CrmError(f"a pipeline has at most {MAX_STAGES} stages")
        closing = [s for s in stages if s.type != StageType.ACTIVE]
        at = stages.index(closing[0]) if closing and fields["type"] == StageType.ACTIVE else None
        stage = Stage(workspace_id=workspace_id, pipeline=pipeline, **fields)
        order = [*stages[:at], stage, *stages[at:]] if at is not None else [*stages, stage]
        stage.position = order.index(stage)
        stage.save()
        _renumber(order)
    return stage


def change_stage(workspace_id: int, stage_id: int, raw: dict[str, Any]) -> Stage:
    """Its name, type, probability and rotting days; the pipeline keeps one of each type."""
    stage = stage_in(workspace_id, stage_id)
    fields = _clean_stage(raw)
    with transaction.atomic():
        others = Stage.objects.filter(pipeline_id=stage.pipeline_id).exclude(pk=stage.pk)
        _check_types([fields["type"], *others.values_list("type", flat=True)])
        type_changed = fields["type"] != stage.type
        for key, value in fields.items():
            setattr(stage, key, value)
        stage.save()
        if type_changed:  # its deals are now open, won or lost with it
            _restate(stage)
    return stage


def _restate(stage: Stage) -> None:
    status = {StageType.WON: DealStatus.WON, StageType.LOST: DealStatus.LOST}.get(
        StageType(stage.type), DealStatus.OPEN
    )
    deals = Deal.objects.filter(stage=stage).exclude(status=status)
    if status == DealStatus.OPEN:
        deals.update(status=status, closed_at=None, updated_at=timezone.now())
    else:
        deals.update(status=status, closed_at=timezone.now(), updated_at=timezone.now())


def move_stage(workspace_id: int, stage_id: int, step: int) -> None:
    """One place earlier (step -1) or later (+1) in its pipeline."""
    stage = stage_in(workspace_id, stage_id)
    with transaction.atomic():
        order = list(
            Stage.objects.select_for_update()
            .filter(pipeline_id=stage.pipeline_id)
            .order_by("position", "id")
        )
        i = next(n for n, s in enumerate(order) if s.pk == stage.pk)
        j = max(0, min(len(order) - 1, i + step))
        order.insert(j, order.pop(i))
        _renumber(order)


def _renumber(order: list[Stage]) -> None:
    for position, stage in enumerate(order):
        if stage.position != position:
            stage.position = position
            Stage.objects.filter(pk=stage.pk).update(position=position)


def remove_stage(workspace_id: int, stage_id: int, move_to_id: int | None = None) -> int:
    """Remove a stage; its deals (if any) move to ``move_to_id`` of the same pipeline, which
    is required when there are some. Returns how many deals moved."""
    stage = stage_in(workspace_id, stage_id)
    with transaction.atomic():
        others = Stage.objects.filter(pipeline_id=stage.pipeline_id).exclude(pk=stage.pk)
        _check_types(others.values_list("type", flat=True))
        count = Deal.objects.filter(stage=stage).count()
        if count:
            target = others.filter(pk=move_to_id).first() if move_to_id is not None else None
            if target is None:
                raise CrmError(
                    f"{stage.name} holds {count} deal{'s' if count != 1 else ''}: "
                    "choose the stage of this pipeline they move to"
                )
            Deal.objects.filter(stage=stage).update(
                stage=target, stage_entered_at=timezone.now(), updated_at=timezone.now()
            )
            _restate(target)
        stage.delete()
        _renumber(list(others.order_by("position", "id")))
    return count
