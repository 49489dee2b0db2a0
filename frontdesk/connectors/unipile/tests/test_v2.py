"""Unipile API v2 through the same connector: the endpoint token, v2 events and objects,
account-scoped paths, data/next_cursor paging, JSON sending and the v2 hosted-auth redirect."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from frontdesk.connectors.unipile.client import SECRET_HEADER
from frontdesk.connectors.unipile.sync import Backfill
from frontdesk.connectors.unipile.tests.peer import API_KEY, UnipilePeer, with_query
from frontdesk.connectors.unipile.tests.test_connector import (
    KIM,
    OWNER,
    make_channel,
    post_v2,
    register_webhooks,
)
from frontdesk.connectors.unipile.webhook import webhook_url
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Contact, Conversation, Message
from frontdesk.inbox.sync import run_sync
from tests.webhook_client import WebhookClient

WA_CLIENT = {"provider_id": "33612345678@s.whatsapp.net", "name": "Camille"}
WA_OWNER = {"provider_id": "33700000000@s.whatsapp.net", "name": "Our number"}


@pytest.fixture
def peer():
    server = UnipilePeer()
    yield server
    server.close()


def v2_channel(membership, peer, account_id="acc-li-1", kind="linkedin", **config):
    """A connected v2 channel whose webhook endpoint is registered with the stand-in."""
    channel = make_channel(
        membership, peer, account_id=account_id, kind=kind, api_version="v2", **config
    )
    register_webhooks(channel)
    channel.refresh_from_db()
    return channel


@pytest.fixture
def linkedin(owner, peer):
    return v2_channel(owner, peer)


def token(channel) -> str:
    return channel.credentials["webhook_token"]


# --- configuration --------------------------------------------------------------------------
def test_new_api_channels_default_to_v2_and_old_ones_stay_v1(api, owner, peer):
    response = api.post(
        "/api/v1/channels",
        {
            "kind": "linkedin",
            "provider": "unipile",
            "name": "Sales",
            "config": {"api_key": "sk-v2", "account_id": "acc-1", "network": "linkedin"},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    channel = ChannelAccount.objects.get(pk=response.json()["id"])
    assert channel.config["api_version"] == "v2"
    assert channel.config["dsn"] == "https://api.unipile.com"  # v2's one base URL
    assert channel.connector.client(channel).root == "https://api.unipile.com/v2"
    old = make_channel(owner, peer, account_id="acc-old")
    old.config = {k: v for k, v in old.config.items() if k != "api_version"}  # saved before v2
    old.save()
    assert old.connector.client(old).root == f"{peer.dsn}/api/v1"


# --- webhooks ------------------------------------------------------------------------------------
def test_the_endpoint_is_registered_as_documented_and_events_create_a_conversation_once(
    linkedin, peer, settings
):
    [endpoint] = peer.endpoints
    assert endpoint["url"] == webhook_url(token(linkedin))
    assert endpoint["url"].startswith(f"{settings.BASE_URL}/webhooks/unipile/?token=")
    [created] = peer.requests_to("POST", "/v2/webhooks/endpoints/")
    assert created.headers["x-api-key"] == API_KEY
    assert set(created.json) == {"url", "trigger_events", "description"}
    assert "message.receipt.read" in created.json["trigger_events"]
    assert "account.status.running" in created.json["trigger_events"]
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    event = peer.v2_message_event(peer.add_message(chat, KIM["provider_id"], "Hello from v2"))
    first = post_v2(event, linkedin)
    assert first.status_code == 200, first.content
    again = post_v2(event, linkedin)  # Unipile retries: still one message
    assert again.status_code == 200
    message = Message.objects.get()
    assert message.text == "Hello from v2" and message.direction == "inbound"
    assert message.conversation.thread_key == chat
    contact = message.conversation.contact
    assert contact.handles.get().value == KIM["provider_id"]
    assert contact.name == "Kim Prospect"  # the v2 sender's display_name
    assert contact.custom_fields["linkedin_url"] == KIM["profile_url"]  # sender.profile_url
    assert contact.avatar_url == KIM["picture_url"]  # sender.public_picture_url


def test_a_registration_body_unipile_does_not_document_gets_its_400(peer):
    """The stand-in holds Frontdesk to the documented bodies (the old one is refused)."""
    import httpx

    old_body = {"url": "https://x.test/hook", "name": "n", "events": ["message.new"]}
    answer = httpx.post(
        f"{peer.dsn}/v2/webhooks/endpoints/", json=old_body, headers={"X-API-KEY": API_KEY}
    )
    assert answer.status_code == 400 and answer.json()["type"] == "api/invalid_parameters"
    unknown = {"url": "https://x.test/hook", "trigger_events": ["message.read"]}
    answer = httpx.post(
        f"{peer.dsn}/v2/webhooks/endpoints/", json=unknown, headers={"X-API-KEY": API_KEY}
    )
    assert answer.status_code == 400
    old_send = httpx.post(
        f"{peer.dsn}/v2/acc/chats/c/messages", json={"text": "x"}, headers={"X-API-KEY": API_KEY}
    )
    assert old_send.status_code == 404


@pytest.mark.parametrize("how", ["missing", "wrong", "another workspace's", "v1 header"])
def test_deliveries_without_the_endpoint_token_are_refused_and_store_nothing(
    linkedin, rival, peer, how
):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    event = peer.v2_message_event(peer.add_message(chat, KIM["provider_id"], "Hi"))
    if how == "missing":
        response = post_v2(event, token="")
    elif how == "wrong":
        response = post_v2(event, token=token(linkedin)[:-2] + "xx")
    elif how == "another workspace's":
        theirs = v2_channel(rival, peer, account_id="acc-rival")
        response = post_v2(event, theirs)
        assert response.status_code == 200 and response.json()["ignored"]
        assert not Message.objects.exists()
        return
    else:
        response = WebhookClient().post(
            "/webhooks/unipile/",
            json.dumps(event),
            content_type="application/json",
            headers={SECRET_HEADER: linkedin.credentials["webhook_secret"]},
        )
    assert response.status_code == 401
    assert not Message.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("payload"),
        lambda e: e.update(payload="text"),
        lambda e: e["payload"].pop("id"),
        lambda e: e["payload"].pop("chat_id"),
        lambda e: (e["payload"].pop("sender_id"), e["payload"].pop("sender")),
        lambda e: e["payload"].update(text=["not", "a", "string"]),
        lambda e: e.pop("type"),
        lambda e: e.update(account_id=["acc-li-1"]),
    ],
)
def test_malformed_v2_events_get_400_and_store_nothing(linkedin, peer, mutate):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    event = peer.v2_message_event(peer.add_message(chat, KIM["provider_id"], "Hi"))
    mutate(event)
    response = post_v2(event, linkedin)
    assert response.status_code == 400, response.content
    assert not Message.objects.exists()
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.CONNECTED


def test_unknown_event_types_are_acknowledged_and_ignored(linkedin):
    event = {"id": "evt_1", "account_id": "acc-li-1", "type": "calendar_event.created"}
    response = post_v2({**event, "created_at": "x", "payload": {}}, linkedin)
    assert response.status_code == 200 and response.json()["ignored"] == "calendar_event.created"
    assert not Message.objects.exists()


def test_a_read_event_without_the_message_id_is_refused_loudly(linkedin, peer, caplog):
    """v2 documents only that read events carry ids: the key is not guessed at."""
    event = peer.v2_event("message.receipt.read", "acc-li-1", {"id": "msg-1", "chat_id": "c"})
    response = post_v2(event, linkedin)
    assert response.status_code == 400
    assert "payload.message_id" in response.json()["error"]
    assert "read event without payload.message_id" in caplog.text


def test_account_status_events_update_the_channel(linkedin, peer):
    def status(kind):
        event = peer.v2_event(kind, "acc-li-1", {"timestamp": "2026-11-25T00:00:00.000Z"})
        return post_v2(event, linkedin)

    assert status("account.status.disconnected").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.NEEDS_RECONNECT and "reconnect" in linkedin.last_error
    assert status("account.status.running").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.CONNECTED and linkedin.last_error == ""
    assert status("account.status.errored").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.ERROR
    assert status("account.status.paused").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.ERROR and "subscription" in linkedin.last_error
    assert status("account.remove").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.DISCONNECTED and "deleted" in linkedin.last_error


def test_a_message_sent_elsewhere_is_outbound_in_the_chats_conversation(linkedin, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    hello = peer.add_message(chat, KIM["provider_id"], "Hello")
    assert post_v2(peer.v2_message_event(hello), linkedin).status_code == 200
    mine = peer.add_message(chat, OWNER["provider_id"], "Sent from my phone", is_sender=True)
    assert post_v2(peer.v2_message_event(mine), linkedin).status_code == 200
    sent = Message.objects.get(provider_id=mine["id"])
    # Unipile says it reached the phone (is_delivered): not a problem, a delivered reply
    assert sent.direction == "outbound" and sent.status == "delivered"
    assert sent.conversation == Message.objects.get(provider_id=hello["id"]).conversation


def test_a_reply_sent_from_linkedin_itself_reads_as_a_read_reply_in_the_thread(owner, peer):
    """History the member wrote in LinkedIn's own app comes in with the backfill: in the
    thread it is the team's reply (the workspace's name), read when Unipile says the client
    has seen it, with a quiet "sent from LinkedIn", never a status that looks like a fault."""
    chat = peer.add_chat("acc-li-1", OWNER, KIM, chat_id="chat-kim", minutes_ago=300)
    peer.add_message(chat, KIM["provider_id"], "Are you free next week?", minutes_ago=300)
    peer.add_message(
        chat,
        OWNER["provider_id"],
        "Yes, Tuesday works.",
        minutes_ago=290,
        is_sender=True,
        seen=True,
    )
    peer.add_message(
        chat, OWNER["provider_id"], "Here is the agenda.", minutes_ago=280, is_sender=True
    )
    channel = make_channel(owner, peer, api_version="v2")
    run_sync(channel)
    read = Message.objects.get(channel=channel, text="Yes, Tuesday works.")
    unseen = Message.objects.get(channel=channel, text="Here is the agenda.")
    assert (read.direction, read.status) == ("outbound", "read")
    assert (unseen.direction, unseen.status) == ("outbound", "delivered")

    browser = Client()
    browser.force_login(owner.user)
    page = browser.get(f"/c/{read.conversation_id}/").content.decode()
    assert "Sent elsewhere" not in page
    start = page.rindex("<article", 0, page.index(f'id="m-{read.pk}"'))
    article = page[start : page.index("</article>", start)]
    assert 'class="msg outbound"' in article and 'data-status="read"' in article
    assert f'<span class="author">{owner.workspace.name}</span>' in article
    assert '<span class="via" title="Sent from LinkedIn">sent from LinkedIn</span>' in article
    assert "✓✓" in article and ">Read<" in article and "Retry" not in article


def test_a_sent_message_in_a_chat_never_seen_asks_unipile_for_the_chat(linkedin, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    mine = peer.add_message(chat, OWNER["provider_id"], "Opening line", is_sender=True)
    assert post_v2(peer.v2_message_event(mine), linkedin).status_code == 200
    assert peer.requests_to("GET", f"/v2/acc-li-1/chats/{chat}")
    sent = Message.objects.get()
    assert sent.direction == "outbound"
    assert sent.conversation.contact.handles.get().value == KIM["provider_id"]


def test_attachments_download_from_the_account_scoped_path(linkedin, peer, drain_queue):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(
        chat, KIM["provider_id"], "CV", attachments=[("cv.pdf", "application/pdf", b"%PDF cv")]
    )
    response = post_v2(peer.v2_message_event(message), linkedin)
    assert response.status_code == 202
    assert "created" in drain_queue()
    stored = Message.objects.get().attachments.get()
    assert stored.name == "cv.pdf" and stored.file.read() == b"%PDF cv"
    [download] = peer.requests_to("GET", f"/v2/acc-li-1/chats/{chat}/messages/{message['id']}/")
    assert download.headers["x-api-key"] == API_KEY


def test_an_attachment_v2_marks_is_unavailable_is_not_fetched_but_the_message_kept(
    linkedin, peer, drain_queue
):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(
        chat,
        KIM["provider_id"],
        "Two files",
        attachments=[("gone.pdf", "application/pdf", b"x"), ("here.pdf", "application/pdf", b"y")],
    )
    message["attachments"][0]["unavailable"] = True  # served as v2 ``is_unavailable: true``
    event = peer.v2_message_event(message)
    assert [a["is_unavailable"] for a in event["payload"]["attachments"]] == [True, False]
    assert post_v2(event, linkedin).status_code == 202
    drain_queue()
    stored = Message.objects.get()
    assert stored.text == "Two files"
    assert [a.name for a in stored.attachments.all()] == ["here.pdf"]  # v2 ``filename``
    gone = message["attachments"][0]["id"]
    assert not [r for r in peer.requests_to("GET", "/v2/acc-li-1/") if r.path.endswith(gone)]


def test_an_attachment_redirect_off_the_unipile_host_is_not_followed(linkedin, peer, drain_queue):
    peer.redirect_attachments_to = "http://169.254.169.254/latest/meta-data/"
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(
        chat, KIM["provider_id"], "See", attachments=[("a.png", "image/png", b"png")]
    )
    assert post_v2(peer.v2_message_event(message), linkedin).status_code == 202
    drain_queue()
    stored = Message.objects.get()
    assert not stored.attachments.exists()
    assert "redirect refused" in " ".join(stored.extra["skipped_attachments"])


# --- outbound ------------------------------------------------------------------------------
@pytest.fixture
def kim_conversation(linkedin, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    hello = peer.v2_message_event(peer.add_message(chat, KIM["provider_id"], "Hello"))
    post_v2(hello, linkedin)
    return Conversation.objects.get(channel=linkedin)


def test_reply_goes_to_the_account_scoped_chat_and_read_events_mark_it(
    owner, linkedin, peer, kim_conversation, drain_queue, django_capture_on_commit_callbacks
):
    from frontdesk.connectors.base import InboundAttachment

    with django_capture_on_commit_callbacks(execute=True):
        reply = queue_reply(
            owner.user,
            kim_conversation,
            "Thanks Kim!",
            attachments=[InboundAttachment("quote.pdf", "application/pdf", b"%PDF quote")],
        )
    assert "sent" in drain_queue()
    path = f"/v2/acc-li-1/chats/{kim_conversation.thread_key}/messages/send"
    [sent] = peer.requests_to("POST", path)
    assert sent.headers["content-type"].startswith("application/json")
    assert sent.json["text"] == "Thanks Kim!"  # the account is in the path, not the body
    assert sent.json["attachments"] == [
        {"content": "JVBERiBxdW90ZQ==", "content_type": "application/pdf", "filename": "quote.pdf"}
    ]
    assert sent.files == [("quote.pdf", "application/pdf", b"%PDF quote")]
    reply.refresh_from_db()
    assert reply.status == "sent" and reply.provider_id
    read = peer.v2_event(
        "message.receipt.read",
        "acc-li-1",
        {"chat_id": kim_conversation.thread_key, "message_id": reply.provider_id},
    )
    assert post_v2(read, linkedin).status_code == 200
    reply.refresh_from_db()
    assert reply.status == "read"


@pytest.mark.parametrize(
    ("status", "kind", "outcome", "channel_status"),
    [
        (401, "provider/invalid_authorization", "failed", ChannelStatus.NEEDS_RECONNECT),
        (403, "api/insufficient_permissions", "failed", ChannelStatus.NEEDS_RECONNECT),
        (429, "api/too_many_requests", "retry", ChannelStatus.CONNECTED),
        (500, "api/unexpected_error", "retry", ChannelStatus.CONNECTED),
        (422, "provider/no_connection_with_recipient", "failed", ChannelStatus.CONNECTED),
    ],
)
def test_v2_send_errors_are_mapped(
    owner,
    linkedin,
    peer,
    kim_conversation,
    drain_queue,
    django_capture_on_commit_callbacks,
    status,
    kind,
    outcome,
    channel_status,
):
    peer.fail_next(
        "/v2/acc-li-1/chats/",
        status,
        detail=f"Unipile v2 says {status}",
        kind=kind,
        headers={"retry-after": "90"} if status == 429 else None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        reply = queue_reply(owner.user, kim_conversation, "Hi again")
    assert drain_queue() == [outcome]
    reply.refresh_from_db()
    linkedin.refresh_from_db()
    assert linkedin.status == channel_status
    assert f"Unipile v2 says {status}" in reply.error
    if outcome == "retry":
        assert reply.status == "queued"
        if status == 429:
            assert (reply.next_attempt_at - reply.created_at).total_seconds() >= 89
    else:
        assert reply.status == "failed"


def first_words_with_a_file(owner, linkedin, text: str) -> Message:
    """A reply with a file to Kim, whom this LinkedIn account has no chat with yet."""
    from frontdesk.connectors.base import InboundAttachment

    contact = Contact.objects.create(workspace=owner.workspace, name="Kim")
    contact.handles.create(workspace=owner.workspace, kind="linkedin", value=KIM["provider_id"])
    conversation = Conversation.objects.create(
        workspace=owner.workspace,
        channel=linkedin,
        contact=contact,
        thread_key=f"linkedin:{KIM['provider_id']}",
    )
    deck = InboundAttachment("deck.pdf", "application/pdf", b"%PDF deck")
    return queue_reply(owner.user, conversation, text, attachments=[deck])


def test_a_new_chat_is_started_with_json_users_ids_and_its_files(
    owner, linkedin, peer, drain_queue, django_capture_on_commit_callbacks
):
    peer.add_chat("acc-li-1", OWNER, {"provider_id": "ACoAAOther", "name": "Other"})
    with django_capture_on_commit_callbacks(execute=True):
        message = first_words_with_a_file(owner, linkedin, "Hello Kim, nice to meet you")
    assert "sent" in drain_queue()
    [started] = peer.requests_to("POST", "/v2/acc-li-1/chats/send")
    assert started.headers["content-type"].startswith("application/json")
    assert started.json["users_ids"] == [KIM["provider_id"]]
    assert started.json["text"] == "Hello Kim, nice to meet you"
    assert started.files == [("deck.pdf", "application/pdf", b"%PDF deck")]  # in one call
    new_chat = next(
        c for c in peer.chats.values() if c["attendee_provider_id"] == KIM["provider_id"]
    )
    message.refresh_from_db()
    assert message.status == "sent" and message.conversation.thread_key == new_chat["id"]


def test_a_reply_unipile_sends_as_two_messages_is_one_reply_and_its_echoes_land_on_it(
    owner, linkedin, peer, kim_conversation, drain_queue, django_capture_on_commit_callbacks
):
    """v2's ``message_id`` may be a list (the text and the files went separately): every id
    is kept, so Unipile's new-message events for either are this reply, not new ones."""
    from frontdesk.connectors.base import InboundAttachment

    peer.split_attachments = True
    with django_capture_on_commit_callbacks(execute=True):
        reply = queue_reply(
            owner.user,
            kim_conversation,
            "Here is our deck",
            attachments=[InboundAttachment("deck.pdf", "application/pdf", b"%PDF deck")],
        )
    assert "sent" in drain_queue()
    text_sent, files_sent = peer.messages[kim_conversation.thread_key][-2:]
    reply.refresh_from_db()
    assert reply.provider_id == text_sent["id"]
    assert reply.extra["part_ids"] == [text_sent["id"], files_sent["id"]]
    for sent in (text_sent, files_sent):
        answer = post_v2(peer.v2_message_event(sent), linkedin)
        assert answer.status_code == 200
    assert kim_conversation.messages.filter(direction="outbound", kind="message").count() == 1


