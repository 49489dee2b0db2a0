"""WhatsApp Cloud API outbound: text, replies, media, reactions, templates, the 24-hour
window, error codes (retried or failed with the reason), token expiry, channel set-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from frontdesk.connectors.base import InboundEvents, ProviderCallError, ReplyContext, SyncRun
from frontdesk.connectors.registry import get_connector
from frontdesk.connectors.whatsapp_cloud.client import GraphError, check_connection
from frontdesk.connectors.whatsapp_cloud.tests.conftest import (
    CLIENT_WA,
    VERIFY_TOKEN,
    contacts,
    msg,
    post_webhook,
)
from frontdesk.inbox.actions.send import queue_reply, reply_blocked
from frontdesk.inbox.models import ChannelAccount, Conversation, Message
from frontdesk.inbox.outbox import deliver
from frontdesk.inbox.sync import run_sync
from tests.fixtures import token_client


@pytest.fixture
def conversation(wa, graph) -> Conversation:
    first = msg("text", {"body": "Can I change my booking?"})
    assert post_webhook(graph.webhook(messages=[first], contacts=contacts())).status_code == 200
    return Conversation.objects.get()


def sync_templates(wa: ChannelAccount) -> list[dict]:
    """What the worker's sync job runs; the templates it stored on the channel."""
    run_sync(wa)
    wa.refresh_from_db()
    return wa.sync_state["templates"]


def _reply(owner, conversation, text="Sure, which day?", **kw) -> Message:
    return queue_reply(owner.user, conversation, text, **kw)


def _close_window(conversation, hours=25):
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=timezone.now() - timedelta(hours=hours)
    )
    conversation.refresh_from_db()


def test_a_text_reply_is_sent_with_link_previews_and_keeps_the_wamid(owner, conversation, graph):
    message = _reply(owner, conversation, "See https://example.com/booking")
    assert deliver(message.pk) == "sent"
    message.refresh_from_db()
    [call] = graph.calls_to(f"/{graph.phone_number_id}/messages")
    assert call.path == f"/v21.0/{graph.phone_number_id}/messages"
    assert call.headers["authorization"] == f"Bearer {graph.token}"
    assert call.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CLIENT_WA,
        "type": "text",
        "text": {"preview_url": True, "body": "See https://example.com/booking"},
    }
    assert message.status == "sent"
    assert message.provider_id.startswith("wamid.")


def test_a_reply_to_a_message_carries_its_context(owner, conversation, graph):
    quoted = Message.objects.get(direction="inbound")
    message = queue_reply(owner.user, conversation, "This one?")
    Message.objects.filter(pk=message.pk).update(reply_to=quoted)
    assert deliver(message.pk) == "sent"
    [call] = graph.calls_to("/messages")
    assert call.json["context"] == {"message_id": quoted.provider_id}


def test_statuses_from_webhooks_move_the_sent_message_forward(owner, conversation, graph):
    message = _reply(owner, conversation)
    deliver(message.pk)
    message.refresh_from_db()
    for status in ("delivered", "sent", "read", "delivered"):
        post_webhook(
            graph.webhook(
                statuses=[
                    {
                        "id": message.provider_id,
                        "status": status,
                        "timestamp": "1700000000",
                        "recipient_id": CLIENT_WA,
                    }
                ]
            )
        )
    message.refresh_from_db()
    assert message.status == "read"


def test_an_attachment_is_uploaded_then_sent_with_the_text_as_caption(owner, conversation, graph):
    from frontdesk.connectors.base import InboundAttachment

    jpeg = b"\xff\xd8\xff\xe0" + b"photo" * 200
    message = _reply(
        owner,
        conversation,
        "The receipt",
        attachments=[InboundAttachment("receipt.jpg", "image/jpeg", jpeg)],
    )
    assert deliver(message.pk) == "sent"
    [upload] = graph.calls_to(f"/{graph.phone_number_id}/media")
    assert upload.headers["content-type"].startswith("multipart/form-data")
    [(media_id, (name, content_type, data))] = graph.uploads.items()
    assert (name, content_type, data) == ("receipt.jpg", "image/jpeg", jpeg)
    [call] = graph.calls_to("/messages")
    assert call.json["type"] == "image"
    assert call.json["image"] == {"id": media_id, "caption": "The receipt"}


