"""Several counts in one statement, each stopping early.

The sidebar shows a handful of numbers on every page (unread conversations per view and per
channel, the bell's, the due follow-ups'). Asked one ORM query at a time they cost a round
trip and a compile each, most of the shell's time on PostgreSQL; here each is a plain
``SELECT 1 FROM ... WHERE ...`` (written once, its values as parameters) and all of them go
in one statement. Each count reads at most ``cap + 1`` rows (shown as "99+"), so a page
costs the same at 100 or 100,000 conversations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from frontdesk.core.rows import fetch_one

# A SELECT whose rows are counted, and its parameters.
Select = tuple[str, Sequence[Any]]


def capped_counts(selects: Mapping[str, Select], cap: int) -> dict[str, int]:
    """How many rows each select finds, counted up to ``cap + 1``, in one round trip."""
    if not selects:
        return {}
    columns: list[str] = []
    params: list[Any] = []
    for n, (sql, values) in enumerate(selects.values()):
        # The selects are the callers' constant statements; their values are parameters.
        columns.append(f"(SELECT COUNT(*) FROM ({sql} LIMIT {int(cap) + 1}) AS counted_{n})")  # noqa: S608
        params.extend(values)
    row = fetch_one("SELECT " + ", ".join(columns), params)
    assert row is not None  # a SELECT without FROM answers one row
    return dict(zip(selects, row, strict=True))
