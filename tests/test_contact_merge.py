"""Merging two contacts of one person: what moves, what is kept, and what is refused."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from frontdesk.connectors.base import InboundMessage
from frontdesk.inbox.actions.contacts import merge_contacts
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import Contact, ContactHandle, Conversation, Message
from tests.fixtures import PASSWORD, make_api_channel, token_client
from tests.test_api import post_json
from tests.test_ingest import race
from tests.test_web import HX, login


@pytest.fixture
def published(monkeypatch) -> list[tuple]:
    """The contact events published (messages written while setting up are left out)."""
    sent: list[tuple] = []

    def record(workspace_id: int, event: str, **data) -> None:
        if event.startswith("contact."):
            sent.append((workspace_id, event, data))

    monkeypatch.setattr("frontdesk.realtime.publish.publish", record)
    return sent


@pytest.fixture
def ana_by_mail(inbound) -> Conversation:
    return inbound("Hi by mail", handle="ana@x.com", contact_name="").conversation


@pytest.fixture
def ana_by_phone(inbound) -> Conversation:
    return inbound("Hi by phone", handle="+5511999990000", contact_name="Ana Lima").conversation


def test_merge_moves_handles_and_conversations_and_fills_blanks(
    owner, agent, ana_by_mail, ana_by_phone, published
):
    keep, other = ana_by_mail.contact, ana_by_phone.contact
    Contact.objects.filter(pk=keep.pk).update(
        tags=["vip", "lead"], custom_fields={"plan": "pro", "city": ""}
    )
    Contact.objects.filter(pk=other.pk).update(
        company="Lima & Co",
        owner=agent.user,
        avatar_url="https://example.com/ana.png",
        avatar="avatars/ana-stored.png",
        tags=["lead", "brazil"],
        custom_fields={"plan": "free", "city": "São Paulo"},
    )

    merged = merge_contacts(owner.workspace_id, keep.pk, other.pk, by_user=owner.user)

    assert merged.pk == keep.pk
    assert not Contact.objects.filter(pk=other.pk).exists()
    keep.refresh_from_db()
    assert keep.name == "Ana Lima" and keep.company == "Lima & Co"
    assert keep.owner == agent.user and keep.avatar_url == "https://example.com/ana.png"
    assert keep.avatar.name == "avatars/ana-stored.png"  # the stored copy comes along
    assert keep.tags == ["vip", "lead", "brazil"]
    assert keep.custom_fields == {"plan": "pro", "city": "São Paulo"}
    handles = ContactHandle.objects.filter(contact=keep).values_list("value", flat=True)
    assert sorted(handles) == ["+5511999990000", "ana@x.com"]
    conversations = Conversation.objects.filter(contact=keep).order_by("id")
    assert list(conversations) == [ana_by_mail, ana_by_phone]
    lines = Message.objects.filter(kind="event").order_by("conversation_id")
    assert [(m.conversation_id, m.text) for m in lines] == [
        (c.pk, "owner merged Ana Lima (+5511999990000) into this contact") for c in conversations
    ]
    assert published == [
        (
            owner.workspace_id,
            "contact.merged",
            {
                "contact_id": keep.pk,
                "merged_contact_id": other.pk,
                "conversations": [
                    {"id": m.conversation_id, "message_id": m.pk} for m in lines.order_by("id")
                ],
            },
        )
    ]


def test_keep_keeps_what_it_has(owner, inbound, published):
    keep = inbound("a", handle="a1", contact_name="Ana").conversation.contact
    other = inbound("b", handle="b1", contact_name="Ana Lima Silva").conversation.contact
    merge_contacts(owner.workspace_id, keep.pk, other.pk)
    keep.refresh_from_db()
    assert keep.name == "Ana"
    lines = Message.objects.filter(kind="event").values_list("text", "author_user")
    assert list(lines) == [("Ana Lima Silva (b1) was merged into this contact", None)] * 2


def test_later_messages_to_a_merged_handle_land_on_the_kept_contact(
    owner, callback, inbound, ana_by_mail, ana_by_phone, published
):
    keep, other = ana_by_mail.contact, ana_by_phone.contact
    merge_contacts(owner.workspace_id, keep.pk, other.pk, by_user=owner.user)

    same_thread = inbound("Me again", handle="+5511999990000").conversation
    assert same_thread.pk == ana_by_phone.pk and same_thread.contact_id == keep.pk
    elsewhere = make_api_channel(owner, callback.url, name="Sales bot")
    new_thread = inbound("Hello sales", handle="+5511999990000", via=elsewhere).conversation
    assert new_thread.pk not in (ana_by_mail.pk, ana_by_phone.pk)
    assert new_thread.contact_id == keep.pk
    assert Contact.objects.count() == 1


def test_merging_a_contact_into_itself_is_refused(owner, ana_by_mail, published):
    contact = ana_by_mail.contact
    with pytest.raises(ActionRefused, match="itself"):
        merge_contacts(owner.workspace_id, contact.pk, contact.pk)
    assert Contact.objects.filter(pk=contact.pk).exists() and published == []


def test_another_workspaces_contact_looks_like_a_missing_one(
    owner, rival, callback, ana_by_mail, published
):
    theirs = make_api_channel(rival, callback.url, name="Theirs")
    stranger = ingest(theirs, InboundMessage(provider_id="r-1", handle="zed", text="hi"))
    ours = ana_by_mail.contact
    for keep_id, other_id in [
        (ours.pk, stranger.conversation.contact_id),
        (stranger.conversation.contact_id, ours.pk),
        (ours.pk, 10**9),
    ]:
        with pytest.raises(Contact.DoesNotExist):
            merge_contacts(owner.workspace_id, keep_id, other_id, by_user=owner.user)
    assert Contact.objects.count() == 2 and published == []
    assert ContactHandle.objects.filter(contact_id=stranger.conversation.contact_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_opposite_merges_at_once_neither_deadlock_nor_lose_anyone(owner, callback, published):
    """A into B and B into A at the same moment: one wins, the other finds its contact gone."""
    channel = make_api_channel(owner, callback.url)
    a = ingest(channel, InboundMessage(provider_id="a", handle="a@x.com", text="hi")).conversation
    b = ingest(channel, InboundMessage(provider_id="b", handle="+551199", text="hi")).conversation
    pairs = [(a.contact_id, b.contact_id), (b.contact_id, a.contact_id)] * 2
    errors = race(
        len(pairs),
        lambda n: merge_contacts(owner.workspace_id, *pairs[n], by_user=owner.user),
    )
    assert len(errors) == len(pairs) - 1
    assert all(isinstance(e, Contact.DoesNotExist) for e in errors), errors
    survivor = Contact.objects.get()
    assert set(survivor.handles.values_list("value", flat=True)) == {"a@x.com", "+551199"}
    assert set(survivor.conversations.all()) == {a, b}


# --- the REST API --------------------------------------------------------------------------


def merge_url(contact_id: int) -> str:
    return f"/api/v1/contacts/{contact_id}/merge"


def test_api_merge_answers_the_merged_contact(api, ana_by_mail, ana_by_phone):
    keep, other = ana_by_mail.contact, ana_by_phone.contact
    r = post_json(api, merge_url(keep.pk), {"other_id": other.pk})
    assert r.status_code == 200, r.content
    merged = r.json()
    assert {k: merged[k] for k in ("id", "name", "company", "handles")} == {
        "id": keep.pk,
        "name": "Ana Lima",
        "company": "",
        "handles": [
            {"kind": "external", "value": "ana@x.com"},
            {"kind": "external", "value": "+5511999990000"},
        ],
    }
    assert api.get(f"/api/v1/contacts/{keep.pk}").json() == r.json()
    assert api.get(f"/api/v1/contacts/{other.pk}").status_code == 404
    conversation = api.get(f"/api/v1/conversations/{ana_by_phone.pk}").json()
    assert conversation["contact"]["id"] == keep.pk


def test_api_merge_refuses_itself_and_unknown_or_foreign_contacts(
    api, rival, callback, ana_by_mail
):
    ours = ana_by_mail.contact.pk
    theirs_channel = make_api_channel(rival, callback.url, name="Theirs")
    r = post_json(
        token_client(rival),
        f"/api/v1/channels/{theirs_channel.pk}/messages",
        {"id": "r-1", "contact": {"handle": "zed"}, "text": "hi"},
    )
    theirs = Conversation.objects.get(pk=r.json()["conversation_id"]).contact_id

    itself = post_json(api, merge_url(ours), {"other_id": ours})
    assert itself.status_code == 400 and "itself" in itself.json()["detail"]
    for keep_id, other_id in [
        (ours, theirs),
        (theirs, ours),
        (ours, 10**9),
        (10**9, ours),
        (ours, 10**20),
    ]:
        r = post_json(api, merge_url(keep_id), {"other_id": other_id})
        assert r.status_code == 404 and r.json() == {"detail": "contact not found"}
    assert api.get(f"/api/v1/contacts/{theirs}").status_code == 404
    assert Contact.objects.filter(pk__in=[ours, theirs]).count() == 2


# --- the web inbox -----------------------------------------------------------------------


def test_web_find_confirm_and_merge_from_the_contact_panel(owner, ana_by_mail, ana_by_phone):
    web = login(owner)
    cid = ana_by_mail.pk
    page = web.get(f"/c/{cid}/").content.decode()
    assert "Merge with another contact…" in page

    found = web.get(f"/c/{cid}/contact/merge/find?q=lima", headers=HX).content.decode()
    assert "Ana Lima" in found and "+5511999990000" in found
    other = ana_by_phone.contact
    assert f"other={other.pk}" in found
    mine = web.get(f"/c/{cid}/contact/merge/find?q=ana@x", headers=HX).content.decode()
    assert "No other contact matches" in mine  # this conversation's own contact is not offered

    confirm = web.get(f"/c/{cid}/contact/merge/confirm?other={other.pk}", headers=HX)
    assert (
        "Merge <strong>Ana Lima (+5511999990000)</strong> into this contact? "
        "Their conversations and addresses move here."
    ) in confirm.content.decode()

    panel = web.post(f"/c/{cid}/contact/merge", {"other_id": other.pk}, headers=HX)
    assert panel.status_code == 200
    html = panel.content.decode()
    assert "<html" not in html and 'class="contact-card"' in html
    assert "ana@x.com" in html and "+5511999990000" in html and "Ana Lima" in html
    assert f'href="/c/{ana_by_phone.pk}/"' in html  # the moved conversation is listed
    assert not Contact.objects.filter(pk=other.pk).exists()
    again = web.get(f"/c/{cid}/contact", headers=HX).content.decode()
    assert without_csrf_tokens(again) == without_csrf_tokens(html)


def test_web_merge_without_htmx_goes_back_to_the_conversation(owner, ana_by_mail, ana_by_phone):
    response = login(owner).post(
        f"/c/{ana_by_mail.pk}/contact/merge", {"other_id": ana_by_phone.contact_id}
    )
    assert response.status_code == 302 and response.url.startswith(f"/c/{ana_by_mail.pk}/")
    assert Contact.objects.count() == 1


def test_web_merge_refuses_strangers_itself_and_needs_csrf(
    owner, rival, callback, ana_by_mail, ana_by_phone
):
    theirs = make_api_channel(rival, callback.url, name="Theirs")
    stranger = ingest(theirs, InboundMessage(provider_id="r-1", handle="zed", text="hi"))
    web = login(owner)
    url = f"/c/{ana_by_mail.pk}/contact/merge"
    for other_id in [stranger.conversation.contact_id, ana_by_mail.contact_id, "x", 10**20]:
        refused = web.post(url, {"other_id": other_id}, headers=HX)
        assert refused.status_code == 422 and refused["HX-Retarget"] == "#merge-results"
    assert web.get(f"{url}/find?q=zed", headers=HX).content.decode().count("zed") == 1  # echo
    other = stranger.conversation.contact_id
    assert web.get(f"{url}/confirm?other={other}", headers=HX).status_code == 404
    # Their conversation's panel and merge are 404 for us.
    assert web.get(f"/c/{stranger.conversation.pk}/contact").status_code == 404
    their_url = f"/c/{stranger.conversation.pk}/contact/merge"
    assert web.post(their_url, {"other_id": ana_by_phone.contact_id}).status_code == 404

    strict = Client(enforce_csrf_checks=True)
    strict.login(username=owner.user.email, password=PASSWORD)
    assert strict.post(url, {"other_id": ana_by_phone.contact_id}).status_code == 403
    assert Contact.objects.filter(workspace=owner.workspace).count() == 2


def without_csrf_tokens(html: str) -> str:
    """The page minus its CSRF tokens, which are masked afresh on every render."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_a_merge_moves_the_leads_and_the_picture_still_being_copied(
    owner, ana_by_mail, ana_by_phone, published, django_capture_on_commit_callbacks, monkeypatch
):
    from frontdesk.crm.actions.leads import convert_to_lead

    lead = convert_to_lead(owner.workspace_id, ana_by_phone.pk, owner.user).lead
    Contact.objects.filter(pk=ana_by_phone.contact_id).update(
        avatar_url="https://media.example/ana.png"  # its copy not stored yet
    )
    queued: list[tuple] = []
    monkeypatch.setattr(
        "frontdesk.inbox.tasks.copy_contact_avatar", lambda *args: queued.append(args)
    )
    keep = ana_by_mail.contact_id
    with django_capture_on_commit_callbacks(execute=True):
        merge_contacts(owner.workspace_id, keep, ana_by_phone.contact_id)
    lead.refresh_from_db()
    assert lead.contact_id == keep
    assert queued == [(keep, "https://media.example/ana.png")]  # copied for the kept contact


def test_the_picture_the_kept_contact_does_not_take_is_deleted(
    owner, ana_by_mail, ana_by_phone, published, django_capture_on_commit_callbacks
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    mine = default_storage.save("avatars/keep.png", ContentFile(b"keep"))
    theirs = default_storage.save("avatars/other.png", ContentFile(b"other"))
    Contact.objects.filter(pk=ana_by_mail.contact_id).update(avatar=mine)
    Contact.objects.filter(pk=ana_by_phone.contact_id).update(avatar=theirs)
    with django_capture_on_commit_callbacks(execute=True):
        merge_contacts(owner.workspace_id, ana_by_mail.contact_id, ana_by_phone.contact_id)
    assert default_storage.exists(mine) and not default_storage.exists(theirs)
