"""``tags__has_tag="vip"``: rows whose JSON list of tags holds this tag.

Django's ``contains`` on a JSONField is not available on SQLite; this lookup reads the list
with ``json_each`` there and with ``@>`` on PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import JSONField, Lookup


@JSONField.register_lookup
class HasTag(Lookup):
    lookup_name = "has_tag"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # ``lhs`` is the compiled column reference; the tag is a parameter.
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) AS tag WHERE tag.value = %s)"  # noqa: S608
        return sql, [*lhs_params, str(self.rhs)]

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} @> %s::jsonb", [*lhs_params, json.dumps([str(self.rhs)])]
