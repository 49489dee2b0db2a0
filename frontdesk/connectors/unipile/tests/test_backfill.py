"""Unipile backfill on connect: cursor paging, the window, resuming, and webhooks meanwhile."""

from __future__ import annotations

import pytest

from frontdesk.connectors.unipile.client import SECRET_HEADER
from frontdesk.connectors.unipile.parse import parse_time
from frontdesk.connectors.unipile.sync import Backfill
from frontdesk.connectors.unipile.tests.peer import UnipilePeer
from frontdesk.connectors.unipile.tests.test_connector import (
    KIM,
    OWNER,
    Side,
    make_channel,
    post_hook,
    register_webhooks,
    secret_of,
)
from frontdesk.connectors.unipile.webhook import webhook_url
from frontdesk.inbox.models import ChannelAccount, Conversation, Message
from frontdesk.inbox.sync import run_sync

LEE = {
    "provider_id": "ACoAALee0002",
    "name": "Lee Lead",
    "profile_url": "https://www.linkedin.com/in/lee/",
}
OLD = 40 * 24 * 60  # minutes: outside the default 30-day window


@pytest.fixture
def peer():
    server = UnipilePeer()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(Backfill, "CHATS_PER_PAGE", 1)
    monkeypatch.setattr(Backfill, "MESSAGES_PER_PAGE", 2)


@pytest.fixture
def history(peer):
    kim_chat = peer.add_chat("acc-li-1", OWNER, KIM, chat_id="chat-kim", minutes_ago=OLD + 10)
    peer.add_message(kim_chat, KIM["provider_id"], "too old", minutes_ago=OLD + 5)
    kim = [
        peer.add_message(kim_chat, KIM["provider_id"], "Hi, I saw your post", minutes_ago=300),
        peer.add_message(
            kim_chat, OWNER["provider_id"], "Thanks Kim!", minutes_ago=290, is_sender=True
        ),
        peer.add_message(
            kim_chat,
            KIM["provider_id"],
            "My CV",
            minutes_ago=280,
            attachments=[("cv.pdf", "application/pdf", b"%PDF-1.4 cv")],
        ),
        peer.add_message(kim_chat, KIM["provider_id"], "Any news?", minutes_ago=20),
    ]
    lee_chat = peer.add_chat("acc-li-1", OWNER, LEE, chat_id="chat-lee", minutes_ago=OLD + 10)
    lee = [
        peer.add_message(lee_chat, LEE["provider_id"], f"Lee {i}", minutes_ago=200 - i)
        for i in range(3)
    ]
    stale = peer.add_chat("acc-li-1", OWNER, {"provider_id": "ACoAAStale", "name": "Stale"})
    peer.add_message(stale, "ACoAAStale", "ancient", minutes_ago=OLD)
    peer.chats[stale]["timestamp"] = peer.messages[stale][0]["timestamp"]
    other_account = peer.add_chat("acc-somebody-else", OWNER, KIM)
    peer.add_message(other_account, KIM["provider_id"], "not ours")
    return {"kim": kim, "lee": lee}