# --- backfill -------------------------------------------------------------------------------
def test_backfill_pages_with_next_cursor_and_stops_at_the_window(owner, peer, monkeypatch):
    monkeypatch.setattr(Backfill, "CHATS_PER_PAGE", 1)
    monkeypatch.setattr(Backfill, "MESSAGES_PER_PAGE", 2)
    old = 40 * 24 * 60
    chat = peer.add_chat("acc-li-1", OWNER, KIM, chat_id="chat-kim", minutes_ago=old + 10)
    peer.add_message(chat, KIM["provider_id"], "too old", minutes_ago=old + 5)
    peer.add_message(chat, KIM["provider_id"], "older still", minutes_ago=old + 6)
    recent = [
        peer.add_message(chat, KIM["provider_id"], "Hi", minutes_ago=300),
        peer.add_message(chat, OWNER["provider_id"], "Hello!", minutes_ago=290, is_sender=True),
        peer.add_message(chat, KIM["provider_id"], "News?", minutes_ago=20),
    ]
    other = peer.add_chat("acc-li-1", OWNER, {"provider_id": "ACoAALee", "name": "Lee Lead"})
    peer.add_message(other, "ACoAALee", "Lee here", minutes_ago=100)
    channel = make_channel(owner, peer, api_version="v2")
    run_sync(channel)
    stored = Message.objects.filter(channel=channel)
    assert sorted(stored.values_list("text", flat=True)) == sorted(
        [m["text"] for m in recent] + ["Lee here"]
    )
    assert stored.get(text="Hello!").direction == "outbound"
    assert stored.get(text="Hello!").conversation == stored.get(text="Hi").conversation
    assert stored.get(text="Lee here").conversation.contact.name == "Lee Lead"
    requests = peer.requests_to("GET", "/v2/acc-li-1/chats")
    chat_lists = [r for r in requests if r.path == "/v2/acc-li-1/chats"]
    assert any(r.query.get("cursor") for r in chat_lists)  # next_cursor was followed
    assert all("after" not in r.query for r in chat_lists)  # "created after": not a filter here
    pages = [r for r in requests if r.path == "/v2/acc-li-1/chats/chat-kim/messages"]
    channel.refresh_from_db()
    assert all(r.query["after"] == channel.sync_state["backfill"]["since"] for r in pages)
    assert len(pages) == 2 and pages[1].query.get("cursor")  # 3 messages, 2 a page
    assert channel.sync_state["backfill"]["status"] == "done"
    assert channel.credentials["webhook_signing_secret"].startswith("whsec_")
    before = len(peer.endpoints)
    run_sync(channel)
    assert len(peer.endpoints) == before  # registered once


