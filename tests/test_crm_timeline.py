"""One timeline per contact (messages of every channel, notes, lead changes), the same
restricted to a lead, and notes (pinned or not); through the queries, the API and the pages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.crm.actions import activity
from frontdesk.crm.actions.leads import change_stage, convert_to_lead
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Activity
from frontdesk.crm.queries import timeline as queries
from frontdesk.inbox.actions.send import add_note as add_thread_note
from frontdesk.inbox.models import Message
from frontdesk.inbox.queries import BadCursor
from tests.fixtures import make_api_channel, token_client
from tests.fixtures import session_client as login

HX = {"HX-Request": "true"}


@pytest.fixture
def ana(owner, inbound, callback):
    """Ana writes on two channels (one contact), then becomes a lead on the first."""
    mail = make_api_channel(owner, callback.url, name="Mailbox")
    chat = inbound("Hi from the chat", handle="ana", contact_name="Ana Lima").conversation
    mailed = inbound("Hi by mail", handle="ana", contact_name="Ana Lima", via=mail).conversation
    assert chat.contact_id == mailed.contact_id
    return chat.contact, chat, mailed


def kinds_and_texts(page) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in page.items]


def test_the_contact_timeline_holds_everything_newest_first(owner, agent, ana, inbound):
    contact, chat, mailed = ana
    lead = convert_to_lead(owner.workspace_id, chat.pk, owner.user).lead
    change_stage(owner.workspace_id, lead.pk, "contacted", agent.user)
    add_thread_note(owner.user, chat, "Call her back on Monday")
    activity.add_note(owner.workspace_id, owner.user, "Prefers email", contact_id=contact.pk)
    inbound("Any news?", handle="ana")

    page = queries.timeline(owner.workspace_id, queries.contact_scope(contact))
    assert kinds_and_texts(page) == [
        ("message", "Any news?"),
        ("note", "Prefers email"),
        ("note", "Call her back on Monday"),
        ("lead", "Agnes Agent moved the lead from New to Contacted"),
        ("lead", f"owner made this a lead: {lead.title}"),
        ("message", "Hi by mail"),
        ("message", "Hi from the chat"),
    ]
    # The conversation's "converted to a lead" line is not told twice.
    assert Message.objects.filter(conversation=chat, extra__action="lead").exists()
    stage_line = page.items[3]
    assert stage_line.lead_id == lead.pk
    assert stage_line.row.actor == agent.user and stage_line.row.extra == {
        "from": "new",
        "to": "contacted",
    }
    # Messages in a row from one conversation share one heading.
    groups = queries.grouped(page.items)
    assert [(g.conversation.pk if g.conversation else None, len(g.entries)) for g in groups] == [
        (chat.pk, 1),
        (None, 1),
        (chat.pk, 1),
        (None, 2),
        (mailed.pk, 1),
        (chat.pk, 1),
    ]


def test_a_lead_timeline_is_restricted_to_the_lead(owner, ana, inbound):
    contact, chat, mailed = ana
    lead = convert_to_lead(owner.workspace_id, chat.pk, owner.user).lead
    other = convert_to_lead(owner.workspace_id, mailed.pk, owner.user).lead
    activity.add_note(owner.workspace_id, owner.user, "About the cargo bikes", lead_id=lead.pk)
    activity.add_note(owner.workspace_id, owner.user, "About the other deal", lead_id=other.pk)
    activity.add_note(owner.workspace_id, owner.user, "About Ana", contact_id=contact.pk)
    texts = [e.text for e in queries.timeline(owner.workspace_id, queries.lead_scope(lead)).items]
    assert texts == [
        "About the cargo bikes",
        f"owner made this a lead: {lead.title}",
        "Hi from the chat",
    ]
    # The lead's note is on the contact's timeline too.
    everything = queries.timeline(owner.workspace_id, queries.contact_scope(contact)).items
    assert {"About the cargo bikes", "About the other deal", "About Ana"} <= {
        e.text for e in everything
    }


def test_a_deal_timeline_holds_the_deal_and_the_lead_it_came_from(owner, ana):
    """A deal's page tells its own lines and its lead's history (the conversation it came
    from), not the person's other deals nor notes about the person alone."""
    from frontdesk.crm.actions.deals import convert_lead, create_deal

    contact, chat, _ = ana
    lead = convert_to_lead(owner.workspace_id, chat.pk, owner.user).lead
    activity.add_note(owner.workspace_id, owner.user, "Wants ten", lead_id=lead.pk)
    deal = convert_lead(owner.workspace_id, lead.pk, owner.user).deal
    other = create_deal(owner.workspace_id, owner.user, contact_id=contact.pk, title="Spares")
    activity.add_note(owner.workspace_id, owner.user, "Contract sent", deal_id=deal.pk)
    activity.add_note(owner.workspace_id, owner.user, "Spares quote", deal_id=other.pk)
    activity.add_note(owner.workspace_id, owner.user, "About Ana", contact_id=contact.pk)
    texts = [e.text for e in queries.timeline(owner.workspace_id, queries.deal_scope(deal)).items]
    assert "Contract sent" in texts and "Wants ten" in texts and "Hi from the chat" in texts
    assert texts.index("Contract sent") < texts.index("Wants ten")  # newest first
    assert not {"Spares quote", "About Ana", "Hi by mail"} & set(texts)
    page = login(owner).get(f"/deals/{deal.pk}/").content.decode()
    assert "Contract sent" in page and "Spares quote" not in page


