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
from frontdesk.crm.actions.deals import create_deal
from frontdesk.crm.actions.leads import create_lead
from frontdesk.crm.actions.pipelines import workspace_pipelines
from frontdesk.crm.models import Deal, Lead, LeadStage
from frontdesk.crm.queries import board as board_queries
from frontdesk.crm.queries import deals as deal_queries
from frontdesk.crm.queries import leads as lead_queries
from frontdesk.crm.queries.duplicates import duplicates_of
from frontdesk.crm.queries.paging import keyset_page, sql_per_value
from frontdesk.inbox.models import Contact
from tests.fixtures import make_api_channel, session_client


def index_only(name: str) -> str:
    """How the database says it reads ``name`` alone, without the table's rows."""
    if connection.vendor == "postgresql":
        return f"Index Only Scan using {name}"
    return f"COVERING INDEX {name}"


# On PostgreSQL, every path but an index-only read priced out: whether the planner then
# prefers it depends on statistics that other tests' rows (rolled back, yet analyzed by
# autovacuum meanwhile) skew; what is checked is that the index alone can answer.
ONLY_INDEX_READS = ("enable_seqscan = off", "enable_indexscan = off", "enable_bitmapscan = off")


def plan(sql: str, index_only_reads: bool = False) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for setting in ONLY_INDEX_READS if index_only_reads else ONLY_INDEX_READS[:1]:
                cursor.execute(f"SET LOCAL {setting}")
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
    assert index_only("lead_ws_stage_sums") in plan(sums, index_only_reads=True)

    pipeline = workspace_pipelines(ws)[0]
    sqls = queries_of(lambda: deal_queries.board(pipeline))
    assert index_only("deal_board_sums") in plan(
        the_one(sqls, "SUM(", "crm_deal"), index_only_reads=True
    )
    forecast = queries_of(lambda: deal_queries.forecast(pipeline))
    open_values = the_one(forecast, "SUM(", "crm_deal", "stage_id")
    assert index_only("deal_board_sums") in plan(open_values, index_only_reads=True)


@pytest.mark.django_db
def test_the_deals_page_counts_and_sums_its_stages_once(owner):
    """The board's columns and the forecast above them share one count and sum per stage
    (it was read twice), and that one read stays on the index alone."""
    ws = owner.workspace_id
    pipeline = workspace_pipelines(ws)[0]
    ana = create_contact(ws, owner.user, name="Ana Lima")
    for stage in list(pipeline.stages.all())[:2]:
        create_deal(
            ws, owner.user, contact_id=ana.pk, title="Fleet", stage_id=stage.pk, value="1200"
        )
    client = session_client(owner)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/deals/")
    assert page.status_code == 200 and "Weighted" in page.content.decode()
    sqls = [q["sql"] for q in captured.captured_queries]
    per_stage = the_one(sqls, "SUM(", "crm_deal", "stage_id")
    assert "COUNT(*)" in per_stage
    assert index_only("deal_board_sums") in plan(per_stage, index_only_reads=True)


