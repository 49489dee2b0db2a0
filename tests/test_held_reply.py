"""Held replies: a reply written without seeing what came since is held, not sent; a reply
to a conversation nobody owns makes it the replier's."""

from __future__ import annotations

import pytest

from frontdesk.inbox.actions.send import add_note, queue_reply
from frontdesk.inbox.errors import ReplyHeld
from frontdesk.inbox.models import Conversation, Message, MessageKind
from tests.fixtures import make_api_channel, token_client
from tests.test_api import post_json
from tests.test_ingest import race
from tests.test_web import HX, login


def replies(conversation: Conversation) -> list[Message]:
    return list(
        Message.objects.filter(
            conversation=conversation, kind=MessageKind.MESSAGE, direction="outbound"
        )
    )


def url(conversation: Conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}/messages"


def test_a_reply_after_the_newest_message_goes(api, inbound):
    first = inbound("Hi, where is my order?")
    r = post_json(
        api, url(first.conversation), {"text": "On its way", "after_message_id": first.message.pk}
    )
    assert r.status_code == 201, r.content
    assert [m.text for m in replies(first.conversation)] == ["On its way"]


def test_a_newer_client_message_a_teammate_reply_or_note_holds_the_reply(api, inbound, agent):
    first = inbound("Hi, where is my order?")
    conversation = first.conversation
    second = inbound("Also, can I change the address?")
    r = post_json(
        api, url(conversation), {"text": "On its way", "after_message_id": first.message.pk}
    )
    assert r.status_code == 409, r.content
    body = r.json()
    assert "1 new message arrived" in body["detail"]
    assert [(m["id"], m["direction"], m["text"]) for m in body["newer"]] == [
        (second.message.pk, "inbound", "Also, can I change the address?")
    ]
    assert replies(conversation) == []  # nothing queued
    # A teammate's reply and note are newer too; the member's own note is not.
    own = post_json(api, url(conversation), {"text": "checking", "kind": "note"}).json()
    theirs = queue_reply(agent.user, conversation, "I'll take it")
    note = add_note(agent.user, conversation, "address is in the CRM")
    r = post_json(api, url(conversation), {"text": "x", "after_message_id": second.message.pk})
    assert r.status_code == 409
    assert [m["id"] for m in r.json()["newer"]] == [theirs.pk, note.pk]
    assert own["id"] not in [m["id"] for m in r.json()["newer"]]
    # Seen now: sent with the newest one, it goes; without after_message_id as before.
    r = post_json(api, url(conversation), {"text": "Done", "after_message_id": note.pk})
    assert r.status_code == 201, r.content
    assert post_json(api, url(conversation), {"text": "And more"}).status_code == 201


def test_another_workspaces_conversation_is_404_held_or_not(api, inbound, rival, callback):
    first = inbound("Hi")
    r = post_json(
        token_client(rival), url(first.conversation), {"text": "x", "after_message_id": 0}
    )
    assert r.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_members_replying_at_the_same_instant_one_is_held_for_the_other(owner, agent, callback):
    """Real concurrent requests (each thread its own connection): the conversation's row
    lock orders them, so exactly one reply is queued and the other is held for it."""
    from frontdesk.connectors.base import InboundMessage
    from frontdesk.inbox.actions.ingest import ingest

    channel = make_api_channel(owner, callback.url)
    for round_ in range(3):
        first = ingest(
            channel, InboundMessage(provider_id=f"r{round_}", handle=f"c{round_}", text="Hello?")
        )
        conversation = first.conversation
        members = [owner, agent]
        answers: list = [None, None]

        def send(n: int, first=first, conversation=conversation, members=members, answers=answers):
            answers[n] = post_json(
                token_client(members[n]),
                url(conversation),
                {"text": f"answer from {n}", "after_message_id": first.message.pk},
            )

        assert race(2, send) == []
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409], [a.content for a in answers]
        sent = replies(conversation)
        assert len(sent) == 1
        held = next(a for a in answers if a.status_code == 409).json()
        assert [m["id"] for m in held["newer"]] == [sent[0].pk]


def test_replying_to_an_unassigned_conversation_assigns_it_to_the_replier(
    api, inbound, owner, agent
):
    conversation = inbound("Hi").conversation
    queue_reply(agent.user, conversation, "Hello!")
    conversation.refresh_from_db()
    assert conversation.assignee_id == agent.user.pk
    # Owned already: a teammate's reply leaves the owner.
    queue_reply(owner.user, conversation, "Hi from me too")
    conversation.refresh_from_db()
    assert conversation.assignee_id == agent.user.pk
    # The workspace turns it off: nobody is assigned by a reply.
    owner.workspace.assign_on_reply = False
    owner.workspace.save()
    other = inbound("Hi", handle="client-2").conversation
    queue_reply(agent.user, other, "Hello!")
    other.refresh_from_db()
    assert other.assignee_id is None


def test_a_held_reply_is_never_assigned(agent, inbound):
    first = inbound("Hi")
    inbound("Hello??")
    with pytest.raises(ReplyHeld):
        queue_reply(agent.user, first.conversation, "Hi", after_message_id=first.message.pk)
    first.conversation.refresh_from_db()
    assert first.conversation.assignee_id is None


def test_the_web_reply_is_held_with_the_new_messages_and_the_text_kept(owner, inbound):
    first = inbound("Hi, where is my order?")
    conversation = first.conversation
    web = login(owner)
    page = web.get(f"/c/{conversation.pk}/").content.decode()
    assert f'name="after_message_id" value="{first.message.pk}"' in page
    second = inbound("Hello??")
    r = web.post(
        f"/c/{conversation.pk}/reply",
        {"text": "On its way", "mode": "reply", "after_message_id": str(first.message.pk)},
        headers=HX,
    )
    assert r.status_code == 409
    assert r["HX-Retarget"] == "#reply-form [data-composer-notices]"
    html = r.content.decode()
    assert "Hello??" in html and "Send anyway" in html
    assert f'data-newest="{second.message.pk}"' in html
    assert replies(conversation) == []
    # Without JavaScript: back to the thread, the text still in the box, the choice explained.
    r = web.post(
        f"/c/{conversation.pk}/reply",
        {"text": "On its way", "mode": "reply", "after_message_id": str(first.message.pk)},
    )
    assert r.status_code == 302
    page = web.get(r["Location"]).content.decode()
    assert "On its way</textarea>" in page and "Send again to send anyway" in page
    assert f'name="after_message_id" value="{second.message.pk}"' in page
    # Notes are never held.
    r = web.post(
        f"/c/{conversation.pk}/reply",
        {"text": "fyi", "mode": "note", "after_message_id": str(first.message.pk)},
        headers=HX,
    )
    assert r.status_code == 200