def test_backfill_imports_the_window_once_with_paging(owner, peer, history):
    channel = make_channel(owner, peer)
    # A webhook for one of these messages arrives before the backfill reaches it.
    first = history["kim"][0]
    assert (
        post_hook(peer.webhook_event(first, OWNER["provider_id"]), secret_of(channel)).status_code
        == 200
    )

    run_sync(channel)

    stored = Message.objects.filter(channel=channel)
    assert sorted(stored.values_list("text", flat=True)) == sorted(
        [m["text"] for m in history["kim"] + history["lee"]]
    )
    assert stored.count() == 7  # nothing older than the window, nothing from other accounts
    assert stored.get(provider_id=history["kim"][1]["id"]).direction == "outbound"
    cv = stored.get(provider_id=history["kim"][2]["id"]).attachments.get()
    assert cv.name == "cv.pdf" and cv.file.read() == b"%PDF-1.4 cv"
    lee_message = stored.get(provider_id=history["lee"][0]["id"])
    assert lee_message.conversation.thread_key == "chat-lee"
    assert lee_message.conversation.contact.name == "Lee Lead"
    assert lee_message.conversation.contact.custom_fields["linkedin_url"] == LEE["profile_url"]
    assert (
        stored.filter(conversation__thread_key="chat-kim").values("conversation").distinct().count()
        == 1
    )

    channel.refresh_from_db()
    backfill = channel.sync_state["backfill"]
    assert backfill["status"] == "done" and backfill["chats"] == 2 and backfill["messages"] == 6
    # Every list call used the window and cursor paging.
    chat_lists = [r for r in peer.requests if r.path == "/api/v1/chats"]
    message_lists = [r for r in peer.requests if r.path.endswith("/messages")]
    # The window pass, then a catch-up pass over chats active since the start; neither
    # opens the chat whose last activity is older than the window.
    assert len([r for r in chat_lists if not r.query.get("cursor")]) == 2
    stale = next(c for c in peer.chats.values() if c["name"] == "Stale")["id"]
    assert not [r for r in peer.requests if f"/chats/{stale}/" in r.path]
    assert all(r.query["after"] == backfill["since"] for r in message_lists)
    assert any(r.query.get("cursor") for r in chat_lists)
    assert any(r.query.get("cursor") for r in message_lists)

    # Webhooks were registered, each with the secret header, for this account only.
    hooks = peer.webhooks
    assert sorted(h["source"] for h in hooks) == ["account_status", "messaging"]
    for hook in hooks:
        assert hook["request_url"] == webhook_url()
        assert hook["account_ids"] == ["acc-li-1"]
        assert {"key": SECRET_HEADER, "value": secret_of(channel)} in hook["headers"]

    # A webhook for a backfilled message, and a second sync, add nothing.
    last = history["kim"][3]
    assert (
        post_hook(peer.webhook_event(last, OWNER["provider_id"]), secret_of(channel)).status_code
        == 200
    )
    before = len(peer.requests)
    run_sync(channel)
    assert len(peer.requests) == before
    assert Message.objects.filter(channel=channel).count() == 7
    assert len(peer.webhooks) == 2


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_import_counts_up_live_without_a_total_then_shows_the_last_sync(
    owner, peer, history, monkeypatch, version
):
    """Unipile gives no account-wide count of messages, so Apps & integrations and the
    sidebar show the count alone while the backfill runs, then the time of the sync."""
    from frontdesk.inbox import sync as inbox_sync

    seen: list[str] = []
    original = inbox_sync.record_import_progress

    def watched(channel_id: int, done: int, total: int) -> None:
        original(channel_id, done, total)
        seen.append(ChannelAccount.objects.get(pk=channel_id).import_text)

    monkeypatch.setattr(inbox_sync, "record_import_progress", watched)
    channel = make_channel(owner, peer, api_version=version)
    run_sync(channel)
    shown = [text for text in seen if text]
    assert shown[0] == "Importing: 0 messages so far"
    assert shown[-1] == "Importing: 7 messages so far"  # the window's 7, all stored
    assert Message.objects.filter(channel=channel).count() == 7
    counts = [int(t.split()[1]) for t in shown]
    assert counts == sorted(counts) and len(set(counts)) >= 3  # it moved, page by page
    assert seen[-1] == ""  # done: the count gives way to the time of the sync
    channel.refresh_from_db()
    assert channel.import_progress is None and channel.last_synced_at is not None


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_after_the_backfill_each_conversation_shows_its_newest_message(
    owner, peer, history, version
):
    """Unipile lists a chat's messages newest first: the older ones ingested after must not
    take over the preview shown beside the newest time."""
    channel = make_channel(owner, peer, api_version=version)
    run_sync(channel)
    for chat, newest in (("chat-kim", history["kim"][-1]), ("chat-lee", history["lee"][-1])):
        conversation = Conversation.objects.get(channel=channel, thread_key=chat)
        assert conversation.preview == newest["text"]
        assert conversation.last_message_at == parse_time(newest["timestamp"])
        assert conversation.last_message_at == max(
            conversation.messages.values_list("created_at", flat=True)
        )


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_backfill_resumes_after_a_failure_without_refetching_or_duplicating(
    owner, peer, history, version
):
    channel = make_channel(owner, peer, api_version=version)
    root = "/api/v1" if version == "v1" else "/v2/acc-li-1"
    peer.fail_next(f"{root}/chats/chat-lee/messages", 503, detail="provider busy")
    run_sync(channel)  # what the worker's sync_channel job runs
    channel.refresh_from_db()
    assert "503" in channel.last_error
    assert channel.sync_state["backfill"]["status"] == "running"
    assert Message.objects.filter(channel=channel).count() == 4  # Kim's chat was finished

    # Meanwhile Lee writes again and the webhook comes in.
    fresh = peer.add_message("chat-lee", LEE["provider_id"], "Are you there?", minutes_ago=0)
    assert (
        Side(version, channel, peer).post(Side(version, channel, peer).event(fresh)).status_code
        == 200
    )

    kim_fetches = len(peer.requests_to("GET", f"{root}/chats/chat-kim/messages"))
    run_sync(channel)
    channel.refresh_from_db()
    assert channel.sync_state["backfill"]["status"] == "done"
    assert channel.last_error == ""
    assert len(peer.requests_to("GET", f"{root}/chats/chat-kim/messages")) == kim_fetches
    ids = list(Message.objects.filter(channel=channel).values_list("provider_id", flat=True))
    assert len(ids) == len(set(ids)) == 8


