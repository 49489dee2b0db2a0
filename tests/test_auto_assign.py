"""Auto-assignment per channel (round robin, least open, a cap, chosen members, the
returning client's previous assignee), availability, and the API that sets them."""

from __future__ import annotations

from collections import Counter

import pytest

from frontdesk.connectors.base import InboundMessage
from frontdesk.inbox.actions.conversation import assign, set_status
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.actions.routing import set_auto_assign, set_available
from frontdesk.inbox.models import Conversation, Message, MessageKind, Notification
from frontdesk.workspaces.models import Role
from frontdesk.workspaces.services import add_member
from tests.fixtures import PASSWORD, make_api_channel, token_client
from tests.test_ingest import race
from tests.test_web import HX, login


@pytest.fixture
def third(owner):
    return add_member(owner.workspace, "third@acme.test", PASSWORD, role=Role.AGENT, name="Tia")


def assignee_of(result) -> int | None:
    return Conversation.objects.get(pk=result.conversation.pk).assignee_id


def test_off_by_default(inbound):
    assert assignee_of(inbound("Hi")) is None


def test_round_robin_takes_available_members_in_turn(channel, inbound, owner, agent, third):
    set_auto_assign(channel, {"mode": "round_robin"})
    got = [assignee_of(inbound("Hi", handle=f"c{n}")) for n in range(4)]
    people = sorted([owner.user_id, agent.user_id, third.user_id])
    assert got == [people[0], people[1], people[2], people[0]]
    # Tia goes away: she is skipped until she is back.
    set_available(third, False)
    got = [assignee_of(inbound("Hi", handle=f"d{n}")) for n in range(3)]
    assert third.user_id not in got
    # The assignee is told, and the thread says it was automatic.
    result = inbound("Hi", handle="e1")
    line = Message.objects.filter(conversation=result.conversation, kind=MessageKind.EVENT).get()
    assert line.text.endswith("automatically") and line.author_user_id is None
    assert Notification.objects.filter(
        user_id=assignee_of(result), conversation=result.conversation, kind="assigned"
    ).exists()
    # A new message in a conversation someone owns changes nothing.
    again = inbound("Me again", handle="e1")
    assert assignee_of(again) == assignee_of(result)
    assert (
        Message.objects.filter(conversation=result.conversation, kind=MessageKind.EVENT).count()
        == 1
    )


def test_least_open_and_the_cap_and_chosen_members(channel, inbound, owner, agent, third):
    set_auto_assign(
        channel, {"mode": "least_open", "member_ids": [agent.user_id, third.user_id], "cap": 2}
    )
    got = Counter(assignee_of(inbound("Hi", handle=f"c{n}")) for n in range(5))
    # Two each, then nobody may take more: the fifth waits unassigned; the owner is not chosen.
    assert got == {agent.user_id: 2, third.user_id: 2, None: 1}
    # Resolving one frees a place for the next.
    mine = Conversation.objects.filter(assignee_id=agent.user_id).first()
    set_status(agent.user, mine, "resolved")
    assert assignee_of(inbound("Hi", handle="late")) == agent.user_id


def test_a_returning_client_goes_back_to_their_previous_assignee(
    channel, inbound, owner, agent, third
):
    first = inbound("Hi", handle="ana", thread_key="t1")
    assign(owner.user, first.conversation, third.user)
    set_auto_assign(channel, {"mode": "round_robin"})
    second = inbound("Hi again, new topic", handle="ana", thread_key="t2")
    assert second.conversation.pk != first.conversation.pk
    assert assignee_of(second) == third.user_id
    # Away: the rule decides instead.
    set_available(third, False)
    third_topic = inbound("One more", handle="ana", thread_key="t3")
    assert assignee_of(third_topic) not in (None, third.user_id)


@pytest.mark.django_db(transaction=True)
def test_concurrent_arrivals_never_share_a_conversation_nor_pass_the_cap(owner, agent, callback):
    """Twelve new clients at once (each thread its own connection), a cap of 3 for two
    members: exactly six assigned, three each, one automatic assignment per conversation."""
    channel = make_api_channel(owner, callback.url)
    set_auto_assign(channel, {"mode": "round_robin", "cap": 3})

    def arrive(n: int) -> None:
        ingest(channel, InboundMessage(provider_id=f"p{n}", handle=f"client-{n}", text="Hi"))

    assert race(12, arrive) == []
    counts = Counter(Conversation.objects.values_list("assignee_id", flat=True))
    assert counts == {owner.user_id: 3, agent.user_id: 3, None: 6}
    lines = Counter(
        Message.objects.filter(kind=MessageKind.EVENT).values_list("conversation_id", flat=True)
    )
    assert sorted(lines.values()) == [1] * 6


def test_the_api_sets_auto_assignment_and_availability(api, channel, owner, agent, rival, callback):
    url = f"/api/v1/channels/{channel.pk}"
    r = api.patch(
        url,
        data={"auto_assign": {"mode": "least_open", "cap": 5, "member_ids": [agent.user_id]}},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["auto_assign"] == {
        "mode": "least_open",
        "cap": 5,
        "member_ids": [agent.user_id],
    }
    assert api.get("/api/v1/channels").json()["items"][0]["auto_assign"]["mode"] == "least_open"
    bad = [
        ({"auto_assign": {"mode": "random"}}, 422),
        ({"auto_assign": {"mode": "round_robin", "cap": 0}}, 422),
        ({"auto_assign": {"mode": "round_robin", "member_ids": [rival.user_id]}}, 400),
    ]
    for body, code in bad:
        assert api.patch(url, data=body, content_type="application/json").status_code == code, body
    agent_api = token_client(agent)
    off = {"auto_assign": {"mode": "off"}}
    assert agent_api.patch(url, data=off, content_type="application/json").status_code == 403
    theirs = make_api_channel(rival, callback.url, name="Theirs")
    assert (
        api.patch(
            f"/api/v1/channels/{theirs.pk}", data=off, content_type="application/json"
        ).status_code
        == 404
    )
    # PATCH /me: away, then available again.
    r = agent_api.patch("/api/v1/me", data={"available": False}, content_type="application/json")
    assert r.status_code == 200 and r.json()["available"] is False
    assert agent_api.get("/api/v1/me").json()["available"] is False
    agent.refresh_from_db()
    assert agent.available is False


def test_the_sidebar_switch_sets_availability(agent):
    web = login(agent)
    page = web.get("/").content.decode()
    assert 'class="tm-avail is-available"' in page
    r = web.post("/me/availability", {"available": "0"}, headers=HX)
    assert r.status_code == 200 and "Away" in r.content.decode()
    agent.refresh_from_db()
    assert agent.available is False
    r = web.post("/me/availability", {"available": "1"}, HTTP_REFERER="http://evil.test/")
    assert r.status_code == 302 and r["Location"] == "/"
    agent.refresh_from_db()
    assert agent.available is True
