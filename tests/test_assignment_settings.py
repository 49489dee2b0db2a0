"""Settings > Assignment: owners and admins set each channel's auto-assignment and the
workspace's assign-on-reply; agents get 403; bad input is refused in words, nothing saved."""

from __future__ import annotations

import pytest

from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, Conversation
from frontdesk.workspaces.models import Role, Workspace
from frontdesk.workspaces.services import add_member
from tests.fixtures import PASSWORD, make_api_channel
from tests.test_web import login

URL = "/settings/assignment/"


@pytest.fixture
def admin(owner):
    return add_member(owner.workspace, "admin@acme.test", PASSWORD, role=Role.ADMIN, name="Ada")


def rule(channel) -> dict:
    return ChannelAccount.objects.get(pk=channel.pk).auto_assign


def test_an_agent_gets_403_and_no_link(agent, channel):
    client = login(agent)
    assert client.get(URL).status_code == 403
    answer = client.post(URL, {"channel": channel.pk, "mode": "round_robin", "who": "all"})
    assert answer.status_code == 403
    assert rule(channel) == {}
    assert client.post(URL, {"action": "reply"}).status_code == 403
    assert Workspace.objects.get(pk=agent.workspace_id).assign_on_reply is True
    assert b"/settings/assignment/" not in client.get("/settings/").content


def test_off_by_default_and_an_admin_turns_it_on(admin, agent, channel, inbound):
    client = login(admin)
    page = client.get(URL).content.decode()
    assert "/settings/assignment/" in client.get("/settings/").content.decode()
    assert 'name="mode" value="off" checked' in page
    assert 'name="assign_on_reply" value="1" checked' in page
    assert Conversation.objects.get(pk=inbound("Hi", handle="a").conversation.pk).assignee is None

    answer = client.post(
        URL,
        {
            "channel": channel.pk,
            "mode": "round_robin",
            "who": "chosen",
            "members": [agent.user_id],
            "cap": "2",
        },
    )
    assert answer.status_code == 302 and answer["Location"].endswith(f"#channel-{channel.pk}")
    assert rule(channel)["mode"] == "round_robin"
    assert rule(channel)["member_ids"] == [agent.user_id]
    assert rule(channel)["cap"] == 2
    page = client.get(URL).content.decode()
    assert "auto-assignment saved" in page
    assert 'name="mode" value="round_robin" checked' in page
    assert f'name="members" value="{agent.user_id}" checked' in page
    assert f'name="members" value="{admin.user_id}" checked' not in page
    fresh = ChannelAccount.objects.get(pk=channel.pk)  # as a webhook would load it
    got = [
        Conversation.objects.get(
            pk=inbound("Hi", handle=f"n{n}", via=fresh).conversation.pk
        ).assignee_id
        for n in range(3)
    ]
    assert got == [agent.user_id, agent.user_id, None]  # the cap of 2

    # Back to every member, fewest open, no cap.
    client.post(URL, {"channel": channel.pk, "mode": "least_open", "who": "all", "cap": ""})
    assert rule(channel)["mode"] == "least_open"
    assert rule(channel)["member_ids"] is None and rule(channel)["cap"] is None


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"mode": "sometimes", "who": "all"}, "mode must be one of off, round_robin, least_open"),
        ({"mode": "round_robin", "who": "all", "cap": "0"}, "The cap must be a whole number"),
        ({"mode": "round_robin", "who": "all", "cap": "-3"}, "The cap must be a whole number"),
        ({"mode": "round_robin", "who": "all", "cap": "many"}, "The cap must be a whole number"),
        ({"mode": "round_robin", "who": "chosen"}, "Tick at least one member"),
        (
            {"mode": "round_robin", "who": "chosen", "members": ["99999"]},
            "Not members of this workspace: [99999]",
        ),
    ],
)
def test_bad_settings_are_refused_in_words(admin, channel, form, says):
    client = login(admin)
    answer = client.post(URL, {"channel": channel.pk, **form}, follow=True)
    assert answer.status_code == 200
    assert says in answer.content.decode()
    assert rule(channel) == {}


def test_another_workspaces_channel_is_not_found(admin, rival, callback):
    theirs = make_api_channel(rival, callback.url)
    answer = login(admin).post(URL, {"channel": theirs.pk, "mode": "round_robin", "who": "all"})
    assert answer.status_code == 404
    assert rule(theirs) == {}


def test_assign_on_reply_is_switched_here(admin, agent, inbound):
    client = login(admin)
    client.post(URL, {"action": "reply"})  # the box unticked
    assert Workspace.objects.get(pk=admin.workspace_id).assign_on_reply is False
    assert 'name="assign_on_reply" value="1">' in client.get(URL).content.decode()
    conversation = inbound("Hello").conversation
    queue_reply(agent.user, conversation, "Hi!")
    assert Conversation.objects.get(pk=conversation.pk).assignee is None
    client.post(URL, {"action": "reply", "assign_on_reply": "1"})
    assert Workspace.objects.get(pk=admin.workspace_id).assign_on_reply is True
    other = inbound("Hello", handle="other").conversation
    queue_reply(agent.user, other, "Hi!")
    assert Conversation.objects.get(pk=other.pk).assignee_id == agent.user_id