def test_a_document_keeps_its_filename(owner, conversation, graph):
    from frontdesk.connectors.base import InboundAttachment

    pdf = b"%PDF-1.7\n" + b"x" * 100
    message = _reply(
        owner,
        conversation,
        "",
        attachments=[InboundAttachment("quote.pdf", "application/pdf", pdf)],
    )
    assert deliver(message.pk) == "sent"
    [call] = graph.calls_to("/messages")
    assert call.json["type"] == "document"
    assert call.json["document"]["filename"] == "quote.pdf"
    assert "caption" not in call.json["document"]


def test_an_outbound_reaction(owner, conversation, graph):
    quoted = Message.objects.get(direction="inbound")
    message = _reply(
        owner,
        conversation,
        "👍",
        extra={"reaction": {"message_id": quoted.provider_id, "emoji": "👍"}},
    )
    assert deliver(message.pk) == "sent"
    [call] = graph.calls_to("/messages")
    assert call.json["type"] == "reaction"
    assert call.json["reaction"] == {"message_id": quoted.provider_id, "emoji": "👍"}


# --- the 24-hour window -------------------------------------------------------------------------


def test_inside_the_window_a_reply_is_allowed(conversation, wa):
    assert reply_blocked(conversation) is None


def test_outside_the_window_a_free_form_reply_is_refused_before_it_is_sent(
    owner, conversation, graph, wa
):
    message = _reply(owner, conversation)  # queued inside the window, sent after it closed
    _close_window(conversation)
    reason = reply_blocked(conversation)
    assert reason and "24-hour window closed" in reason
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert "24-hour window closed" in message.error
    assert graph.calls_to("/messages") == []


def test_the_window_is_read_from_values_without_the_database():
    """The connector is told the conversation as a value (``ReplyContext``), not its row."""
    connector = get_connector("whatsapp_cloud")
    now = timezone.now()
    assert connector.reply_blocked_reason(ReplyContext(now - timedelta(hours=23))) is None
    wrote = now - timedelta(hours=30)
    reason = connector.reply_blocked_reason(ReplyContext(last_inbound_at=wrote))
    assert reason is not None
    assert f"window closed at {wrote + timedelta(hours=24):%Y-%m-%d %H:%M} UTC" in reason
    template = {"template": {"name": "booking", "language": "en", "params": []}}
    assert connector.reply_blocked_reason(ReplyContext(last_inbound_at=wrote), template) is None


def test_a_conversation_we_started_has_no_window_until_the_client_writes():
    never = ReplyContext(last_inbound_at=None)
    assert "approved template" in get_connector("whatsapp_cloud").reply_blocked_reason(never)


def test_131047_from_the_api_is_shown_clearly(owner, conversation, graph):
    graph.fail_next = [131047]
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error.startswith("More than 24 hours have passed since the customer last wrote")
    assert "(error 131047)" in message.error


# --- templates ---------------------------------------------------------------------------------

TEMPLATES = [
    {
        "name": "booking_reminder",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "1",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Reminder"},
            {"type": "BODY", "text": "Hi {{1}}, your booking is on {{2}}."},
        ],
    },
    {
        "name": "draft_promo",
        "language": "en_US",
        "status": "PENDING",
        "category": "MARKETING",
        "id": "2",
        "components": [{"type": "BODY", "text": "Sale!"}],
    },
    {
        "name": "hello_world",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "3",
        "components": [{"type": "BODY", "text": "Hello World"}],
    },
]