def test_v2_backfill_reads_a_chats_last_message_timestamp_to_stop_at_the_window(
    owner, peer, monkeypatch
):
    """v2 chats have no ``timestamp`` (GetChatsList200Response): their activity is
    ``last_message_timestamp``, so the chats older than the window are not even opened."""
    monkeypatch.setattr(Backfill, "CHATS_PER_PAGE", 1)
    old = 40 * 24 * 60
    recent = peer.add_chat("acc-li-1", OWNER, KIM, minutes_ago=60)
    peer.add_message(recent, KIM["provider_id"], "Recent", minutes_ago=30)
    stale = peer.add_chat(
        "acc-li-1", OWNER, {"provider_id": "ACoAAOld", "name": "Old Lead"}, minutes_ago=old
    )
    peer.add_message(stale, "ACoAAOld", "Long ago", minutes_ago=old)
    assert "timestamp" not in peer.v2_chat(peer.chats[stale])
    channel = make_channel(owner, peer, api_version="v2")
    run_sync(channel)
    assert list(Message.objects.values_list("text", flat=True)) == ["Recent"]
    assert peer.requests_to("GET", f"/v2/acc-li-1/chats/{recent}/messages")
    assert not peer.requests_to("GET", f"/v2/acc-li-1/chats/{stale}/messages")


