"""Pipelines with typed stages, deals made from a lead in one click or by hand, moved to won
or lost (with the reason), stale deals, the forecast per currency; through the actions, the
API and the pages, each inside its workspace only."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.crm.actions import activity, followups
from frontdesk.crm.actions import deals as actions
from frontdesk.crm.actions import pipelines as pipelines
from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.actions.leads import create_lead
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Activity, Deal, Pipeline, Stage
from frontdesk.crm.queries import board as board_queries
from frontdesk.crm.queries import deals as queries
from frontdesk.inbox.models import Contact, ContactHandle
from tests.fixtures import send, token_client
from tests.fixtures import session_client as login

HX = {"HX-Request": "true"}


def stages_of(pipeline: Pipeline) -> dict[str, Stage]:
    return {s.name: s for s in pipeline.stages.all()}


@pytest.fixture
def sales(owner) -> Pipeline:
    return pipelines.workspace_pipelines(owner.workspace_id)[0]


@pytest.fixture
def ana(owner):
    return create_contact(owner.workspace_id, owner.user, name="Ana Lima", company="Lisbon Bikes")


def deal_in(
    owner, contact, stage: Stage, value="1000", currency="EUR", title="Deal", **more
) -> Deal:
    return actions.create_deal(
        owner.workspace_id,
        owner.user,
        contact_id=contact.pk,
        title=title,
        stage_id=stage.pk,
        value=value,
        currency_code=currency,
        **more,
    )


# --- pipelines -----------------------------------------------------------------------------


def test_every_workspace_starts_with_one_pipeline(owner, rival):
    first = pipelines.workspace_pipelines(owner.workspace_id)
    again = pipelines.workspace_pipelines(owner.workspace_id)
    assert [p.pk for p in first] == [p.pk for p in again]
    assert len(first) == 1 and first[0].name == "Sales"
    stages = list(first[0].stages.all())
    assert [(s.name, s.type, s.probability) for s in stages] == [
        ("Qualified", "active", 10),
        ("Contact made", "active", 25),
        ("Proposal sent", "active", 50),
        ("Negotiation", "active", 75),
        ("Won", "won", 100),
        ("Lost", "lost", 0),
    ]
    assert stages[0].rotting_days == 14 and stages[-1].rotting_days is None
    assert pipelines.workspace_pipelines(rival.workspace_id)[0].pk != first[0].pk


def test_pipeline_rules(owner, sales, ana):
    with pytest.raises(CrmError, match="needs at least one won and one lost stage"):
        pipelines.create_pipeline(owner.workspace_id, "Partners", [{"name": "Talking"}])
    with pytest.raises(CrmError, match="already is a pipeline named"):
        pipelines.create_pipeline(owner.workspace_id, "Sales")
    with pytest.raises(CrmError, match="between 0 and 100"):
        pipelines.add_stage(owner.workspace_id, sales.pk, {"name": "X", "probability": "150"})
    # A new active stage goes before won and lost.
    demo = pipelines.add_stage(owner.workspace_id, sales.pk, {"name": "Demo", "probability": "60"})
    names = [s.name for s in sales.stages.order_by("position")]
    assert names[-3:] == ["Demo", "Won", "Lost"]
    pipelines.move_stage(owner.workspace_id, demo.pk, -1)
    assert [s.name for s in sales.stages.order_by("position")][-4:-2] == ["Demo", "Negotiation"]
    # The last stage of a type cannot go, nor lose its type.
    won = stages_of(sales)["Won"]
    with pytest.raises(CrmError, match="at least one won"):
        pipelines.remove_stage(owner.workspace_id, won.pk)
    with pytest.raises(CrmError, match="at least one won"):
        pipelines.change_stage(owner.workspace_id, won.pk, {"name": "Won", "type": "active"})
    # A stage with deals moves them first, never silently.
    deal = deal_in(owner, ana, demo)
    with pytest.raises(CrmError, match="Demo holds 1 deal"):
        pipelines.remove_stage(owner.workspace_id, demo.pk)
    negotiation = stages_of(sales)["Negotiation"]
    assert pipelines.remove_stage(owner.workspace_id, demo.pk, negotiation.pk) == 1
    deal.refresh_from_db()
    assert deal.stage == negotiation
    with pytest.raises(CrmError, match="has deals"):
        pipelines.delete_pipeline(owner.workspace_id, sales.pk)
    Deal.objects.all().delete()
    with pytest.raises(CrmError, match="at least one pipeline"):
        pipelines.delete_pipeline(owner.workspace_id, sales.pk)


def test_a_stage_that_changes_type_takes_its_deals_along(owner, sales, ana):
    negotiation = stages_of(sales)["Negotiation"]
    deal = deal_in(owner, ana, negotiation)
    pipelines.change_stage(
        owner.workspace_id, negotiation.pk, {"name": "Signed", "type": "won", "probability": ""}
    )
    deal.refresh_from_db()
    assert deal.status == "won" and deal.closed_at is not None
    assert Stage.objects.get(pk=negotiation.pk).probability == 100  # a won stage's default


# --- deals ---------------------------------------------------------------------------------


def test_a_lead_becomes_a_deal_in_one_click(owner, agent, sales, ana):
    lead = create_lead(
        owner.workspace_id,
        owner.user,
        contact_id=ana.pk,
        title="40 cargo bikes",
        value="21600",
        currency="EUR",
        owner_id=agent.user_id,
        source="Referral",
        tags=["vip"],
        stage="working",
    )
    made = actions.convert_lead(owner.workspace_id, lead.pk, owner.user)
    assert made.created
    deal = made.deal
    assert (deal.title, deal.value, deal.currency, deal.owner, deal.source, deal.tags) == (
        "40 cargo bikes",
        Decimal("21600.00"),
        "EUR",
        agent.user,
        "Referral",
        ["vip"],
    )
    assert (deal.contact, deal.lead, deal.pipeline, deal.stage) == (
        ana,
        lead,
        sales,
        stages_of(sales)["Qualified"],
    )
    assert deal.status == "open" and deal.closed_at is None
    lead.refresh_from_db()
    assert lead.stage == "converted"
    assert Activity.objects.filter(lead=lead, deal=deal, kind="lead").exists()
    again = actions.convert_lead(owner.workspace_id, lead.pk, owner.user)
    assert not again.created and again.deal == deal
    assert Deal.objects.count() == 1


def test_won_lost_and_reopened(owner, sales, ana):
    stages = stages_of(sales)
    deal = deal_in(owner, ana, stages["Qualified"])
    actions.move_deal(owner.workspace_id, deal.pk, stages["Proposal sent"].pk, owner.user)
    deal = actions.move_deal(owner.workspace_id, deal.pk, stages["Won"].pk, owner.user)
    assert deal.status == "won" and deal.closed_at is not None
    deal = actions.move_deal(
        owner.workspace_id, deal.pk, stages["Lost"].pk, owner.user, lost_reason="Too pricey"
    )
    assert (deal.status, deal.lost_reason) == ("lost", "Too pricey")
    deal = actions.move_deal(owner.workspace_id, deal.pk, stages["Negotiation"].pk, owner.user)
    assert (deal.status, deal.closed_at, deal.lost_reason) == ("open", None, "")
    texts = list(
        Activity.objects.filter(deal=deal).order_by("at", "id").values_list("text", flat=True)
    )
    assert texts == [
        "owner created the deal Deal in Qualified",
        "owner moved the deal from Qualified to Proposal sent",
        "owner won the deal (Won)",
        "owner lost the deal: Too pricey",
        "owner moved the deal from Lost to Negotiation",
    ]
    # A stage of another pipeline takes the deal there.
    other = pipelines.create_pipeline(owner.workspace_id, "Partners")
    target = stages_of(other)["Contact made"]
    deal = actions.move_deal(owner.workspace_id, deal.pk, target.pk, owner.user)
    assert deal.pipeline == other


def test_stale_deals(owner, sales, ana):
    stages = stages_of(sales)  # Qualified rots after 14 days, Negotiation after 7
    fresh = deal_in(owner, ana, stages["Qualified"], title="fresh")
    idle = deal_in(owner, ana, stages["Qualified"], title="idle")
    late = deal_in(owner, ana, stages["Negotiation"], title="late")
    won = deal_in(owner, ana, stages["Won"], title="won")
    now = timezone.now()
    Deal.objects.filter(pk=fresh.pk).update(updated_at=now - timedelta(days=13))
    Deal.objects.filter(pk__in=[idle.pk, won.pk]).update(updated_at=now - timedelta(days=15))
    Deal.objects.filter(pk=late.pk).update(updated_at=now - timedelta(days=8))
    stale = [
        d.title
        for d in queries.deal_list(
            owner.workspace_id, owner.user_id, queries.DealFilter(stale=True), "title"
        ).items
    ]
    assert stale == ["idle", "late"]
    for deal in Deal.objects.select_related("stage"):
        assert deal.is_stale(now) == (deal.title in stale)
    # Moving it starts the clock again.
    actions.move_deal(owner.workspace_id, idle.pk, stages["Contact made"].pk, owner.user)
    assert not queries.deal_for(owner.workspace_id, idle.pk).is_stale()


def stale_titles(owner, now) -> list[str]:
    rows = Deal.objects.filter(queries.stale_condition(owner.workspace_id, now)).order_by("title")
    return list(rows.values_list("title", flat=True))


def test_a_stale_deal_is_an_idle_one_not_one_long_in_its_stage(owner, sales, ana):
    """Stale means nobody worked on the deal for longer than its stage's rotting days (14 in
    Qualified), as Pipedrive's rotting deals: an edit, a move, a note on it or a follow-up
    on it done restarts the clock; how long it has sat in its stage does not count."""
    qualified = stages_of(sales)["Qualified"]
    titles = ["edited", "followed up", "idle", "noted", "noted long ago", "other note"]
    made = {t: deal_in(owner, ana, qualified, title=t) for t in titles}
    call = followups.create_followup(
        owner.workspace_id, owner.user, timezone.now(), "Call", deal_id=made["followed up"].pk
    )
    # Every one entered Qualified 30 days ago and was last touched then.
    month_ago = timezone.now() - timedelta(days=30)
    Deal.objects.update(stage_entered_at=month_ago, updated_at=month_ago)
    now = timezone.now()
    assert stale_titles(owner, now) == sorted(titles)
    # Worked on today: a note on the deal, a field edited, its follow-up done.
    activity.add_note(owner.workspace_id, owner.user, "Sent the offer", deal_id=made["noted"].pk)
    actions.update_deal(owner.workspace_id, made["edited"].pk, owner.user, value="900")
    followups.update_followup(owner.workspace_id, call.pk, owner.user, done=True)
    # A note on the contact only is not work on this deal.
    activity.add_note(owner.workspace_id, owner.user, "Likes red", contact_id=ana.pk)
    # A note 20 days ago, nothing since: stale again.
    activity.add_note(owner.workspace_id, owner.user, "Hi", deal_id=made["noted long ago"].pk)
    Deal.objects.filter(pk=made["noted long ago"].pk).update(updated_at=now - timedelta(days=20))
    # Seen tomorrow: the work was yesterday, the deals still sat 31 days in their stage.
    tomorrow = now + timedelta(days=1)
    expected = ["idle", "noted long ago", "other note"]
    assert stale_titles(owner, tomorrow) == expected
    for deal in Deal.objects.select_related("stage"):
        assert deal.is_stale(tomorrow) == (deal.title in expected), deal.title
        assert deal.stage_entered_at == month_ago  # still kept: when it entered its stage
    # 15 days on, they are idle again.
    assert stale_titles(owner, now + timedelta(days=15)) == sorted(titles)
    # The stale list filter (now) and the API say the same.
    listed = queries.deal_list(
        owner.workspace_id, owner.user_id, queries.DealFilter(stale=True), "title"
    ).items
    assert [d.title for d in listed] == expected
    api = token_client(owner)
    assert api.get(f"/api/v1/deals/{made['noted'].pk}").json()["stale"] is False
    assert api.get(f"/api/v1/deals/{made['idle'].pk}").json()["stale"] is True


def test_a_note_or_a_follow_up_done_touches_the_deal_with_one_update(owner, sales, ana):
    deal = deal_in(owner, ana, stages_of(sales)["Qualified"])
    call = followups.create_followup(
        owner.workspace_id, owner.user, timezone.now(), "Call", deal_id=deal.pk
    )
    for work in (
        lambda: activity.add_note(owner.workspace_id, owner.user, "Hi", deal_id=deal.pk),
        lambda: followups.update_followup(owner.workspace_id, call.pk, owner.user, done=True),
    ):
        week_ago = timezone.now() - timedelta(days=7)
        Deal.objects.filter(pk=deal.pk).update(updated_at=week_ago)
        with CaptureQueriesContext(connection) as ctx:
            work()
        deal.refresh_from_db()
        assert deal.updated_at > week_ago + timedelta(days=6)
        updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
        assert sum('"crm_deal"' in sql for sql in updates) == 1
    # Reopening the follow-up is not work on the deal.
    Deal.objects.filter(pk=deal.pk).update(updated_at=week_ago)
    followups.update_followup(owner.workspace_id, call.pk, owner.user, done=False)
    deal.refresh_from_db()
    assert deal.updated_at == week_ago


def test_the_forecast_sums_per_currency(owner, sales, ana):
    stages = stages_of(sales)
    deal_in(owner, ana, stages["Qualified"], "1000", "EUR")  # 10%
    deal_in(owner, ana, stages["Proposal sent"], "2000.50", "EUR")  # 50%
    deal_in(owner, ana, stages["Negotiation"], "400", "USD")  # 75%
    deal_in(owner, ana, stages["Negotiation"], None, "USD")  # no value: counts nothing
    this_month = deal_in(owner, ana, stages["Won"], "700", "EUR")
    last_month = deal_in(owner, ana, stages["Won"], "9999", "EUR")
    deal_in(owner, ana, stages["Lost"], "5000", "EUR")
    lisbon = zoneinfo.ZoneInfo("Europe/Lisbon")
    now = datetime(2026, 12, 10, 12, 0, tzinfo=lisbon)
    Deal.objects.filter(pk=this_month.pk).update(
        closed_at=datetime(2026, 12, 1, 0, 30, tzinfo=lisbon)
    )
    Deal.objects.filter(pk=last_month.pk).update(
        closed_at=datetime(2026, 11, 30, 23, 30, tzinfo=lisbon)
    )
    with timezone.override(lisbon):
        lines = queries.forecast(sales, now)
    assert [vars(f) for f in lines] == [
        {
            "currency": "EUR",
            "open_value": Decimal("3000.50"),
            "weighted_value": Decimal("1100.25"),  # 100 + 1000.25
            "won_this_month": Decimal("700.00"),
        },
        {
            "currency": "USD",
            "open_value": Decimal("400.00"),
            "weighted_value": Decimal("300.00"),
            "won_this_month": Decimal("0.00"),
        },
    ]
    # In New York it is still November when Lisbon's December began.
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        eur = queries.forecast(sales, now)[0]
    assert eur.won_this_month == Decimal("0.00")


def test_deals_stay_in_their_workspace(owner, rival, sales, ana):
    deal = deal_in(owner, ana, stages_of(sales)["Qualified"])
    theirs = pipelines.workspace_pipelines(rival.workspace_id)[0]
    their_stage = stages_of(theirs)["Won"]
    with pytest.raises(queries.DealNotFound):
        actions.move_deal(rival.workspace_id, deal.pk, their_stage.pk, rival.user)
    with pytest.raises(pipelines.PipelineNotFound):
        actions.move_deal(owner.workspace_id, deal.pk, their_stage.pk, owner.user)
    with pytest.raises(queries.DealNotFound):
        actions.create_deal(rival.workspace_id, rival.user, contact_id=ana.pk, title="x")
    with pytest.raises(pipelines.PipelineNotFound):
        pipelines.remove_stage(owner.workspace_id, their_stage.pk)
    deal.refresh_from_db()
    assert deal.status == "open"


# --- the REST API --------------------------------------------------------------------------


def test_api_pipelines_and_forecast(api, owner, agent, rival):
    listed = api.get("/api/v1/pipelines").json()["items"]
    assert len(listed) == 1 and listed[0]["name"] == "Sales"
    assert set(listed[0]["stages"][0]) == {"id", "name", "type", "probability", "rotting_days"}
    r = send(
        api,
        "post",
        "/api/v1/pipelines",
        {
            "name": "Partners",
            "stages": [
                {"name": "Talking", "probability": 20, "rotting_days": 30},
                {"name": "Signed", "type": "won"},
                {"name": "Dropped", "type": "lost"},
            ],
        },
    )
    assert r.status_code == 201, r.content
    assert [s["name"] for s in r.json()["stages"]] == ["Talking", "Signed", "Dropped"]
    bad = send(api, "post", "/api/v1/pipelines", {"name": "Half", "stages": [{"name": "A"}]})
    assert bad.status_code == 400
    assert (
        send(token_client(agent), "post", "/api/v1/pipelines", {"name": "Mine"}).status_code == 403
    )
    forecast = api.get(f"/api/v1/pipelines/{listed[0]['id']}/forecast").json()
    assert forecast == {"totals": []}
    assert (
        token_client(rival).get(f"/api/v1/pipelines/{listed[0]['id']}/forecast").status_code == 404
    )


def test_api_deals(api, owner, agent, rival, ana):
    lead = create_lead(
        owner.workspace_id, owner.user, contact_id=ana.pk, title="40 bikes", value="21600"
    )
    r = send(api, "post", f"/api/v1/leads/{lead.pk}/deal", {})
    assert r.status_code == 201, r.content
    deal = r.json()
    assert set(deal) >= {
        "id", "title", "pipeline_id", "stage_id", "status", "value", "currency", "priority",
        "owner_id", "contact_id", "lead_id", "expected_close_date", "lost_reason", "stale",
        "created_at", "updated_at", "closed_at",
    }  # fmt: skip
    assert (deal["title"], deal["value"], deal["lead_id"], deal["status"]) == (
        "40 bikes",
        "21600.00",
        lead.pk,
        "open",
    )
    assert send(api, "post", f"/api/v1/leads/{lead.pk}/deal", {}).status_code == 200
    assert api.get(f"/api/v1/leads/{lead.pk}").json()["stage"] == "converted"
    stages = {s["name"]: s["id"] for s in api.get("/api/v1/pipelines").json()["items"][0]["stages"]}
    url = f"/api/v1/deals/{deal['id']}"
    won = send(api, "patch", url, {"stage_id": stages["Won"], "priority": "high"})
    assert won.status_code == 200, won.content
    assert (won.json()["status"], won.json()["priority"]) == ("won", "high")
    assert won.json()["closed_at"] is not None
    lost = send(api, "patch", url, {"stage_id": stages["Lost"], "lost_reason": "Budget cut"})
    assert (lost.json()["status"], lost.json()["lost_reason"]) == ("lost", "Budget cut")
    bad = send(api, "patch", url, {"stage_id": stages["Qualified"], "currency": "EURO"})
    assert bad.status_code == 400  # nothing of it applied
    assert api.get(url).json()["status"] == "lost"
    r = send(
        api, "post", "/api/v1/deals", {"contact_id": ana.pk, "title": "Spare parts", "value": "300"}
    )
    assert r.status_code == 201 and r.json()["stage_id"] == stages["Qualified"]
    found = api.get("/api/v1/deals?status=lost").json()["items"]
    assert [d["id"] for d in found] == [deal["id"]]
    assert api.get(f"/api/v1/deals?stage={stages['Qualified']}").json()["items"][0]["title"] == (
        "Spare parts"
    )
    assert api.get(f"{url}/timeline").json()["items"][0]["kind"] == "deal"
    theirs = token_client(rival)
    assert theirs.get(url).status_code == 404
    assert send(theirs, "patch", url, {"title": "x"}).status_code == 404
    assert send(theirs, "post", f"/api/v1/leads/{lead.pk}/deal", {}).status_code == 404
    assert (
        send(theirs, "post", "/api/v1/deals", {"contact_id": ana.pk, "title": "x"}).status_code
        == 404
    )
    assert theirs.get(f"{url}/timeline").status_code == 404
    assert theirs.get("/api/v1/deals").json()["items"] == []


def test_api_lead_carries_the_deal_it_became(api, owner, ana):
    """A lead's ``deal_id`` is the deal it was converted into, in the lead and in the list,
    null until then; the list reads it with the leads (no query more per lead)."""
    converted = create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title="40 bikes")
    waiting = create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title="Parts")
    assert api.get(f"/api/v1/leads/{converted.pk}").json()["deal_id"] is None
    made = send(api, "post", f"/api/v1/leads/{converted.pk}/deal", {})
    assert made.status_code == 201, made.content
    deal_id = made.json()["id"]
    assert api.get(f"/api/v1/leads/{converted.pk}").json()["deal_id"] == deal_id
    assert api.get(f"/api/v1/leads/{waiting.pk}").json()["deal_id"] is None
    listed = api.get("/api/v1/leads").json()["items"]
    assert {lead["id"]: lead["deal_id"] for lead in listed} == {
        converted.pk: deal_id,
        waiting.pk: None,
    }

    def list_reads() -> tuple[int, list[dict]]:
        with CaptureQueriesContext(connection) as captured:
            r = api.get("/api/v1/leads")
        return len(captured.captured_queries), r.json()["items"]

    few, _ = list_reads()
    more = []
    for n in range(4):
        lead = create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title=f"Lead {n}")
        if n % 2:
            more.append((lead.pk, actions.convert_lead(owner.workspace_id, lead.pk, owner.user)))
    many, items = list_reads()
    assert many == few and len(items) == 6
    got = {lead["id"]: lead["deal_id"] for lead in items}
    assert all(got[lead_id] == made.deal.pk for lead_id, made in more)


def test_api_forecast_sums_per_currency(api, owner, rival, sales, ana):
    """Open deals by currency, the same weighted by their stage's probability, and what was
    won since the start of this month; lost deals, deals won before this month, deals without
    a value and another pipeline's deals count nowhere."""
    stages = stages_of(sales)
    deal_in(owner, ana, stages["Qualified"], "1000", "EUR")  # 10%: 100
    deal_in(owner, ana, stages["Proposal sent"], "2000", "EUR")  # 50%: 1,000
    deal_in(owner, ana, stages["Contact made"], "300", "USD")  # 25%: 75
    deal_in(owner, ana, stages["Negotiation"], "1000.40", "USD")  # 75%: 750.30
    deal_in(owner, ana, stages["Negotiation"], None, "USD")  # no value
    deal_in(owner, ana, stages["Won"], "700", "EUR")  # won now
    deal_in(owner, ana, stages["Won"], "250", "USD")  # won now
    earlier = deal_in(owner, ana, stages["Won"], "5000", "EUR")
    # Won the day before this month began in the member's time zone (the forecast's).
    here = timezone.localtime(timezone.now(), owner.user.zone)
    month_start = here.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    Deal.objects.filter(pk=earlier.pk).update(closed_at=month_start - timedelta(days=1))
    deal_in(owner, ana, stages["Lost"], "9000", "EUR")
    partners = pipelines.create_pipeline(owner.workspace_id, "Partners")
    deal_in(owner, ana, partners.stages.order_by("position").first(), "4000", "EUR")
    r = api.get(f"/api/v1/pipelines/{sales.pk}/forecast")
    assert r.status_code == 200, r.content
    assert r.json() == {
        "totals": [
            {
                "currency": "EUR",
                "open_value": "3000.00",
                "weighted_value": "1100.00",
                "won_this_month": "700.00",
            },
            {
                "currency": "USD",
                "open_value": "1300.40",
                "weighted_value": "825.30",
                "won_this_month": "250.00",
            },
        ]
    }
    # The other pipeline's forecast has its own deal only.
    assert api.get(f"/api/v1/pipelines/{partners.pk}/forecast").json()["totals"] == [
        {
            "currency": "EUR",
            "open_value": "4000.00",
            "weighted_value": "400.00",
            "won_this_month": "0.00",
        }
    ]