def test_approved_templates_are_synced_across_pages(wa, graph):
    graph.templates = TEMPLATES
    templates = sync_templates(wa)
    assert [(t["name"], t["variables"]) for t in templates] == [
        ("booking_reminder", ["1", "2"]),
        ("hello_world", []),
    ]
    assert len(graph.calls_to("/message_templates", method="GET")) == 2  # page size 2
    wa.refresh_from_db()
    assert wa.sync_state["templates"][0]["body"] == "Hi {{1}}, your booking is on {{2}}."
    # The periodic sync does not hit the API again within the hour.
    run_sync(wa)
    assert len(graph.calls_to("/message_templates", method="GET")) == 2


def test_the_template_sync_is_values_out_without_the_database(graph):
    """No ``db`` here: the connector reads Meta and yields pages; only the inbox writes."""
    setup = get_connector("whatsapp_cloud").setup(
        {
            "phone_number_id": graph.phone_number_id,
            "waba_id": graph.waba_id,
            "access_token": graph.token,
            "app_secret": "s",
            "verify_token": VERIFY_TOKEN,
            "graph_url": graph.url,
        }
    )
    channel = ChannelAccount(kind="whatsapp", provider="whatsapp_cloud", config=setup.config)
    channel.credentials = setup.credentials
    graph.templates = TEMPLATES
    [page] = channel.connector.sync_pages(channel, SyncRun(cursor={"kept": 1}))
    assert page.cursor["kept"] == 1  # the rest of the position is carried over
    assert [t["name"] for t in page.cursor["templates"]] == ["booking_reminder", "hello_world"]
    assert page.events == InboundEvents() and page.credentials is None
    # A refused token: first a page remembering the failure (not again for a while), then
    # the error for the inbox to record.
    graph.token = "rotated"
    pages = channel.connector.sync_pages(channel, SyncRun(cursor={}))
    assert "templates_failed_at" in next(pages).cursor
    with pytest.raises(ProviderCallError) as refused:
        next(pages)
    assert refused.value.reconnect and "190" in refused.value.reason


def test_a_template_is_sent_outside_the_window_with_its_variables(owner, conversation, graph, wa):
    _close_window(conversation, hours=72)
    graph.templates = TEMPLATES
    sync_templates(wa)
    [token] = [t["token"] for t in wa.sync_state["templates"] if t["name"] == "booking_reminder"]
    assert wa.sync_state["template_variables"] == ["1", "2"]
    extra = wa.connector.reply_extra({"x_template": token, "x_var_1": "Zoe", "x_var_2": "Friday"})
    assert extra["template"]["text"] == "Hi Zoe, your booking is on Friday."
    message = queue_reply(owner.user, conversation, "", extra=extra)
    assert message.text == "Hi Zoe, your booking is on Friday."
    assert deliver(message.pk) == "sent"
    [call] = graph.calls_to("/messages")
    assert call.json["type"] == "template"
    assert call.json["template"] == {
        "name": "booking_reminder",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Zoe"}, {"type": "text", "text": "Friday"}],
            }
        ],
    }


def test_a_forged_template_choice_is_ignored(wa, graph):
    graph.templates = TEMPLATES
    sync_templates(wa)
    token = wa.sync_state["templates"][0]["token"]
    assert wa.connector.reply_extra({"x_template": token[:-2] + "xx"}) == {}
    assert wa.connector.reply_extra({"x_template": "draft_promo|en_US"}) == {}
    assert wa.connector.reply_extra({}) == {}


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (130429, "rate limit"),
        (131056, "Too many messages"),
        ("500", "HTTP 502"),
        (131000, "Something went wrong"),
    ],
)
def test_transient_errors_are_retried(owner, conversation, graph, failure, words):
    graph.fail_next = [failure]
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "queued"
    assert words in message.error
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert deliver(message.pk) == "sent"


def test_a_timeout_is_retried(owner, conversation, graph, settings):
    settings.FRONTDESK_HTTP_TIMEOUT = 0.5
    graph.fail_next = ["hang"]
    graph.hang_seconds = 1.5
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert "did not answer in time" in message.error


