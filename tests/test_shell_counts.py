"""The sidebar's numbers (unread conversations per view and channel, the bell's, the due
follow-ups') come from one statement per page, each count by the same rule as the lists it
stands for, stopping at the cap, and each read through an index on both databases."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.core.counts import capped_counts
from frontdesk.crm.actions.followups import create_followup
from frontdesk.crm.queries.followups import due_select
from frontdesk.inbox import queries
from frontdesk.inbox.actions.conversation import assign, mark_read, set_status
from frontdesk.inbox.actions.notifications import notify
from frontdesk.inbox.models import Conversation, ConversationRead
from tests.fixtures import session_client
from tests.test_crm_query_plans import plan


def unread_by_the_list_rule(member, **bucket) -> int:
    """What the conversation list shows as unread (``unread_expression``), counted."""
    return (
        Conversation.objects.filter(
            workspace_id=member.workspace_id, status__in=queries.ACTIVE_STATUSES, **bucket
        )
        .filter(queries.unread_expression(member.user_id))
        .count()
    )


@pytest.mark.django_db
def test_the_counts_follow_the_lists_unread_rule(owner, agent, rival, inbound, channel):
    convs = [inbound(f"hello {n}", handle=f"client-{n}").conversation for n in range(7)]
    assign(owner.user, convs[0], owner.user)
    assign(owner.user, convs[1], owner.user)
    assign(owner.user, convs[2], agent.user)
    mark_read(owner.user, convs[1])  # read: not counted for the owner
    mark_read(agent.user, convs[3])  # the agent's read mark says nothing of the owner's
    set_status(owner.user, convs[4], "resolved")  # resolved: not counted
    mark_read(owner.user, convs[5])
    inbound("one more thing", handle="client-5")  # a newer message: unread again
    ConversationRead.objects.filter(conversation=convs[6], user=owner.user).delete()
    counts = queries.unread_counts(owner.workspace_id, owner.user_id)
    assert counts == {"all": 5, "mine": 1, "unassigned": 3, str(channel.pk): 5}
    assert counts["all"] == unread_by_the_list_rule(owner)
    assert counts["mine"] == unread_by_the_list_rule(owner, assignee_id=owner.user_id)
    assert counts["unassigned"] == unread_by_the_list_rule(owner, assignee__isnull=True)
    agents = queries.unread_counts(agent.workspace_id, agent.user_id)
    assert agents["all"] == unread_by_the_list_rule(agent) == 5  # 3 read by the agent, 4 gone
    assert queries.unread_counts(rival.workspace_id, rival.user_id) == {
        "all": 0,
        "mine": 0,
        "unassigned": 0,
    }


@pytest.mark.django_db
def test_each_count_stops_past_the_cap(owner, inbound, channel):
    for n in range(5):
        inbound("hi", handle=f"client-{n}")
    counts = queries.unread_counts(owner.workspace_id, owner.user_id, cap=2)
    assert counts == {"all": 3, "mine": 0, "unassigned": 3, str(channel.pk): 3}


@pytest.mark.django_db
def test_a_page_asks_every_sidebar_number_in_one_statement(owner, agent, inbound, channel):
    conv = inbound("Can you call me?", handle="client-1").conversation
    assign(agent.user, conv, owner.user)  # an assignment: the bell says 1
    due = timezone.now() - timedelta(minutes=5)
    create_followup(owner.workspace_id, owner.user, due, "Call back", conversation_id=conv.pk)
    client = session_client(owner)
    for path in ("/", "/contacts/", "/settings/profile/"):
        with CaptureQueriesContext(connection) as captured:
            page = client.get(path).content.decode()
        counting = [q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"]]
        assert len(counting) == 1, (path, counting)
        assert 'id="bell-count">1</span>' in page, path
        assert 'data-count="followups" title="due now">1</span>' in page, path
        assert 'data-count="all">1</span>' in page, path


@pytest.mark.django_db
def test_every_sidebar_count_reads_an_index(owner, inbound, channel):
    """The counts' own statement, as a page runs it, explained: no table read whole; the
    member's read mark looked up by ``one_read_state`` for each conversation count, the bell
    through ``notif_unread``. SQLite takes the index that matches each count (status, the
    assignee, the channel; ``followup_mine`` for the due follow-ups); PostgreSQL, with
    sequential scans priced out and a few rows, may take any index of the workspace there."""
    conv = inbound("hi", handle="client-1").conversation
    notify(owner.workspace_id, owner.user_id, "assigned", "x", conversation_id=conv.pk)
    selects = queries.unread_selects(owner.workspace_id, owner.user_id, [channel.pk])
    selects["bell"] = queries.unread_notifications_select(owner.workspace_id, owner.user_id)
    selects["followups"] = due_select(owner.workspace_id, owner.user_id)
    with CaptureQueriesContext(connection) as captured:
        capped_counts(selects, 99)
    (sql,) = [q["sql"] for q in captured.captured_queries]
    explained = plan(sql)
    full_scan = r"Seq Scan|SCAN (c|inbox_conversation|inbox_notification|crm_followup)\b"
    assert not re.search(full_scan, explained), explained
    read_mark = "one_read_state" if connection.vendor == "postgresql" else "conversationread_1"
    assert explained.count(read_mark) == 4, explained
    assert "notif_unread" in explained
    if connection.vendor == "sqlite":
        for index in ("conv_ws_status_recent", "conv_ws_assignee", "conv_ws_channel"):
            assert index in explained
        assert "followup_mine" in explained
