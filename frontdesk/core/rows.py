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
from datetime import datetime
from functools import partial
from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]

# How a field's value becomes a parameter when it has a type the field takes as it is:
# unchanged (text, a boolean), or through the backend's adapter (an int, an aware datetime,
# JSON): what ``get_db_prep_save`` ends in for such a value, without its layers of calls.
# Any other value (None aside, NULL for each of them: an expression, a lazy string, a bool
# or an enum for an integer, a naive datetime) and any other field (a subclass, a file, an
# auto_now date) goes through the field's ``pre_save`` and ``get_db_prep_save``.
_INSTANCE, _EXACT, _AWARE, _FIELD = range(4)  # a value of one of the types, or exactly one
_TEXT = (
    models.CharField,
    models.TextField,
    models.EmailField,
    models.URLField,
    models.SlugField,
)
_INTEGER = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)
_AUTO = (models.AutoField, models.BigAutoField, models.SmallAutoField)
# field, attname, how (above), the value types taken that way, the adapter (None: as it is)
_Plan = list[tuple[Field, str, int, tuple[type, ...], Callable[[Any], Any] | None]]
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
    model = type(obj)
    statement = _kept(connection).get((model, if_absent))
    if statement is None:
        statement = _compile_insert(model, connection, if_absent)
    sql, plan = statement
    if pre_save.has_listeners(model):
        pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
    values: dict[str, Any] = obj.__dict__  # a new object holds each field's value
    params: list[Any] = [None] * len(plan)
    for i, (field, attname, how, types, adapt) in enumerate(plan):
        if how != _FIELD and attname in values:
            value = values[attname]
            if value is None:
                continue  # NULL
            if type(value) in types:  # int() would change a subclass's value: _EXACT
                ready = how != _AWARE or value.utcoffset() is not None
            elif how == _INSTANCE:
                ready = isinstance(value, types)  # a str enum, a dict subclass...
            else:
                ready = (
                    how == _AWARE and isinstance(value, datetime) and value.utcoffset() is not None
                )
            if ready:
                params[i] = value if adapt is None else adapt(value)
                continue
        params[i] = field.get_db_prep_save(field.pre_save(obj, True), connection)
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


def _compile_insert(
    model: type[Model], connection: BaseDatabaseWrapper, if_absent: bool
) -> tuple[str, _Plan]:
    """The INSERT of every concrete field but the primary key, and how each value becomes
    a parameter: worked out once per model and connection (an adapter is the backend's)."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    # Identifiers come from the model's own metadata, quoted; values are parameters.
    columns = ", ".join(quote(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    conflict = " ON CONFLICT DO NOTHING" if if_absent else ""
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks}){conflict}"  # noqa: S608
    sql = f"{sql} RETURNING {quote(str(meta.pk.column))}"
    statement = (sql, [(f, f.attname, *_how(f, connection)) for f in fields])
    _kept(connection)[(model, if_absent)] = statement
    return statement


def _how(field: Field, connection: BaseDatabaseWrapper) -> tuple[int, tuple[type, ...], Any]:
    """How ``field``'s values become parameters (see ``_INSTANCE``...): only for exactly these
    Django field types, whose conversion is known; a subclass may convert otherwise."""
    ops, base = connection.ops, BaseDatabaseOperations
    kind = type(field)
    if kind in _TEXT:
        return _INSTANCE, (str,), None
    if kind is models.BooleanField:
        return _INSTANCE, (bool,), None
    if kind in _INTEGER:
        if type(ops).adapt_integerfield_value is base.adapt_integerfield_value:
            return _EXACT, (int,), None
        internal_type = field.get_internal_type()
        return _EXACT, (int,), partial(ops.adapt_integerfield_value, internal_type=internal_type)
    if isinstance(field, models.ForeignKey) and kind is models.ForeignKey:
        if type(field.target_field) not in _AUTO:
            return _FIELD, (), None
        if type(ops).validate_autopk_value is base.validate_autopk_value:
            return _EXACT, (int,), None
        return _EXACT, (int,), ops.validate_autopk_value
    if isinstance(field, models.DateTimeField) and kind is models.DateTimeField:
        if field.auto_now or field.auto_now_add:  # set by pre_save
            return _FIELD, (), None
        return _AWARE, (datetime,), ops.adapt_datetimefield_value
    if isinstance(field, models.JSONField) and kind is models.JSONField:
        return _INSTANCE, (dict, list), partial(ops.adapt_json_value, encoder=field.encoder)
    return _FIELD, (), None


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
