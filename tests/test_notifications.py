"""Notifications: who is told what, the API, the bell and its panel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from frontdesk.inbox.actions.conversation import assign, mark_read, set_status, wake_snoozed
from frontdesk.inbox.actions.notifications import notify
from frontdesk.inbox.actions.send import add_note
from frontdesk.inbox.models import Conversation, Message, Notification
from frontdesk.workspaces.services import add_member
from tests.fixtures import PASSWORD, token_client


@pytest.fixture
def conversation(inbound):
    return inbound("Where is my invoice?", handle="ana-1", contact_name="Ana Lima").conversation


@pytest.fixture
def published(monkeypatch) -> list[tuple]:
    """The notification events published (the assignment's own events are left out)."""
    calls: list[tuple] = []

    def record(workspace_id: int, event_type: str, **data) -> None:
        if event_type.startswith("notification."):
            calls.append((workspace_id, event_type, data))

    monkeypatch.setattr("frontdesk.realtime.publish.publish", record)
    return calls


def browser_client(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_assigning_someone_else_notifies_them_and_only_them(owner, agent, conversation, published):
    assign(owner.user, conversation, owner.user)  # taking it yourself tells nobody
    assert not Notification.objects.exists()
    assign(owner.user, conversation, agent.user)
    note = Notification.objects.get()
    assert (note.user, note.kind, note.actor, note.conversation) == (
        agent.user,
        "assigned",
        owner.user,
        conversation,
    )
    assert note.text == "owner assigned you Ana Lima"
    assert published == [
        (
            owner.workspace_id,
            "notification.created",
            {"user_id": agent.user_id, "notification_id": note.pk, "kind": "assigned"},
        )
    ]


def test_the_api_lists_notifications_newest_first_with_the_unread_count(owner, agent, conversation):
    assign(owner.user, conversation, agent.user)
    add_note(owner.user, conversation, "@Agnes Agent can you check the invoice?")
    api = token_client(agent)
    body = api.get("/api/v1/notifications").json()
    assert body["unread_count"] == 2
    assert [n["kind"] for n in body["items"]] == ["mention", "assigned"]
    mention = body["items"][0]
    note = Message.objects.get(kind="note")
    assert mention == {
        "id": mention["id"],
        "kind": "mention",
        "conversation_id": conversation.pk,
        "message_id": note.pk,
        "lead_id": None,
        "deal_id": None,
        "followup_id": None,
        "actor_id": owner.user_id,
        "text": "owner mentioned you in Ana Lima: @Agnes Agent can you check the invoice?",
        "count": 1,
        "created_at": mention["created_at"],
        "read": False,
    }
    # The owner has none: notifications are the member's own.
    assert token_client(owner).get("/api/v1/notifications").json() == {
        "items": [],
        "next_cursor": None,
        "unread_count": 0,
    }


def test_marking_read_by_id_and_all(owner, agent, conversation, inbound):
    assign(owner.user, conversation, agent.user)
    other = inbound("Hello", handle="bruno-1").conversation
    assign(owner.user, other, agent.user)
    api = token_client(agent)
    first, second = api.get("/api/v1/notifications").json()["items"]
    answer = api.post("/api/v1/notifications/read", {"ids": [first["id"]]}, "application/json")
    assert answer.json() == {"marked": 1, "unread_count": 1}
    unread = api.get("/api/v1/notifications?unread=true").json()
    assert [n["id"] for n in unread["items"]] == [second["id"]]
    assert api.post("/api/v1/notifications/read", {"all": True}, "application/json").json() == {
        "marked": 1,
        "unread_count": 0,
    }
    assert all(n["read"] for n in api.get("/api/v1/notifications").json()["items"])


def test_read_needs_ids_or_all_and_ignores_other_peoples_ids(owner, agent, conversation):
    assign(agent.user, conversation, owner.user)
    owners = Notification.objects.get(user=owner.user)
    api = token_client(agent)
    for body in ({}, {"ids": [1], "all": True}):
        answer = api.post("/api/v1/notifications/read", body, "application/json")
        assert answer.status_code == 400
        assert "ids" in answer.json()["detail"]
    answer = api.post("/api/v1/notifications/read", {"ids": [owners.pk]}, "application/json")
    assert answer.json()["marked"] == 0
    owners.refresh_from_db()
    assert owners.read_at is None


def test_pages_follow_the_cursor(owner, agent, inbound):
    for n in range(5):
        assign(owner.user, inbound("Hi", handle=f"c-{n}").conversation, agent.user)
    api = token_client(agent)
    first = api.get("/api/v1/notifications?limit=3").json()
    rest = api.get(f"/api/v1/notifications?limit=3&cursor={first['next_cursor']}").json()
    assert len(first["items"]) == 3 and len(rest["items"]) == 2 and rest["next_cursor"] is None
    ids = [n["id"] for n in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)
    assert api.get("/api/v1/notifications?cursor=nonsense").status_code == 400


def test_mentions_by_name_or_by_id_are_stored_and_notified(owner, agent, conversation):
    priya = add_member(owner.workspace, "priya@acme.test", PASSWORD, name="Priya Patel")
    add_member(owner.workspace, "pri@acme.test", PASSWORD, name="Pri")
    note = add_note(agent.user, conversation, "@priya patel can you take this? cc me@Pri, @Prix")
    # The whole name, any case; not inside an address, not a longer word.
    assert note.extra["mentions"] == [{"id": priya.user_id, "name": "Priya Patel"}]
    assert list(Notification.objects.values_list("user_id", "kind", "message_id")) == [
        (priya.user_id, "mention", note.pk)
    ]
    api = token_client(owner)
    answer = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"text": "Over to you", "kind": "note", "mentions": [agent.user_id, priya.user_id]},
        "application/json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["mentions"] == [agent.user_id, priya.user_id]
    stored = Message.objects.get(pk=answer.json()["id"])
    assert [m["id"] for m in stored.extra["mentions"]] == [agent.user_id, priya.user_id]
    assert Notification.objects.filter(message=stored).count() == 2


def test_mentioning_a_stranger_or_yourself(owner, agent, rival, conversation):
    api = token_client(owner)
    answer = api.post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"text": "hm", "kind": "note", "mentions": [rival.user_id]},
        "application/json",
    )
    assert answer.status_code == 400
    assert str(rival.user_id) in answer.json()["detail"]
    assert not Message.objects.filter(kind="note").exists()
    add_note(owner.user, conversation, "note to self @owner")
    assert Message.objects.get(kind="note").extra["mentions"][0]["id"] == owner.user_id
    assert not Notification.objects.exists()  # nobody is told of their own mention


