"""Another workspace's member or token reaches nothing of this one through the CRM's
follow-up, note, pipeline, pipeline settings and board addresses: a foreign id is not found
(404), and nothing is written; lists and boards show the caller's own rows only."""

from __future__ import annotations

import pytest
from django.db.models import Q

from frontdesk.crm.actions import activity, pipelines
from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.actions.deals import create_deal
from frontdesk.crm.actions.leads import create_lead
from frontdesk.crm.models import Activity, Deal, FollowUp, Pipeline, Stage
from tests.fixtures import send, token_client
from tests.fixtures import session_client as login

DUE = "2026-03-03T09:00:00+01:00"
HX = {"HX-Request": "true"}


@pytest.fixture
def ana(owner):
    return create_contact(owner.workspace_id, owner.user, name="Ana Lima", company="Lisbon Bikes")


@pytest.fixture
def deal(owner, ana) -> Deal:
    return create_deal(owner.workspace_id, owner.user, contact_id=ana.pk, title="Forty bikes")


@pytest.fixture
def conversation(owner, inbound):
    return inbound("Hello", handle="ana-1", contact_name="Ana").conversation


@pytest.fixture
def theirs(rival):
    """The rival workspace's own contact and deal (so that they have ids to mix in)."""
    contact = create_contact(rival.workspace_id, rival.user, name="Rival client")
    return create_deal(rival.workspace_id, rival.user, contact_id=contact.pk, title="Rival deal")


def test_web_follow_ups_on_another_workspaces_contact_or_conversation_are_not_found(
    owner, rival, ana, conversation
):
    stranger = login(rival)
    form = {"when": "tomorrow", "note": "Steal"}
    assert stranger.post(f"/contacts/{ana.pk}/followups", form).status_code == 404
    assert stranger.post(f"/c/{conversation.pk}/followups", form).status_code == 404
    assert FollowUp.objects.count() == 0
    # The same forms work for a member of the workspace.
    mine = login(owner)
    assert mine.post(f"/contacts/{ana.pk}/followups", form).status_code == 302
    assert mine.post(f"/c/{conversation.pk}/followups", form).status_code == 302
    assert FollowUp.objects.filter(workspace_id=owner.workspace_id).count() == 2
    assert FollowUp.objects.filter(workspace_id=rival.workspace_id).count() == 0


def test_web_pin_or_delete_another_workspaces_deal_note_is_not_found(owner, rival, deal, theirs):
    note = activity.add_note(owner.workspace_id, owner.user, "Budget 20k", deal_id=deal.pk)
    stranger = login(rival)
    for action in ("pin", "delete"):
        # Through our deal's address, and through their own deal's with our note's id.
        for deal_id in (deal.pk, theirs.pk):
            r = stranger.post(f"/deals/{deal_id}/notes/{note.pk}", {"action": action})
            assert r.status_code == 404, (action, deal_id)
    note.refresh_from_db()
    assert note.pinned is False  # still there, not pinned
    # The owner can.
    r = login(owner).post(f"/deals/{deal.pk}/notes/{note.pk}", {"action": "pin"})
    assert r.status_code == 302
    note.refresh_from_db()
    assert note.pinned is True


def test_api_deal_notes_are_added_in_the_workspace_only(owner, rival, ana, deal):
    api, other = token_client(owner), token_client(rival)
    made = send(
        api, "post", f"/api/v1/deals/{deal.pk}/notes", {"text": "Wants red", "pinned": True}
    )
    assert made.status_code == 201, made.content
    note = Activity.objects.get(pk=made.json()["id"])
    assert (note.kind, note.deal_id, note.contact_id, note.pinned) == (
        "note",
        deal.pk,
        ana.pk,
        True,
    )
    lines = api.get(f"/api/v1/deals/{deal.pk}/timeline").json()["items"]
    assert "Wants red" in [line.get("text") for line in lines]
    r = send(other, "post", f"/api/v1/deals/{deal.pk}/notes", {"text": "Mine now"})
    assert r.status_code == 404
    assert not Activity.objects.filter(text="Mine now").exists()


def test_api_lead_notes_of_another_workspace_are_not_found(owner, rival, ana):
    lead = create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title="Ten bikes")
    r = send(token_client(rival), "post", f"/api/v1/leads/{lead.pk}/notes", {"text": "Mine now"})
    assert r.status_code == 404
    assert not Activity.objects.filter(text="Mine now").exists()
    ok = send(token_client(owner), "post", f"/api/v1/leads/{lead.pk}/notes", {"text": "Hi"})
    assert ok.status_code == 201


def test_api_follow_ups_on_another_workspaces_records_are_not_found(
    owner, rival, ana, deal, conversation
):
    about = {"contact_id": ana.pk, "deal_id": deal.pk, "conversation_id": conversation.pk}
    # Another workspace's token: not found, nothing made; then the same bodies work with
    # the workspace's own.
    for member, status, made in ((rival, 404, 0), (owner, 201, 3)):
        client = token_client(member)
        for key, pk in about.items():
            r = send(client, "post", "/api/v1/followups", {"due_at": DUE, "note": "x", key: pk})
            assert r.status_code == status, (key, r.content)
        assert FollowUp.objects.count() == made


