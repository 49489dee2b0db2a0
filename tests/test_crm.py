"""Leads: converting a conversation (details carried over, once), stages, edits, tenancy;
through the actions, the REST API and the web pages."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from frontdesk.connectors.base import InboundMessage
from frontdesk.crm import events
from frontdesk.crm.actions import leads as actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Lead, LeadStage
from frontdesk.crm.queries.leads import LeadNotFound
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.models import Conversation, Message, MessageKind
from frontdesk.ops.demo.seed import LEADS, seed_demo
from tests.fixtures import make_api_channel, token_client
from tests.fixtures import session_client as login

HX = {"HX-Request": "true"}


def linkedin_conversation(inbound) -> Conversation:
    """A conversation whose contact the LinkedIn connector has filled in."""
    conversation = inbound(
        "Saw your product, can we talk?", handle="li-ana", contact_name="Ana Lima"
    )
    conversation = conversation.conversation
    contact = conversation.contact
    contact.company = "Lisbon Bikes"
    contact.avatar_url = "https://media.licdn.example/ana.jpg"
    contact.custom_fields = {
        "linkedin_headline": "Head of Purchasing at Lisbon Bikes",
        "linkedin_url": "https://www.linkedin.com/in/ana-lima/",
        "linkedin_location": "Lisbon, Portugal",
        "linkedin_enriched_at": "2026-11-01T10:00:00+00:00",
    }
    contact.tags = ["vip"]
    contact.save()
    return conversation


# --- actions -----------------------------------------------------------------------------


def test_convert_carries_the_contact_over(owner, inbound, channel, monkeypatch):
    conversation = linkedin_conversation(inbound)
    published: list[tuple] = []
    monkeypatch.setattr(events, "publish", lambda *args, **kw: published.append((args, kw)))
    converted = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user)
    lead = converted.lead
    assert converted.created
    assert lead.title == "Saw your product, can we talk?"  # her first line
    assert lead.source == "api"
    assert lead.stage == LeadStage.NEW
    assert lead.owner == owner.user  # nobody was assigned: the converting member owns it
    assert lead.contact_id == conversation.contact_id
    assert lead.source_conversation_id == conversation.pk
    assert lead.source_channel_id == channel.pk
    assert lead.tags == ["vip"]
    assert lead.details == {
        "name": "Ana Lima",
        "company": "Lisbon Bikes",
        "picture_url": "https://media.licdn.example/ana.jpg",
        "linkedin_headline": "Head of Purchasing at Lisbon Bikes",
        "linkedin_url": "https://www.linkedin.com/in/ana-lima/",
        "linkedin_location": "Lisbon, Portugal",
        "handles": [{"kind": "external", "value": "li-ana"}],
        "channel": {"kind": "api", "name": "Support bot"},
    }
    event = Message.objects.get(conversation=conversation, kind=MessageKind.EVENT)
    assert event.text == "owner converted this conversation to a lead"
    assert event.extra == {"action": "lead", "lead_id": lead.pk}
    assert published == [
        (
            (owner.workspace_id, "timeline.changed"),
            {"contact_id": conversation.contact_id, "lead_id": lead.pk, "deal_id": None},
        ),
        (
            (owner.workspace_id, "lead.created"),
            {
                "lead_id": lead.pk,
                "conversation_id": conversation.pk,
                "message_id": event.pk,
                "stage": "new",
            },
        ),
    ]


def test_convert_twice_returns_the_open_lead(owner, agent, inbound):
    conversation = inbound("hello", handle="bob", contact_name="Bob").conversation
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent.user)
    first = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user)
    assert first.lead.owner == agent.user  # the assignee owns the lead
    again = actions.convert_to_lead(owner.workspace_id, conversation.pk, agent.user)
    assert not again.created and again.lead.pk == first.lead.pk
    assert Lead.objects.count() == 1
    assert Message.objects.filter(conversation=conversation, kind=MessageKind.EVENT).count() == 1
    # Once it is closed out, the conversation may become a new lead.
    actions.change_stage(owner.workspace_id, first.lead.pk, LeadStage.JUNK, owner.user)
    third = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user)
    assert third.created and third.lead.pk != first.lead.pk
    # ...and the old one cannot be reopened beside it.
    with pytest.raises(CrmError, match="already has another open lead"):
        actions.change_stage(owner.workspace_id, first.lead.pk, LeadStage.NEW, owner.user)


def test_email_subject_is_the_title(owner, inbound):
    conversation = inbound("Quote please", handle="c@x.test", subject="Quote for 40 bikes")
    lead = actions.convert_to_lead(
        owner.workspace_id, conversation.conversation.pk, owner.user
    ).lead
    assert lead.title == "Quote for 40 bikes"
    assert lead.details["subject"] == "Quote for 40 bikes"


def test_stage_change_and_edits(owner, agent, inbound, django_capture_on_commit_callbacks):
    conversation = inbound("hi", handle="dora", contact_name="Dora").conversation
    lead = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user).lead
    with django_capture_on_commit_callbacks() as published:
        actions.change_stage(owner.workspace_id, lead.pk, "contacted", owner.user)
    assert len(published) == 2  # lead.updated, and timeline.changed for its new line
    assert Lead.objects.get(pk=lead.pk).stage == "contacted"
    with pytest.raises(CrmError, match="stage must be one of"):
        actions.change_stage(owner.workspace_id, lead.pk, "won", owner.user)

    actions.update_lead(
        owner.workspace_id,
        lead.pk,
        owner.user,
        title="  Dora: 40 bikes ",
        value="12000.5",
        currency="usd",
        owner_id=agent.user_id,
        expected_close_date=date(2026, 12, 20),
    )
    lead.refresh_from_db()
    assert (lead.title, lead.value, lead.currency) == ("Dora: 40 bikes", Decimal("12000.50"), "USD")
    assert lead.owner == agent.user and lead.expected_close_date == date(2026, 12, 20)
    actions.update_lead(owner.workspace_id, lead.pk, owner.user, value=None, owner_id=None)
    lead.refresh_from_db()
    assert lead.value is None and lead.owner is None and lead.title == "Dora: 40 bikes"
    for bad in ({"title": " "}, {"value": "-3"}, {"value": "lots"}, {"currency": "EURO"}):
        with pytest.raises(CrmError):
            actions.update_lead(owner.workspace_id, lead.pk, owner.user, **bad)


def test_actions_stay_inside_the_workspace(owner, rival, inbound, callback):
    conversation = inbound("hi", handle="eve", contact_name="Eve").conversation
    with pytest.raises(LeadNotFound):
        actions.convert_to_lead(rival.workspace_id, conversation.pk, rival.user)
    lead = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user).lead
    with pytest.raises(LeadNotFound):
        actions.change_stage(rival.workspace_id, lead.pk, "working", rival.user)
    with pytest.raises(LeadNotFound):
        actions.update_lead(rival.workspace_id, lead.pk, rival.user, title="mine now")
    # Nor can a lead be given to someone outside the workspace.
    with pytest.raises(CrmError, match="member of this workspace"):
        actions.update_lead(owner.workspace_id, lead.pk, owner.user, owner_id=rival.user_id)
    assert Lead.objects.get(pk=lead.pk).stage == "new"


# --- REST API ----------------------------------------------------------------------------


def patch_json(client: Client, url: str, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def test_api_convert_get_list_patch(api, owner, agent, rival, inbound):
    conversation = linkedin_conversation(inbound)
    created = api.post(f"/api/v1/conversations/{conversation.pk}/lead")
    assert created.status_code == 201, created.content
    lead = created.json()
    assert lead["title"] == "Saw your product, can we talk?" and lead["stage"] == "new"
    assert lead["contact"]["name"] == "Ana Lima"
    assert lead["source_conversation_id"] == conversation.pk
    assert lead["source_channel"]["kind"] == "api"
    assert lead["details"]["linkedin_headline"] == "Head of Purchasing at Lisbon Bikes"
    assert lead["owner"]["email"] == "owner@acme.test"
    again = api.post(f"/api/v1/conversations/{conversation.pk}/lead")
    assert again.status_code == 200 and again.json()["id"] == lead["id"]

    url = f"/api/v1/leads/{lead['id']}"
    assert api.get(url).json()["id"] == lead["id"]
    changed = patch_json(
        api,
        url,
        {"stage": "contacted", "value": "1500.00", "owner_id": agent.user_id, "currency": "gbp"},
    )
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["stage"], body["value"], body["currency"]) == ("contacted", "1500.00", "GBP")
    assert body["owner"]["id"] == agent.user_id
    assert patch_json(api, url, {"owner_id": None}).json()["owner"] is None

    bad = patch_json(api, url, {"stage": "won", "title": "not saved"})
    assert bad.status_code == 400 and "stage must be one of" in bad.json()["detail"]
    assert api.get(url).json()["title"] == "Saw your product, can we talk?"
    assert patch_json(api, url, {"currency": "EURO"}).status_code == 400
    assert patch_json(api, url, {"title": None}).status_code == 400

    listed = api.get("/api/v1/leads?stage=contacted").json()
    assert [x["id"] for x in listed["items"]] == [lead["id"]]
    assert api.get("/api/v1/leads?stage=new").json()["items"] == []
    assert api.get("/api/v1/leads?owner=me").json()["items"] == []
    assert api.get("/api/v1/leads?stage=nope").status_code == 400
    assert api.get("/api/v1/leads?owner=someone").status_code == 400

    # Another workspace sees nothing and learns nothing: 404, not 403.
    other = token_client(rival)
    assert other.get(url).status_code == 404
    assert patch_json(other, url, {"stage": "junk"}).status_code == 404
    assert other.post(f"/api/v1/conversations/{conversation.pk}/lead").status_code == 404
    assert other.get("/api/v1/leads").json()["items"] == []
    assert api.get("/api/v1/leads/999999").status_code == 404


def test_api_needs_a_member_token_and_is_documented(db, api):
    assert Client().get("/api/v1/leads").status_code == 401
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/leads", "/api/v1/leads/{lead_id}"} <= set(paths)
    assert "post" in paths["/api/v1/conversations/{conversation_id}/lead"]


def test_api_lead_list_pages(api, owner, callback):
    channel = make_api_channel(owner, callback.url, name="Paging")
    for i in range(5):
        result = ingest(channel, InboundMessage(provider_id=f"p{i}", handle=f"h{i}", text="hi"))
        actions.convert_to_lead(owner.workspace_id, result.conversation.pk, owner.user)
    first = api.get("/api/v1/leads?limit=3").json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = api.get(f"/api/v1/leads?limit=3&cursor={first['next_cursor']}").json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    ids = [x["id"] for x in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5


# --- web ---------------------------------------------------------------------------------


def test_convert_button_in_the_contact_panel(owner, inbound):
    web = login(owner)
    conversation = linkedin_conversation(inbound)
    page = web.get(f"/c/{conversation.pk}/").content.decode()
    assert "Convert to lead" in page and "Convert to contact" not in page
    assert f'action="/c/{conversation.pk}/lead"' in page

    response = web.post(f"/c/{conversation.pk}/lead", headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    lead = Lead.objects.get(source_conversation=conversation)
    assert f'href="/leads/{lead.pk}/"' in html and "Lead:" in html and "New" in html
    assert "Convert to lead" not in html
    assert 'hx-swap-oob="beforeend"' in html and "converted this conversation to a lead" in html

    again = web.post(f"/c/{conversation.pk}/lead", headers=HX).content.decode()
    assert "Already a lead." in again and Lead.objects.count() == 1
    page = web.get(f"/c/{conversation.pk}/").content.decode()
    assert f'href="/leads/{lead.pk}/"' in page and "Convert to lead" not in page
    panel = web.get(f"/c/{conversation.pk}/lead/panel").content.decode()
    assert f'href="/leads/{lead.pk}/"' in panel
    # Without JavaScript: a plain POST, then back to the conversation.
    other = inbound("hi", handle="zed", contact_name="Zed").conversation
    plain = web.post(f"/c/{other.pk}/lead")
    assert plain.status_code == 302 and plain["Location"] == f"/c/{other.pk}/"


def test_leads_board_by_stage_and_owner(owner, agent, inbound):
    web = login(owner)
    assert (
        "Convert a conversation from the inbox, or add a lead, to start."
        in web.get("/leads/").content.decode()
    )
    mine = inbound("a", handle="a", contact_name="Alma").conversation
    theirs = inbound("b", handle="b", contact_name="Bruno").conversation
    junk = inbound("c", handle="c", contact_name="Carla").conversation
    lead_a = actions.convert_to_lead(owner.workspace_id, mine.pk, owner.user).lead
    lead_b = actions.convert_to_lead(owner.workspace_id, theirs.pk, agent.user).lead
    lead_c = actions.convert_to_lead(owner.workspace_id, junk.pk, owner.user).lead
    actions.change_stage(owner.workspace_id, lead_b.pk, "working", owner.user)
    actions.change_stage(owner.workspace_id, lead_c.pk, "junk", owner.user)
    actions.update_lead(owner.workspace_id, lead_a.pk, owner.user, value="12000", currency="EUR")

    page = web.get("/leads/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/leads/"' in html and "Leads <small>soon</small>" not in html
    assert "soon</small>" not in html and 'href="/deals/"' in html and 'href="/contacts/"' in html
    new_col = html[html.index('id="col-new"') : html.index('id="col-contacted"')]
    working_col = html[html.index('id="col-working"') : html.index('id="col-converted"')]
    assert "Alma" in new_col and "€12,000" in new_col and "Bruno" not in new_col
    assert "Bruno" in working_col
    assert "Carla" not in html  # junk is out of the pipeline view
    closed = web.get("/leads/?show=closed").content.decode()
    assert "Carla" in closed and "Alma" not in closed

    only_mine = web.get("/leads/?owner=me", headers={**HX, "HX-Target": "board"}).content.decode()
    assert "<html" not in only_mine and "Alma" in only_mine and "Bruno" not in only_mine
    theirs_only = web.get(f"/leads/?owner={agent.user_id}").content.decode()
    assert "Bruno" in theirs_only and "Alma" not in theirs_only


def test_lead_page_shows_details_and_changes_stage(owner, agent, rival, inbound):
    web = login(owner)
    conversation = linkedin_conversation(inbound)
    lead = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user).lead
    page = web.get(f"/leads/{lead.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for shown in (
        "Head of Purchasing at Lisbon Bikes",
        'href="https://www.linkedin.com/in/ana-lima/"',
        "Lisbon Bikes",
        "Lisbon, Portugal",
        f'href="/c/{conversation.pk}/"',
    ):
        assert shown in html, shown
    # The picture is our stored copy (inbox.avatars), never the provider's link.
    assert "media.licdn.example" not in html
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]

    moved = web.post(f"/leads/{lead.pk}/stage", {"stage": "contacted"}, headers=HX)
    assert moved.status_code == 200
    assert 'aria-current="step">Contacted' in moved.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == "contacted"
    bad = web.post(f"/leads/{lead.pk}/stage", {"stage": "won"}, headers=HX)
    assert bad.status_code == 422 and bad["HX-Retarget"] == "#stage-error"

    saved = web.post(
        f"/leads/{lead.pk}/edit",
        {
            "title": "Ana: 40 cargo bikes",
            "value": "8400",
            "currency": "EUR",
            "owner": str(agent.user_id),
            "expected_close_date": "2026-12-20",
        },
        headers=HX,
    )
    assert saved.status_code == 200 and "Saved" in saved.content.decode()
    lead.refresh_from_db()
    assert (lead.title, lead.value, lead.owner_id) == ("Ana: 40 cargo bikes", 8400, agent.user_id)
    assert lead.expected_close_date == date(2026, 12, 20)
    rejected = web.post(
        f"/leads/{lead.pk}/edit", {"title": "x", "value": "-1", "currency": "EUR"}, headers=HX
    )
    assert rejected.status_code == 422 and rejected["HX-Retarget"] == "#lead-form-error"
    assert Lead.objects.get(pk=lead.pk).title == "Ana: 40 cargo bikes"
    plain = web.post(f"/leads/{lead.pk}/stage", {"stage": "working"})
    assert plain.status_code == 302 and plain["Location"] == f"/leads/{lead.pk}/"

    # Another workspace's member gets a 404 for every one of these.
    stranger = login(rival)
    assert stranger.get(f"/leads/{lead.pk}/").status_code == 404
    assert stranger.post(f"/leads/{lead.pk}/stage", {"stage": "junk"}).status_code == 404
    assert stranger.post(f"/leads/{lead.pk}/edit", {"title": "x"}).status_code == 404
    assert stranger.post(f"/c/{conversation.pk}/lead").status_code == 404
    assert stranger.get(f"/c/{conversation.pk}/lead/panel").status_code == 404
    assert "Ana" not in stranger.get("/leads/").content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == "working"


def test_the_demo_has_leads_in_several_stages(db):
    workspace = seed_demo()
    leads = Lead.objects.filter(workspace=workspace)
    assert leads.count() == len(LEADS)
    assert set(leads.values_list("stage", flat=True)) == {s for s, _ in LEADS.values()}
    assert all(lead.value for lead in leads)


def test_api_patch_is_all_or_nothing(api, owner, inbound):
    """A stage the lead cannot take leaves the other fields of the same PATCH unsaved."""
    conversation = linkedin_conversation(inbound)
    first = api.post(f"/api/v1/conversations/{conversation.pk}/lead").json()
    assert patch_json(api, f"/api/v1/leads/{first['id']}", {"stage": "junk"}).status_code == 200
    second = api.post(f"/api/v1/conversations/{conversation.pk}/lead").json()
    assert second["id"] != first["id"]  # the dismissed one is no longer "the open lead"

    reopened = patch_json(api, f"/api/v1/leads/{first['id']}", {"title": "Renamed", "stage": "new"})
    assert reopened.status_code == 400
    assert api.get(f"/api/v1/leads/{first['id']}").json()["title"] == first["title"]


def test_a_merge_between_reading_and_converting_leaves_the_lead_on_the_kept_contact(
    owner, inbound, monkeypatch
):
    from frontdesk.inbox.actions.contacts import merge_contacts

    conversation = linkedin_conversation(inbound)
    keep = inbound("Me again", handle="ana@lisbonbikes.pt", contact_name="Ana").conversation
    real_title = actions.default_title

    def merge_meanwhile(conv):  # runs after convert_to_lead read the conversation
        merge_contacts(owner.workspace_id, keep.contact_id, conversation.contact_id)
        return real_title(conv)

    monkeypatch.setattr(actions, "default_title", merge_meanwhile)
    lead = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user).lead
    assert Lead.objects.get(pk=lead.pk).contact_id == keep.contact_id


def test_a_workspace_with_leads_can_be_deleted_but_a_contact_alone_keeps_its_leads(owner, inbound):
    from django.db.models import RestrictedError

    conversation = linkedin_conversation(inbound)
    actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user)
    with pytest.raises(RestrictedError):
        conversation.contact.delete()
    owner.workspace.delete()
    assert not Lead.objects.exists()


def test_a_full_column_counts_and_totals_every_lead_it_holds_and_shows_more(
    owner, agent, rival, inbound, monkeypatch
):
    """A column shows its latest cards; its count and totals cover every lead in it, and
    "Show N more" brings the next ones in place (the board's owner filter kept), up to the
    last; without JavaScript the same link opens the stage in the list."""
    import re

    from frontdesk.crm.queries import board as queries

    monkeypatch.setattr(queries, "COLUMN_LIMIT", 2)
    for n, value in enumerate(["100", "200", "300", "400", "500"]):
        conversation = inbound("hi", handle=f"h{n}", contact_name=f"Person {n}").conversation
        lead = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user).lead
        actions.update_lead(
            owner.workspace_id,
            lead.pk,
            owner.user,
            value=value,
            owner_id=agent.user_id if n == 3 else owner.user_id,
        )
    client = login(owner)
    html = client.get("/leads/").content.decode()
    new_col = html[html.index('id="col-new"') : html.index('id="col-contacted"')]
    assert 'aria-label="5 leads">5<' in new_col
    assert "€1,500" in new_col  # all five, not only the cards shown
    names = lambda page: re.findall(r'lead-card-name">(Person \d)', page)  # noqa: E731
    assert names(new_col) == ["Person 4", "Person 3"]  # the latest updated first
    assert "Show 2 more</a> of 3 updated earlier" in new_col
    assert 'href="/leads/?view=list&amp;stage=new"' in new_col  # without JavaScript

    more = re.search(r'hx-get="([^"]+)"[^>]*>Show 2 more', new_col).group(1).replace("&amp;", "&")
    page = client.get(more, headers=HX).content.decode()
    assert names(page) == ["Person 2", "Person 1"]
    assert "Show 1 more</a> of 1 updated earlier" in page
    last = re.search(r'hx-get="([^"]+)"', page.split("board-more")[-1]).group(1)
    page = client.get(last.replace("&amp;", "&"), headers=HX).content.decode()
    assert names(page) == ["Person 0"] and "Show" not in page

    # Mine only: the agent's lead is neither on the board nor among the next cards.
    html = client.get("/leads/?owner=me").content.decode()
    assert 'aria-label="4 leads">4<' in html and names(html)[:2] == ["Person 4", "Person 2"]
    more = re.search(r'hx-get="([^"]+column[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "owner=me" in more
    assert names(client.get(more, headers=HX).content.decode()) == ["Person 1", "Person 0"]

    # Another workspace's member following the link sees none of these leads.
    assert names(login(rival).get(more, headers=HX).content.decode()) == []
    assert client.get("/leads/board/column?stage=new&cursor=x", headers=HX).status_code == 400
    assert client.get("/leads/board/column?stage=nope&cursor=", headers=HX).status_code == 400


@pytest.mark.parametrize(
    ("kind", "provider", "handle", "handle_kind", "subject", "title"),
    [
        ("whatsapp", "whatsapp_cloud", "+351912345678", "phone", "", "Need 40 cargo bikes"),
        ("email", "imap", "ana@lisbon-bikes.pt", "email", "Quote: 40 bikes", "Quote: 40 bikes"),
        ("linkedin", "unipile", "li-member-ana", "linkedin", "", "Need 40 cargo bikes"),
        ("api", "api", "web-ana", "external", "", "Need 40 cargo bikes"),
    ],
)
def test_conversion_carries_every_field_from_each_channel_kind(
    owner, agent, inbound, kind, provider, handle, handle_kind, subject, title
):
    """From a conversation of each kind of channel: the title (the email subject, else the
    first line), the source, the channel, the contact's address and fields, the owner (the
    assignee), the tags; and the lead's page and the API tell the same."""
    from frontdesk.inbox.models import ChannelAccount

    via = ChannelAccount.objects.create(
        workspace_id=owner.workspace_id, kind=kind, provider=provider, name=f"Our {kind}"
    )
    sent = inbound(
        "Need 40 cargo bikes\nfor our three shops",
        handle=handle,
        via=via,
        contact_name="Ana Lima",
        **({"subject": subject} if subject else {}),
    )
    conversation = sent.conversation
    contact = conversation.contact
    contact.company, contact.tags = "Lisbon Bikes", ["vip"]
    contact.save()
    Conversation.objects.filter(pk=conversation.pk).update(assignee=agent.user)
    lead = actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user).lead
    lead.refresh_from_db()
    assert lead.title == title
    assert (lead.source, lead.source_channel_id) == (kind, via.pk)
    assert (lead.source_conversation_id, lead.contact_id) == (conversation.pk, contact.pk)
    assert (lead.owner_id, lead.stage, lead.tags) == (agent.user_id, "new", ["vip"])
    assert lead.details["name"] == "Ana Lima"
    assert lead.details["company"] == "Lisbon Bikes"
    assert lead.details["channel"] == {"kind": kind, "name": f"Our {kind}"}
    assert {"kind": handle_kind, "value": handle} in lead.details["handles"]
    page = login(owner).get(f"/leads/{lead.pk}/").content.decode()
    assert title in page and "Lisbon Bikes" in page