def test_api_deals_filtered_by_owner_and_pipeline(api, owner, agent, rival, sales, ana):
    partners = pipelines.create_pipeline(owner.workspace_id, "Partners")
    talking = partners.stages.order_by("position").first()
    qualified = stages_of(sales)["Qualified"]

    def deal(title: str, stage: Stage, member) -> int:
        owner_id = member.user_id if member else None
        return deal_in(owner, ana, stage, title=title, owner_id=owner_id).pk

    sales_mine = deal("Sales, mine", qualified, owner)
    sales_agents = deal("Sales, Agnes'", qualified, agent)
    partners_mine = deal("Partners, mine", talking, owner)
    partners_agents = deal("Partners, Agnes'", talking, agent)
    partners_nobodys = deal("Partners, nobody's", talking, None)
    their_contact = create_contact(rival.workspace_id, rival.user, name="Rival client")
    their_pipeline = pipelines.workspace_pipelines(rival.workspace_id)[0]
    actions.create_deal(
        rival.workspace_id,
        rival.user,
        contact_id=their_contact.pk,
        title="Rival deal",
        owner_id=rival.user_id,
    )

    def ids(query: str) -> set[int]:
        r = api.get(f"/api/v1/deals?{query}")
        assert r.status_code == 200, (query, r.content)
        return {d["id"] for d in r.json()["items"]}

    assert ids(f"owner={owner.user_id}") == {sales_mine, partners_mine}
    assert ids("owner=me") == {sales_mine, partners_mine}
    assert ids(f"owner={agent.user_id}") == {sales_agents, partners_agents}
    assert ids("owner=none") == {partners_nobodys}
    assert ids(f"pipeline={sales.pk}") == {sales_mine, sales_agents}
    assert ids(f"pipeline={partners.pk}") == {partners_mine, partners_agents, partners_nobodys}
    assert ids(f"pipeline={partners.pk}&owner={agent.user_id}") == {partners_agents}
    # Another workspace's pipeline or owner: none of theirs (and none of ours).
    assert ids(f"pipeline={their_pipeline.pk}") == set()
    assert ids(f"owner={rival.user_id}") == set()
    assert api.get("/api/v1/deals?owner=someone").status_code == 400


# --- the pages -----------------------------------------------------------------------------


def test_deals_board_list_and_moves(owner, sales, ana):
    stages = stages_of(sales)
    deal = deal_in(owner, ana, stages["Qualified"], "1200", title="Fleet of 12")
    Deal.objects.filter(pk=deal.pk).update(updated_at=timezone.now() - timedelta(days=30))
    client = login(owner)
    board = client.get("/deals/").content.decode()
    assert "Fleet of 12" in board and "Stale" in board
    assert f'data-drop-stage="{stages["Lost"].pk}" data-ask-reason="1"' in board
    assert "Weighted" in board and "€120" in board  # 10% of 1200
    r = client.post(
        f"/deals/{deal.pk}/stage", {"stage": stages["Won"].pk, "from": "board"}, headers=HX
    )
    assert r.status_code == 204 and r["HX-Trigger"] == "fd:deals"
    r = client.post(
        f"/deals/{deal.pk}/stage",
        {"stage": stages["Lost"].pk, "from": "board", "lost_reason": "Went elsewhere"},
        headers=HX,
    )
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", "Went elsewhere")
    listing = client.get(f"/deals/?pipeline={sales.pk}&view=list&status=lost").content.decode()
    assert "Fleet of 12" in listing and "Went elsewhere" in listing
    part = client.get(
        f"/deals/?pipeline={sales.pk}&view=list&status=open",
        headers={**HX, "HX-Target": "deal-list"},
    ).content.decode()
    assert "Fleet of 12" not in part and 'id="forecast"' in part


def test_the_board_of_a_second_pipeline_shows_its_stages_and_deals_only(owner, sales, ana):
    import re

    partners = pipelines.create_pipeline(
        owner.workspace_id,
        "Partners",
        [
            {"name": "Talking", "probability": 20},
            {"name": "Signed", "type": "won"},
            {"name": "Dropped", "type": "lost"},
        ],
    )
    ours = stages_of(partners)
    deal_in(owner, ana, stages_of(sales)["Qualified"], "2000", title="Sales deal")
    deal_in(owner, ana, ours["Talking"], "500", title="Partner deal")
    deal_in(owner, ana, ours["Signed"], "300", title="Partner won")
    client = login(owner)

    def board(url: str) -> tuple[list[str], list[str], str]:
        html = client.get(url).content.decode()
        part = html[html.index('id="deal-board"') :]
        columns = [
            c.strip()
            for c in re.findall(r'<h2 id="stage-\d+-title"><span[^>]*></span>([^<]+)<', part)
        ]
        cards = re.findall(r'lead-card-title">([^<]+)<', part)
        return columns, cards, html

    columns, cards, html = board(f"/deals/?pipeline={partners.pk}")
    assert columns == ["Talking", "Signed", "Dropped"]
    assert sorted(cards) == ["Partner deal", "Partner won"]
    assert "Sales deal" not in html
    assert "€100" in html and "€2,000" not in html  # weighted: 20% of 500; not Sales' €200
    # Its list holds its deals only too.
    listing = client.get(f"/deals/?pipeline={partners.pk}&view=list").content.decode()
    assert "Partner deal" in listing and "Sales deal" not in listing
    # The first pipeline's board (the default) is unchanged.
    columns, cards, _ = board("/deals/")
    assert columns == [s.name for s in sales.stages.order_by("position")]
    assert cards == ["Sales deal"]


def test_a_deal_column_counts_every_deal_and_shows_more(owner, rival, sales, ana, monkeypatch):
    """A column shows its latest deals, counts and sums all of them, and "Show N more"
    brings the next ones (each still marked stale when it is) up to the last."""
    import re

    monkeypatch.setattr(board_queries, "COLUMN_LIMIT", 2)
    qualified = stages_of(sales)["Qualified"]
    made = [deal_in(owner, ana, qualified, str(100 * (n + 1)), title=f"Deal {n}") for n in range(4)]
    Deal.objects.filter(pk=made[0].pk).update(updated_at=timezone.now() - timedelta(days=90))
    client = login(owner)
    html = client.get("/deals/").content.decode()
    column = html[html.index(f'id="stage-{qualified.pk}"') :]
    column = column[: column.index("</section>")]
    titles = lambda page: re.findall(r'lead-card-title">(Deal \d)', page)  # noqa: E731
    assert 'aria-label="4 deals">4<' in column and "€1,000" in column
    assert titles(column) == ["Deal 3", "Deal 2"]
    assert "Show 2 more</a> of 2 updated earlier" in column
    more = re.search(r'hx-get="([^"]+)"[^>]*>Show 2 more', column).group(1).replace("&amp;", "&")
    page = client.get(more, headers=HX).content.decode()
    assert titles(page) == ["Deal 1", "Deal 0"] and "Show" not in page
    assert page.count("Stale</span>") == 1  # nobody worked on Deal 0 for 90 days
    assert f'action="/deals/{made[0].pk}/stage"' in page  # its Move menu is there too

    # Another workspace cannot read this pipeline's column.
    assert login(rival).get(more, headers=HX).status_code == 400
    assert client.get(f"/deals/board/column?stage={qualified.pk}&cursor=x").status_code == 400


def test_board_cards_escape_what_people_typed(owner, sales, ana):
    ana.name, ana.company = "Ana <b>Lima</b>", 'Bikes "&" Co'
    ana.save()
    deal_in(owner, ana, stages_of(sales)["Qualified"], title="<img src=x onerror=alert(1)>")
    board = login(owner).get("/deals/").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in board and "<img src=x" not in board
    assert "Ana &lt;b&gt;Lima&lt;/b&gt; · Bikes &quot;&amp;&quot; Co" in board
    assert 'aria-label="Move &lt;img src=x onerror=alert(1)&gt; to another stage"' in board


def test_a_contact_without_a_name_is_shown_by_its_first_address(owner, sales, ana):
    """On the board, a column's "Show more" and the list, as everywhere; the addresses are
    read in one query for the nameless contacts shown, and not at all when all have names."""
    qualified = stages_of(sales)["Qualified"]
    deal_in(owner, ana, qualified, title="Named buyer")
    client = login(owner)
    urls = (
        "/deals/",
        f"/deals/board/column?stage={qualified.pk}",
        f"/deals/?pipeline={sales.pk}&view=list",
    )

    def address_reads(url: str) -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url, headers=HX if "column" in url else {}).content.decode()
        table = ContactHandle._meta.db_table
        return page, sum(table in q["sql"] for q in captured.captured_queries)

    for url in urls:
        page, reads = address_reads(url)
        assert "Ana Lima" in page and reads == 0, url
    for n in range(2):
        nameless = Contact.objects.create(workspace_id=owner.workspace_id, name="")  # as mail
        for kind, value in (("email", f"first{n}@nameless.test"), ("phone", f"+35191234567{n}")):
            ContactHandle.objects.create(
                workspace_id=owner.workspace_id, contact=nameless, kind=kind, value=value
            )
        deal_in(owner, nameless, qualified, title=f"Unnamed buyer {n}")
    for url in urls:
        page, reads = address_reads(url)
        assert "first0@nameless.test" in page and "first1@nameless.test" in page, url
        assert "Ana Lima" in page and "+3519123456" not in page, url
        assert reads == 1, url


def test_the_boards_read_no_more_for_more_cards(owner, agent, sales, ana):
    """Every part of a card (owner or none, a picture, high priority, stale, no value) is
    read with the board: its reads do not grow with its cards, on either board or in a
    column's "Show more"."""
    qualified = stages_of(sales)["Qualified"]
    client = login(owner)

    def reads(url: str) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url, headers=HX if "column" in url else {}).content.decode()
        return len(captured.captured_queries), page

    def cards(n: int) -> None:
        pictured = create_contact(owner.workspace_id, owner.user, name=f"Pia {n}")
        Contact.objects.filter(pk=pictured.pk).update(avatar=f"avatars/pia-{n}.png")
        for contact in (ana, pictured):
            deal = actions.create_deal(
                owner.workspace_id,
                owner.user,
                contact_id=contact.pk,
                title=f"Deal {n} of {contact.name}",
                stage_id=qualified.pk,
                value="" if n % 2 else "900",
                priority="high",
                owner_id=agent.user_id if n % 2 else None,
            )
            Deal.objects.filter(pk=deal.pk).update(updated_at=timezone.now() - timedelta(days=40))
            create_lead(
                owner.workspace_id,
                owner.user,
                contact_id=contact.pk,
                title=f"Lead {n} of {contact.name}",
                owner_id=agent.user_id if n % 2 else None,
            )

    urls = (
        "/deals/",
        "/leads/",
        f"/deals/board/column?stage={qualified.pk}",
        "/leads/board/column?stage=new",
    )
    cards(0)
    few = {url: reads(url)[0] for url in urls}
    for n in range(1, 4):
        cards(n)
    for url in urls:
        many, page = reads(url)
        assert many == few[url], url
    deals, leads = reads("/deals/")[1], reads("/leads/")[1]
    assert "Stale</span>" in deals and "High</span>" in deals and "No value" in deals
    for page in (deals, leads):
        assert agent.user.display_name in page and 'title="No owner"' in page
        assert "/avatar?v=avatars%2Fpia-3.png" in page


def test_a_renamed_stage_is_renamed_in_every_cards_move_menu(owner, sales, ana):
    """The Move menus' buttons are rendered once for a pipeline's stages as they are: a
    stage renamed shows its new name in them on the next board."""
    stages = stages_of(sales)
    deal_in(owner, ana, stages["Qualified"], title="Fleet")
    client = login(owner)
    button = f'<button name="stage" value="{stages["Proposal sent"].pk}">'
    assert f"{button}Proposal sent</button>" in client.get("/deals/").content.decode()
    pipelines.change_stage(
        owner.workspace_id,
        stages["Proposal sent"].pk,
        {"name": "Offer sent", "type": "active", "probability": "40", "rotting_days": ""},
    )
    board = client.get("/deals/").content.decode()
    assert f"{button}Offer sent</button>" in board and "Proposal sent" not in board


def test_deal_page_and_lead_conversion(owner, agent, sales, ana):
    lead = create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title="40 bikes")
    client = login(owner)
    assert "Convert to deal" in client.get(f"/leads/{lead.pk}/").content.decode()
    r = client.post(f"/leads/{lead.pk}/deal")
    deal = Deal.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/deals/{deal.pk}/"
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "40 bikes" in page and "From the lead" in page and 'id="timeline"' in page
    r = client.post(
        f"/deals/{deal.pk}/edit",
        {"title": "40 cargo bikes", "value": "21600", "currency": "EUR", "priority": "high",
         "owner": str(agent.user_id)},
        headers=HX,
    )  # fmt: skip
    assert r.status_code == 200 and "Saved" in r.content.decode()
    deal.refresh_from_db()
    assert (deal.title, deal.priority, deal.owner) == ("40 cargo bikes", "high", agent.user)
    lost = stages_of(sales)["Lost"]
    r = client.post(
        f"/deals/{deal.pk}/stage", {"stage": lost.pk, "lost_reason": "Timing"}, headers=HX
    )
    assert r.status_code == 200 and "Timing" in r.content.decode()
    r = client.post(f"/deals/{deal.pk}/edit", {"title": " "}, headers=HX)
    assert r.status_code == 422 and r["HX-Retarget"] == "#deal-form-error"
    assert client.post(f"/deals/{deal.pk}/notes", {"text": "Call in Q3"}).status_code == 302
    assert "Call in Q3" in client.get(f"/deals/{deal.pk}/timeline", headers=HX).content.decode()
    new = client.get(f"/deals/new?contact={ana.pk}").content.decode()
    assert "Ana Lima" in new
    r = client.post(
        "/deals/new",
        {"contact": ana.pk, "title": "Parts", "stage": stages_of(sales)["Negotiation"].pk},
    )
    assert r.status_code == 302 and Deal.objects.get(title="Parts").stage.name == "Negotiation"


def test_the_lead_page_links_to_the_deal_it_became(owner, sales, ana):
    lead = create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title="40 bikes")
    client = login(owner)
    assert client.post(f"/leads/{lead.pk}/deal").status_code == 302
    deal = Deal.objects.get(lead=lead)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert f'<a href="/deals/{deal.pk}/">' in page
    assert "Convert to deal" not in page
    # The link is the deal's page.
    assert "40 bikes" in client.get(f"/deals/{deal.pk}/").content.decode()


def test_the_deal_form_changes_source_and_tags(owner, sales, ana):
    """The deal page's form sets the source and tags (comma-separated, trimmed, no repeats)
    the page, the API and the list's tag filter then show, and clears them."""
    deal = actions.create_deal(
        owner.workspace_id,
        owner.user,
        contact_id=ana.pk,
        title="Fleet",
        stage_id=stages_of(sales)["Qualified"].pk,
        value="1200",
        source="Fair",
        tags=["old"],
    )
    client = login(owner)
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert 'name="source" value="Fair"' in page and 'name="tags" value="old"' in page
    form = {"title": "Fleet", "value": "1200", "currency": "EUR", "priority": "medium"}
    r = client.post(
        f"/deals/{deal.pk}/edit",
        {**form, "source": " Referral ", "tags": "wholesale, vip ,, vip"},
        headers=HX,
    )
    assert r.status_code == 200 and "Saved" in r.content.decode()
    assert 'name="source" value="Referral"' in r.content.decode()
    deal.refresh_from_db()
    assert (deal.source, deal.tags, deal.value) == ("Referral", ["vip", "wholesale"], 1200)
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert 'name="source" value="Referral"' in page
    assert 'name="tags" value="vip, wholesale"' in page
    got = token_client(owner).get(f"/api/v1/deals/{deal.pk}").json()
    assert (got["source"], got["tags"]) == ("Referral", ["vip", "wholesale"])
    listing = client.get(f"/deals/?pipeline={sales.pk}&view=list&tag=vip").content.decode()
    assert "Fleet" in listing
    # Without JavaScript the form redirects back to the page; empty fields clear both.
    r = client.post(f"/deals/{deal.pk}/edit", {**form, "source": "", "tags": ""})
    assert r.status_code == 302 and r["Location"] == f"/deals/{deal.pk}/"
    deal.refresh_from_db()
    assert (deal.source, deal.tags) == ("", [])


