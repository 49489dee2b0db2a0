"""The inbound write path: rows, idempotency, re-opening, attachments, delivery states."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from frontdesk.connectors.base import InboundAttachment, InboundMessage, StatusUpdate
from frontdesk.inbox.actions.conversation import set_status
from frontdesk.inbox.actions.delivery import ingest_status
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.attachments import safe_filename
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import (
    Attachment,
    Contact,
    ContactHandle,
    Conversation,
    Message,
    PendingStatus,
)
from tests.fixtures import make_api_channel

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_first_message_creates_contact_handle_conversation_and_message(inbound, channel):
    result = inbound("Hi, I need a quote", handle="client-7", contact_name="Dana Client")
    assert result.created
    conversation = Conversation.objects.get()
    assert conversation.channel == channel
    assert conversation.contact.name == "Dana Client"
    assert conversation.status == "open"
    assert conversation.preview == "Hi, I need a quote"
    assert conversation.last_inbound_at == result.message.created_at
    handle = ContactHandle.objects.get()
    assert (handle.kind, handle.value, handle.contact_id) == (
        "external",
        "client-7",
        conversation.contact_id,
    )
    message = Message.objects.get()
    assert (message.direction, message.kind, message.text) == (
        "inbound",
        "message",
        "Hi, I need a quote",
    )
    assert message.workspace_id == channel.workspace_id


def test_same_provider_id_twice_is_stored_once(inbound):
    first = inbound("Hello", provider_id="wamid.1")
    again = inbound("Hello", provider_id="wamid.1")
    assert not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1


def test_next_message_from_same_handle_joins_the_conversation(inbound):
    a = inbound("one", handle="client-1")
    b = inbound("two", handle="client-1")
    c = inbound("three", handle="client-2")
    assert a.conversation.pk == b.conversation.pk != c.conversation.pk
    assert Contact.objects.count() == 2


def test_explicit_thread_keys_split_conversations_for_one_contact(inbound):
    a = inbound("ticket A", handle="client-1", thread_key="A")
    b = inbound("ticket B", handle="client-1", thread_key="B")
    assert a.conversation.pk != b.conversation.pk
    assert a.conversation.contact_id == b.conversation.contact_id


def test_references_thread_a_reply_into_the_earlier_conversation(inbound):
    first = inbound("original", handle="client-1", thread_key="t1", provider_id="<a@x>")
    reply = inbound(
        "re: original",
        handle="client-1",
        thread_key="t2",
        provider_id="<b@x>",
        references=["<a@x>"],
    )
    assert reply.conversation.pk == first.conversation.pk


def test_a_handle_known_on_another_channel_belongs_to_the_same_contact(owner, inbound, callback):
    other = make_api_channel(owner, callback.url, name="SMS gateway")
    a = inbound("on channel one", handle="+15550001")
    b = inbound("on channel two", handle="+15550001", via=other)
    assert a.conversation.pk != b.conversation.pk
    assert a.conversation.contact_id == b.conversation.contact_id


def test_the_same_handle_in_another_workspace_is_another_contact(inbound, rival, callback):
    theirs = make_api_channel(rival, callback.url, name="Theirs")
    ours = inbound("hi", handle="shared-handle")
    their = ingest(theirs, InboundMessage(provider_id="x1", handle="shared-handle", text="hi"))
    assert ours.conversation.contact_id != their.conversation.contact_id
    assert their.conversation.workspace_id == rival.workspace_id


def test_inbound_reopens_a_resolved_conversation(inbound, owner):
    first = inbound("help")
    set_status(owner.user, first.conversation, "resolved")
    inbound("still broken")
    assert Conversation.objects.get().status == "open"


def test_inbound_wakes_a_snoozed_conversation(inbound, owner):
    first = inbound("help")
    set_status(owner.user, first.conversation, "snoozed", timezone.now() + timedelta(days=1))
    inbound("any news?")
    conversation = Conversation.objects.get()
    assert (conversation.status, conversation.snoozed_until) == ("open", None)


def test_an_older_message_arriving_late_does_not_move_last_activity_back(inbound):
    now = timezone.now()
    inbound("new", sent_at=now)
    inbound("old, delivered late", sent_at=now - timedelta(hours=2))
    conversation = Conversation.objects.get()
    assert conversation.last_message_at == now
    assert [m.text for m in Message.objects.order_by("created_at")] == [
        "old, delivered late",
        "new",
    ]


def test_attachments_are_stored_with_safe_names_and_sniffed_types(inbound, settings):
    result = inbound(
        "see photo",
        attachments=[
            InboundAttachment(name="../../etc/passwd\x00.png", content_type="text/html", data=PNG)
        ],
    )
    attachment = Attachment.objects.get()
    assert attachment.message_id == result.message.pk
    assert attachment.name == "passwd.png"
    assert attachment.content_type == "image/png"  # sniffed, not the declared text/html
    assert attachment.size == len(PNG)
    assert attachment.file.read() == PNG
    assert str(settings.MEDIA_ROOT) in attachment.file.path


def test_an_attachment_over_the_limit_is_skipped_but_the_message_is_kept(inbound, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 10
    result = inbound("big file", attachments=[InboundAttachment(name="big.bin", data=b"x" * 11)])
    message = Message.objects.get(pk=result.message.pk)
    assert message.text == "big file"
    assert Attachment.objects.count() == 0
    assert "over the 10-byte limit" in message.extra["skipped_attachments"][0]


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("", "attachment"),
        ("a<b>.txt", "a_b_.txt"),
    ],
)
def test_safe_filename(raw, safe):
    assert safe_filename(raw) == safe


@pytest.mark.parametrize(
    "item",
    [
        InboundMessage(provider_id="", handle="x"),
        InboundMessage(provider_id="p", handle="   "),
        InboundMessage(provider_id="p" * 501, handle="x"),
    ],
)
def test_inbound_without_id_or_handle_is_refused(channel, item):
    with pytest.raises(ActionRefused):
        ingest(channel, item)
    assert Message.objects.count() == 0


def test_text_over_the_limit_is_refused(channel, settings):
    settings.FRONTDESK_MAX_TEXT_CHARS = 100
    with pytest.raises(ActionRefused, match="longer than 100"):
        ingest(channel, InboundMessage(provider_id="p", handle="x", text="y" * 101))


def _outbound(inbound, provider_id="out-1"):
    return inbound("sent from the phone", provider_id=provider_id, outbound=True).message


def test_a_message_sent_elsewhere_is_stored_as_outbound_and_not_unread(inbound):
    message = _outbound(inbound)
    assert (message.direction, message.status) == ("outbound", "sent")
    assert Conversation.objects.get().last_inbound_at is None


def test_status_only_moves_forward(channel, inbound):
    message = _outbound(inbound)
    for status, expected in [
        ("delivered", "delivered"),
        ("read", "read"),
        ("delivered", "read"),
        ("sent", "read"),
    ]:
        ingest_status(channel, StatusUpdate(provider_id="out-1", status=status))
        message.refresh_from_db()
        assert message.status == expected


def test_failed_keeps_the_providers_error_and_is_final(channel, inbound):
    message = _outbound(inbound)
    ingest_status(
        channel, StatusUpdate(provider_id="out-1", status="failed", error="131026: undeliverable")
    )
    ingest_status(channel, StatusUpdate(provider_id="out-1", status="delivered"))
    message.refresh_from_db()
    assert (message.status, message.error) == ("failed", "131026: undeliverable")


def test_failed_does_not_override_a_read_message(channel, inbound):
    message = _outbound(inbound)
    ingest_status(channel, StatusUpdate(provider_id="out-1", status="read"))
    ingest_status(channel, StatusUpdate(provider_id="out-1", status="failed", error="late"))
    message.refresh_from_db()
    assert message.status == "read"


def test_a_status_for_an_unknown_message_is_kept_and_applied_when_it_arrives(channel, inbound):
    assert ingest_status(channel, StatusUpdate(provider_id="out-9", status="delivered")) is None
    assert PendingStatus.objects.count() == 1
    message = _outbound(inbound, provider_id="out-9")
    message.refresh_from_db()
    assert message.status == "delivered"
    assert PendingStatus.objects.count() == 0


def _kept(channel, provider_id: str, days_ago: float) -> PendingStatus:
    return PendingStatus.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        provider_id=provider_id,
        status="delivered",
        received_at=timezone.now() - timedelta(days=days_ago),
    )


def test_statuses_for_messages_that_never_arrive_are_forgotten_after_a_week(channel, settings):
    from frontdesk.inbox.periodic import forget_stale_pending_statuses

    for i in range(3):
        _kept(channel, f"elsewhere-{i}", days_ago=8)  # sent from another app on the number
    _kept(channel, "recent", days_ago=3)
    assert forget_stale_pending_statuses.call_local() == 3
    assert list(PendingStatus.objects.values_list("provider_id", flat=True)) == ["recent"]
    settings.FRONTDESK_PENDING_STATUS_DAYS = 2
    assert forget_stale_pending_statuses.call_local() == 1
    assert not PendingStatus.objects.exists()


def test_a_kept_status_still_applies_when_its_message_comes_within_the_retention(channel, inbound):
    from frontdesk.inbox.periodic import forget_stale_pending_statuses

    _kept(channel, "out-late", days_ago=6)
    assert forget_stale_pending_statuses.call_local() == 0
    message = _outbound(inbound, provider_id="out-late")
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_large_backlog_is_forgotten_in_bounded_batches(channel, django_assert_num_queries):
    from frontdesk.inbox.actions.delivery import purge_pending_statuses

    for i in range(10):
        _kept(channel, f"old-{i}", days_ago=30)
    # One SELECT of ids and one DELETE per batch; at most max_batches per call.
    with django_assert_num_queries(4):
        assert purge_pending_statuses(timedelta(days=7), batch=3, max_batches=2) == 6
    assert PendingStatus.objects.count() == 4
    assert purge_pending_statuses(timedelta(days=7), batch=3, max_batches=10) == 4
    assert not PendingStatus.objects.exists()


def test_an_unknown_status_word_is_refused(channel):
    with pytest.raises(ActionRefused):
        ingest_status(channel, StatusUpdate(provider_id="x", status="teleported"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_message_store_it_once(owner, callback):
    """Webhook retries often race each other: eight threads, one new client, one message id."""
    channel = make_api_channel(owner, callback.url)
    results = []
    errors = race(
        8,
        lambda n: results.append(
            ingest(channel, InboundMessage(provider_id="dup-1", handle="new-client", text="hi"))
        ),
    )
    assert errors == []
    assert (
        Message.objects.count() == 1
        and Contact.objects.count() == 1
        and Conversation.objects.count() == 1
    )
    assert {r.message.pk for r in results} == {Message.objects.get().pk}
    assert sum(r.created for r in results) == 1


@pytest.mark.django_db(transaction=True)
def test_many_writers_in_one_process_queue_without_errors(owner, callback):
    """Sixteen threads writing at once (the web server's pool): all land, none times out."""
    import threading

    from django.db import connection

    channel = make_api_channel(owner, callback.url)
    errors: list[Exception] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                ingest(channel, InboundMessage(provider_id=f"t{n}-{i}", handle=f"c{n}", text="hi"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert Message.objects.count() == 160 and Conversation.objects.count() == 16


@pytest.mark.django_db(transaction=True)
def test_a_new_person_writing_several_messages_at_once_gets_one_contact_and_conversation(
    owner, callback
):
    """Eight different messages from one new client race to create the contact and thread."""
    channel = make_api_channel(owner, callback.url)
    errors = race(
        8,
        lambda n: ingest(
            channel, InboundMessage(provider_id=f"m-{n}", handle="newcomer", text=f"#{n}")
        ),
    )
    assert errors == []
    assert Contact.objects.count() == 1 and ContactHandle.objects.count() == 1
    conversation = Conversation.objects.get()
    assert conversation.messages.count() == 8
    assert conversation.contact == Contact.objects.get()


def race(threads: int, work) -> list[Exception]:
    """Run ``work(n)`` in that many threads released at once; the errors they met."""
    import threading

    from django.db import connection

    errors: list[Exception] = []
    barrier = threading.Barrier(threads)

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            work(n)
        except Exception as exc:  # collected and asserted by the caller
            errors.append(exc)
        finally:
            connection.close()

    started = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join(timeout=30)
    return errors
