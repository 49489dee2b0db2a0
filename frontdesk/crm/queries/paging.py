"""Keyset pagination on any sort the CRM's lists offer: the cursor is the last row's sort
value and id, so the next page is one index range, however deep the user scrolls.

A sort column may be nullable (a lead's value, a deal's close date): its empty values come
last in either direction, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Field, Model, Q, QuerySet
from django.db.models.expressions import OrderBy

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
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, ValidationError):
        raise BadCursor("invalid cursor") from None
    return value, pk


def keyset_page(qs: QuerySet, sort: Sort, cursor: str | None, limit: int) -> Page:
    """One page of ``qs`` in ``sort`` order, from just after ``cursor``."""
    if cursor:
        qs = qs.filter(sort.after(*_decode(qs.model, sort, cursor)))
    rows = list(qs.order_by(*sort.ordering(qs.model))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = _encode(getattr(last, sort.field), last.pk)
    return Page(rows, next_cursor)
