"""Bulk actions on the list's selection: assign, label, resolve several conversations in one
request and one transaction (all or none), each with its event line and live event."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.inbox.actions import bulk
from frontdesk.inbox.actions.labels import create_label
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import Conversation, ConversationLabel, Message, Notification
from tests.fixtures import token_client


@pytest.fixture
def three(inbound) -> list[Conversation]:
    return [
        inbound(f"Question {n}", handle=f"client-{n}", contact_name=name).conversation
        for n, name in enumerate(["Ana Lima", "Bo Berg", "Cy Chan"])
    ]


@pytest.fixture
def published(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def record(workspace_id: int, event_type: str, **data) -> None:
        if event_type.startswith("conversation."):
            calls.append((event_type, data["conversation_id"]))

    monkeypatch.setattr("frontdesk.realtime.publish.publish", record)
    return calls


def events_of(conversation: Conversation) -> list[str]:
    return list(
        Message.objects.filter(conversation=conversation, kind="event")
        .order_by("id")
        .values_list("text", flat=True)
    )


def test_one_api_request_assigns_labels_and_resolves_several(owner, agent, three, published):
    vip = create_label(owner.workspace_id, "VIP", "#6e56cf")
    picked = three[:2]
    answer = token_client(owner).post(
        "/api/v1/conversations/bulk",
        {
            "conversation_ids": [c.pk for c in picked],
            "assignee_id": agent.user_id,
            "add_label_ids": [vip.pk],
            "status": "resolved",
        },
        content_type="application/json",
    )
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert sorted(c["id"] for c in items) == sorted(c.pk for c in picked)
    for item in items:
        assert item["assignee"]["name"] == "Agnes Agent"
        assert item["status"] == "resolved"
        assert [x["name"] for x in item["labels"]] == ["VIP"]
    for conversation in picked:
        assert events_of(conversation) == [
            "owner assigned this to Agnes Agent",
            "owner added VIP",
            "owner resolved this conversation",
        ]
    assert events_of(three[2]) == []  # not selected, not touched
    assert Notification.objects.filter(user=agent.user, kind="assigned").count() == 2
    # every other page hears of each change
    assert sorted(published) == sorted(
        (kind, c.pk)
        for c in picked
        for kind in ("conversation.assigned", "conversation.labels", "conversation.status")
    )


def test_leaving_out_the_assignee_keeps_it_and_null_unassigns(owner, agent, three):
    api = token_client(owner)
    ids = [c.pk for c in three]
    api.post(
        "/api/v1/conversations/bulk",
        {"conversation_ids": ids, "assignee_id": agent.user_id},
        content_type="application/json",
    )
    api.post(
        "/api/v1/conversations/bulk",
        {"conversation_ids": ids, "status": "pending"},
        content_type="application/json",
    )
    assert set(Conversation.objects.values_list("assignee_id", "status")) == {
        (agent.user_id, "pending")
    }
    api.post(
        "/api/v1/conversations/bulk",
        {"conversation_ids": ids, "assignee_id": None},
        content_type="application/json",
    )
    assert set(Conversation.objects.values_list("assignee_id", flat=True)) == {None}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"conversation_ids": []}, "select at least one conversation"),
        ({"conversation_ids": list(range(1, 202)), "status": "resolved"}, "at most 200"),
        ({"CONVERSATIONS": True}, "choose what to do"),
        ({"CONVERSATIONS": True, "assignee_id": 999999}, "not a member of this workspace"),
        ({"CONVERSATIONS": True, "add_label_ids": [999999]}, "no such labels"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(owner, three, body, says):
    if body.pop("CONVERSATIONS", False):
        body["conversation_ids"] = [c.pk for c in three]
    answer = token_client(owner).post(
        "/api/v1/conversations/bulk", body, content_type="application/json"
    )
    assert answer.status_code == 400
    assert says in answer.json()["detail"]
    assert not Message.objects.filter(kind="event").exists()


def test_another_workspaces_conversation_refuses_the_whole_lot(owner, rival, three, published):
    ids = [c.pk for c in three]
    answer = token_client(rival).post(
        "/api/v1/conversations/bulk",
        {"conversation_ids": ids, "status": "resolved"},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["detail"] == f"no such conversations in this workspace: {ids}"
    # and one foreign id among ours: none of ours change either
    mine = three[0]
    with pytest.raises(ActionRefused):
        bulk.apply(
            owner.user,
            rival.workspace_id,
            [mine.pk],
            bulk.BulkChange(status="resolved"),
        )
    assert set(Conversation.objects.values_list("status", flat=True)) == {"open"}
    assert not Message.objects.filter(kind="event").exists()
    assert published == []


def test_a_failure_half_way_undoes_the_conversations_already_changed(
    owner, three, monkeypatch, django_capture_on_commit_callbacks
):
    vip = create_label(owner.workspace_id, "VIP", "#6e56cf")
    real = bulk.set_status

    def fail_on_the_last(actor, conversation, status):
        if conversation.pk == three[-1].pk:
            raise RuntimeError("disk full")
        return real(actor, conversation, status)

    monkeypatch.setattr(bulk, "set_status", fail_on_the_last)
    with django_capture_on_commit_callbacks() as after_commit, pytest.raises(RuntimeError):
        bulk.apply(
            owner.user,
            owner.workspace_id,
            [c.pk for c in three],
            bulk.BulkChange(add_label_ids=[vip.pk], status="resolved"),
        )
    assert set(Conversation.objects.values_list("status", flat=True)) == {"open"}
    assert not ConversationLabel.objects.exists()
    assert not Message.objects.filter(kind="event").exists()
    assert after_commit == []  # no page is told of changes that never happened


def test_the_lists_bulk_form_says_what_it_did(owner, agent, three):
    page = Client()
    page.force_login(agent.user)
    vip = create_label(owner.workspace_id, "VIP", "#6e56cf")
    ids = [three[0].pk, three[2].pk]
    answer = page.post("/inbox/bulk", {"ids": ids, "do": f"label:{vip.pk}"}, HTTP_HX_REQUEST="true")
    assert answer.json() == {"text": "2 conversations labelled."}
    answer = page.post("/inbox/bulk", {"ids": ids, "do": "assign:me"}, HTTP_HX_REQUEST="true")
    assert answer.json() == {"text": "2 conversations assigned."}
    answer = page.post("/inbox/bulk", {"ids": ids, "do": "status:resolved"}, HTTP_HX_REQUEST="true")
    assert answer.json() == {"text": "2 conversations resolved."}
    assert [(c.assignee_id, c.status) for c in Conversation.objects.order_by("pk")] == [
        (agent.user_id, "resolved"),
        (None, "open"),
        (agent.user_id, "resolved"),
    ]
    answer = page.post("/inbox/bulk", {"ids": ids, "do": "status:snoozed"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 400
    assert answer.json()["text"].startswith("Status must be open, pending or resolved")
    # without JavaScript: back to the list with the same words
    answer = page.post("/inbox/bulk", {"ids": ids, "do": "status:open"}, follow=True)
    assert "2 conversations reopened." in answer.content.decode()
