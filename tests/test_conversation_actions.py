"""Assigning, status changes, snoozing and per-member read state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from frontdesk.inbox import queries
from frontdesk.inbox.actions.conversation import assign, mark_read, set_status, wake_snoozed
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import Conversation, Message


@pytest.fixture
def conversation(inbound):
    return inbound("Hi!", handle="client-1").conversation


def events(conversation) -> list[str]:
    return list(
        Message.objects.filter(conversation=conversation, kind="event")
        .order_by("id")
        .values_list("text", flat=True)
    )


def test_assign_leaves_a_quiet_event_line(owner, agent, conversation):
    assign(owner.user, conversation, agent.user)
    assign(owner.user, conversation, agent.user)  # no change, no second line
    assign(agent.user, conversation, agent.user)  # already theirs
    assign(owner.user, conversation, owner.user)
    assign(owner.user, conversation, None)
    assert events(conversation) == [
        "owner assigned this to Agnes Agent",
        "owner took this conversation",
        "owner unassigned this conversation",
    ]
    assert Conversation.objects.get().assignee is None


def test_cannot_assign_to_a_stranger(owner, rival, conversation):
    with pytest.raises(ActionRefused):
        assign(owner.user, conversation, rival.user)
    assert Conversation.objects.get().assignee is None


def test_cannot_assign_to_a_deactivated_member(owner, agent, conversation):
    agent.user.is_active = False
    agent.user.save()
    with pytest.raises(ActionRefused):
        assign(owner.user, conversation, agent.user)
    assert Conversation.objects.get().assignee is None


def test_status_changes_and_snooze_wake_up(owner, conversation):
    set_status(owner.user, conversation, "resolved")
    set_status(owner.user, conversation, "open")
    until = timezone.now() + timedelta(hours=3)
    set_status(owner.user, conversation, "snoozed", until)
    assert wake_snoozed() == 0  # not yet
    Conversation.objects.filter(pk=conversation.pk).update(
        snoozed_until=timezone.now() - timedelta(seconds=1)
    )
    assert wake_snoozed() == 1
    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until) == ("open", None)
    texts = events(conversation)
    assert texts[0] == "owner resolved this conversation"
    assert texts[1] == "owner reopened this conversation"
    assert texts[2].startswith("owner snoozed this conversation until ")


def test_unknown_status_and_past_snooze_are_refused(owner, conversation):
    with pytest.raises(ActionRefused):
        set_status(owner.user, conversation, "archived")
    with pytest.raises(ActionRefused):
        set_status(owner.user, conversation, "snoozed", timezone.now() - timedelta(minutes=1))


def test_reading_marks_read_for_that_member_only(owner, agent, inbound, conversation):
    def unread_ids(member):
        page = queries.conversations(
            member.workspace_id, member.user_id, queries.ConversationFilter(unread_only=True)
        )
        return [c.pk for c in page.items]

    assert unread_ids(owner) == unread_ids(agent) == [conversation.pk]
    mark_read(owner.user, conversation)
    assert unread_ids(owner) == []
    assert unread_ids(agent) == [conversation.pk]
    inbound("one more thing", handle="client-1")
    assert unread_ids(owner) == [conversation.pk]  # a new inbound message makes it unread again


def test_unread_counts_per_view_and_channel(owner, agent, inbound, channel):
    a = inbound("a", handle="a").conversation
    inbound("b", handle="b")
    assign(owner.user, a, owner.user)
    counts = queries.unread_counts(owner.workspace_id, owner.user_id)
    assert (counts["all"], counts["mine"], counts["unassigned"], counts[str(channel.pk)]) == (
        2,
        1,
        1,
        2,
    )
    mark_read(owner.user, a)
    assert queries.unread_counts(owner.workspace_id, owner.user_id)["mine"] == 0


def test_list_queries_do_not_grow_with_rows(owner, inbound, django_assert_max_num_queries):
    for i in range(30):
        inbound(f"m{i}", handle=f"h{i}")
    with django_assert_max_num_queries(3):  # conversations, their contacts' handles, labels
        page = queries.conversations(
            owner.workspace_id, owner.user_id, queries.ConversationFilter(), limit=25
        )
        [c.contact.display_name for c in page.items]
        [c.channel.name for c in page.items]
    assert len(page.items) == 25 and page.next_cursor


def test_a_snooze_line_reads_in_each_members_own_zone(owner, agent, conversation):
    from datetime import UTC, datetime

    from django.test import Client

    owner.user.time_zone = "Asia/Tokyo"
    owner.user.save(update_fields=["time_zone"])
    agent.user.time_zone = "America/New_York"
    agent.user.save(update_fields=["time_zone"])
    until = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)
    set_status(owner.user, conversation, "snoozed", until)

    def line(member) -> str:
        client = Client()
        client.force_login(member.user)
        html = client.get(f"/c/{conversation.pk}/").content.decode()
        return next(part for part in html.split('class="event"')[1:] if "snoozed" in part)

    # 09:00 UTC is 18:00 in Tokyo and 04:00 in New York; the API keeps the UTC text.
    assert "snoozed this conversation until Jan 15, 2030, 6:00\u202fPM JST<" in line(owner)
    assert "snoozed this conversation until Jan 15, 2030, 4:00\u202fAM EST<" in line(agent)
    assert events(conversation)[-1].endswith("until 2030-01-15 09:00 UTC")
