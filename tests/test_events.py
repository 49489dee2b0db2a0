"""Every live event, emitted by the action that makes the change, with its payload, and only
once the transaction commits (the page's script, ``app.js``, relies on each of them)."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

import frontdesk
from frontdesk.connectors.base import StatusUpdate
from frontdesk.crm.actions import leads as crm_actions
from frontdesk.inbox import avatars
from frontdesk.inbox.actions import conversation as conversation_actions
from frontdesk.inbox.actions import labels
from frontdesk.inbox.actions.channel import record_import_progress, set_channel_status
from frontdesk.inbox.actions.contacts import merge_contacts
from frontdesk.inbox.actions.delivery import ingest_status
from frontdesk.inbox.actions.notifications import mark_read as mark_notifications_read
from frontdesk.inbox.actions.reactions import set_reaction
from frontdesk.inbox.actions.send import add_note, queue_reply
from frontdesk.inbox.models import (
    ChannelStatus,
    Contact,
    Conversation,
    Message,
    MessageKind,
    Notification,
)
from frontdesk.inbox.outbox import deliver
from frontdesk.realtime import publish as realtime
from frontdesk.realtime.publish import workspace_group


class Recorder:
    """Stands in for the channel layer: what would have gone to the workspace's sockets."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def broadcast(self, group: str, message: dict) -> None:
        self.sent.append((group, message["event"]))


@pytest.fixture
def emitted(monkeypatch, django_capture_on_commit_callbacks):
    """``emitted(action)`` runs the action in a transaction and returns the events it sent,
    after checking that nothing was sent before the commit."""
    recorder = Recorder()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recorder)
    monkeypatch.setattr(realtime, "ProcessGroupLayer", Recorder)

    def run(action, *args, **kwargs) -> list[dict]:
        recorder.sent.clear()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            action(*args, **kwargs)
            assert recorder.sent == [], "an event went out before its transaction committed"
        assert callbacks is not None
        return [event for _, event in recorder.sent]

    run.groups = lambda: {group for group, _ in recorder.sent}
    return run


def test_message_created_for_inbound_reply_and_note(owner, channel, inbound, emitted):
    message = None

    def receive():
        nonlocal message
        message = inbound("Hello", handle="client-1").message

    assert emitted(receive) == [
        {
            "type": "message.created",
            "conversation_id": message.conversation_id,
            "message_id": message.pk,
            "channel_id": channel.pk,
            "direction": "inbound",
        }
    ]
    assert emitted.groups() == {workspace_group(owner.workspace_id)}

    conversation = message.conversation
    notes = []
    assert emitted(lambda: notes.append(add_note(owner.user, conversation, "call her"))) == [
        {
            "type": "message.created",
            "conversation_id": conversation.pk,
            "message_id": notes[0].pk,
            "channel_id": channel.pk,
            "direction": "outbound",
        }
    ]


def test_message_status_from_the_outbox_and_from_the_provider(
    owner, inbound, emitted, callback, monkeypatch
):
    monkeypatch.setattr("frontdesk.inbox.outbox.enqueue", lambda *a, **k: None)
    conversation = inbound("Hello").conversation
    owner.workspace.assign_on_reply = False  # (assigning on reply: test_held_reply.py)
    owner.workspace.save()
    replies = []
    events = emitted(lambda: replies.append(queue_reply(owner.user, conversation, "Hi!")))
    reply = replies[0]
    assert [e["type"] for e in events] == ["message.created"]

    callback.behaviours = ["ok-with-id"]  # answers {"id": "ext-1"}
    assert emitted(deliver, reply.pk) == [
        {
            "type": "message.status",
            "conversation_id": conversation.pk,
            "message_id": reply.pk,
            "status": "sent",
            "error": "",
        }
    ]
    assert emitted(ingest_status, reply.channel, StatusUpdate("ext-1", "delivered")) == [
        {
            "type": "message.status",
            "conversation_id": conversation.pk,
            "message_id": reply.pk,
            "status": "delivered",
            "error": "",
        }
    ]


