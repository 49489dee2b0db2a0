"""The CRM's costly reads stay index reads on both databases (bench/crm.py times them at
100,000 contacts): the boards' count and value per stage come from an index alone, and
the duplicate suggestions find the same email, or the same name and company, in any case
through an index instead of reading every contact. Each read's own SQL, as the page runs it,
is explained; on PostgreSQL with sequential scans priced out, as a few test rows would
otherwise make a scan the cheaper plan."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.actions.pipelines import workspace_pipelines
from frontdesk.crm.models import LeadStage
from frontdesk.crm.queries import deals as deal_queries
from frontdesk.crm.queries import leads as lead_queries
from frontdesk.crm.queries.duplicates import duplicates_of


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row) for row in cursor.fetchall())


def queries_of(read) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        read()
    return [q["sql"] for q in captured.captured_queries]


def the_one(sqls: list[str], *words: str) -> str:
    found = [sql for sql in sqls if all(w in sql for w in words)]
    assert len(found) == 1, sqls
    return found[0]


@pytest.mark.django_db
def test_the_boards_sum_from_an_index(owner):
    ws = owner.workspace_id
    sums = the_one(queries_of(lambda: lead_queries.board(ws, tuple(LeadStage))), "SUM(", "crm_lead")
    assert "lead_ws_stage_sums" in plan(sums)

    pipeline = workspace_pipelines(ws)[0]
    sqls = queries_of(lambda: deal_queries.board(pipeline))
    assert "deal_board_sums" in plan(the_one(sqls, "SUM(", "crm_deal"))
    forecast = queries_of(lambda: deal_queries.forecast(pipeline))
    open_values = the_one(forecast, "SUM(", "crm_deal", "stage_id")
    assert "deal_board_sums" in plan(open_values)


@pytest.mark.django_db
def test_duplicate_suggestions_look_up_an_index(owner):
    ws = owner.workspace_id
    ana = create_contact(
        ws,
        owner.user,
        name="Ana Lima",
        company="Lisbon Bikes",
        handles=[{"kind": "email", "value": "Ana@Bikes.PT"}],
    )
    create_contact(ws, owner.user, name="ana lima", company="LISBON BIKES")
    sqls = queries_of(lambda: duplicates_of(ana))
    assert "handle_ws_kind_value_ci" in plan(the_one(sqls, "inbox_contacthandle", "LOWER("))
    assert "contact_ws_name_company_ci" in plan(the_one(sqls, "inbox_contact", "LOWER(", "name"))
