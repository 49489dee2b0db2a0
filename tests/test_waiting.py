"""The "Waiting longest" view: conversations whose newest message is the client's, the
longest waiting first, with how long they have waited; a reply takes one off the list."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from frontdesk.inbox.actions.conversation import set_status
from frontdesk.inbox.actions.send import add_note, queue_reply
from frontdesk.inbox.models import Conversation
from tests.fixtures import token_client


def ago(**kw) -> object:
    return timezone.now() - timedelta(**kw)


def web(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_the_client_writing_last_waits_from_their_first_unanswered_message(owner, inbound):
    asked = inbound("Hello?", handle="ana", contact_name="Ana", sent_at=ago(hours=3)).message
    first = asked.conversation
    inbound("Anyone there?", handle="ana", sent_at=ago(hours=1))
    first.refresh_from_db()
    assert first.waiting_since == asked.created_at
    # An internal note is not an answer; a reply is.
    add_note(owner.user, first, "I'll take it")
    first.refresh_from_db()
    assert first.waiting_since is not None
    queue_reply(owner.user, first, "Here now!")
    first.refresh_from_db()
    assert first.waiting_since is None
    # The client writes again: a new wait starts at that message.
    again = inbound("Thanks, one more thing", handle="ana").conversation
    again.refresh_from_db()
    assert timezone.now() - again.waiting_since < timedelta(minutes=1)


def test_an_older_message_from_a_history_import_does_not_start_a_wait(owner, inbound):
    conversation = inbound("Hi", handle="bo", sent_at=ago(hours=2)).conversation
    queue_reply(owner.user, conversation, "Hello Bo")
    inbound("An old one", handle="bo", sent_at=ago(days=3))
    conversation.refresh_from_db()
    assert conversation.waiting_since is None


def test_our_message_sent_from_elsewhere_ends_the_wait(inbound):
    conversation = inbound("Hi", handle="cy").conversation
    inbound("Answered from the phone", handle="cy", outbound=True)
    conversation.refresh_from_db()
    assert conversation.waiting_since is None


def test_a_resolved_conversations_old_wait_is_over_when_the_client_writes_again(owner, inbound):
    conversation = inbound("Thanks, all good", handle="di", sent_at=ago(days=2)).conversation
    set_status(owner.user, conversation, "resolved")
    inbound("New question", handle="di")
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert timezone.now() - conversation.waiting_since < timedelta(minutes=1)


def test_the_view_lists_the_longest_waiting_first_and_says_for_how_long(owner, agent, inbound):
    inbound("Two hours", handle="two", contact_name="Two Hours", sent_at=ago(hours=2, minutes=5))
    inbound("Five min", handle="five", contact_name="Five Minutes", sent_at=ago(minutes=5))
    inbound("Three days", handle="three", contact_name="Three Days", sent_at=ago(days=3))
    answered = inbound("Answered", handle="ans", contact_name="Answered", sent_at=ago(days=9))
    queue_reply(owner.user, answered.conversation, "Done")
    resolved = inbound("Gone", handle="gone", contact_name="Resolved One", sent_at=ago(days=9))
    set_status(owner.user, resolved.conversation, "resolved")

    page = web(agent).get("/?view=waiting")
    assert page.status_code == 200
    html = page.content.decode()
    order = [html.index(name) for name in ("Three Days", "Two Hours", "Five Minutes")]
    assert order == sorted(order)
    assert "Answered" not in html and "Resolved One" not in html
    assert "waiting 3 d" in html and "waiting 2 h" in html and "waiting 5 min" in html
    assert '<h1 id="list-title">Waiting longest</h1>' in html
    assert 'data-view="waiting"' in html  # the sidebar's link
    # The same as a filter on another list (here: Mine is empty, Unassigned has all three).
    mine = web(agent).get("/?view=mine&waiting=1").content.decode()
    assert "Three Days" not in mine
    unassigned = web(agent).get("/?view=unassigned&waiting=1").content.decode()
    assert "Three Days" in unassigned and "Answered" not in unassigned


def test_the_view_pages_oldest_first(owner, inbound):
    for n in range(5):
        inbound(f"m{n}", handle=f"h{n}", contact_name=f"Client {n}", sent_at=ago(hours=10 - n))
    api = token_client(owner)
    seen, cursor = [], None
    while True:
        page = api.get(
            "/api/v1/conversations",
            {"waiting": "true", "limit": 2, **({"cursor": cursor} if cursor else {})},
        ).json()
        seen += [c["contact"]["name"] for c in page["items"]]
        assert all(c["waiting_since"] for c in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"Client {n}" for n in range(5)]


def test_a_reply_takes_the_row_out_of_the_live_list(owner, inbound):
    conversation = inbound("Hello?", handle="ed", contact_name="Ed").conversation
    client = web(owner)
    row = client.get(f"/c/{conversation.pk}/row?view=waiting")
    assert row.status_code == 200 and b"waiting 1 min" in row.content
    queue_reply(owner.user, conversation, "Hi Ed")
    assert client.get(f"/c/{conversation.pk}/row?view=waiting").status_code == 204
    assert Conversation.objects.get(pk=conversation.pk).waiting_since is None


def test_another_workspaces_conversations_never_show(owner, rival, inbound):
    inbound("Mine", handle="x", contact_name="Acme Client")
    assert b"Acme Client" not in web(rival).get("/?view=waiting").content
    items = token_client(rival).get("/api/v1/conversations?waiting=true").json()["items"]
    assert items == []