def test_notification_created_and_read(owner, agent, inbound, emitted):
    conversation = inbound("Hello").conversation
    events = emitted(conversation_actions.assign, owner.user, conversation, agent.user)
    notification = Notification.objects.get(user=agent.user)
    assert events[-1] == {
        "type": "notification.created",
        "user_id": agent.user.pk,
        "notification_id": notification.pk,
        "kind": "assigned",
    }
    assert emitted(mark_notifications_read, owner.workspace_id, agent.user.pk) == [
        {"type": "notification.read", "user_id": agent.user.pk}
    ]


def test_message_updated_by_a_reaction(inbound, channel, emitted):
    message = inbound("Hello", provider_id="m-1").message
    assert emitted(set_reaction, channel, "m-1", "client-1", "👍") == [
        {
            "type": "message.updated",
            "conversation_id": message.conversation_id,
            "message_id": message.pk,
        }
    ]


def test_conversation_assigned_status_and_read(owner, agent, inbound, emitted):
    conversation = inbound("Hello").conversation

    events = emitted(conversation_actions.assign, owner.user, conversation, owner.user)
    line = Message.objects.filter(conversation=conversation, kind=MessageKind.EVENT).latest("pk")
    assert events == [  # taking it yourself notifies nobody (see the notification test)
        {
            "type": "conversation.assigned",
            "conversation_id": conversation.pk,
            "assignee_id": owner.user.pk,
            "message_id": line.pk,
        }
    ]

    events = emitted(conversation_actions.set_status, owner.user, conversation, "resolved")
    line = Message.objects.filter(conversation=conversation, kind=MessageKind.EVENT).latest("pk")
    assert events == [
        {
            "type": "conversation.status",
            "conversation_id": conversation.pk,
            "status": "resolved",
            "message_id": line.pk,
        }
    ]

    assert emitted(conversation_actions.mark_read, agent.user, conversation) == [
        {"type": "conversation.read", "conversation_id": conversation.pk, "user_id": agent.user.pk}
    ]


def test_a_snooze_that_ends_says_open_without_an_event_line(owner, inbound, emitted):
    conversation = inbound("Hello").conversation
    Conversation.objects.filter(pk=conversation.pk).update(
        status="snoozed", snoozed_until=timezone.now() - timedelta(minutes=1)
    )
    assert emitted(conversation_actions.wake_snoozed) == [
        {"type": "conversation.status", "conversation_id": conversation.pk, "status": "open"}
    ]


def test_contact_updated_when_its_picture_is_stored(owner, monkeypatch, emitted):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    monkeypatch.setattr(avatars, "fetch_image", lambda url: (png, "image/png"))
    contact = Contact.objects.create(
        workspace=owner.workspace, name="Kim", avatar_url="https://cdn.example/kim.png"
    )
    assert emitted(avatars.copy_avatar, contact.pk, contact.avatar_url) == [
        {"type": "contact.updated", "contact_id": contact.pk}
    ]


def test_contact_merged_lists_the_conversations_and_their_event_lines(owner, inbound, emitted):
    kept = inbound("Hello", handle="ana@mail").conversation
    moved = inbound("Hi", handle="+351900").conversation
    events = emitted(
        merge_contacts, owner.workspace_id, kept.contact_id, moved.contact_id, owner.user
    )
    lines = dict(
        Message.objects.filter(kind=MessageKind.EVENT).values_list("conversation_id", "pk")
    )
    assert events == [
        {
            "type": "contact.merged",
            "contact_id": kept.contact_id,
            "merged_contact_id": moved.contact_id,
            "conversations": [
                {"id": kept.pk, "message_id": lines[kept.pk]},
                {"id": moved.pk, "message_id": lines[moved.pk]},
            ],
        }
    ]


def test_channel_status(channel, emitted):
    assert emitted(set_channel_status, channel, ChannelStatus.NEEDS_RECONNECT, "token expired") == [
        {
            "type": "channel.status",
            "channel_id": channel.pk,
            "status": "needs_reconnect",
            "error": "token expired",
        }
    ]


