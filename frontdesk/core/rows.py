"""Hand-built statements for the few hottest reads and writes, with the ORM's own value handling.

Django compiles every INSERT and filter from scratch; on the inbound path that was most
of the time spent per message. ``insert_row`` builds its statement once per model and
still converts each value through the model's fields, so rows are stored exactly as
``save()`` stores them, and sends the same ``pre_save``/``post_save`` signals.
``select_models`` reads whole rows into model instances, each value converted by the
field's and the backend's converters as a queryset converts it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]

_inserts: dict[tuple[type[Model], str, bool], tuple[str, list[Field]]] = {}
# A statement, the attnames of its columns, and the position, converters and column
# expression of each column whose value needs converting.
_Select = tuple[str, list[str], list[tuple[int, list[Converter], Any]]]


def _kept(connection: BaseDatabaseWrapper) -> dict[Any, Any]:
    """What this module works out once per model, kept on the connection it was worked out
    for (an adapter or a converter may be a method of that connection's backend) and gone
    with it: each thread of a server has its own."""
    kept = connection.__dict__.get("_frontdesk_rows")
    if kept is None:
        kept = connection.__dict__["_frontdesk_rows"] = {}
    return kept


def insert_row(obj: Model, if_absent: bool = False, using: str = "default") -> bool:
    """``obj.save(force_insert=True)`` for a model with an auto-increment primary key.

    ``if_absent``: a row that would break a unique constraint is not written (no error, no
    savepoint needed) and False is returned, e.g. when a concurrent writer came first.
    """
    connection = connections[using]
    key = (type(obj), connection.vendor, if_absent)
    statement = _inserts.get(key)
    if statement is None:
        meta = obj._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        # Identifiers come from the model's own metadata, quoted; values are parameters.
        columns = ", ".join(quote(str(f.column)) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        conflict = " ON CONFLICT DO NOTHING" if if_absent else ""
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks}){conflict}"  # noqa: S608
        statement = _inserts[key] = (f"{sql} RETURNING {quote(str(meta.pk.column))}", fields)
    sql, fields = statement
    model = type(obj)
    if pre_save.has_listeners(model):
        pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
    if post_save.has_listeners(model):
        post_save.send(
            sender=model, instance=obj, created=True, raw=False, using=using, update_fields=None
        )
    return True


def select_models[M: Model](
    model: type[M], where: str, params: list[Any], using: str = "default"
) -> list[M]:
    """``model.objects.raw(f"SELECT * FROM <table> WHERE {where}", params)`` without the
    raw queryset's per-call work (matching columns to fields, finding their converters):
    the statement and the converters are worked out once per model (and connection)."""
    connection = connections[using]
    statement: _Select | None = _kept(connection).get(model)
    if statement is None:
        statement = _compile_select(model, connection)
    select, names, converters = statement
    with connection.cursor() as cursor:
        cursor.execute(select + where, params)
        rows = cursor.fetchall()
    found_models = []
    for row in rows:
        values = list(row)
        for position, convs, col in converters:
            value = values[position]
            for convert in convs:
                value = convert(value, col, connection)
            values[position] = value
        found_models.append(model.from_db(using, names, values))
    return found_models


def _compile_select(model: type[Model], connection: BaseDatabaseWrapper) -> _Select:
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in meta.concrete_fields)
    select = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE "  # noqa: S608
    converters = []
    for position, field in enumerate(meta.concrete_fields):
        col = field.get_col(meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((position, found, col))
    statement = (select, [f.attname for f in meta.concrete_fields], converters)
    _kept(connection)[model] = statement
    return statement


def fetch_one(sql: str, params: list[Any], using: str = "default") -> tuple[Any, ...] | None:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
