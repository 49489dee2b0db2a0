"""Keyset pagination on any sort the CRM's lists offer: the cursor is the last row's sort
value and id, so the next page is one index range, however deep the user scrolls.

A sort column may be nullable (a lead's value, a deal's close date): its empty values come
last in either direction, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Field, Model, Q, QuerySet
from django.db.models.expressions import OrderBy, RawSQL

from frontdesk.core.instants import in_utc
from frontdesk.inbox.queries import BadCursor, Page


@dataclass(frozen=True)
class Sort:
    """One way to order a list: a column, its direction, and the label the page shows."""

    field: str
    descending: bool = False
    label: str = ""

    def ordering(self, model: type[Model] | None = None) -> tuple[OrderBy, OrderBy]:
        column = F(self.field)
        # NULLS LAST only where a column can hold NULL: on PostgreSQL "DESC NULLS LAST" is
        # not the order of a plain index read backwards, so a newest-first list of 100,000
        # contacts was sorted whole on every page (100+ ms) instead of read from its index.
        nulls = None if model is None or model._meta.get_field(self.field).null else False
        if nulls is None:
            by = column.desc(nulls_last=True) if self.descending else column.asc(nulls_last=True)
        else:
            by = column.desc() if self.descending else column.asc()
        return by, (F("id").desc() if self.descending else F("id").asc())

    def after(self, value: Any, pk: int) -> Q:
        """Rows that come after (value, pk) in this order."""
        beyond, tie = ("lt", "lt") if self.descending else ("gt", "gt")
        if value is None:  # only other empty values are left, in id order
            return Q(**{f"{self.field}__isnull": True, f"pk__{tie}": pk})
        return (
            Q(**{f"{self.field}__{beyond}": value})
            | Q(**{self.field: value, f"pk__{tie}": pk})
            | Q(**{f"{self.field}__isnull": True})
        )


def _encode(value: Any, pk: int) -> str:
    raw = json.dumps([None if value is None else str(value), pk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(model: type[Model], sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        raw, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(pk, int) or not (raw is None or isinstance(raw, str)):
            raise ValueError
        field = model._meta.get_field(sort.field)
        assert isinstance(field, Field)
        value = None if raw is None else field.to_python(raw)
        if isinstance(value, datetime):
            value = in_utc(value)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, ValidationError):
        raise BadCursor("invalid cursor") from None
    return value, pk


def keyset_page(qs: QuerySet, sort: Sort, cursor: str | None, limit: int) -> Page:
    """One page of ``qs`` in ``sort`` order, from just after ``cursor``."""
    if cursor:
        qs = qs.filter(sort.after(*_decode(qs.model, sort, cursor)))
    return _page(list(qs.order_by(*sort.ordering(qs.model))[: limit + 1]), sort, limit)


def _page(rows: list[Any], sort: Sort, limit: int) -> Page:
    """A page from up to ``limit`` + 1 rows read in ``sort`` order: the one beyond the
    limit says there is more, and the cursor points after the last one shown."""
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit and items:
        last = items[-1]
        next_cursor = _encode(getattr(last, sort.field), last.pk)
    return Page(items, next_cursor)


def first_pages(
    qs: QuerySet, sort: Sort, field: str, groups: list[Any], limit: int
) -> dict[Any, Page]:
    """The first page of ``qs`` in ``sort`` order for each value of ``field`` in
    ``groups`` (a board's columns), in one query: each group's first ``limit`` + 1 ids are
    their own index range and LIMIT, as ``keyset_page`` reads them, put together with
    UNION ALL (each wrapped as a derived table, which SQLite needs for a LIMIT in a
    compound select), and the rows are read by those ids. The pages are the ones
    ``keyset_page(qs.filter(field=value), sort, None, limit)`` gives, with their cursors."""
    if not groups:
        return {}
    ordering = sort.ordering(qs.model)
    parts: list[str] = []
    params: list[Any] = []

    def first_ids(value: Any) -> QuerySet:
        return qs.filter(**{field: value}).order_by(*ordering).values("pk")[: limit + 1]

    # The ORM's own SQL for each part, every value a parameter (none in the text).
    for n, (sql, part_params) in enumerate(sql_per_value(first_ids, groups)):
        parts.append(f"SELECT * FROM ({sql}) AS page_{n}")  # noqa: S608
        params.extend(part_params)
    union = RawSQL(" UNION ALL ".join(parts), params)  # noqa: S611 (the ORM's SQL, as above)
    rows = qs.filter(pk__in=union).order_by(*ordering)
    grouped: dict[Any, list] = {value: [] for value in groups}
    for row in rows:
        grouped[getattr(row, field)].append(row)
    return {value: _page(found, sort, limit) for value, found in grouped.items()}


# Stands for a value in the statement compiled once for all (sql_per_value): no id or stage
# is one of these.
_MARKS: tuple[Any, ...] = (-987_654_321, "\x00per-value")


def sql_per_value(
    query_for: Callable[[Any], QuerySet], values: list[Any]
) -> list[tuple[str, list[Any]]]:
    """The SQL and parameters of ``query_for(value)`` for each value (a board's stages),
    where the value is one parameter of the statement: it is compiled once, with a mark in
    the value's place (some 900 Python calls a column saved). If the mark is not found
    exactly once among the parameters, each statement is compiled as it is."""
    mark = next((m for m in _MARKS if all(isinstance(v, type(m)) for v in values)), None)
    if mark is not None:
        sql, params = query_for(mark).query.sql_with_params()
        at = [i for i, param in enumerate(params) if param == mark]
        if len(at) == 1:
            i = at[0]
            return [(sql, [*params[:i], value, *params[i + 1 :]]) for value in values]
    compiled = []
    for value in values:
        sql, params = query_for(value).query.sql_with_params()
        compiled.append((sql, list(params)))
    return compiled


def one_read_per_value(qs: QuerySet, field: str, values: list[Any]) -> list[Any]:
    """The rows of ``qs`` (a board's count and sum, grouped) read for each value of
    ``field`` apart, put together with UNION ALL into one statement. Over the whole board
    PostgreSQL's planner prices a sequential scan of the table below an index-only read
    (the board covers most rows); for one column at a time it reads that column's range of
    the index alone (the bench's 45,000 leads: 12.3 ms against 18.5 ms; 20,000 deals: 4.9
    against 7.8). Read with a serial plan (``serial_plan``). No values, no rows."""
    parts = [qs.filter(**{field: value}) for value in values]
    if not parts:
        return []
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    with serial_plan():
        return list(union)


@contextmanager
def serial_plan() -> Iterator[None]:
    """On PostgreSQL, the statements inside start no parallel workers.

    The leads board's count (50,000 leads, five index ranges) was planned as a Parallel
    Append under Gather: 23.7 ms against 12.6 ms read by this process alone, as each
    worker starts per statement and competes for the cores the web processes use. ``SET
    LOCAL`` holds until the end of the transaction, so it needs one (a savepoint inside
    another). SQLite has no parallel plans."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield
