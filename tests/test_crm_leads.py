"""Leads beyond conversion basics: every field carried over from a conversation of each
channel kind, titles from what the client asked, leads made by hand, who works a lead, the
list view (filters, sorts, pages), the board's moves; actions, API and pages, per workspace."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.connectors.base import InboundMessage
from frontdesk.crm.actions import leads as actions
from frontdesk.crm.actions.contacts import create_contact, update_contact
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Activity, Lead
from frontdesk.crm.queries import leads as queries
from frontdesk.crm.queries.leads import LeadNotFound
from frontdesk.inbox.actions.conversation import assign
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.models import ChannelAccount, Contact, ContactHandle
from tests.fixtures import session_client as login
from tests.fixtures import token_client

HX = {"HX-Request": "true"}


def post(client: Client, url: str, body: dict):
    return client.post(url, json.dumps(body), content_type="application/json")


# One conversation per channel kind, as its connector stores it (kind, provider, the
# sender's address as the provider gives it, as it is stored, a subject).
CHANNEL_KINDS = [
    ("whatsapp", "whatsapp_cloud", "351912345678", "+351912345678", ""),
    ("linkedin", "unipile", "ACoAAB1234", "ACoAAB1234", ""),
    ("email", "imap", "Ana@Lisbon-Bikes.PT", "ana@lisbon-bikes.pt", "Quote for 40 cargo bikes"),
    ("api", "api", "web-visitor-77", "web-visitor-77", ""),
]


@pytest.mark.parametrize(("kind", "provider", "raw", "stored", "subject"), CHANNEL_KINDS)
def test_conversion_carries_every_field_from_each_channel_kind(
    owner, agent, kind, provider, raw, stored, subject
):
    channel = ChannelAccount.objects.create(
        workspace=owner.workspace, kind=kind, provider=provider, name=f"Our {kind}"
    )
    first = "We need 40 cargo bikes for our shops.\nCan you deliver by March?"
    conversation = ingest(
        channel,
        InboundMessage(
            provider_id=f"{kind}-1",
            handle=raw,
            contact_name="Ana Lima",
            text=first,
            subject=subject,
        ),
    ).conversation
    ingest(channel, InboundMessage(provider_id=f"{kind}-2", handle=raw, text="Hello?"))
    contact = conversation.contact
    update_contact(
        owner.workspace_id,
        contact.pk,
        owner.user,
        company="Lisbon Bikes",
        job_title="Head of Purchasing",
        tags=["vip"],
    )
    Contact.objects.filter(pk=contact.pk).update(
        avatar_url="https://cdn.example/ana.jpg",
        custom_fields={
            "linkedin_headline": "Buyer at Lisbon Bikes",
            "linkedin_url": "https://www.linkedin.com/in/ana/",
        },
    )
    assign(owner.user, conversation, agent.user)

    lead = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user).lead
    lead.refresh_from_db()
    assert lead.title == (subject or "We need 40 cargo bikes for our shops.")
    assert (lead.contact_id, lead.source_conversation_id, lead.source_channel_id) == (
        contact.pk,
        conversation.pk,
        channel.pk,
    )
    assert lead.source == kind
    assert lead.owner == agent.user  # the conversation's assignee
    assert lead.tags == ["vip"]
    assert lead.created_by == owner.user
    assert lead.details == {
        "name": "Ana Lima",
        "company": "Lisbon Bikes",
        "job_title": "Head of Purchasing",
        "picture_url": "https://cdn.example/ana.jpg",
        "linkedin_headline": "Buyer at Lisbon Bikes",
        "linkedin_url": "https://www.linkedin.com/in/ana/",
        "handles": [{"kind": channel.connector.handle_kind, "value": stored}],
        "channel": {"kind": kind, "name": f"Our {kind}"},
        **({"subject": subject} if subject else {}),
    }
    line = Activity.objects.get(lead=lead)
    assert line.text == f"owner made this a lead: {lead.title}" and line.contact_id == contact.pk


def test_titles_from_the_first_line(owner, inbound):
    long_line = "word " * 60
    conversation = inbound(f"\n\n  {long_line}\nsecond line", handle="long").conversation
    title = actions.default_title(conversation)
    assert len(title) == actions.TITLE_FROM_MESSAGE and title.endswith("…")
    assert title.startswith("word word")
    silent = inbound("", handle="silent", contact_name="Quiet Person").conversation
    assert actions.default_title(silent) == "Quiet Person — Support bot"


def test_a_lead_made_by_hand(owner, agent, rival):
    contact = create_contact(owner.workspace_id, owner.user, name="Bruno", tags=["fleet"])
    lead = actions.create_lead(
        owner.workspace_id,
        agent.user,
        contact_id=contact.pk,
        title=" Fleet of 12 ",
        value="18400",
        currency="usd",
        source="Trade fair",
        stage="contacted",
        expected_close_date=date(2027, 1, 31),
        assignee_ids=[owner.user_id],
    )
    lead.refresh_from_db()
    assert (lead.title, lead.value, lead.currency, lead.source, lead.stage) == (
        "Fleet of 12",
        Decimal("18400.00"),
        "USD",
        "Trade fair",
        "contacted",
    )
    assert lead.owner == agent.user  # whoever made it, unless told otherwise
    assert lead.tags == ["fleet"]  # the contact's
    assert lead.source_conversation is None
    assert [a.user_id for a in lead.assignments.all()] == [owner.user_id]
    theirs = create_contact(rival.workspace_id, rival.user, name="Theirs")
    with pytest.raises(LeadNotFound):
        actions.create_lead(owner.workspace_id, owner.user, contact_id=theirs.pk, title="x")
    for bad in ({"title": " "}, {"stage": "won"}, {"value": "-1"}, {"owner_id": 10**9}):
        with pytest.raises(CrmError):
            actions.create_lead(
                owner.workspace_id, owner.user, **{"contact_id": contact.pk, "title": "t", **bad}
            )
    assert Lead.objects.count() == 1


def test_a_lead_for_a_new_contact_is_all_or_nothing(owner):
    lead = actions.create_lead_for(
        owner.workspace_id,
        owner.user,
        contact_id=None,
        new_contact={"name": "Chen Wei", "email": "chen@example.cn"},
        title="5 e-bikes",
    )
    assert lead.contact.name == "Chen Wei"
    assert list(lead.contact.handles.values_list("value", flat=True)) == ["chen@example.cn"]
    with pytest.raises(CrmError):
        actions.create_lead_for(
            owner.workspace_id,
            owner.user,
            contact_id=None,
            new_contact={"name": "Dora"},
            title="x",
            stage="won",
        )
    assert not Contact.objects.filter(name="Dora").exists()


def test_assignees(owner, agent, rival):
    contact = create_contact(owner.workspace_id, owner.user, name="Bruno")
    lead = actions.create_lead(owner.workspace_id, owner.user, contact_id=contact.pk, title="t")
    actions.update_lead(owner.workspace_id, lead.pk, owner.user, assignee_ids=[agent.user_id])
    assert list(lead.assignments.values_list("user_id", flat=True)) == [agent.user_id]
    assert Activity.objects.filter(lead=lead, text__contains="Agnes Agent").exists()
    with pytest.raises(CrmError, match="assignee must be a member"):
        actions.update_lead(owner.workspace_id, lead.pk, owner.user, assignee_ids=[rival.user_id])
    mine = queries.LeadFilter(assignee="me")
    assert queries.lead_list(owner.workspace_id, agent.user_id, mine).items == [lead]
    assert queries.lead_list(owner.workspace_id, owner.user_id, mine).items == [lead]  # owner
    actions.update_lead(owner.workspace_id, lead.pk, owner.user, assignee_ids=[])
    assert queries.lead_list(owner.workspace_id, agent.user_id, mine).items == []


@pytest.fixture
def five_leads(owner, agent):
    contact = create_contact(owner.workspace_id, owner.user, name="Ana Lima")
    made = []
    for title, value, stage, source, tags, owner_id, days_ago in [
        ("Alpha", "500", "new", "Referral", ["vip"], owner.user_id, 10),
        ("Bravo", None, "contacted", "Trade fair", [], agent.user_id, 5),
        ("Charlie", "900", "working", "Referral", ["vip", "fleet"], None, 3),
        ("Delta", "100", "junk", "", [], owner.user_id, 1),
        ("Echo", None, "converted", "Trade fair", ["fleet"], owner.user_id, 0),
    ]:
        lead = actions.create_lead(
            owner.workspace_id,
            owner.user,
            contact_id=contact.pk,
            title=title,
            value=value,
            stage=stage,
            source=source,
            tags=tags,
            owner_id=owner_id,
        )
        Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        made.append(lead)
    return made


def test_the_list_filters(owner, agent, five_leads):
    def titles(**kw) -> list[str]:
        page = queries.lead_list(
            owner.workspace_id, owner.user_id, queries.LeadFilter(**kw), "title"
        )
        return [lead.title for lead in page.items]

    assert titles() == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    assert titles(stage="open") == ["Alpha", "Bravo", "Charlie"]
    assert titles(stage="junk") == ["Delta"]
    assert titles(owner="me") == ["Alpha", "Delta", "Echo"]
    assert titles(owner="none") == ["Charlie"]
    assert titles(owner=str(agent.user_id)) == ["Bravo"]
    assert titles(source="Referral") == ["Alpha", "Charlie"]
    assert titles(tag="fleet") == ["Charlie", "Echo"]
    assert titles(q="ana lima") == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    assert titles(q="char") == ["Charlie"]
    now = timezone.now()
    assert titles(created_after=now - timedelta(days=4)) == ["Charlie", "Delta", "Echo"]
    assert titles(created_before=now - timedelta(days=4)) == ["Alpha", "Bravo"]
    assert queries.lead_sources(owner.workspace_id) == ["Referral", "Trade fair"]


def test_the_source_filter_lists_each_source_once_in_order(owner, rival):
    """The list's source filter: each source of the workspace's leads once, in order, none
    empty, none of another workspace, the first ``limit`` (it skips through the index, one
    lookup per source)."""
    ana = create_contact(owner.workspace_id, owner.user, name="Ana Lima")
    for source in ["Referral", "", "email", "Trade fair", "Referral", "email", "Zeta", ""]:
        actions.create_lead(
            owner.workspace_id, owner.user, contact_id=ana.pk, title="Order", source=source
        )
    bo = create_contact(rival.workspace_id, rival.user, name="Bo")
    actions.create_lead(
        rival.workspace_id, rival.user, contact_id=bo.pk, title="Theirs", source="Secret"
    )
    every = list(
        Lead.objects.filter(workspace_id=owner.workspace_id)
        .exclude(source="")
        .order_by("source")
        .values_list("source", flat=True)
        .distinct()
    )
    assert len(every) == 4 and "Secret" not in every
    assert queries.lead_sources(owner.workspace_id) == every
    assert queries.lead_sources(owner.workspace_id, limit=2) == every[:2]
    assert queries.lead_sources(rival.workspace_id) == ["Secret"]
    Lead.objects.filter(workspace_id=rival.workspace_id).update(source="")
    assert queries.lead_sources(rival.workspace_id) == []


@pytest.mark.parametrize("sort", list(queries.LEAD_SORTS))
def test_every_sort_pages_through_every_lead_once(owner, five_leads, sort):
    seen, cursor = [], None
    while True:
        page = queries.lead_list(
            owner.workspace_id, owner.user_id, queries.LeadFilter(), sort, cursor, 2
        )
        seen += [lead.title for lead in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    if sort == "value":  # highest first, the ones without a value last
        assert seen[:3] == ["Charlie", "Alpha", "Delta"]
        assert set(seen[3:]) == {"Bravo", "Echo"}


# --- the REST API --------------------------------------------------------------------------


def test_api_create_and_filter_leads(api, owner, agent, rival):
    contact = create_contact(owner.workspace_id, owner.user, name="Bruno")
    r = post(
        api,
        "/api/v1/leads",
        {
            "contact_id": contact.pk,
            "title": "Fleet of 12",
            "value": "18400",
            "currency": "EUR",
            "source": "Referral",
            "stage": "working",
            "expected_close_date": "2027-01-31",
            "tags": ["fleet"],
            "assignee_ids": [agent.user_id],
        },
    )
    assert r.status_code == 201, r.content
    lead = r.json()
    assert (lead["contact_id"], lead["source"], lead["stage"], lead["owner_id"]) == (
        contact.pk,
        "Referral",
        "working",
        owner.user_id,
    )
    assert lead["assignee_ids"] == [agent.user_id] and lead["source_conversation_id"] is None
    found = api.get("/api/v1/leads?stage=open&source=Referral&tag=fleet").json()["items"]
    assert [x["id"] for x in found] == [lead["id"]]
    assert api.get("/api/v1/leads?stage=won").status_code == 400
    assert api.get("/api/v1/leads?assignee=nobody").status_code == 400
    r = api.patch(
        f"/api/v1/leads/{lead['id']}",
        json.dumps({"assignee_ids": [], "source": "Website"}),
        content_type="application/json",
    )
    assert (
        r.status_code == 200 and r.json()["assignee_ids"] == [] and r.json()["source"] == "Website"
    )
    theirs = create_contact(rival.workspace_id, rival.user, name="Theirs")
    r = post(api, "/api/v1/leads", {"contact_id": theirs.pk, "title": "Mine now"})
    assert r.status_code == 404
    r = post(api, "/api/v1/leads", {"contact_id": contact.pk, "title": "x", "stage": "won"})
    assert r.status_code == 400
    assert token_client(rival).get("/api/v1/leads").json()["items"] == []


def test_api_lead_list_reads_no_more_for_more_leads(api, owner):
    """Each lead of the list comes with its contact's addresses (named contact or not), read
    for the whole page at once: the list's queries do not grow with its leads."""

    def lead_of_a_new_contact(n: int) -> None:
        # A nameless one as mail makes them, shown by its first address.
        contact = Contact.objects.create(
            workspace_id=owner.workspace_id, name=f"Client {n}" if n % 2 else ""
        )
        for kind, value in (("email", f"client{n}@example.test"), ("phone", f"+3519100000{n:02}")):
            ContactHandle.objects.create(
                workspace_id=owner.workspace_id, contact=contact, kind=kind, value=value
            )
        actions.create_lead(owner.workspace_id, owner.user, contact_id=contact.pk, title=f"L{n}")

    def list_reads() -> tuple[int, list[dict]]:
        with CaptureQueriesContext(connection) as captured:
            r = api.get("/api/v1/leads")
        assert r.status_code == 200, r.content
        return len(captured.captured_queries), r.json()["items"]

    for n in range(2):
        lead_of_a_new_contact(n)
    list_reads()  # the token's first use writes down when it was used (then once a minute)
    few, _ = list_reads()
    for n in range(2, 6):
        lead_of_a_new_contact(n)
    many, items = list_reads()
    assert many == few and len(items) == 6
    for lead in items:
        n = int(lead["title"][1:])
        assert lead["contact"]["handles"] == [
            {"kind": "email", "value": f"client{n}@example.test"},
            {"kind": "phone", "value": f"+3519100000{n:02}"},
        ]
        assert lead["contact"]["name"] == (f"Client {n}" if n % 2 else f"client{n}@example.test")


# --- the pages -----------------------------------------------------------------------------


def test_list_view_and_board_moves(owner, five_leads):
    client = login(owner)
    html = client.get("/leads/?view=list&sort=title").content.decode()
    assert html.index("Alpha") < html.index("Bravo") < html.index("Echo")
    assert 'aria-current="page">List</a>' in html
    part = client.get(
        "/leads/?view=list&source=Trade+fair", headers={**HX, "HX-Target": "lead-list"}
    ).content.decode()
    assert "Bravo" in part and "Alpha" not in part and "<main" not in part
    alpha = five_leads[0]
    # A card dragged on the board (or moved with its menu) posts from=board.
    r = client.post(f"/leads/{alpha.pk}/stage", {"stage": "working", "from": "board"}, headers=HX)
    assert r.status_code == 204 and r["HX-Trigger"] == "fd:leads"
    alpha.refresh_from_db()
    assert alpha.stage == "working"
    line = Activity.objects.filter(lead=alpha).latest("at")
    assert line.extra == {"from": "new", "to": "working"} and line.actor == owner.user
    # Without JavaScript the menu's form goes back to the board.
    r = client.post(
        f"/leads/{alpha.pk}/stage",
        {"stage": "contacted", "from": "board", "next": "/leads/?owner=me"},
    )
    assert r.status_code == 302 and r["Location"] == "/leads/?owner=me"
    r = client.post(
        f"/leads/{alpha.pk}/stage", {"stage": "contacted", "next": "https://evil.example/"}
    )
    assert r["Location"] == f"/leads/{alpha.pk}/"
    r = client.post(f"/leads/{alpha.pk}/stage", {"stage": "won", "from": "board"}, headers=HX)
    assert r.status_code == 400 and "stage must be one of" in r.content.decode()
    board = client.get("/leads/").content.decode()
    assert 'draggable="true"' in board and 'data-drop-stage="working"' in board
    assert "Move to" in board


def test_new_lead_page(owner, agent):
    contact = create_contact(owner.workspace_id, owner.user, name="Bruno Costa", company="Porto")
    client = login(owner)
    picked = client.get("/leads/pick-contact?new_name=brun", headers=HX).content.decode()
    assert f'value="{contact.pk}"' in picked and "A new contact named" in picked
    page = client.get(f"/leads/new?contact={contact.pk}").content.decode()
    assert "Bruno Costa" in page and f'name="contact" value="{contact.pk}"' in page
    r = client.post(
        "/leads/new",
        {
            "contact": str(contact.pk),
            "title": "Fleet of 12",
            "value": "18400",
            "currency": "EUR",
            "stage": "new",
            "owner": str(agent.user_id),
            "source": "Referral",
        },
    )
    lead = Lead.objects.get(title="Fleet of 12")
    assert r.status_code == 302 and r["Location"] == f"/leads/{lead.pk}/"
    assert lead.owner == agent.user and lead.contact == contact
    r = client.post("/leads/new", {"contact": "", "new_name": "Chen Wei", "title": "5 e-bikes"})
    assert r.status_code == 302 and Lead.objects.get(title="5 e-bikes").contact.name == "Chen Wei"
    r = client.post("/leads/new", {"contact": "", "new_name": "", "title": "x"})
    assert r.status_code == 400 and "type the new contact" in r.content.decode()


def test_lead_page_edits_assignees_and_source(owner, agent, five_leads):
    alpha = five_leads[0]
    client = login(owner)
    r = client.post(
        f"/leads/{alpha.pk}/edit",
        {
            "title": "Alpha",
            "currency": "EUR",
            "owner": str(owner.user_id),
            "assignees": [str(agent.user_id)],
            "source": "Website",
            "tags": "vip, hot",
        },
        headers=HX,
    )
    assert r.status_code == 200 and "Saved" in r.content.decode()
    alpha.refresh_from_db()
    assert (alpha.source, alpha.tags) == ("Website", ["hot", "vip"])
    assert [a.user_id for a in alpha.assignments.all()] == [agent.user_id]
    page = client.get(f"/leads/{alpha.pk}/").content.decode()
    assert f'name="assignees" value="{agent.user_id}" checked' in page


def test_lead_pages_of_another_workspace_are_not_found(owner, rival):
    theirs_contact = create_contact(rival.workspace_id, rival.user, name="Theirs")
    theirs = actions.create_lead(
        rival.workspace_id, rival.user, contact_id=theirs_contact.pk, title="Their lead"
    )
    client = login(owner)
    assert client.get(f"/leads/{theirs.pk}/").status_code == 404
    assert client.post(f"/leads/{theirs.pk}/edit", {"title": "x"}).status_code == 404
    assert client.post(f"/leads/{theirs.pk}/stage", {"stage": "junk"}).status_code == 404
    assert "Their lead" not in client.get("/leads/?view=list").content.decode()
    assert (
        "Theirs" not in client.get("/leads/pick-contact?new_name=the", headers=HX).content.decode()
    )
    # Their contact's id in the form is no contact here: it makes nothing of theirs.
    r = client.post("/leads/new", {"contact": str(theirs_contact.pk), "title": "x"})
    assert r.status_code == 400
    theirs.refresh_from_db()
    assert (theirs.title, theirs.stage) == ("Their lead", "new")
    assert Lead.objects.filter(contact=theirs_contact).count() == 1