# --- WhatsApp by QR code over v2 -------------------------------------------------------------
def test_whatsapp_account_over_v2(owner, peer, drain_queue, django_capture_on_commit_callbacks):
    channel = v2_channel(owner, peer, account_id="acc-wa", kind="whatsapp")
    chat = peer.add_chat("acc-wa", WA_OWNER, WA_CLIENT)
    event = peer.v2_message_event(peer.add_message(chat, WA_CLIENT["provider_id"], "Bonjour"))
    assert post_v2(event, channel).status_code == 200
    conversation = Conversation.objects.get(channel=channel)
    assert conversation.contact.handles.get().value == "+33612345678"
    with django_capture_on_commit_callbacks(execute=True):
        queue_reply(owner.user, conversation, "Bonjour Camille")
    assert drain_queue() == ["sent"]
    [sent] = peer.requests_to("POST", f"/v2/acc-wa/chats/{chat}/messages/send")
    assert sent.json == {"text": "Bonjour Camille"}


# --- connecting through v2 hosted auth -----------------------------------------------------------
def test_connect_and_reconnect_through_v2_hosted_auth(
    owner, rival, agent, peer, settings, drain_queue, django_capture_on_commit_callbacks
):
    from frontdesk.connectors.unipile.tests.test_connect import flash, hosted_url, local, logged_in
    from frontdesk.inbox.models import PendingConnection

    client = logged_in(owner)
    answer = client.post(
        "/connectors/unipile/connect/",
        {"network": "linkedin", "dsn": peer.dsn, "api_key": API_KEY, "api_version": "v2"},
    )
    url = hosted_url(client, answer)
    [link] = peer.hosted_links
    assert url == f"{peer.dsn}/hosted/{link['token']}"
    assert link["providers"] == ["LINKEDIN"] and link["expires_on"].endswith("Z")
    assert link["redirect_uri"] == f"{settings.BASE_URL}/connectors/unipile/return/"
    assert "name" not in link and "notify_url" not in link  # v2's documented fields only
    pending = PendingConnection.objects.get()
    assert link["state"] == pending.state and pending.config["api_version"] == "v2"
    assert not ChannelAccount.objects.exists()

    # The way back is for an admin of the workspace that started it.
    back = local(peer.redirect_back(link, "acc-v2"))
    assert Client().get(back).status_code == 302  # to the login page, then back here
    assert logged_in(rival).get(back).status_code == 400
    assert logged_in(agent).get(back).status_code == 403
    # An account id Unipile does not know (typed into the address bar) is refused, in words.
    forged = client.get(
        local(with_query(link["redirect_uri"], state=link["state"], account_id="x"))
    )
    assert forged.status_code == 400 and b"Unipile does not confirm" in forged.content
    assert not ChannelAccount.objects.exists()

    # Start again, approve: the channel is made once Unipile confirms the account.
    hosted_url(
        client,
        client.post(
            "/connectors/unipile/connect/",
            {
                "network": "linkedin",
                "dsn": peer.dsn,
                "api_key": API_KEY,
                "api_version": "v2",
                "name": "Sales LinkedIn",
            },
        ),
    )
    link = peer.hosted_links[-1]
    back = local(peer.redirect_back(link, "acc-v2"))
    with django_capture_on_commit_callbacks(execute=True):
        said = flash(client, client.get(back))
    assert said == "Sales LinkedIn is connected; its messages are being imported."
    channel = ChannelAccount.objects.get(provider="unipile")
    assert channel.status == ChannelStatus.CONNECTED and channel.config["account_id"] == "acc-v2"
    assert peer.requests_to("GET", "/v2/accounts/acc-v2")
    drain_queue()  # the first sync registers the webhook endpoint
    channel.refresh_from_db()
    assert [e["url"] for e in peer.endpoints] == [webhook_url(token(channel))]
    assert channel.credentials["webhook_signing_secret"]

    replay = client.get(back)  # single-use state
    assert replay.status_code == 400 and b"not valid" in replay.content

    # Connecting the same account again is refused in words; nothing changes.
    hosted_url(
        client,
        client.post(
            "/connectors/unipile/connect/",
            {"network": "linkedin", "dsn": peer.dsn, "api_key": API_KEY, "api_version": "v2"},
        ),
    )
    twice = client.get(local(peer.redirect_back(peer.hosted_links[-1], "acc-v2")))
    assert (
        twice.status_code == 400 and b"already connected here, as Sales LinkedIn" in twice.content
    )
    assert ChannelAccount.objects.count() == 1

    channel.status = ChannelStatus.NEEDS_RECONNECT
    channel.save()
    hosted_url(client, client.post(f"/connectors/unipile/{channel.pk}/reconnect/"))
    again = peer.hosted_links[-1]
    assert again["account_id"] == "acc-v2"
    peer.add_account("acc-someone-else")
    other = client.get(
        local(
            with_query(again["redirect_uri"], state=again["state"], account_id="acc-someone-else")
        )
    )
    assert other.status_code == 400 and b"another account" in other.content
    hosted_url(client, client.post(f"/connectors/unipile/{channel.pk}/reconnect/"))
    again = peer.hosted_links[-1]
    with django_capture_on_commit_callbacks(execute=True):
        said = flash(client, client.get(local(peer.redirect_back(again, "acc-v2"))))
    assert said == "Sales LinkedIn is connected again."
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED


def test_cancelled_or_refused_at_unipile_v2_connects_nothing(owner, peer):
    from frontdesk.connectors.unipile.tests.test_connect import flash, hosted_url, local, logged_in
    from frontdesk.inbox.models import PendingConnection

    client = logged_in(owner)
    form = {"network": "whatsapp", "dsn": peer.dsn, "api_key": API_KEY, "api_version": "v2"}
    hosted_url(client, client.post("/connectors/unipile/connect/", form))
    cancelled = peer.refuse(peer.hosted_links[-1], "The authentication was cancelled")
    said = flash(client, client.get(local(cancelled)))
    assert said == "Unipile did not connect the WhatsApp account: The authentication was cancelled."
    # Without any reason given (v2 documents only the success redirect): said plainly too.
    hosted_url(client, client.post("/connectors/unipile/connect/", form))
    bare = with_query(peer.hosted_links[-1]["redirect_uri"], state=peer.hosted_links[-1]["state"])
    said = flash(client, client.get(local(bare)))
    assert said.startswith("Unipile did not connect the WhatsApp account (cancelled, or")
    assert not ChannelAccount.objects.exists() and not PendingConnection.objects.exists()


# --- both versions --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "new_chat", "names_recipient"),
    [
        ("v1", False, True),
        ("v1", True, True),
        ("v1", True, False),
        ("v2", False, True),
        ("v2", True, True),
    ],
    ids=["v1-reply", "v1-new-chat", "v1-new-chat-naming-nobody", "v2-reply", "v2-new-chat"],
)
def test_our_send_echoed_before_unipile_answers_is_stored_once(
    live_server, owner, drain_queue, settings, version, new_chat, names_recipient
):
    """Unipile posts our own message as a new-message webhook, here before it answers the
    send call: the echo must become the reply being sent, not a second message. Also when
    the echo names no attendee: a chat nobody here has seen, only the reply in flight
    tells who it went to."""
    settings.BASE_URL = live_server.url
    peer = UnipilePeer()
    try:
        channel = make_channel(owner, peer, api_version=version)
        register_webhooks(channel)
        channel.refresh_from_db()
        if new_chat:
            peer.add_chat("acc-li-1", OWNER, {"provider_id": "ACoAAOther", "name": "Other"})
            contact = Contact.objects.create(workspace=owner.workspace, name="Kim")
            contact.handles.create(
                workspace=owner.workspace, kind="linkedin", value=KIM["provider_id"]
            )
            conversation = Conversation.objects.create(
                workspace=owner.workspace,
                channel=channel,
                contact=contact,
                thread_key=f"linkedin:{KIM['provider_id']}",
            )
        else:
            chat = peer.add_chat("acc-li-1", OWNER, KIM)
            hello = peer.add_message(chat, KIM["provider_id"], "Hello")
            if version == "v1":
                peer.deliver("messaging", peer.webhook_event(hello, OWNER["provider_id"]))
            else:
                peer.deliver_v2(peer.v2_message_event(hello))
            conversation = Conversation.objects.get(channel=channel)

        echoes = []

        def echo_first(request, status, payload):
            if request.method != "POST" or not isinstance(payload, dict):
                return
            if "message_id" not in payload or status not in (200, 201) or echoes:
                return
            chat_id = payload.get("chat_id") or request.path.split("/chats/")[1].split("/")[0]
            sent = next(m for m in peer.messages[chat_id] if m["id"] == payload["message_id"])
            if version == "v1":
                event = peer.webhook_event(sent, OWNER["provider_id"])
                if not names_recipient:
                    event["attendees"] = []
                answers = peer.deliver("messaging", event)
            else:
                answers = peer.deliver_v2(peer.v2_message_event(sent))
            echoes.extend(a.status_code for a in answers)

        peer.before_answer = echo_first
        drain_queue()  # the inbound "Hello" asked for Kim's profile: none on the peer
        reply = queue_reply(owner.user, conversation, "Our proposal is attached")
        assert drain_queue() == ["sent"]
        assert echoes == [200]  # the echo was taken while the send was still unanswered
        stored = Message.objects.filter(channel=channel, text="Our proposal is attached")
        assert stored.count() == 1
        reply.refresh_from_db()
        assert reply.status == "sent" and reply.provider_id
        assert Conversation.objects.filter(channel=channel).count() == 1
        conversation.refresh_from_db()
        assert conversation.thread_key in peer.chats  # a new chat joined this conversation
    finally:
        peer.close()


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_profile_enrichment_keeps_an_edit_made_meanwhile_and_tells_the_inbox(
    owner, peer, drain_queue, monkeypatch, version
):
    from frontdesk.connectors.unipile import client as client_module

    peer.profiles[KIM["provider_id"]] = {
        "provider_id": KIM["provider_id"],
        "public_identifier": "kim-prospect",
        "first_name": "Kim",
        "last_name": "Prospect",
        "headline": "Head of Procurement at Globex",
        "work_experience": [{"company": "Globex", "current": True}],
    }
    channel = make_channel(owner, peer, api_version=version)
    if version == "v2":
        register_webhooks(channel)
        channel.refresh_from_db()
    chat = peer.add_chat("acc-li-1", OWNER, {**KIM, "name": ""})
    message = peer.add_message(chat, KIM["provider_id"], "Hello")
    if version == "v1":
        from frontdesk.connectors.unipile.tests.test_connector import post_hook, secret_of

        assert post_hook(peer.webhook_event(message, OWNER["provider_id"]), secret_of(channel))
    else:
        assert post_v2(peer.v2_message_event(message), channel).status_code == 200
    contact = Conversation.objects.get().contact

    original = client_module.UnipileClient.user_profile
    v2_original = client_module.UnipileV2Client.user_profile

    def slow_profile(self, identifier, account_id):
        # While Unipile answers, an agent fills in the company by hand.
        Contact.objects.filter(pk=contact.pk).update(company="Globex France (typed by Ana)")
        impl = v2_original if isinstance(self, client_module.UnipileV2Client) else original
        return impl(self, identifier, account_id)

    monkeypatch.setattr(client_module.UnipileClient, "user_profile", slow_profile)
    monkeypatch.setattr(client_module.UnipileV2Client, "user_profile", slow_profile)
    published = []
    monkeypatch.setattr(
        "frontdesk.realtime.publish.publish",
        lambda workspace_id, kind, **data: published.append((workspace_id, kind, data)),
    )
    assert drain_queue() == ["enriched"]
    contact.refresh_from_db()
    assert contact.company == "Globex France (typed by Ana)"  # not overwritten
    assert contact.name == "Kim Prospect"
    assert contact.custom_fields["linkedin_headline"] == "Head of Procurement at Globex"
    assert (owner.workspace_id, "contact.updated", {"contact_id": contact.pk}) in published


def test_channels_on_one_api_key_share_one_endpoint_and_foreign_accounts_are_acknowledged(
    owner, peer
):
    first = v2_channel(owner, peer, account_id="acc-li-1")
    second = v2_channel(owner, peer, account_id="acc-wa", kind="whatsapp")
    assert len(peer.endpoints) == 1  # one Unipile application, one endpoint here
    assert token(first) == token(second)
    # A sync that lost its state finds the endpoint in Unipile's listing.
    ChannelAccount.objects.filter(pk=first.pk).update(sync_state={})
    first.refresh_from_db()
    register_webhooks(first)
    assert len(peer.endpoints) == 1
    # An account of the same Unipile application that is not connected here: authentic,
    # so acknowledged (Unipile would otherwise retry it), and nothing is stored.
    chat = peer.add_chat("acc-not-here", OWNER, KIM)
    event = peer.v2_message_event(peer.add_message(chat, KIM["provider_id"], "Hi"))
    answer = post_v2(event, first)
    assert answer.status_code == 200 and answer.json()["ignored"] == "account not connected here"
    assert post_v2(event, token="forged").status_code == 401
    assert not Message.objects.exists()
