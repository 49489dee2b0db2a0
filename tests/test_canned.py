"""Canned replies: the team's list (API and Settings), and the reply box's picker with the
variables filled in for the conversation's client and the member writing."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.inbox.actions.canned import save_canned
from frontdesk.inbox.models import CannedReply
from tests.fixtures import token_client

GREETING = "Hi {{contact.first_name}}, {{agent.first_name}} from {{workspace.name}} here. {{nope}}"


def browser(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_members_add_canned_replies_through_the_api(owner, agent):
    answer = token_client(agent).post(
        "/api/v1/canned-replies",
        {"shortcut": "/Hello", "title": "Greeting", "text": GREETING},
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert answer.json() == {
        "id": answer.json()["id"],
        "shortcut": "hello",
        "title": "Greeting",
        "text": GREETING,
    }
    listed = token_client(owner).get("/api/v1/canned-replies").json()
    assert [x["shortcut"] for x in listed["items"]] == ["hello"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"shortcut": "two words", "text": "x"}, "a shortcut is 1 to 40 letters"),
        ({"shortcut": "", "text": "x"}, "a shortcut is 1 to 40 letters"),
        ({"shortcut": "ok", "text": "  "}, "needs its text"),
        ({"shortcut": "ok", "text": "x" * 5001}, "at most 5,000 characters"),
        ({"shortcut": "HELLO", "text": "again"}, "the shortcut /hello is taken"),
    ],
)
def test_a_bad_canned_reply_is_refused_with_the_reason(owner, body, says):
    save_canned(owner.workspace_id, "hello", "Greeting", GREETING)
    answer = token_client(owner).post(
        "/api/v1/canned-replies", body, content_type="application/json"
    )
    assert answer.status_code == 400
    assert says in answer.json()["detail"]
    assert CannedReply.objects.count() == 1


def test_the_picker_fills_the_variables_for_this_client_and_this_member(owner, agent, inbound):
    conversation = inbound("Hello?", handle="ana-1", contact_name="Ana Lima").conversation
    save_canned(owner.workspace_id, "hello", "Greeting", GREETING)
    items = browser(agent).get(f"/c/{conversation.pk}/canned").json()["items"]
    assert items == [
        {
            "shortcut": "hello",
            "title": "Greeting",
            # an unknown variable stays as typed, for the member to see before sending
            "text": "Hi Ana, Agnes from Acme here. {{nope}}",
        }
    ]


def test_canned_replies_never_cross_workspaces(owner, rival, inbound):
    conversation = inbound("Hello?", handle="ana-1", contact_name="Ana Lima").conversation
    ours = save_canned(owner.workspace_id, "hello", "Greeting", GREETING)
    save_canned(rival.workspace_id, "hello", "Theirs", "Their text")  # same shortcut: fine
    listed = token_client(rival).get("/api/v1/canned-replies").json()["items"]
    assert [x["text"] for x in listed] == ["Their text"]
    page = browser(rival)
    assert page.get(f"/c/{conversation.pk}/canned").status_code == 404
    answer = page.post(
        "/settings/canned/", {"action": "delete", "canned": ours.pk, "shortcut": "", "text": ""}
    )
    assert answer.status_code == 404
    assert CannedReply.objects.filter(pk=ours.pk).exists()


def test_the_settings_page_adds_edits_and_deletes_keeping_what_was_typed(owner, agent):
    page = browser(agent)
    answer = page.post(
        "/settings/canned/",
        {"action": "create", "shortcut": "refund", "title": "Refunds", "text": "Within 30 days."},
        follow=True,
    )
    assert "/refund saved." in answer.content.decode()
    row = CannedReply.objects.get()
    assert (row.shortcut, row.title, row.text, row.created_by) == (
        "refund",
        "Refunds",
        "Within 30 days.",
        agent.user,
    )
    # a refused change comes back with the words and the text typed
    answer = page.post(
        "/settings/canned/",
        {"action": "update", "canned": row.pk, "shortcut": "re fund", "title": "", "text": "New"},
        follow=True,
    )
    html = answer.content.decode()
    assert "A shortcut is 1 to 40 letters" in html
    assert 'value="re fund"' in html and ">New</textarea>" in html
    page.post(
        "/settings/canned/",
        {"action": "update", "canned": row.pk, "shortcut": "refunds", "title": "", "text": "New"},
    )
    row.refresh_from_db()
    assert (row.shortcut, row.title, row.text) == ("refunds", "refunds", "New")
    shown = page.get("/settings/canned/").content.decode()
    assert "<code>{{contact.first_name}}</code>" in shown  # the variables are documented
    page.post("/settings/canned/", {"action": "delete", "canned": row.pk})
    assert not CannedReply.objects.exists()