def test_the_expected_close_date_comes_from_the_lead_and_can_be_edited(owner, sales, ana):
    """A lead's expected close date goes with it into its deal (the page's button and the
    API); on the deal's page and through the API it can be changed, cleared, and a bad one
    is refused in words, changing nothing."""
    from datetime import date

    def lead_closing(title: str, day: date):
        return create_lead(
            owner.workspace_id, owner.user, contact_id=ana.pk, title=title, expected_close_date=day
        )

    client, api = login(owner), token_client(owner)
    lead = lead_closing("40 bikes", date(2027, 1, 31))
    assert client.post(f"/leads/{lead.pk}/deal").status_code == 302
    deal = Deal.objects.get(lead=lead)
    assert deal.expected_close_date == date(2027, 1, 31)
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert 'name="expected_close_date" value="2027-01-31"' in page
    other = lead_closing("Spare parts", date(2027, 2, 28))
    made = send(api, "post", f"/api/v1/leads/{other.pk}/deal", {})
    assert made.status_code == 201 and made.json()["expected_close_date"] == "2027-02-28"

    # The deal's page: a new date, a bad one (refused, the date stays), none.
    edit = f"/deals/{deal.pk}/edit"
    r = client.post(edit, {"title": "40 bikes", "expected_close_date": "2027-03-15"}, headers=HX)
    assert r.status_code == 200 and 'value="2027-03-15"' in r.content.decode()
    deal.refresh_from_db()
    assert deal.expected_close_date == date(2027, 3, 15)
    r = client.post(edit, {"title": "40 bikes", "expected_close_date": "15/03/2027"}, headers=HX)
    assert r.status_code == 422 and "pick the expected close date from the calendar" in (
        r.content.decode()
    )
    deal.refresh_from_db()
    assert deal.expected_close_date == date(2027, 3, 15)
    client.post(edit, {"title": "40 bikes", "expected_close_date": ""}, headers=HX)
    deal.refresh_from_db()
    assert deal.expected_close_date is None

    # The API.
    url = f"/api/v1/deals/{deal.pk}"
    r = send(api, "patch", url, {"expected_close_date": "2027-04-01"})
    assert r.status_code == 200 and r.json()["expected_close_date"] == "2027-04-01"
    bad = send(api, "patch", url, {"expected_close_date": "soon"})
    assert bad.status_code == 422 and "valid date" in bad.json()["detail"][0]["msg"]
    assert api.get(url).json()["expected_close_date"] == "2027-04-01"
    r = send(api, "patch", url, {"expected_close_date": None})
    assert r.status_code == 200 and r.json()["expected_close_date"] is None


def test_pipelines_settings(owner, agent, sales, ana):
    admin = login(owner)
    assert "Qualified" in login(agent).get("/settings/pipelines/").content.decode()
    r = login(agent).post("/settings/pipelines/", {"action": "add_pipeline", "name": "x"})
    assert r.status_code == 403
    assert (
        admin.post(
            "/settings/pipelines/", {"action": "add_pipeline", "name": "Partners"}
        ).status_code
        == 302
    )
    qualified = stages_of(sales)["Qualified"]
    r = admin.post(
        "/settings/pipelines/",
        {"action": "change_stage", "id": qualified.pk, "name": "Lead in", "type": "active",
         "probability": "15", "rotting_days": "10"},
    )  # fmt: skip
    assert r.status_code == 302
    qualified.refresh_from_db()
    assert (qualified.name, qualified.probability, qualified.rotting_days) == ("Lead in", 15, 10)
    deal_in(owner, ana, qualified)
    r = admin.post("/settings/pipelines/", {"action": "remove_stage", "id": qualified.pk})
    assert r.status_code == 400 and "choose the stage" in r.content.decode()
    target = stages_of(sales)["Contact made"]
    r = admin.post(
        "/settings/pipelines/", {"action": "remove_stage", "id": qualified.pk, "move_to": target.pk}
    )
    assert r.status_code == 302 and Deal.objects.get().stage == target


def test_an_admin_makes_another_pipeline_the_default(owner, agent, rival, sales, ana):
    """The deals page opens on the default pipeline (the first), and a new deal made
    without one goes there; an admin makes another the default from the settings page."""
    admin = login(owner)
    partners = pipelines.create_pipeline(owner.workspace_id, "Partners")
    page = admin.get("/settings/pipelines/").content.decode()
    assert page.index("Sales") < page.index("Default") < page.index("Partners")
    r = login(agent).post("/settings/pipelines/", {"action": "default_pipeline", "id": partners.pk})
    assert r.status_code == 403
    # The owner of another workspace: not one of theirs.
    r = login(rival).post("/settings/pipelines/", {"action": "default_pipeline", "id": sales.pk})
    assert r.status_code == 404
    assert pipelines.workspace_pipelines(owner.workspace_id)[0].pk == sales.pk

    r = admin.post("/settings/pipelines/", {"action": "default_pipeline", "id": partners.pk})
    assert r.status_code == 302
    assert [p.name for p in pipelines.workspace_pipelines(owner.workspace_id)] == [
        "Partners",
        "Sales",
    ]
    page = admin.get("/settings/pipelines/").content.decode()
    assert page.index("Partners") < page.index("Default") < page.index("Sales")
    board = admin.get("/deals/").content.decode()
    assert f'value="{partners.pk}" selected' in board
    deal = actions.create_deal(owner.workspace_id, owner.user, contact_id=ana.pk, title="Resell")
    assert deal.pipeline_id == partners.pk


def test_deal_pages_of_another_workspace_are_not_found(owner, rival, sales, ana):
    deal = deal_in(owner, ana, stages_of(sales)["Qualified"])
    lead = create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title="lead")
    stage = stages_of(sales)["Won"]
    theirs = login(rival)
    assert theirs.get(f"/deals/{deal.pk}/").status_code == 404
    assert theirs.post(f"/deals/{deal.pk}/edit", {"title": "x"}).status_code == 404
    assert theirs.post(f"/deals/{deal.pk}/stage", {"stage": stage.pk}).status_code == 404
    assert theirs.get(f"/deals/{deal.pk}/timeline").status_code == 404
    assert theirs.post(f"/deals/{deal.pk}/notes", {"text": "x"}).status_code == 404
    assert theirs.post(f"/leads/{lead.pk}/deal").status_code == 404
    assert "Qualified" in theirs.get("/deals/").content.decode()  # their own pipeline
    assert f"deal-{deal.pk}" not in theirs.get("/deals/").content.decode()
    r = theirs.post("/settings/pipelines/", {"action": "remove_stage", "id": stage.pk})
    assert r.status_code == 404
    r = theirs.post("/settings/pipelines/", {"action": "delete_pipeline", "id": sales.pk})
    assert r.status_code == 404
    r = theirs.post("/deals/new", {"contact": ana.pk, "title": "x"})
    assert r.status_code == 400
    # Their own stage posted for our deal is no stage here.
    their_stage = stages_of(pipelines.workspace_pipelines(rival.workspace_id)[0])["Won"]
    r = login(owner).post(f"/deals/{deal.pk}/stage", {"stage": their_stage.pk})
    assert r.status_code == 404
    deal.refresh_from_db()
    assert deal.status == "open" and Stage.objects.filter(pk=stage.pk).exists()