def test_channel_progress(channel, emitted):
    """A history import's progress, then its end (the time of the sync)."""
    assert emitted(record_import_progress, channel.pk, 1240, 3000) == [
        {
            "type": "channel.progress",
            "channel_id": channel.pk,
            "text": "Importing: 1,240 of ~3,000 messages",
            "synced_at": None,
        }
    ]
    [finished] = emitted(record_import_progress, channel.pk, 3000, 3000)
    channel.refresh_from_db()
    assert finished["text"] == "" and finished["synced_at"] == channel.last_synced_at.isoformat()
    assert emitted(record_import_progress, channel.pk, 5, 5) == []  # nothing was importing


def test_channel_progress_without_a_total(channel, emitted):
    """A provider that gives no total (Unipile): the count alone, then (done, done) ends it."""
    assert [e["text"] for e in emitted(record_import_progress, channel.pk, 0, -1)] == [
        "Importing: 0 messages so far"
    ]
    [moved] = emitted(record_import_progress, channel.pk, 1240, -1)
    assert moved["text"] == "Importing: 1,240 messages so far" and moved["synced_at"] is None
    channel.refresh_from_db()
    assert channel.import_progress == {"done": 1240, "total": None}
    [finished] = emitted(record_import_progress, channel.pk, 1300, 1300)
    channel.refresh_from_db()
    assert finished["text"] == "" and channel.import_progress is None
    assert finished["synced_at"] == channel.last_synced_at.isoformat()


def test_lead_created_and_updated(owner, inbound, emitted):
    """The CRM's own events (``crm/events.py``; its timeline lines are the CRM's tests')."""
    conversation = inbound("Hello").conversation
    converted = []
    events = emitted(
        lambda: converted.append(
            crm_actions.convert_to_lead(owner.workspace_id, conversation.pk, owner.user)
        )
    )
    lead = converted[0].lead
    assert {
        "type": "lead.created",
        "lead_id": lead.pk,
        "conversation_id": conversation.pk,
        "message_id": converted[0].event.pk,
        "stage": "new",
    } in events
    events = emitted(crm_actions.change_stage, owner.workspace_id, lead.pk, "working", owner.user)
    assert {
        "type": "lead.updated",
        "lead_id": lead.pk,
        "conversation_id": conversation.pk,
        "stage": "working",
        "user_id": owner.user.pk,
    } in events


def test_labels_on_a_conversation_and_the_workspace_list(owner, inbound, emitted):
    """Adding or removing labels tells every page which line says so; renaming or deleting
    a label tells every page to draw its labels again."""
    conversation = inbound("Hello").conversation
    urgent = labels.create_label(owner.workspace_id, "Urgent", next(iter(labels.LABEL_COLORS)))
    [event] = emitted(labels.change_labels, owner.user, conversation, add=[urgent])
    line = Message.objects.filter(conversation=conversation, kind=MessageKind.EVENT).latest("pk")
    assert "added Urgent" in line.text
    assert event == {
        "type": "conversation.labels",
        "conversation_id": conversation.pk,
        "message_id": line.pk,
    }
    assert emitted(labels.change_labels, owner.user, conversation, add=[urgent]) == []
    assert emitted(labels.update_label, urgent, "Very urgent", urgent.color) == [
        {"type": "labels.changed"}
    ]
    assert emitted(labels.delete_label, urgent) == [{"type": "labels.changed"}]


def _event_types_in(path: Path) -> set[str]:
    """The event types published in a module (``publish(workspace, "x.y", ...)``) or, in a
    test module, expected (``{"type": "x.y", ...}``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "publish":
            found.add(node.args[1].value)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "type":
                    found.add(value.value)
    return found


def test_member_availability(agent, emitted):
    from frontdesk.inbox.actions.routing import set_available

    assert emitted(set_available, agent, False) == [
        {"type": "member.availability", "user_id": agent.user_id, "available": False}
    ]


def test_every_inbox_event_type_has_a_test_here():
    """An event type added to ``inbox/events.py`` without a test above fails this."""
    declared = _event_types_in(Path(frontdesk.__file__).parent / "inbox" / "events.py")
    assert len(declared) == 15
    assert declared <= _event_types_in(Path(__file__))