def test_backfill_runs_from_the_worker_and_refused_keys_need_reconnection(
    owner, peer, history, drain_queue
):
    from frontdesk.inbox.sync import sync_channel

    channel = make_channel(owner, peer)
    bad = make_channel(owner, peer, account_id="acc-bad")
    bad.credentials = {**bad.credentials, "api_key": "wrong"}
    bad.save()
    sync_channel(channel.pk)
    sync_channel(bad.pk)
    drain_queue()
    assert Message.objects.filter(channel=channel).count() == 7
    bad.refresh_from_db()
    assert bad.status == "needs_reconnect" and "Invalid API key" in bad.last_error
    assert not Message.objects.filter(channel=bad).exists()


def test_an_existing_webhook_is_not_registered_twice(owner, peer):
    """A sync that registered the webhooks but died before saving it: the next one finds
    them in Unipile's listing (accounts as objects, no source) and registers nothing."""
    channel = make_channel(owner, peer, backfill_days=0)
    first = register_webhooks(channel)
    listed = peer.requests_to("GET", "/api/v1/webhooks")
    run_sync(channel)
    assert len(peer.webhooks) == 2
    assert len(peer.requests_to("GET", "/api/v1/webhooks")) == len(listed) + 1
    channel.refresh_from_db()
    assert channel.sync_state["webhooks"] == first
    assert ChannelAccount.objects.get(pk=channel.pk).sync_state["backfill"]["status"] == "done"
    # Another account on the same DSN gets webhooks of its own.
    other = make_channel(owner, peer, account_id="acc-li-2", backfill_days=0)
    run_sync(other)
    assert len(peer.webhooks) == 4


def test_v1_webhooks_subscribe_to_every_account_status_the_channel_reacts_to(owner, peer):
    """Unipile's default leaves out OK, CONNECTING and STOPPED: a channel put in error
    would never hear it is back. Frontdesk names every status it handles."""
    channel = make_channel(owner, peer, backfill_days=0)
    run_sync(channel)
    [status_hook] = peer.deliveries("account_status")
    assert {"ok", "stopped", "deleted", "credentials", "permissions", "creation_fail"} <= set(
        status_hook["events"]
    )
    [messaging] = peer.deliveries("messaging")
    assert {"message_received", "message_read", "message_reaction"} <= set(messaging["events"])


def test_a_chat_that_jumps_to_the_top_during_the_backfill_is_not_missed(owner, peer, history):
    channel = make_channel(owner, peer)
    max_chat = peer.add_chat(
        "acc-li-1", OWNER, {"provider_id": "ACoAAMax", "name": "Max"}, minutes_ago=OLD + 10
    )
    older = [
        peer.add_message(max_chat, "ACoAAMax", f"Max {i}", minutes_ago=250 - i) for i in range(2)
    ]
    bumped = []

    def bump(request):
        if request.path == "/api/v1/chats/chat-kim/attendees" and not bumped:
            bumped.append(peer.add_message(max_chat, "ACoAAMax", "Hello again", minutes_ago=0))

    peer.on_request = bump
    run_sync(channel)
    assert bumped
    texts = set(
        Message.objects.filter(channel=channel, conversation__thread_key=max_chat).values_list(
            "text", flat=True
        )
    )
    assert texts == {m["text"] for m in older} | {"Hello again"}
    channel.refresh_from_db()
    assert channel.sync_state["backfill"]["status"] == "done"
    assert Message.objects.filter(channel=channel).count() == 10
