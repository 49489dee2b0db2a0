"""WhatsApp Cloud API inbound: verification, signatures, routing, every message type."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

import pytest
from django.test import Client

from frontdesk.connectors.whatsapp_cloud.tests.conftest import (
    APP_SECRET,
    CLIENT_WA,
    VERIFY_TOKEN,
    contacts,
    make_whatsapp_channel,
    msg,
    post_webhook,
)
from frontdesk.inbox.models import (
    Attachment,
    Contact,
    ContactHandle,
    Conversation,
    Message,
    PendingStatus,
)
from tests.webhook_client import WebhookClient


def _only_message() -> Message:
    [message] = Message.objects.all()
    return message


# --- verification handshake --------------------------------------------------------------


def test_verification_handshake_echoes_the_challenge(wa):
    response = WebhookClient().get(
        "/webhooks/whatsapp/",
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


def test_a_wrong_verify_token_is_refused(wa):
    response = WebhookClient().get(
        "/webhooks/whatsapp/",
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
    )
    assert response.status_code == 403
    assert b"1158201444" not in response.content
    bad_mode = WebhookClient().get(
        "/webhooks/whatsapp/",
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    )
    assert bad_mode.status_code == 400


# --- signatures and routing ----------------------------------------------------------------


def test_a_text_message_creates_contact_conversation_and_message(wa, graph):
    payload = graph.webhook(
        messages=[msg("text", {"body": "Hi, is the shop open today?"})],
        contacts=contacts("Zoe Client"),
    )
    response = post_webhook(payload)
    assert response.status_code == 200
    message = _only_message()
    assert message.text == "Hi, is the shop open today?"
    assert message.direction == "inbound"
    assert message.author_name == "Zoe Client"
    assert message.provider_id == payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    conversation = message.conversation
    assert conversation.channel == wa
    assert conversation.contact.name == "Zoe Client"
    assert conversation.last_inbound_at is not None
    assert [(h.kind, h.value) for h in conversation.contact.handles.all()] == [
        ("phone", "+447700900123")
    ]


def test_a_replayed_webhook_stores_nothing_twice(wa, graph):
    payload = graph.webhook(messages=[msg("text", {"body": "once"})], contacts=contacts())
    assert post_webhook(payload).status_code == 200
    assert post_webhook(payload).status_code == 200
    assert Message.objects.count() == 1
    assert Conversation.objects.count() == 1


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha1=abc", "sha256=zz", "SHA256=" + "a" * 64, "sha256=" + "z" * 64],
)
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(wa, graph, signature):
    payload = graph.webhook(messages=[msg("text", {"body": "forged"})], contacts=contacts())
    response = post_webhook(payload, signature=signature)
    assert response.status_code == 401
    assert Message.objects.count() == 0
    assert Contact.objects.count() == 0


def test_a_body_signed_with_another_secret_is_401(wa, graph):
    payload = graph.webhook(messages=[msg("text", {"body": "forged"})], contacts=contacts())
    assert post_webhook(payload, secret="not-the-app-secret").status_code == 401
    assert Message.objects.count() == 0


def test_a_changed_body_no_longer_matches_its_signature(wa, graph):
    body = json.dumps(graph.webhook(messages=[msg("text", {"body": "original"})])).encode()
    from frontdesk.connectors.whatsapp_cloud.tests.peer import sign

    signature = sign(APP_SECRET, body)
    tampered = body.replace(b"original", b"tampered")
    assert post_webhook(tampered, signature=signature).status_code == 401
    assert Message.objects.count() == 0


def test_an_unknown_phone_number_id_is_200_and_stores_nothing(wa, graph, caplog):
    payload = graph.webhook(
        messages=[msg("text", {"body": "hello?"})], phone_number_id="999999999999"
    )
    response = post_webhook(payload)
    assert response.status_code == 200
    assert Message.objects.count() == 0
    assert "unknown phone number id" in caplog.text


def test_a_phone_number_id_of_another_workspace_never_crosses(owner, rival, graph):
    ours = make_whatsapp_channel(owner, graph)
    theirs = make_whatsapp_channel(
        rival, graph, app_secret="rival-secret", phone_number_id="222222222222"
    )
    # The rival signs with their own app secret but names our phone number id.
    forged = graph.webhook(messages=[msg("text", {"body": "injected"})], contacts=contacts())
    assert post_webhook(forged, secret="rival-secret").status_code == 401
    # A delivery naming both numbers, signed by the rival: only their change is stored.
    mixed = graph.webhook(messages=[msg("text", {"body": "theirs"})], contacts=contacts())
    mixed["entry"].append(
        graph.webhook(
            messages=[msg("text", {"body": "injected too"})], phone_number_id="222222222222"
        )["entry"][0]
    )
    mixed["entry"][0], mixed["entry"][1] = mixed["entry"][1], mixed["entry"][0]
    assert post_webhook(mixed, secret="rival-secret").status_code == 200
    assert list(Message.objects.values_list("channel_id", "text")) == [(theirs.pk, "injected too")]
    assert not Message.objects.filter(channel=ours).exists()
    assert not Contact.objects.filter(workspace=owner.workspace).exists()


def test_a_number_held_by_two_workspaces_reaches_only_the_connected_one(owner, rival, graph):
    """Embedded Signup channels share the platform's app secret: a stale channel of another
    workspace with the same number (in error, awaiting reconnection) must not get its mail."""
    from frontdesk.inbox.models import ChannelAccount, ChannelStatus

    stale = make_whatsapp_channel(rival, graph)
    ChannelAccount.objects.filter(pk=stale.pk).update(status=ChannelStatus.NEEDS_RECONNECT)
    ours = make_whatsapp_channel(owner, graph)
    payload = graph.webhook(messages=[msg("text", {"body": "hello"})], contacts=contacts())
    assert post_webhook(payload).status_code == 200
    assert list(Message.objects.values_list("channel_id", "text")) == [(ours.pk, "hello")]
    assert not Contact.objects.filter(workspace=rival.workspace).exists()


def test_a_disconnect_a_new_secret_and_a_new_channel_count_from_the_next_webhook(
    owner, rival, wa, graph
):
    """Routing reads the channels on every delivery: nothing a process read before (the
    channel connected, its old secret) decides the next one."""
    from frontdesk.inbox.actions.channel import set_connected
    from frontdesk.inbox.actions.connections import save_connection

    def send(text: str, secret: str = APP_SECRET, number: str | None = None):
        payload = graph.webhook(
            messages=[msg("text", {"body": text})],
            contacts=contacts(),
            **({"phone_number_id": number} if number else {}),
        )
        return post_webhook(payload, secret=secret)

    assert send("first").status_code == 200
    set_connected(wa, False)
    ignored = send("while disconnected")
    assert (ignored.status_code, ignored.json()) == (
        200,
        {"ok": True, "ignored": "unknown phone number id"},
    )
    set_connected(wa, True)
    assert send("connected again").status_code == 200

    credentials = {**wa.credentials, "app_secret": "a-new-app-secret"}
    save_connection(wa, name=wa.name, config=wa.config, credentials=credentials)
    assert send("old secret").status_code == 401
    assert send("new secret", secret="a-new-app-secret").status_code == 200

    theirs = make_whatsapp_channel(rival, graph, app_secret="rival-secret", phone_number_id="2222")
    assert send("to a new channel", secret="rival-secret", number="2222").status_code == 200
    assert list(Message.objects.order_by("pk").values_list("channel_id", "text")) == [
        (wa.pk, "first"),
        (wa.pk, "connected again"),
        (wa.pk, "new secret"),
        (theirs.pk, "to a new channel"),
    ]


def test_truncated_huge_and_deeply_nested_json_are_refused(wa, graph):
    body = json.dumps(graph.webhook(messages=[msg("text", {"body": "x"})])).encode()
    assert post_webhook(body[: len(body) // 2]).status_code == 400
    nested = (
        b'{"object": "whatsapp_business_account", "entry": '
        + b"[" * 200_000
        + b"]" * 200_000
        + b"}"
    )
    assert post_webhook(nested).status_code in (400, 413)
    deep = b"[" * 50_000 + b"]" * 50_000
    assert post_webhook(deep).status_code == 400
    huge = b'{"pad": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    assert post_webhook(huge).status_code == 413
    assert post_webhook(b"[1, 2, 3]").status_code == 400
    assert Message.objects.count() == 0


def test_other_objects_and_fields_are_acknowledged_and_ignored(wa, graph):
    assert post_webhook({"object": "page", "entry": []}).status_code == 200
    payload = graph.webhook(messages=[msg("text", {"body": "x"})])
    payload["entry"][0]["changes"][0]["field"] = "account_update"
    assert post_webhook(payload).status_code == 200
    assert Message.objects.count() == 0


# --- every message type ----------------------------------------------------------------------

CASES = [
    ("text", {"body": "plain words"}, "plain words"),
    (
        "location",
        {
            "latitude": 51.5033,
            "longitude": -0.1196,
            "name": "London Eye",
            "address": "Riverside Building, London",
        },
        "📍 London Eye — Riverside Building, London https://www.google.com/maps/search/?api=1&query=51.5033%2C-0.1196",
    ),
    (
        "interactive",
        {"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Yes, book it"}},
        "Yes, book it",
    ),
    (
        "interactive",
        {
            "type": "list_reply",
            "list_reply": {"id": "slot-9", "title": "9:00", "description": "Morning slot"},
        },
        "9:00\nMorning slot",
    ),
    ("button", {"payload": "STOP_PROMOS", "text": "Stop promotions"}, "Stop promotions"),
]


@pytest.mark.parametrize(("kind", "body", "shown"), CASES)
def test_each_message_type_becomes_a_readable_message(wa, graph, kind, body, shown):
    assert (
        post_webhook(graph.webhook(messages=[msg(kind, body)], contacts=contacts())).status_code
        == 200
    )
    message = _only_message()
    assert message.text == shown
    assert message.extra["whatsapp_type"] == kind


def test_location_keeps_coordinates_and_a_map_link(wa, graph):
    body = {"latitude": 48.8584, "longitude": 2.2945}
    post_webhook(graph.webhook(messages=[msg("location", body)], contacts=contacts()))
    location = _only_message().extra["location"]
    assert (location["latitude"], location["longitude"]) == (48.8584, 2.2945)
    assert location["url"].startswith("https://www.google.com/maps/search/?api=1&query=48.8584")


def test_interactive_reply_keeps_the_button_id(wa, graph):
    body = {"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Yes"}}
    post_webhook(graph.webhook(messages=[msg("interactive", body)], contacts=contacts()))
    assert _only_message().extra["interactive"] == {
        "type": "button_reply",
        "id": "yes-1",
        "title": "Yes",
    }


def test_a_contacts_message_becomes_a_card(wa, graph):
    card = {
        "name": {"formatted_name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace"},
        "phones": [{"phone": "+44 20 7946 0018", "wa_id": "442079460018", "type": "WORK"}],
        "emails": [{"email": "ada@example.com", "type": "WORK"}],
        "org": {"company": "Analytical Engines Ltd"},
    }
    post_webhook(graph.webhook(messages=[msg("contacts", sender=CLIENT_WA, contacts=[card])]))
    message = _only_message()
    assert (
        message.text
        == "👤 Ada Lovelace · +44 20 7946 0018 · ada@example.com · Analytical Engines Ltd"
    )
    assert message.extra["contacts"][0]["wa_ids"] == ["+442079460018"]


@pytest.mark.parametrize("kind", ["unsupported", "hologram"])
def test_unsupported_and_unknown_types_are_a_visible_placeholder(wa, graph, kind):
    errors = [
        {
            "code": 131051,
            "title": "Message type unknown",
            "message": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."},
        }
    ]
    post_webhook(graph.webhook(messages=[msg(kind, errors=errors)], contacts=contacts()))
    message = _only_message()
    assert message.text.startswith("⚠️ Unsupported WhatsApp message")
    assert "Message type unknown (error 131051)" in message.text


def test_a_reply_with_context_points_at_the_quoted_message(wa, graph):
    first = msg("text", {"body": "Do you ship to Spain?"})
    post_webhook(graph.webhook(messages=[first], contacts=contacts()))
    reply = msg("text", {"body": "I mean Madrid"}, context={"from": CLIENT_WA, "id": first["id"]})
    post_webhook(graph.webhook(messages=[reply], contacts=contacts()))
    quoted = Message.objects.get(provider_id=first["id"])
    assert Message.objects.get(provider_id=reply["id"]).reply_to == quoted


def test_a_referral_from_an_ad_is_kept_on_the_contact(wa, graph):
    referral = {
        "source_url": "https://fb.me/3cr4Wqqkv",
        "source_id": "120211234",
        "source_type": "ad",
        "headline": "Spring sale",
        "body": "20% off",
        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ",
    }
    post_webhook(
        graph.webhook(
            messages=[msg("text", {"body": "I saw your ad"}, referral=referral)],
            contacts=contacts(),
        )
    )
    message = _only_message()
    assert message.extra["referral"]["headline"] == "Spring sale"
    contact = message.conversation.contact
    contact.refresh_from_db()
    assert contact.custom_fields["whatsapp_referral"]["source_id"] == "120211234"


def test_a_number_change_moves_the_handle(wa, graph):
    post_webhook(graph.webhook(messages=[msg("text", {"body": "hi"})], contacts=contacts()))
    system = {
        "body": "Zoe changed their phone number from 447700900123 to 447700900999",
        "wa_id": "447700900999",
        "type": "user_changed_number",
    }
    post_webhook(graph.webhook(messages=[msg("system", system)]))
    assert Message.objects.count() == 2
    assert Message.objects.order_by("id").last().text.startswith("⚙️ Zoe changed their phone number")
    assert list(ContactHandle.objects.values_list("value", flat=True)) == ["+447700900999"]
    # The next message from the new number lands in the same conversation.
    post_webhook(
        graph.webhook(messages=[msg("text", {"body": "new phone"}, sender="447700900999")])
    )
    assert Conversation.objects.count() == 1
    assert Contact.objects.count() == 1


def test_the_same_phone_known_from_elsewhere_joins_that_contact(owner, wa, graph):
    known = Contact.objects.create(workspace=owner.workspace, name="Zoe from the fair")
    ContactHandle.objects.create(
        workspace=owner.workspace, contact=known, kind="phone", value="+447700900123"
    )
    post_webhook(graph.webhook(messages=[msg("text", {"body": "hello"})], contacts=contacts()))
    assert _only_message().conversation.contact == known
    assert Contact.objects.count() == 1


# --- reactions -----------------------------------------------------------------------------


def test_a_reaction_shows_on_the_message_and_an_empty_emoji_removes_it(wa, graph):
    first = msg("text", {"body": "Here is the invoice"})
    post_webhook(graph.webhook(messages=[first], contacts=contacts()))
    react = msg("reaction", {"message_id": first["id"], "emoji": "👍"}, timestamp=1_700_000_010)
    post_webhook(graph.webhook(messages=[react], contacts=contacts()))
    post_webhook(graph.webhook(messages=[react], contacts=contacts()))  # replayed
    message = Message.objects.get(provider_id=first["id"])
    assert Message.objects.count() == 1  # a reaction is not a message of its own
    assert [(r["by"], r["emoji"]) for r in message.extra["reactions"]] == [("+447700900123", "👍")]
    # Changed, then an older delivery of the first reaction arrives late: the newest wins.
    change = msg("reaction", {"message_id": first["id"], "emoji": "❤️"}, timestamp=1_700_000_020)
    post_webhook(graph.webhook(messages=[change, react], contacts=contacts()))
    message.refresh_from_db()
    assert [r["emoji"] for r in message.extra["reactions"]] == ["❤️"]
    remove = msg("reaction", {"message_id": first["id"], "emoji": ""}, timestamp=1_700_000_030)
    post_webhook(graph.webhook(messages=[remove], contacts=contacts()))
    message.refresh_from_db()
    assert message.extra["reactions"] == []
    post_webhook(graph.webhook(messages=[change], contacts=contacts()))  # late: stays removed
    message.refresh_from_db()
    assert message.extra["reactions"] == []


# --- statuses -----------------------------------------------------------------------------------


def _status(provider_id: str, status: str, **more):
    return {
        "id": provider_id,
        "status": status,
        "timestamp": "1700000100",
        "recipient_id": CLIENT_WA,
        **more,
    }


def _outbound(wa, owner, provider_id: str) -> Message:
    post_webhook(wa_graph_webhook(wa, "hello"))
    conversation = Conversation.objects.get()
    return Message.objects.create(
        workspace=owner.workspace,
        conversation=conversation,
        channel=wa,
        direction="outbound",
        text="Thanks!",
        provider_id=provider_id,
        status="sent",
    )


def wa_graph_webhook(wa, text):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": wa.config["waba_id"],
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": wa.config["phone_number_id"]},
                            "contacts": contacts(),
                            "messages": [msg("text", {"body": text})],
                        },
                    }
                ],
            }
        ],
    }


def test_statuses_out_of_order_keep_the_furthest_state(wa, owner, graph):
    out = _outbound(wa, owner, "wamid.OUT1")
    post_webhook(graph.webhook(statuses=[_status("wamid.OUT1", "read")]))
    post_webhook(graph.webhook(statuses=[_status("wamid.OUT1", "delivered")]))
    post_webhook(graph.webhook(statuses=[_status("wamid.OUT1", "sent")]))
    out.refresh_from_db()
    assert out.status == "read"


def test_a_failed_status_shows_the_error_code_and_title(wa, owner, graph):
    out = _outbound(wa, owner, "wamid.OUT2")
    errors = [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
        }
    ]
    post_webhook(graph.webhook(statuses=[_status("wamid.OUT2", "failed", errors=errors)]))
    out.refresh_from_db()
    assert out.status == "failed"
    assert out.error == "Message undeliverable (error 131026): Message Undeliverable."


def test_a_status_before_the_message_is_known_is_kept_for_later(wa, graph):
    post_webhook(graph.webhook(statuses=[_status("wamid.LATER", "delivered")]))
    assert PendingStatus.objects.filter(provider_id="wamid.LATER", status="delivered").exists()


# --- media ------------------------------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0" + b"fake-jpeg-bytes" * 100
OGG = b"OggS" + b"\x00voice" * 50
PDF = b"%PDF-1.7\n" + b"invoice" * 50


@pytest.mark.parametrize(
    ("kind", "data", "mime", "extra_body", "text", "name"),
    [
        ("image", JPEG, "image/jpeg", {"caption": "The broken part"}, "The broken part", None),
        ("video", b"\x00\x00\x00\x18ftypmp42" + b"v" * 300, "video/mp4", {}, "🎬 Video", None),
        ("audio", OGG, "audio/ogg; codecs=opus", {"voice": True}, "🎤 Voice message", None),
        (
            "document",
            PDF,
            "application/pdf",
            {"filename": "invoice-42.pdf", "caption": "Invoice"},
            "Invoice",
            "invoice-42.pdf",
        ),
        (
            "sticker",
            b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"s" * 100,
            "image/webp",
            {"animated": False},
            "Sticker",
            None,
        ),
    ],
)
def test_media_is_fetched_by_the_worker_and_stored(
    wa,
    graph,
    drain_queue,
    django_capture_on_commit_callbacks,
    kind,
    data,
    mime,
    extra_body,
    text,
    name,
):
    media_id = f"{kind}-1234567890"
    graph.add_media(media_id, data, mime)
    body = {
        "id": media_id,
        "mime_type": mime,
        "sha256": hashlib.sha256(data).hexdigest(),
        **extra_body,
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            post_webhook(graph.webhook(messages=[msg(kind, body)], contacts=contacts())).status_code
            == 200
        )
    message = _only_message()
    assert message.text == text
    assert message.extra["media"]["state"] == "pending"  # a placeholder until the worker ran
    assert message.attachments.count() == 0
    assert drain_queue() == ["stored"]
    message.refresh_from_db()
    assert message.extra["media"]["state"] == "stored"
    [attachment] = message.attachments.all()
    assert attachment.file.read() == data
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    if name:
        assert attachment.name == name
    # The download carried the bearer token.
    [download] = [c for c in graph.calls if c.path == "/whatsapp_business/attachments/"]
    assert download.headers["authorization"] == f"Bearer {graph.token}"
    if kind == "audio":
        assert message.extra["voice"] is True


def _media_message(graph, data=JPEG, **kw):
    media_id = "media-77"
    graph.add_media(media_id, data, "image/jpeg", **kw)
    body = {"id": media_id, "mime_type": "image/jpeg", "sha256": hashlib.sha256(data).hexdigest()}
    return graph.webhook(messages=[msg("image", body)], contacts=contacts())


def _run_scheduled(drain_queue) -> list:
    """Run, as a worker would once their time has come, the retries Huey scheduled."""
    from datetime import datetime, timedelta

    from huey.contrib.djhuey import HUEY

    drain_queue()  # parks any retry the last run scheduled
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    return [HUEY.execute(task, later) for task in HUEY.read_schedule(later)]


def test_a_failed_download_is_retried_then_stored(
    wa, graph, drain_queue, django_capture_on_commit_callbacks, settings
):
    settings.FRONTDESK_WHATSAPP_MEDIA_RETRY_SECONDS = 30
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(_media_message(graph, failures=2))
    assert drain_queue() == ["retry", None]  # None: the retry parked in the schedule
    message = _only_message()
    assert message.extra["media"]["state"] == "pending"
    assert "HTTP 500" in message.extra["media"]["error"]
    assert _run_scheduled(drain_queue) == ["retry"]
    assert _run_scheduled(drain_queue) == ["stored"]
    message.refresh_from_db()
    assert message.extra["media"]["state"] == "stored"
    assert message.attachments.get().file.read() == JPEG


def test_a_download_that_keeps_failing_gives_up_visibly(
    wa, graph, drain_queue, django_capture_on_commit_callbacks, settings
):
    settings.FRONTDESK_WHATSAPP_MEDIA_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(_media_message(graph, failures=10))
    assert drain_queue() == ["retry", None]  # None: the retry parked in the schedule
    assert _run_scheduled(drain_queue) == ["failed"]
    media = _only_message().extra["media"]
    assert media["state"] == "failed"
    assert "gave up after 2 attempts" in media["error"]


def test_a_media_url_off_the_graph_host_is_never_fetched(
    wa, graph, drain_queue, django_capture_on_commit_callbacks
):
    from tests.peers.callback import CallbackServer

    elsewhere = CallbackServer()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post_webhook(_media_message(graph, url=elsewhere.url + "/steal"))
        assert drain_queue() == ["failed"]
        assert elsewhere.received == []
    finally:
        elsewhere.close()
    media = _only_message().extra["media"]
    assert media["state"] == "failed"
    assert "not on an allowed Meta host" in media["error"]
    assert Attachment.objects.count() == 0


def test_a_100_megabyte_media_file_is_refused_by_size(
    wa, graph, drain_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(_media_message(graph, file_size=100 * 1024 * 1024))
    assert drain_queue() == ["failed"]
    assert "over the" in _only_message().extra["media"]["error"]
    assert not [c for c in graph.calls if c.path == "/whatsapp_business/attachments/"]


def test_media_that_lies_about_its_size_is_cut_off(
    wa, graph, drain_queue, django_capture_on_commit_callbacks, settings
):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 1000
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(_media_message(graph, data=b"\xff\xd8\xff" + b"x" * 5000, file_size=10))
    assert drain_queue() == ["failed"]
    assert Attachment.objects.count() == 0


def test_a_checksum_mismatch_is_not_stored(
    wa, graph, drain_queue, django_capture_on_commit_callbacks, settings
):
    settings.FRONTDESK_WHATSAPP_MEDIA_ATTEMPTS = 1
    payload = _media_message(graph)
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["sha256"] = "0" * 64
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(payload)
    assert drain_queue() == ["failed"]
    assert "checksum" in _only_message().extra["media"]["error"]
    assert Attachment.objects.count() == 0


def test_an_expired_token_while_fetching_media_flags_the_channel(
    wa, graph, drain_queue, django_capture_on_commit_callbacks
):
    graph.token = "rotated"
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(_media_message(graph))
    assert drain_queue() == ["failed"]
    assert "error 190" in _only_message().extra["media"]["error"]
    wa.refresh_from_db()
    assert wa.status == "needs_reconnect"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p.update(entry=7),
        lambda p: p.update(entry="abc"),
        lambda p: p["entry"][0].update(changes={"value": 1}),
        lambda p: p["entry"][0]["changes"][0].update(value=[1, 2]),
        lambda p: p["entry"][0]["changes"][0]["value"].update(metadata="x"),
        lambda p: p["entry"][0]["changes"][0]["value"].update(messages={"id": "x"}),
        lambda p: p["entry"][0]["changes"][0]["value"].update(messages=[None, 3, "x", []]),
        lambda p: p["entry"][0]["changes"][0]["value"]["messages"][0].update(
            type="text", text="not an object", timestamp="soon", **{"from": {"a": 1}}
        ),
        lambda p: p["entry"][0]["changes"][0]["value"]["messages"][0].update(id=""),
    ],
)
def test_odd_shapes_are_acknowledged_and_never_crash(wa, graph, mangle):
    """What cannot be a message is skipped (and logged); the rest of the delivery still counts."""
    payload = graph.webhook(messages=[msg("text", {"body": "x"})], contacts=contacts())
    mangle(payload)
    response = post_webhook(payload)
    assert response.status_code == 200
    assert Message.objects.count() == 0


def test_odd_contacts_and_statuses_do_not_stop_a_good_message(wa, graph):
    payload = graph.webhook(messages=[msg("text", {"body": "still here"})], contacts=contacts())
    value = payload["entry"][0]["changes"][0]["value"]
    value.update(contacts="x", statuses=[{"id": 5}, None, {"status": "read"}])
    assert post_webhook(payload).status_code == 200
    assert _only_message().text == "still here"


def test_the_thread_shows_reactions_and_the_media_state(owner, wa, graph):

    from tests.fixtures import PASSWORD

    first = msg("text", {"body": "Here is the invoice"})
    photo = msg("image", {"id": "555", "mime_type": "image/jpeg", "sha256": "x"})
    post_webhook(graph.webhook(messages=[first, photo], contacts=contacts()))
    post_webhook(
        graph.webhook(messages=[msg("reaction", {"message_id": first["id"], "emoji": "🙏"})])
    )
    client = Client()
    assert client.login(username=owner.user.email, password=PASSWORD)
    conversation = Conversation.objects.get()
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert (
        '<ul class="reactions" aria-label="Reactions"><li title="+447700900123">🙏</li></ul>'
        in page
    )
    assert "The file is on its way" in page
    reply = msg("text", {"body": "Paid!"}, context={"from": CLIENT_WA, "id": first["id"]})
    post_webhook(graph.webhook(messages=[reply], contacts=contacts()))
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert '<blockquote class="quote">Here is the invoice</blockquote>' in page


def test_an_uppercase_hex_signature_is_still_the_signature(wa, graph):
    from frontdesk.connectors.whatsapp_cloud.tests.peer import sign

    body = json.dumps(graph.webhook(messages=[msg("text", {"body": "hi"})])).encode()
    signature = "sha256=" + sign(APP_SECRET, body).removeprefix("sha256=").upper()
    assert post_webhook(body, signature=signature).status_code == 200
    assert Message.objects.count() == 1