def test_deal_and_follow_up_lines_are_on_the_contacts_timeline(api, owner, agent, ana):
    """A contact's timeline tells their deals' changes and their follow-ups (about a deal
    of theirs, or a conversation with them), each line linked to its deal and follow-up;
    through the query, the API and the contact's page."""
    from frontdesk.crm.actions import followups
    from frontdesk.crm.actions.deals import create_deal, move_deal
    from frontdesk.crm.actions.pipelines import workspace_pipelines

    contact, chat, _ = ana
    ws = owner.workspace_id
    stages = {s.name: s for s in workspace_pipelines(ws)[0].stages.all()}
    deal = create_deal(ws, owner.user, contact_id=contact.pk, title="Forty bikes")
    move_deal(ws, deal.pk, stages["Proposal sent"].pk, owner.user)
    later = timezone.now() + timedelta(days=1)
    on_deal = followups.create_followup(ws, owner.user, later, "Send it", deal_id=deal.pk)
    on_chat = followups.create_followup(ws, agent.user, later, "Answer", conversation_id=chat.pk)
    followups.update_followup(ws, on_deal.pk, owner.user, done=True)
    move_deal(ws, deal.pk, stages["Won"].pk, owner.user)

    expected = [
        ("deal", "owner won the deal (Won)", deal.pk, None),
        ("followup", "Follow-up done: Send it", deal.pk, on_deal.pk),
        ("followup", "Follow-up scheduled: Answer", None, on_chat.pk),
        ("followup", "Follow-up scheduled: Send it", deal.pk, on_deal.pk),
        ("deal", "owner moved the deal from Qualified to Proposal sent", deal.pk, None),
        ("deal", "owner created the deal Forty bikes in Qualified", deal.pk, None),
    ]
    items = queries.timeline(ws, queries.contact_scope(contact)).items
    lines = [(e.kind, e.text, e.deal_id, e.followup_id) for e in items if not e.is_message]
    assert lines == expected
    assert [e.text for e in items if e.is_message] == ["Hi by mail", "Hi from the chat"]
    listed = api.get(f"/api/v1/contacts/{contact.pk}/timeline").json()["items"]
    from_api = [
        (i["kind"], i["text"], i["deal_id"], i["followup_id"])
        for i in listed
        if i["kind"] != "message"
    ]
    assert from_api == expected
    page = login(owner).get(f"/contacts/{contact.pk}/").content.decode()
    timeline = page[page.index('id="timeline"') :]
    for text in ("won the deal (Won)", "Follow-up done: Send it", "Follow-up scheduled: Answer"):
        assert text in timeline, text
    assert "moved the deal from Qualified to Proposal sent" in timeline


def _note_and_message(owner, contact, chat, i: int, note_at, message_at) -> None:
    """Note ``i`` on the contact and message ``i`` in its chat, at the times given."""
    ws = owner.workspace_id
    Activity.objects.create(
        workspace_id=ws, contact=contact, kind="note", text=f"note {i}", at=note_at
    )
    Message.objects.create(
        workspace_id=ws,
        conversation=chat,
        channel_id=chat.channel_id,
        direction="inbound",
        text=f"message {i}",
        created_at=message_at,
    )