@pytest.mark.parametrize(
    ("code", "words"), [(131026, "Message undeliverable"), (100, "Invalid parameter")]
)
def test_permanent_errors_fail_the_message_with_the_reason(owner, conversation, graph, code, words):
    graph.fail_next = [code]
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert words in message.error
    assert f"error {code}" in message.error


def test_an_expired_token_fails_the_message_and_asks_for_reconnection(
    owner, conversation, graph, wa
):
    graph.token = "rotated-token"  # ours is no longer valid: every call answers error 190
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert "reconnect" in message.error
    wa.refresh_from_db()
    assert wa.status == "needs_reconnect"
    assert "error 190" in wa.last_error


# --- set-up and the connection check ---------------------------------------------------------


def test_a_channel_is_created_through_the_api_with_secrets_encrypted(owner, graph):
    api = token_client(owner)
    response = api.post(
        "/api/v1/channels",
        {
            "kind": "whatsapp",
            "provider": "whatsapp_cloud",
            "name": "Support WhatsApp",
            "config": {
                "phone_number_id": graph.phone_number_id,
                "waba_id": graph.waba_id,
                "access_token": graph.token,
                "app_secret": "s3cr3t-app",
                "verify_token": VERIFY_TOKEN,
                "graph_url": graph.url,
            },
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["config"] == {
        "phone_number_id": graph.phone_number_id,
        "waba_id": graph.waba_id,
        "graph_url": graph.url,
        "mark_read": True,
    }
    for secret in (graph.token, "s3cr3t-app", VERIFY_TOKEN):
        assert secret not in response.content.decode()
    channel = ChannelAccount.objects.get(pk=body["id"])
    assert graph.token not in channel.credentials_encrypted
    assert channel.credentials["app_secret"] == "s3cr3t-app"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"waba_id": "1"}, "phone_number_id"),
        ({"phone_number_id": "abc"}, "numeric id"),
        ({"graph_url": "ftp://x"}, "graph_url"),
        ({"app_secret": ""}, "app_secret"),
    ],
)
def test_bad_whatsapp_config_is_a_clear_400(owner, graph, config, words):
    full = {
        "phone_number_id": "123",
        "waba_id": "456",
        "access_token": "t",
        "app_secret": "s",
        "verify_token": "v",
    }
    if "waba_id" in config and len(config) == 1:
        full.pop("phone_number_id")
    full.update(config)
    response = token_client(owner).post(
        "/api/v1/channels",
        {"kind": "whatsapp", "provider": "whatsapp_cloud", "name": "x", "config": full},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_the_default_graph_root_is_metas(db):
    setup = get_connector("whatsapp_cloud").setup(
        {
            "phone_number_id": "1",
            "waba_id": "2",
            "access_token": "t",
            "app_secret": "s",
            "verify_token": "v",
        }
    )
    assert setup.config["graph_url"] == "https://graph.facebook.com/v21.0"


def test_check_connection_shows_the_number_or_the_exact_error(graph):
    info = check_connection(graph.url, graph.token, graph.phone_number_id)
    assert info["display_phone_number"] == graph.display_phone_number
    assert info["verified_name"] == "Acme Support"
    assert info["quality_rating"] == "GREEN"
    with pytest.raises(GraphError) as caught:
        check_connection(graph.url, "wrong", graph.phone_number_id)
    assert caught.value.code == 190
    assert caught.value.fbtrace_id


# --- read receipts ---------------------------------------------------------------------------


def test_reading_the_conversation_marks_the_clients_messages_read_on_whatsapp(
    owner, conversation, graph, drain_queue, django_capture_on_commit_callbacks
):
    from frontdesk.inbox.actions.conversation import mark_read

    latest = Message.objects.get(direction="inbound")
    with django_capture_on_commit_callbacks(execute=True):
        mark_read(owner.user, conversation)
    assert drain_queue() == ["sent"]
    [call] = graph.calls_to("/messages")
    assert call.json == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": latest.provider_id,
    }
    # Read again with nothing new: WhatsApp is not told twice.
    with django_capture_on_commit_callbacks(execute=True):
        mark_read(owner.user, conversation)
    assert drain_queue() == []
    assert len(graph.calls_to("/messages")) == 1