def test_a_deactivated_or_foreign_member_is_never_notified(owner, agent, rival, conversation):
    agent.user.is_active = False
    agent.user.save()
    assert notify(owner.workspace_id, agent.user_id, "assigned", "x") is None
    assert notify(owner.workspace_id, rival.user_id, "assigned", "x") is None
    with pytest.raises(ValueError, match="unknown notification kind"):
        notify(owner.workspace_id, owner.user_id, "gossip", "x")
    assert not Notification.objects.exists()


def test_new_messages_fold_into_one_unread_notification(owner, agent, conversation):
    for n in range(3):
        notify(
            owner.workspace_id,
            agent.user_id,
            "new_message",
            f"New message from Ana Lima: {n}",
            conversation_id=conversation.pk,
        )
    row = Notification.objects.get()
    assert (row.count, row.text) == (3, "New message from Ana Lima: 2")
    mark_read(agent.user, conversation)  # opening the conversation reads its notifications
    notify(
        owner.workspace_id, agent.user_id, "new_message", "again", conversation_id=conversation.pk
    )
    rows = Notification.objects.order_by("id")
    assert [(n.count, n.read_at is None) for n in rows] == [(3, False), (1, True)]


def test_a_snooze_that_ends_tells_the_assignee_or_who_snoozed(owner, agent, conversation, inbound):
    later = timezone.now() + timedelta(hours=1)
    set_status(agent.user, conversation, "snoozed", later)
    assign(owner.user, conversation, owner.user)
    unowned = inbound("Hi", handle="bruno-1", contact_name="Bruno").conversation
    set_status(agent.user, unowned, "snoozed", later)
    Conversation.objects.update(snoozed_until=timezone.now() - timedelta(seconds=1))
    assert wake_snoozed() == 2
    told = dict(
        Notification.objects.filter(kind="snooze_ended").values_list("conversation_id", "user_id")
    )
    assert told == {conversation.pk: owner.user_id, unowned.pk: agent.user_id}
    assert Notification.objects.get(conversation=unowned).text == "Snooze ended: Bruno"