def _every_page(owner, scope, limit: int) -> list:
    """The timeline's lines, page after page of ``limit`` by the cursors."""
    seen, cursor = [], None
    while True:
        page = queries.timeline(owner.workspace_id, scope, cursor, limit=limit)
        seen += page.items
        cursor = page.next_cursor
        if not cursor:
            return seen


def test_pages_of_a_long_timeline_hold_every_line_once(owner, ana):
    contact, chat, _ = ana
    same_instant = timezone.now() - timedelta(days=1)
    for i in range(30):  # lines that share one instant: the source and id break the tie
        _note_and_message(owner, contact, chat, i, same_instant, same_instant)
    scope = queries.contact_scope(contact)
    whole = queries.timeline(owner.workspace_id, scope, limit=500).items
    seen = _every_page(owner, scope, 7)
    assert [e.key for e in seen] == [e.key for e in whole]
    assert len(seen) == len({e.key for e in seen}) == 62
    with pytest.raises(BadCursor):
        queries.timeline(owner.workspace_id, scope, "not-a-cursor")


def test_pages_hold_every_line_once_when_notes_and_messages_interleave(owner, ana):
    """Notes every two minutes, messages every three: each page holds the newest lines of
    both, whichever fills it."""
    contact, chat, _ = ana
    start = timezone.now() - timedelta(days=1)
    for i in range(40):
        _note_and_message(
            owner,
            contact,
            chat,
            i,
            start - timedelta(minutes=2 * i),
            start - timedelta(minutes=3 * i),
        )
    scope = queries.contact_scope(contact)
    whole = [e.key for e in queries.timeline(owner.workspace_id, scope, limit=500).items]
    for limit in (5, 7, 50):
        assert [e.key for e in _every_page(owner, scope, limit)] == whole, limit


def test_notes_pin_and_delete(owner, agent, ana):
    contact, *_ = ana
    with pytest.raises(CrmError, match="write the note first"):
        activity.add_note(owner.workspace_id, owner.user, "   ", contact_id=contact.pk)
    note = activity.add_note(
        owner.workspace_id, agent.user, "Met at the fair", contact_id=contact.pk
    )
    scope = queries.contact_scope(contact)
    assert queries.pinned_notes(owner.workspace_id, scope) == []
    activity.pin_note(owner.workspace_id, note.pk, True, owner.user)
    assert queries.pinned_notes(owner.workspace_id, scope) == [note]
    mine = activity.add_note(owner.workspace_id, owner.user, "Mine", contact_id=contact.pk)
    with pytest.raises(CrmError, match="only its author or an admin"):
        activity.delete_note(owner.workspace_id, mine.pk, agent)
    activity.delete_note(owner.workspace_id, note.pk, owner)  # an owner may
    activity.delete_note(owner.workspace_id, mine.pk, owner)
    assert not Activity.objects.filter(kind="note").exists()


def test_notes_and_timelines_stay_in_their_workspace(owner, rival, ana):
    contact, chat, _ = ana
    lead = convert_to_lead(owner.workspace_id, chat.pk, owner.user).lead
    with pytest.raises(activity.NoteNotFound):
        activity.add_note(rival.workspace_id, rival.user, "Hi", contact_id=contact.pk)
    with pytest.raises(activity.NoteNotFound):
        activity.add_note(rival.workspace_id, rival.user, "Hi", lead_id=lead.pk)
    note = activity.add_note(owner.workspace_id, owner.user, "Ours", contact_id=contact.pk)
    with pytest.raises(activity.NoteNotFound):
        activity.pin_note(rival.workspace_id, note.pk, True, rival.user)
    with pytest.raises(activity.NoteNotFound):
        activity.delete_note(rival.workspace_id, note.pk, rival)
    assert queries.timeline(rival.workspace_id, queries.contact_scope(contact)).items == []


# --- the REST API --------------------------------------------------------------------------


