"""Full-text search: messages, notes, subjects and contacts are found, newest first, with
highlighted snippets; the index follows every write; one workspace never sees another's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from frontdesk.crm.actions.contacts import delete_contacts, update_contact
from frontdesk.inbox import search as inbox_search
from frontdesk.inbox.actions.contacts import merge_contacts
from frontdesk.inbox.actions.conversation import assign, set_status
from frontdesk.inbox.actions.labels import create_label, set_labels
from frontdesk.inbox.actions.send import add_note, queue_reply
from frontdesk.inbox.models import Contact, Conversation
from frontdesk.inbox.search import SearchFilter
from tests.fixtures import make_api_channel, token_client

DAY = timedelta(days=1)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def found(membership, q: str, flt: SearchFilter | None = None, limit: int = 50) -> list:
    """(conversation id, message id or None) of every hit, following the cursor."""
    out, cursor = [], None
    while True:
        page = inbox_search.search(
            membership.workspace_id, membership.user_id, q, flt, cursor, limit
        )
        out += [(h.conversation.pk, h.message.pk if h.message else None) for h in page.items]
        if not page.next_cursor:
            return out
        cursor = page.next_cursor


def texts(membership, q: str, **kw) -> list[str]:
    page = inbox_search.search(membership.workspace_id, membership.user_id, q, SearchFilter(**kw))
    return [
        h.message.text if h.message else f"contact:{h.conversation.contact.name}"
        for h in page.items
    ]


def test_a_word_finds_the_message_that_holds_it_newest_first_with_the_word_marked(owner, inbound):
    inbound("Could you send me the invoice for October?", sent_at=T0, contact_name="Mia Chen")
    inbound("Thanks! Also the invoices <b>for</b> November", sent_at=T0 + DAY, handle="c2")
    inbound("Nothing to see here", sent_at=T0 + 2 * DAY, handle="c3")
    page = inbox_search.search(owner.workspace_id, owner.user_id, "Invoice")
    assert [h.message.text[:12] for h in page.items] == ["Thanks! Also", "Could you se"]
    # Every word of the text is escaped; only the words found are marked.
    assert page.items[0].snippet == (
        "Thanks! Also the <mark>invoices</mark> &lt;b&gt;for&lt;/b&gt; November"
    )
    assert page.items[1].snippet == "Could you send me the <mark>invoice</mark> for October?"
    assert page.items[1].conversation.contact.name == "Mia Chen"


def test_subjects_notes_contact_names_companies_and_addresses_are_found(owner, inbound, agent):
    mail = inbound("See attached.", subject="Quarterly statement", sent_at=T0)
    add_note(owner.user, mail.conversation, "Double-check the wire transfer")
    contact = mail.conversation.contact
    update_contact(owner.workspace_id, contact.pk, owner.user, name="Priya Raman", company="Globex")
    assert texts(owner, "quarterly") == ["See attached."]
    assert texts(owner, "wire transfer") == ["Double-check the wire transfer"]
    assert texts(owner, "globex") == ["contact:Priya Raman"]
    assert texts(owner, "priya") == ["contact:Priya Raman"]
    assert texts(owner, "client") == ["contact:Priya Raman"]  # the handle "client-1"
    # An event line ("… assigned …") is not a message: it is not searched.
    assign(owner.user, mail.conversation, agent.user)
    assert texts(owner, "assigned") == []


def test_an_email_address_is_found_by_any_of_its_parts(owner, inbound):
    inbound("Hello", handle="dana.reyes@northwind.example")
    assert texts(owner, "northwind") == ["contact:"]
    assert texts(owner, "dana.reyes@northwind.example") == ["contact:"]


def test_a_quoted_phrase_needs_its_words_in_order(owner, inbound):
    inbound("the payment was late", sent_at=T0)
    inbound("late for the payment", sent_at=T0 + DAY, handle="c2")
    assert texts(owner, '"payment was"') == ["the payment was late"]
    assert texts(owner, "payment late") == ["late for the payment", "the payment was late"]
    assert texts(owner, '"late payment"') == []


def test_replies_and_notes_are_found_once_written(owner, inbound):
    first = inbound("Where is my parcel?")
    assert texts(owner, "tracking") == []
    queue_reply(owner.user, first.conversation, "Your tracking number is ZX81")
    add_note(owner.user, first.conversation, "tracking page was down earlier")
    assert texts(owner, "tracking") == [
        "tracking page was down earlier",
        "Your tracking number is ZX81",
    ]
    assert texts(owner, "zx81") == ["Your tracking number is ZX81"]


def test_a_renamed_contact_is_found_by_the_new_name_only(owner, inbound):
    result = inbound("Hi", contact_name="Bob Old")
    contact = result.conversation.contact
    assert texts(owner, "old") == ["contact:Bob Old"]
    update_contact(owner.workspace_id, contact.pk, owner.user, name="Bob Newman")
    assert texts(owner, "old") == []
    assert texts(owner, "newman") == ["contact:Bob Newman"]
    update_contact(
        owner.workspace_id,
        contact.pk,
        owner.user,
        handles=[{"kind": "email", "value": "bob@fabrikam.example"}],
    )
    assert texts(owner, "fabrikam") == ["contact:Bob Newman"]


def test_after_a_merge_the_kept_contact_is_found_by_the_merged_ones_addresses(owner, inbound):
    keep = inbound("Hi from WhatsApp", handle="keep-1", contact_name="Ana Lima").conversation
    other = inbound("Hi from mail", handle="zephyr-77", contact_name="A. Lima").conversation
    merge_contacts(owner.workspace_id, keep.contact_id, other.contact_id, owner.user)
    # The merged contact is gone; its address now belongs to Ana, with both conversations.
    assert sorted(found(owner, "zephyr")) == sorted([(keep.pk, None), (other.pk, None)])
    assert {
        h.conversation.contact.name
        for h in inbox_search.search(owner.workspace_id, owner.user_id, "zephyr").items
    } == {"Ana Lima"}
    assert sorted(found(owner, "lima")) == sorted([(keep.pk, None), (other.pk, None)])


def test_deleted_conversations_and_contacts_are_no_longer_found(owner, inbound):
    gone = inbound("secret plans", handle="c1").conversation
    inbound("other plans", handle="c2")
    Conversation.objects.filter(pk=gone.pk).delete()
    assert texts(owner, "plans") == ["other plans"]
    assert texts(owner, "c1") == []
    # A contact without conversations (the CRM's delete) leaves the index too.
    lone = Contact.objects.create(workspace=owner.workspace, name="Lonely Larry")
    delete_contacts(owner.workspace_id, [lone.pk], owner.user)
    assert not Contact.objects.filter(pk=lone.pk).exists()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM inbox_contact_fts WHERE rowid = %s", [lone.pk])
            assert cursor.fetchone() == (0,)


def test_filters_by_channel_status_assignee_and_date(owner, inbound, agent, callback):
    other_channel = make_api_channel(owner, callback.url, name="Shop bot")
    a = inbound("refund please", sent_at=T0, handle="a")
    b = inbound("refund now", sent_at=T0 + DAY, handle="b", via=other_channel)
    c = inbound("refund maybe", sent_at=T0 + 2 * DAY, handle="c")
    set_status(owner.user, c.conversation, "resolved")
    assign(owner.user, a.conversation, agent.user)
    assert texts(owner, "refund") == ["refund maybe", "refund now", "refund please"]
    assert texts(owner, "refund", channel_id=other_channel.pk) == ["refund now"]
    assert texts(owner, "refund", status="resolved") == ["refund maybe"]
    assert texts(owner, "refund", assignee=str(agent.user_id)) == ["refund please"]
    assert texts(owner, "refund", assignee="none") == ["refund maybe", "refund now"]
    assert texts(owner, "refund", after=T0 + DAY / 2, before=T0 + 3 * DAY / 2) == ["refund now"]
    vip = create_label(owner.workspace_id, "VIP", "#8b8d98")
    set_labels(owner.user, b.conversation, [vip.pk])
    assert texts(owner, "refund", label_id=vip.pk) == ["refund now"]


def test_one_workspace_never_finds_another_workspaces_messages_or_contacts(
    owner, inbound, rival, callback
):
    inbound("our invoice", contact_name="Invoice Ivan")
    theirs = make_api_channel(rival, callback.url, name="Rival bot")
    inbound("their invoice", handle="rival-client", via=theirs, contact_name="Invoice Ian")
    assert texts(rival, "invoice") == ["their invoice", "contact:Invoice Ian"]
    assert texts(owner, "invoice") == ["our invoice", "contact:Invoice Ivan"]
    r = token_client(rival).get("/api/v1/search", {"q": "ivan"})
    assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize("window", [3, 2000])
def test_newest_first_across_pages_whatever_the_window(owner, inbound, monkeypatch, window):
    """A small window (batch on SQLite) forces the later steps (PostgreSQL: the index's
    full match set, sorted; SQLite: more batches): the order and the pages must be the
    same as with a large one."""
    monkeypatch.setattr(inbox_search, "WINDOW", window)
    monkeypatch.setattr(inbox_search, "FIRST_BATCH", window)
    monkeypatch.setattr(inbox_search, "CONTACT_WINDOW", window)
    expected = []
    for i in range(23):
        # History arrives out of order: ids do not follow time.
        at = T0 + timedelta(hours=(i * 7) % 23)
        word = "common" if i % 3 else "common rare"
        r = inbound(f"{word} {i}", sent_at=at, handle=f"h{i % 5}")
        expected.append((at, r.message.pk, r.conversation.pk, "rare" in word))
    expected.sort(reverse=True)
    assert found(owner, "common", limit=4) == [(c, m) for _, m, c, _ in expected]
    assert found(owner, "rare", limit=2) == [(c, m) for _, m, c, rare in expected if rare]


def test_the_api_answers_the_documented_shape(owner, api, inbound):
    r = inbound("Please send the <invoice>", contact_name="Mia Chen", sent_at=T0)
    body = api.get("/api/v1/search", {"q": "invoice", "status": "open"}).json()
    assert body == {
        "items": [
            {
                "conversation_id": r.conversation.pk,
                "message_id": r.message.pk,
                "kind": "message",
                "contact": {"id": r.conversation.contact_id, "name": "Mia Chen"},
                "snippet": "Please send the &lt;<mark>invoice</mark>&gt;",
                "at": "2026-11-02T09:00:00Z",
            }
        ],
        "next_cursor": None,
    }
    assert api.get("/api/v1/search", {"q": "mia"}).json()["items"][0]["message_id"] is None
    assert api.get("/api/v1/search", {"q": "x", "cursor": "junk"}).status_code == 400
    assert api.get("/api/v1/search", {"q": "x", "assignee": "bob"}).status_code == 400
    assert api.get("/api/v1/search", {"q": "\"' OR 1=1 --*"}).status_code == 200
    assert api.get("/api/v1/search", {"q": ""}).json()["items"] == []
    # Times far outside any message's (found by the API fuzzer: a 500 on SQLite, whose
    # index keys are 64-bit) bound nothing or everything.
    far = {"q": "invoice", "after": "1706-07-29T18:59:13-08:27", "before": "9999-12-31T23:59:59Z"}
    assert [i["message_id"] for i in api.get("/api/v1/search", far).json()["items"]] == [
        r.message.pk
    ]
    assert (
        api.get("/api/v1/search", {"q": "invoice", "after": "9999-01-01T00:00:00Z"}).json()["items"]
        == []
    )


def test_the_index_triggers_survive_migrations(db):
    """A later migration that rebuilds a table (SQLite's ALTER) drops its triggers: the
    index would silently stop following writes."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            names = {row[0] for row in cursor.fetchall()}
            assert {
                "inbox_message_fts_ai",
                "inbox_message_fts_ad",
                "inbox_message_fts_au",
                "inbox_contact_fts_ai",
                "inbox_contact_fts_au",
                "inbox_contact_fts_ad",
                "inbox_contacthandle_fts_ai",
                "inbox_contacthandle_fts_au",
                "inbox_contacthandle_fts_ad",
            } <= names
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            names = {row[0] for row in cursor.fetchall()}
            assert {"inbox_contact_search", "inbox_contacthandle_search"} <= names