def test_pipelines_list_and_board_show_the_callers_own_only(owner, rival, ana, theirs):
    partners = pipelines.create_pipeline(owner.workspace_id, "Partners")
    stage = partners.stages.order_by("position").first()
    create_deal(
        owner.workspace_id, owner.user, contact_id=ana.pk, title="Secret deal", stage_id=stage.pk
    )
    ours = {p.pk for p in pipelines.workspace_pipelines(owner.workspace_id)}
    listed = token_client(rival).get("/api/v1/pipelines").json()["items"]
    assert [p["name"] for p in listed] == ["Sales"]
    assert not {p["id"] for p in listed} & ours
    mine = token_client(owner).get("/api/v1/pipelines").json()["items"]
    assert {p["id"] for p in mine} == ours
    # Their board, asked for our pipeline, shows their own pipeline, not ours.
    stranger = login(rival)
    for view in ("", "&view=list"):
        page = stranger.get(f"/deals/?pipeline={partners.pk}{view}")
        html = page.content.decode()
        assert page.status_code == 200
        assert "Secret deal" not in html and "Partners" not in html
        assert "Rival deal" in html


def test_pipelines_settings_of_another_workspace_change_nothing(owner, rival, ana, deal, theirs):
    """Every action of Settings > Pipelines that names a pipeline or stage, posted by an
    admin of another workspace with this workspace's ids, is not found and changes none of
    its pipelines, stages or deals; the same forms work for the workspace's own admin."""
    sales = pipelines.workspace_pipelines(owner.workspace_id)[0]
    partners = pipelines.create_pipeline(owner.workspace_id, "Partners")
    stages = {s.name: s.pk for s in sales.stages.all()}
    assert Deal.objects.get(pk=deal.pk).stage_id == stages["Qualified"]
    forms = [
        {"action": "rename_pipeline", "id": sales.pk, "name": "Stolen"},
        {"action": "default_pipeline", "id": partners.pk},
        {"action": "add_stage", "id": sales.pk, "name": "Stolen", "type": "active"},
        {"action": "change_stage", "id": stages["Qualified"], "name": "Stolen", "type": "won",
         "probability": "90", "rotting_days": ""},
        {"action": "stage_up", "id": stages["Negotiation"]},
        {"action": "stage_down", "id": stages["Contact made"]},
        {"action": "remove_stage", "id": stages["Qualified"], "move_to": stages["Contact made"]},
        {"action": "remove_stage", "id": stages["Proposal sent"]},
        {"action": "delete_pipeline", "id": partners.pk},
    ]  # fmt: skip

    def ours() -> tuple[list, list, list]:
        ws = owner.workspace_id
        return (
            list(Pipeline.objects.filter(workspace_id=ws).values_list("pk", "name", "position")),
            list(
                Stage.objects.filter(Q(workspace_id=ws) | Q(pipeline__workspace_id=ws))
                .order_by("pk")
                .values_list(
                    "pk", "pipeline_id", "name", "type", "probability", "rotting_days", "position"
                )
            ),
            list(
                Deal.objects.filter(workspace_id=ws)
                .order_by("pk")
                .values_list("pk", "pipeline_id", "stage_id", "status", "closed_at")
            ),
        )

    before = ours()
    stranger = login(rival)
    for form in forms:
        r = stranger.post("/settings/pipelines/", form)
        assert r.status_code == 404, form
    # Their own stage removed, its deal to be moved to one of our stages: refused.
    their_stage = Deal.objects.get(pk=theirs.pk).stage_id
    r = stranger.post(
        "/settings/pipelines/",
        {"action": "remove_stage", "id": their_stage, "move_to": stages["Contact made"]},
    )
    assert r.status_code == 400 and "choose the stage of this pipeline" in r.content.decode()
    assert Deal.objects.get(pk=theirs.pk).stage_id == their_stage
    assert ours() == before
    assert [p.name for p in pipelines.workspace_pipelines(rival.workspace_id)] == ["Sales"]

    # The same forms, posted by the workspace's owner, each do what they say.
    mine = login(owner)
    for form in forms:
        r = mine.post("/settings/pipelines/", form)
        assert r.status_code == 302, (form, r.content.decode()[:300])
    assert [p.name for p in pipelines.workspace_pipelines(owner.workspace_id)] == ["Stolen"]
    assert Deal.objects.get(pk=deal.pk).stage_id == stages["Contact made"]


def test_leads_board_show_more_of_another_workspace_shows_none_of_its_leads(
    owner, rival, ana, monkeypatch
):
    """A column's "Show more" address, with this workspace's cursor or owner, followed by
    another workspace's member shows their own leads only."""
    import re

    from frontdesk.crm.queries import board

    monkeypatch.setattr(board, "COLUMN_LIMIT", 2)
    their_client = create_contact(rival.workspace_id, rival.user, name="Rival client")
    create_lead(rival.workspace_id, rival.user, contact_id=their_client.pk, title="Rival lead")
    for n in range(4):
        create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title=f"Ours {n}")
    titles = lambda page: re.findall(r'lead-card-title">([^<]+)<', page)  # noqa: E731
    mine = login(owner)
    html = mine.get("/leads/").content.decode()
    column = html[html.index('id="col-new"') : html.index('id="col-contacted"')]
    assert titles(column) == ["Ours 3", "Ours 2"]
    more = re.search(r'hx-get="([^"]+column[^"]+)"', column).group(1).replace("&amp;", "&")
    assert titles(mine.get(more, headers=HX).content.decode()) == ["Ours 1", "Ours 0"]

    stranger = login(rival)
    for url, shown in (
        (more, ["Rival lead"]),  # our cursor: their leads after it
        ("/leads/board/column?stage=new", ["Rival lead"]),
        (f"/leads/board/column?stage=new&owner={owner.user_id}", []),
        (f"{more}&owner={owner.user_id}", []),
    ):
        r = stranger.get(url, headers=HX)
        assert r.status_code == 200, url
        assert titles(r.content.decode()) == shown, url