def test_api_timeline_and_notes(api, owner, rival, ana):
    contact, chat, _ = ana
    lead = convert_to_lead(owner.workspace_id, chat.pk, owner.user).lead
    r = api.post(
        f"/api/v1/contacts/{contact.pk}/notes",
        json.dumps({"text": "Prefers email", "pinned": True}),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["pinned"] is True
    r = api.post(
        f"/api/v1/leads/{lead.pk}/notes",
        json.dumps({"text": "Budget approved"}),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["lead_id"] == lead.pk
    items = api.get(f"/api/v1/contacts/{contact.pk}/timeline").json()["items"]
    assert [(i["kind"], i["text"]) for i in items[:2]] == [
        ("note", "Budget approved"),
        ("note", "Prefers email"),
    ]
    message = next(i for i in items if i["text"] == "Hi from the chat")
    assert (message["kind"], message["conversation_id"]) == ("message", chat.pk)
    assert set(items[0]) == {
        "kind",
        "at",
        "text",
        "conversation_id",
        "lead_id",
        "deal_id",
        "followup_id",
    }
    lead_items = api.get(f"/api/v1/leads/{lead.pk}/timeline").json()["items"]
    assert "Prefers email" not in [i["text"] for i in lead_items]
    assert api.get(f"/api/v1/contacts/{contact.pk}/timeline?cursor=bad").status_code == 400
    theirs = token_client(rival)
    assert theirs.get(f"/api/v1/contacts/{contact.pk}/timeline").status_code == 404
    assert theirs.get(f"/api/v1/leads/{lead.pk}/timeline").status_code == 404
    r = theirs.post(
        f"/api/v1/contacts/{contact.pk}/notes",
        json.dumps({"text": "x"}),
        content_type="application/json",
    )
    assert r.status_code == 404


def test_api_timeline_pages(api, owner, ana):
    contact, *_ = ana
    for i in range(60):
        activity.add_note(owner.workspace_id, owner.user, f"n{i}", contact_id=contact.pk)
    first = api.get(f"/api/v1/contacts/{contact.pk}/timeline").json()
    assert len(first["items"]) == 50 and first["next_cursor"]
    rest = api.get(f"/api/v1/contacts/{contact.pk}/timeline?cursor={first['next_cursor']}").json()
    assert len(rest["items"]) == 12 and rest["next_cursor"] is None  # 60 notes, 2 messages


# --- the pages -----------------------------------------------------------------------------


def test_notes_and_timeline_on_the_contact_and_lead_pages(owner, agent, ana):
    contact, chat, _ = ana
    lead = convert_to_lead(owner.workspace_id, chat.pk, owner.user).lead
    client = login(owner)
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert 'id="timeline"' in page and "Hi by mail" in page and "Hi from the chat" in page
    r = client.post(
        f"/contacts/{contact.pk}/notes", {"text": "Prefers email", "pinned": "1"}, headers=HX
    )
    html = r.content.decode()
    assert r.status_code == 200
    assert 'class="pinned-note"' in html and "Prefers email" in html
    # The timeline comes along out of band, filling the one in place (it is not replaced).
    assert 'id="timeline" aria-labelledby="timeline-title"' in html
    assert 'hx-swap-oob="innerHTML"' in html
    note = Activity.objects.get(kind="note")
    r = client.post(f"/contacts/{contact.pk}/notes/{note.pk}", {"action": "unpin"}, headers=HX)
    assert 'class="pinned-note"' not in r.content.decode()
    r = client.post(f"/contacts/{contact.pk}/notes", {"text": " "}, headers=HX)
    assert r.status_code == 422 and r["HX-Retarget"] == "#note-error"
    # Someone else's note: an agent cannot delete it.
    r = login(agent).post(
        f"/contacts/{contact.pk}/notes/{note.pk}", {"action": "delete"}, headers=HX
    )
    assert r.status_code == 422 and Activity.objects.filter(pk=note.pk).exists()
    # The lead's page has its own notes and timeline.
    r = client.post(f"/leads/{lead.pk}/notes", {"text": "Budget approved"})
    assert r.status_code == 302 and r["Location"] == f"/leads/{lead.pk}/"
    lead_page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Budget approved" in lead_page and "Prefers email" not in lead_page
    more = client.get(f"/leads/{lead.pk}/timeline", headers=HX).content.decode()
    assert "Budget approved" in more and "<main" not in more
    assert client.get(f"/contacts/{contact.pk}/timeline?cursor=x").status_code == 404


def test_a_lead_pins_its_own_notes(owner, ana):
    """Pinned notes of a lead stay on top of its page, and of the deal it becomes; another
    lead of the same person does not show them; unpinned, it is a timeline line again."""
    from frontdesk.crm.actions.deals import convert_lead
    from frontdesk.crm.actions.leads import create_lead

    contact, chat, _ = ana
    lead = convert_to_lead(owner.workspace_id, chat.pk, owner.user).lead
    other = create_lead(owner.workspace_id, owner.user, contact_id=contact.pk, title="Spare parts")
    client = login(owner)
    r = client.post(f"/leads/{lead.pk}/notes", {"text": "Decides by Friday", "pinned": "1"})
    assert r.status_code == 302
    note = Activity.objects.get(kind="note")
    assert (note.lead_id, note.pinned) == (lead.pk, True)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    pinned = page.split('aria-label="Pinned notes"', 1)[1].split("</ul>", 1)[0]
    assert "Decides by Friday" in pinned
    assert "Decides by Friday" not in client.get(f"/leads/{other.pk}/").content.decode()
    deal = convert_lead(owner.workspace_id, lead.pk, owner.user).deal
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Decides by Friday" in page.split('aria-label="Pinned notes"', 1)[1].split("</ul>")[0]
    r = client.post(f"/leads/{lead.pk}/notes/{note.pk}", {"action": "unpin"}, headers=HX)
    assert r.status_code == 200
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert 'aria-label="Pinned notes"' not in page and "Decides by Friday" in page


def test_timeline_pages_of_another_workspace_are_not_found(owner, rival, ana):
    contact, chat, _ = ana
    lead = convert_to_lead(owner.workspace_id, chat.pk, owner.user).lead
    note = activity.add_note(owner.workspace_id, owner.user, "Ours", contact_id=contact.pk)
    theirs = login(rival)
    for base in (f"/contacts/{contact.pk}", f"/leads/{lead.pk}"):
        assert theirs.get(f"{base}/timeline").status_code == 404
        assert theirs.post(f"{base}/notes", {"text": "x"}).status_code == 404
        assert theirs.post(f"{base}/notes/{note.pk}", {"action": "delete"}).status_code == 404
    assert Activity.objects.filter(pk=note.pk).exists()
    assert Activity.objects.filter(kind="note").count() == 1


def test_a_long_note_is_cut_at_600_characters_on_the_page(owner, ana):
    """A text up to 600 characters shows whole (composed, as the page always showed it);
    a longer one shows its first 599 and an ellipsis."""
    contact, *_ = ana
    decomposed = "Cafe\u0301 " * 100  # 599 characters stored, 499 once composed
    activity.add_note(owner.workspace_id, owner.user, decomposed, contact_id=contact.pk)
    activity.add_note(owner.workspace_id, owner.user, "b" * 700, contact_id=contact.pk)
    page = login(owner).get(f"/contacts/{contact.pk}/").content.decode()
    assert f'<p class="tl-text">{"b" * 599}…</p>' in page
    assert '<p class="tl-text">' + "Café " * 99 + "Café</p>" in page  # the note is stripped


def test_the_contact_page_reads_no_more_for_more_lines(owner, agent, ana):
    """Replies by members, internal notes and clients' messages on the page, their authors
    shown: the page's reads do not grow with its lines (no field of a line read apart)."""
    contact, chat, mailed = ana
    client = login(owner)

    def lines(n: int) -> None:
        for i in range(n):
            for conversation in (chat, mailed):
                for direction, kind, author in (
                    ("outbound", "message", agent.user),
                    ("outbound", "note", owner.user),
                    ("inbound", "message", None),
                ):
                    Message.objects.create(
                        workspace_id=owner.workspace_id,
                        conversation=conversation,
                        channel_id=conversation.channel_id,
                        direction=direction,
                        kind=kind,
                        author_user=author,
                        text=f"{kind} {i} by {author.email if author else 'Ana'}",
                    )

    def reads() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(f"/contacts/{contact.pk}/").content.decode()
        return len(captured.captured_queries), page

    lines(1)
    few, page = reads()
    assert agent.user.display_name in page and "internal note" in page
    lines(8)
    many, page = reads()
    assert "message 7 by" in page and many == few