def test_read_receipts_can_be_turned_off_per_channel(
    owner, conversation, graph, drain_queue, django_capture_on_commit_callbacks, wa
):
    from frontdesk.inbox.actions.conversation import mark_read

    ChannelAccount.objects.filter(pk=wa.pk).update(config={**wa.config, "mark_read": False})
    conversation = Conversation.objects.select_related("channel").get(pk=conversation.pk)
    with django_capture_on_commit_callbacks(execute=True):
        mark_read(owner.user, conversation)
    assert drain_queue() == []
    assert graph.calls_to("/messages") == []


def test_the_periodic_template_sync_flags_an_expired_token(wa, graph):
    graph.token = "rotated"
    run_sync(wa)  # what the worker's sync_channel job runs
    wa.refresh_from_db()
    assert wa.status == "needs_reconnect"
    assert "error 190" in wa.last_error
    calls = len(graph.calls)
    run_sync(wa)  # the next minute: not asked again so soon
    assert len(graph.calls) == calls


def test_the_api_refuses_a_free_form_reply_outside_the_window(owner, conversation, graph):
    api = token_client(owner)
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    inside = api.post(url, {"text": "inside the window"}, content_type="application/json")
    assert inside.status_code == 201
    _close_window(conversation)
    outside = api.post(url, {"text": "too late"}, content_type="application/json")
    assert outside.status_code == 409
    assert "24-hour window closed" in outside.json()["detail"]
    assert not Message.objects.filter(text="too late").exists()
    note = api.post(url, {"text": "call her", "kind": "note"}, content_type="application/json")
    assert note.status_code == 201  # internal notes are never blocked


