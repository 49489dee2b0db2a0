"""Hand-built statements for the few hottest writes, with the ORM's own value handling.

Django compiles every INSERT and filter from scratch; on the inbound path that was most
of the time spent per message. ``insert_row`` builds its statement once per model and
still converts each value through the model's fields, so rows are stored exactly as
``save()`` stores them, and sends the same ``pre_save``/``post_save`` signals.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save

_inserts: dict[tuple[type[Model], str, bool], tuple[str, list[Field]]] = {}


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


def fetch_one(sql: str, params: list[Any], using: str = "default") -> tuple[Any, ...] | None:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
