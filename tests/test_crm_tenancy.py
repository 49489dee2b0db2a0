"""Another workspace's member or token reaches nothing of this one through the CRM's
follow-up, note and pipeline addresses: a foreign id is not found (404), and nothing is
written; lists and boards show the caller's own rows only."""

from __future__ import annotations

import pytest

from frontdesk.crm.actions import activity, pipelines
from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.actions.deals import create_deal
from frontdesk.crm.actions.leads import create_lead
from frontdesk.crm.models import Activity, Deal, FollowUp
from tests.fixtures import send, token_client
from tests.fixtures import session_client as login

DUE = "2026-03-03T09:00:00+01:00"


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