def test_a_long_reply_goes_in_parts_and_a_long_caption_as_text(owner, conversation, graph):
    from frontdesk.connectors.base import InboundAttachment

    long_text = "x" * 5000
    message = _reply(
        owner,
        conversation,
        long_text,
        attachments=[InboundAttachment("p.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"p" * 50)],
    )
    assert deliver(message.pk) == "sent"
    calls = [c.json for c in graph.calls_to("/messages")]
    assert [c["type"] for c in calls] == ["text", "text", "image"]
    assert "".join(c["text"]["body"] for c in calls[:2]) == long_text
    assert "caption" not in calls[2]["image"]
    message.refresh_from_db()
    assert message.provider_id  # the first part's wamid


# --- replies sent as several Graph messages ------------------------------------------------------


def _retry_now(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


@pytest.mark.parametrize("failure", [130429, "500"])
def test_a_long_reply_whose_second_part_failed_is_not_sent_twice(
    owner, conversation, graph, failure
):
    long_text = " ".join(f"{i:05d}" for i in range(1500))  # 8,999 characters: three parts
    graph.fail_next = [None, failure]  # Graph accepts part 1, then refuses part 2 once
    message = _reply(owner, conversation, long_text)
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "queued"
    assert len(graph.sent) == 1
    _retry_now(message)
    assert deliver(message.pk) == "sent"
    bodies = [s["text"]["body"] for s in graph.sent]
    assert len(bodies) == 3 and "".join(bodies) == long_text  # each part exactly once
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(message.extra["part_ids"]) == 3
    assert message.provider_id == message.extra["part_ids"][0]


def test_several_files_whose_second_failed_are_not_sent_twice(owner, conversation, graph):
    from frontdesk.connectors.base import InboundAttachment

    files = [
        InboundAttachment(f"photo{i}.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + bytes([i]) * 90)
        for i in range(3)
    ]
    graph.fail_next = [None, 131056]
    message = _reply(owner, conversation, "The photos", attachments=files)
    assert deliver(message.pk) == "retry"
    _retry_now(message)
    assert deliver(message.pk) == "sent"
    sent_files = [graph.uploads[s["image"]["id"]][0] for s in graph.sent]
    assert sent_files == ["photo0.jpg", "photo1.jpg", "photo2.jpg"]
    assert graph.sent[0]["image"]["caption"] == "The photos"
    # The file Graph already took is not uploaded again either.
    assert [u[0] for u in graph.uploads.values()].count("photo0.jpg") == 1


def test_a_permanent_failure_on_a_later_part_says_which_and_retry_sends_only_the_rest(
    owner, conversation, graph
):
    from frontdesk.inbox.actions.send import retry

    graph.fail_next = [None, 131026]
    message = _reply(owner, conversation, "w" * 5000)
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert message.error.startswith("part 2 of 2: ") and "error 131026" in message.error
    retry(message)  # the member presses Retry
    assert deliver(message.pk) == "sent"
    assert [len(s["text"]["body"]) for s in graph.sent] == [4096, 904]  # each part once


def test_statuses_of_every_part_reach_the_message(owner, conversation, graph):
    from frontdesk.inbox.models import PendingStatus

    graph.fail_next = [None, 130429]
    message = _reply(owner, conversation, "y" * 5000)
    assert deliver(message.pk) == "retry"
    [first] = Message.objects.get(pk=message.pk).extra["part_ids"]
    # Part 1 is delivered while part 2 waits for its retry: the reply stays in the outbox.
    post_webhook(graph.webhook(statuses=[graph.status(first, "delivered", CLIENT_WA)]))
    message.refresh_from_db()
    assert message.status == "queued"
    _retry_now(message)
    assert deliver(message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == "delivered"  # the kept status was applied once it was sent
    second = message.extra["part_ids"][1]
    assert second != message.provider_id
    post_webhook(graph.webhook(statuses=[graph.status(second, "read", CLIENT_WA)]))
    message.refresh_from_db()
    assert message.status == "read"
    assert not PendingStatus.objects.exists()


def test_a_reaction_or_a_quote_of_a_later_part_reaches_the_reply(owner, conversation, graph):
    """The client reacts to the second photo of a reply and quotes the third: both belong to
    the one reply the thread shows."""
    from frontdesk.connectors.base import InboundAttachment

    files = [
        InboundAttachment(f"photo{i}.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + bytes([i]) * 90)
        for i in range(3)
    ]
    message = _reply(owner, conversation, "The photos", attachments=files)
    assert deliver(message.pk) == "sent"
    _, second, third = Message.objects.get(pk=message.pk).extra["part_ids"]
    react = msg("reaction", {"message_id": second, "emoji": "😍"})
    quote = msg("text", {"body": "This one!"}, context={"from": CLIENT_WA, "id": third})
    post_webhook(graph.webhook(messages=[react, quote], contacts=contacts()))
    message.refresh_from_db()
    assert [(r["by"], r["emoji"]) for r in message.extra["reactions"]] == [(f"+{CLIENT_WA}", "😍")]
    answer = Message.objects.get(text="This one!")
    assert answer.reply_to == message


def test_a_status_naming_a_message_it_is_not_part_of_is_kept_aside(owner, conversation, graph):
    from frontdesk.inbox.models import PendingStatus

    message = _reply(owner, conversation, "z" * 5000)
    assert deliver(message.pk) == "sent"
    forged = {
        "id": "wamid.NOT-OURS",
        "status": "failed",
        "timestamp": "1700000000",
        "recipient_id": CLIENT_WA,
        "biz_opaque_callback_data": f"frontdesk:{message.pk}",
        "errors": [{"code": 131026, "title": "Message undeliverable"}],
    }
    post_webhook(graph.webhook(statuses=[forged]))
    message.refresh_from_db()
    assert message.status == "sent"
    assert PendingStatus.objects.filter(provider_id="wamid.NOT-OURS").exists()