def test_crm_rows_are_kept_by_id(owner, agent):
    row = notify(
        owner.workspace_id,
        agent.user_id,
        "followup_due",
        "Follow-up due: call Ana",
        lead_id=7,
        followup_id=9,
    )
    assert row is not None
    item = token_client(agent).get("/api/v1/notifications").json()["items"][0]
    assert (item["lead_id"], item["followup_id"], item["conversation_id"]) == (7, 9, None)


# --- the bell -----------------------------------------------------------------------------


def test_the_bell_shows_the_unread_count_on_every_page(owner, agent, conversation):
    assign(owner.user, conversation, agent.user)
    client = browser_client(agent)
    for url in ("/", f"/c/{conversation.pk}/", "/settings/", "/leads/", "/notifications/"):
        page = client.get(url).content.decode()
        assert 'id="bell-count">1</span>' in page, url
    assert 'id="bell-count"></span>' in browser_client(owner).get("/").content.decode()
    assert client.get("/notifications/bell").content.decode().count('id="bell-count">1<') == 1


def test_the_panel_lists_and_opening_one_reads_it(owner, agent, conversation):
    add_note(owner.user, conversation, "@Agnes Agent look")
    note = Message.objects.get(kind="note")
    row = Notification.objects.get()
    client = browser_client(agent)
    panel = client.get("/notifications/panel").content.decode()
    assert "owner mentioned you in Ana Lima: @Agnes Agent look" in panel
    assert f'action="/notifications/{row.pk}/open"' in panel
    answer = client.post(f"/notifications/{row.pk}/open")
    assert answer.status_code == 302
    assert answer["Location"] == f"/c/{conversation.pk}/?m={note.pk}"
    row.refresh_from_db()
    assert row.read_at is not None
    assert "all caught up" not in client.get("/notifications/panel").content.decode()


def test_mark_all_read_from_the_page(owner, agent, conversation, inbound):
    assign(owner.user, conversation, agent.user)
    assign(owner.user, inbound("x", handle="b").conversation, agent.user)
    client = browser_client(agent)
    answer = client.post("/notifications/read", {"all": "1", "next": "/notifications/"})
    assert (answer.status_code, answer["Location"]) == (302, "/notifications/")
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    # An outside "next" is not followed; neither "id" nor "all" is a 400.
    assert (
        client.post("/notifications/read", {"all": "1", "next": "https://evil.test/"})["Location"]
        == "/notifications/"
    )
    assert client.post("/notifications/read", {}).status_code == 400


def test_another_members_or_workspaces_notification_is_not_found(owner, agent, rival, conversation):
    assign(agent.user, conversation, owner.user)
    row = Notification.objects.get()
    assert browser_client(agent).post(f"/notifications/{row.pk}/open").status_code == 404
    assert browser_client(rival).post(f"/notifications/{row.pk}/open").status_code == 404
    row.refresh_from_db()
    assert row.read_at is None


def test_the_thread_marks_mentions_and_escapes_the_rest(owner, agent, conversation):
    add_note(owner.user, conversation, "<b>hi</b> @Agnes Agent\nsee @owner")
    page = browser_client(agent).get(f"/c/{conversation.pk}/").content.decode()
    assert (
        f'&lt;b&gt;hi&lt;/b&gt; <mark class="mention mention-me" data-user="{agent.user_id}">'
        f'@Agnes Agent</mark><br>see <mark class="mention" data-user="{owner.user_id}">@owner</mark>'
    ) in page