@pytest.mark.django_db
def test_the_lead_board_counts_and_sums_its_stages_once(owner):
    """The leads board's count and value per stage and currency is one read, from the
    index alone (counting ids made PostgreSQL read every lead's row)."""
    ws = owner.workspace_id
    ana = create_contact(ws, owner.user, name="Ana Lima")
    for stage in (LeadStage.NEW, LeadStage.WORKING):
        create_lead(ws, owner.user, contact_id=ana.pk, title="Fleet", value="900", stage=stage)
    client = session_client(owner)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/leads/")
    assert page.status_code == 200 and "Fleet" in page.content.decode()
    sqls = [q["sql"] for q in captured.captured_queries]
    per_stage = the_one(sqls, "SUM(", "crm_lead")
    assert "COUNT(*)" in per_stage and "GROUP BY" in per_stage
    assert index_only("lead_ws_stage_sums") in plan(per_stage, index_only_reads=True)


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
    # A workspace of some size, its statistics fresh: on a table of two rows whose
    # statistics earlier tests left, walking any index of the workspace is as cheap, and
    # PostgreSQL once took the one in update order, filtering every row.
    Contact.objects.bulk_create(
        Contact(workspace_id=ws, name=f"Client {i}", company=f"Company {i % 97}")
        for i in range(2000)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inbox_contact")
    sqls = queries_of(lambda: duplicates_of(ana))
    assert "handle_ws_kind_value_ci" in plan(the_one(sqls, "inbox_contacthandle", "LOWER("))
    assert "contact_ws_name_company_ci" in plan(the_one(sqls, "inbox_contact", "LOWER(", "name"))


@pytest.mark.django_db
def test_a_board_reads_every_columns_cards_in_one_query(owner, monkeypatch):
    """The boards read their columns' cards in one query (it was one per column), and each
    column gets the cards, and the "Show more" cursor, that reading it alone gives: the
    latest updated first, ties by id, an empty column none."""
    from django.utils import timezone

    from frontdesk.crm.models import Deal, Lead

    monkeypatch.setattr(board_queries, "COLUMN_LIMIT", 2)
    ws = owner.workspace_id
    ana = create_contact(ws, owner.user, name="Ana Lima")
    same_time = timezone.now()
    for n, stage in enumerate([LeadStage.NEW] * 3 + [LeadStage.WORKING] * 2 + [LeadStage.NEW]):
        lead = create_lead(ws, owner.user, contact_id=ana.pk, title=f"Lead {n}", stage=stage)
        if n < 2:  # two with the same update time: the id orders them
            Lead.objects.filter(pk=lead.pk).update(updated_at=same_time)
    pipeline = workspace_pipelines(ws)[0]
    first, second = list(pipeline.stages.all())[:2]
    for n, stage in enumerate([first] * 3 + [second]):
        create_deal(ws, owner.user, contact_id=ana.pk, title=f"Deal {n}", stage_id=stage.pk)

    sqls = queries_of(lambda: lead_queries.board(ws, tuple(LeadStage)))
    the_one(sqls, '"crm_lead"."title"')
    leads = Lead.objects.filter(workspace_id=ws)
    for column in lead_queries.board(ws, tuple(LeadStage)):
        alone = keyset_page(leads.filter(stage=column.stage), board_queries.CARD_ORDER, None, 2)
        assert [lead.title for lead in column.cards] == [lead.title for lead in alone.items]
        assert column.next_cursor == alone.next_cursor
        assert len(column.cards) == min(2, column.count)
    new = next(c for c in lead_queries.board(ws, tuple(LeadStage)) if c.stage == LeadStage.NEW)
    assert new.next_cursor and new.hidden == 2
    rest, left = lead_queries.column_page(ws, LeadStage.NEW, None, new.next_cursor)
    assert [lead.title for lead in rest.items] == ["Lead 1", "Lead 0"] and left == 0

    sqls = queries_of(lambda: deal_queries.board(pipeline))
    the_one(sqls, '"crm_deal"."title"')
    deals = Deal.objects.filter(workspace_id=ws)
    for column in deal_queries.board(pipeline):
        alone = keyset_page(deals.filter(stage=column.stage), board_queries.CARD_ORDER, None, 2)
        assert [deal.title for deal in column.cards] == [deal.title for deal in alone.items]
        assert column.next_cursor == alone.next_cursor
        assert len(column.cards) == min(2, column.count)
    mine = deal_queries.board(pipeline, owner_id=owner.user_id)
    assert [d.title for d in mine[0].cards] == ["Deal 2", "Deal 1"] and mine[0].next_cursor
    assert [d.title for d in mine[1].cards] == ["Deal 3"] and not mine[1].next_cursor


@pytest.mark.django_db
def test_each_column_counts_and_sums_its_own_rows(owner, agent, rival):
    """Read one column at a time, each column still counts every row of its stage and sums
    them per currency (a row without a value counted, not summed), with the owner filter,
    and nothing of another workspace."""
    from decimal import Decimal

    ws = owner.workspace_id
    ana = create_contact(ws, owner.user, name="Ana Lima")
    made = [
        (LeadStage.NEW, "100", "EUR", owner),
        (LeadStage.NEW, "250.50", "USD", agent),
        (LeadStage.NEW, None, "EUR", owner),
        (LeadStage.NEW, "50", "EUR", agent),
        (LeadStage.WORKING, "10", "EUR", owner),
        (LeadStage.CONVERTED, "7", "GBP", owner),
    ]
    for stage, value, currency, who in made:
        create_lead(
            ws,
            owner.user,
            contact_id=ana.pk,
            title="Order",
            stage=stage,
            value=value,
            currency=currency,
            owner_id=who.user_id,
        )
    bo = create_contact(rival.workspace_id, rival.user, name="Bo")
    create_lead(rival.workspace_id, rival.user, contact_id=bo.pk, title="Theirs", value="999")

    def seen(owner_id=None):
        board = lead_queries.board(ws, tuple(LeadStage), owner_id)
        return {c.stage.value: (c.count, dict(c.totals)) for c in board if c.count}

    assert seen() == {
        "new": (4, {"EUR": Decimal("150"), "USD": Decimal("250.50")}),
        "working": (1, {"EUR": Decimal("10")}),
        "converted": (1, {"GBP": Decimal("7")}),
    }
    assert seen(agent.user_id) == {"new": (2, {"EUR": Decimal("50"), "USD": Decimal("250.50")})}

    pipeline = workspace_pipelines(ws)[0]
    first, second = list(pipeline.stages.all())[:2]
    for stage, value, currency, who in [
        (first, "1000", "EUR", owner),
        (first, "500", "USD", agent),
        (first, "200", "EUR", agent),
        (second, "300", "EUR", owner),
    ]:
        create_deal(
            ws,
            owner.user,
            contact_id=ana.pk,
            title="Deal",
            stage_id=stage.pk,
            value=value,
            currency_code=currency,
            owner_id=who.user_id,
        )
    columns = {c.stage.pk: (c.count, dict(c.totals)) for c in deal_queries.board(pipeline)}
    assert columns[first.pk] == (3, {"EUR": Decimal("1200"), "USD": Decimal("500")})
    assert columns[second.pk] == (1, {"EUR": Decimal("300")})
    assert sum(count for count, _ in columns.values()) == 4
    theirs = deal_queries.board(pipeline, owner_id=agent.user_id)
    assert {c.stage.pk: c.count for c in theirs if c.count} == {first.pk: 2}


@pytest.mark.django_db
def test_a_board_without_columns_reads_nothing(owner):
    """A board with no stage to show (a pipeline left without stages) has no column and
    runs neither the count nor the cards' query."""
    ws = owner.workspace_id
    sqls = queries_of(lambda: lead_queries.board(ws, ()))
    assert lead_queries.board(ws, ()) == []
    assert not [sql for sql in sqls if "crm_lead" in sql]


@pytest.mark.django_db
def test_the_contact_page_reads_each_thing_once(owner, inbound, callback):
    """The contact page read the person's conversations three times (their ids for the
    timeline, the timeline's messages' conversations and channels, the list), their
    addresses twice and the workspace's members twice: 25 queries. Each is read once, and
    the page still shows every conversation's messages."""
    mail = make_api_channel(owner, callback.url, name="Mailbox")
    chat = inbound("Hi from the chat", handle="ana", contact_name="Ana Lima").conversation
    inbound("Hi by mail", handle="ana", contact_name="Ana Lima", via=mail)
    contact = chat.contact
    client = session_client(owner)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(f"/contacts/{contact.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Hi from the chat" in html and "Hi by mail" in html and "Mailbox" in html
    sqls = [q["sql"] for q in captured.captured_queries]
    conversation_reads = [
        sql for sql in sqls if 'FROM "inbox_conversation"' in sql and "contact_id" in sql
    ]
    assert len(conversation_reads) == 1, conversation_reads
    handle_reads = [
        sql for sql in sqls if 'FROM "inbox_contacthandle"' in sql and "LOWER(" not in sql
    ]
    assert len(handle_reads) == 1, handle_reads
    members = [sql for sql in sqls if 'ORDER BY "workspaces_user"."name"' in sql]
    assert len(members) == 1, members
    channel_reads = [sql for sql in sqls if 'FROM "inbox_channelaccount"' in sql]
    assert len(channel_reads) == 1, channel_reads  # the sidebar's; the timeline reuses its own
    assert len(sqls) <= 20, sqls


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has no parallel plans (CI's second pass)"
)
@pytest.mark.django_db
def test_a_boards_count_starts_no_parallel_workers(owner):
    """PostgreSQL planned the leads board's count and value per stage (50,000 leads in the
    bench) with parallel workers: 23.7 ms against 12.6 ms on one core. Here parallel plans
    are made free, as a big table makes them look, and the count, as the page runs it, is
    explained in its own transaction: no Gather."""
    ws = owner.workspace_id
    ana = create_contact(ws, owner.user, name="Ana Lima")
    for stage in (LeadStage.NEW, LeadStage.WORKING):
        create_lead(ws, owner.user, contact_id=ana.pk, title="Fleet", value="900", stage=stage)
    count = the_board_count(ws)
    with connection.cursor() as cursor:
        for cheap in (
            "max_parallel_workers_per_gather = 2",  # PostgreSQL's default
            "parallel_setup_cost = 0",
            "parallel_tuple_cost = 0",
            "min_parallel_index_scan_size = 0",
            "min_parallel_table_scan_size = 0",
            *ONLY_INDEX_READS,
        ):
            cursor.execute(f"SET LOCAL {cheap}")  # until the test's transaction ends
        cursor.execute(f"EXPLAIN {count}")
        free = "\n".join(str(row) for row in cursor.fetchall())
    assert "Gather" in free  # without the page's setting, the planner goes parallel

    plans: list[str] = []

    def explain(execute, sql, params, many, context):
        if "SUM(" in sql and "crm_lead" in sql and not sql.startswith("EXPLAIN"):
            context["cursor"].execute(f"EXPLAIN {sql}", params)
            plans.append("\n".join(str(row) for row in context["cursor"].fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        lead_queries.board(ws, tuple(LeadStage))
    [plan] = plans
    assert "Gather" not in plan and index_only("lead_ws_stage_sums") in plan


def the_board_count(workspace_id: int) -> str:
    """The leads board's count, as SQL with its values in it (for EXPLAIN)."""
    sqls = queries_of(lambda: lead_queries.board(workspace_id, tuple(LeadStage)))
    return the_one(sqls, "SUM(", "crm_lead")


@pytest.mark.django_db
def test_a_boards_columns_are_read_by_the_statements_each_would_compile(owner):
    """A board's column statements, compiled once for all its stages, are the ones each
    stage's own would be, text and parameters (the stage is one of them), also when the
    workspace's id equals a stage's; a value of another type is compiled as it is."""
    ws = owner.workspace_id
    stages = [s.pk for s in workspace_pipelines(ws)[0].stages.all()]

    def deal_ids(value):
        return Deal.objects.filter(workspace_id=ws, stage_id=value).values("pk")[:11]

    def lead_ids(value):
        rows = Lead.objects.filter(workspace_id=ws, owner_id=owner.user_id, stage=value)
        return rows.order_by("-updated_at").values("pk")[:11]

    def each(query_for, values):
        return [
            (sql, list(params))
            for sql, params in (query_for(v).query.sql_with_params() for v in values)
        ]

    for query_for, values in (
        (deal_ids, stages),
        (deal_ids, [ws, *stages]),  # a stage numbered as the workspace
        (lead_ids, list(LeadStage)),
        (lead_ids, ["new", "working"]),
    ):
        assert sql_per_value(query_for, values) == each(query_for, values)
    assert sql_per_value(deal_ids, [1.0, 2.0]) == each(deal_ids, [1.0, 2.0])
