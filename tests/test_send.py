"""The outbound write path: transactional outbox, real HTTP to the callback, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from frontdesk.inbox.actions.send import add_note, queue_reply, retry
from frontdesk.inbox.models import Message
from frontdesk.inbox.outbox import deliver, due_for_delivery
from tests.fixtures import wait_for


@pytest.fixture
def conversation(inbound):
    return inbound("Where is my order?", handle="client-42", contact_name="Carl").conversation


def _reply(owner, conversation, text="It ships today"):
    return queue_reply(owner.user, conversation, text)


def _make_due(message):
    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_reply_is_queued_in_the_same_transaction_and_sent_by_the_worker(
    owner, conversation, callback, channel, drain_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = _reply(owner, conversation)
    assert message.status == "queued"
    assert callback.received == []  # nothing leaves in the request itself
    assert drain_queue() == ["sent"]
    message.refresh_from_db()
    assert message.status == "sent"
    [hit] = callback.received
    body = hit.json
    assert body == {
        "event": "message.created",
        "channel_id": channel.pk,
        "conversation_id": conversation.pk,
        "message_id": message.pk,
        "to": {"handle": "client-42"},
        "text": "It ships today",
        "html": "",  # a reply from the API: no formatting
        "attachments": [],
    }
    expected = (
        "sha256="
        + hmac.new(channel.credentials["secret"].encode(), hit.body, hashlib.sha256).hexdigest()
    )
    assert hit.headers["x-frontdesk-signature"] == expected
    assert hit.headers["idempotency-key"] == f"frontdesk-message-{message.pk}"


def test_the_receivers_id_is_kept_as_the_provider_id(owner, conversation, callback):
    callback.default = "ok-with-id"
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "sent"
    message.refresh_from_db()
    assert message.provider_id == "ext-1"


def test_a_server_error_is_retried_with_backoff_then_sent(owner, conversation, callback, settings):
    settings.FRONTDESK_SEND_BACKOFF_BASE = 5
    callback.behaviours = ["error500", "error500"]
    message = _reply(owner, conversation)
    before = timezone.now()
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "queued"
    assert "HTTP 500" in message.error
    assert 4 <= (message.next_attempt_at - before).total_seconds() <= 7  # 5 s
    assert deliver(message.pk) == "skipped"  # not due yet: the worker leaves it alone
    _make_due(message)
    before = timezone.now()
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert 9 <= (message.next_attempt_at - before).total_seconds() <= 12  # doubled: 10 s
    _make_due(message)
    assert deliver(message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.error, message.attempts) == ("sent", "", 3)
    assert len(callback.received) == 3
    assert {r.headers["idempotency-key"] for r in callback.received} == {
        f"frontdesk-message-{message.pk}"
    }


def test_retry_after_is_honoured(owner, conversation, callback):
    callback.behaviours = ["rate-limit"]
    message = _reply(owner, conversation)
    before = timezone.now()
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert 41 <= (message.next_attempt_at - before).total_seconds() <= 44


def test_a_hanging_callback_times_out_and_is_retried(owner, conversation, callback, settings):
    settings.FRONTDESK_HTTP_TIMEOUT = 0.5
    callback.behaviours = ["hang"]
    callback.hang_seconds = 2
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "queued"
    assert "did not answer in time" in message.error


def test_a_callback_that_drips_its_answer_is_cut_off_at_the_whole_call_deadline(
    owner, conversation, callback, settings
):
    """Headers at once, then one byte a second: every read is quick, the call is not."""
    settings.FRONTDESK_HTTP_TIMEOUT = 1.5
    callback.behaviours = ["drip"]
    callback.drip_seconds, callback.drip_bytes = 0.5, 20  # 10 s if read to the end
    message = _reply(owner, conversation)
    started = time.monotonic()
    assert deliver(message.pk) == "retry"
    assert time.monotonic() - started < 3
    message.refresh_from_db()
    assert message.status == "queued" and "did not answer in time" in message.error


def test_a_refusal_fails_the_message_with_the_reason(owner, conversation, callback):
    callback.behaviours = ["reject"]
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed"
    assert "HTTP 400" in message.error and "unknown recipient" in message.error


def test_transient_errors_give_up_after_the_maximum_attempts(
    owner, conversation, callback, settings
):
    settings.FRONTDESK_SEND_MAX_ATTEMPTS = 2
    callback.default = "error500"
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "retry"
    _make_due(message)
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed"
    assert "gave up after 2 attempts" in message.error


def test_an_unreachable_callback_is_transient(owner, conversation, channel):
    channel.config = {"callback_url": "http://127.0.0.1:9/nothing-listens-here"}
    channel.save()
    message = _reply(owner, conversation)
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert "could not reach" in message.error


def test_a_worker_that_died_mid_send_is_recovered_after_its_lease(
    owner, conversation, callback, settings
):
    """The crash case: claimed, never recorded. The sweeper picks it up once the lease ends."""
    message = _reply(owner, conversation)
    # Simulate a worker that claimed the message and died before recording anything.
    Message.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=60), attempts=1
    )
    assert message.pk not in due_for_delivery()
    assert deliver(message.pk) == "skipped"  # another worker cannot send it twice meanwhile
    Message.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert message.pk in due_for_delivery()
    assert deliver(message.pk) == "sent"
    assert len(callback.received) == 1
    assert deliver(message.pk) == "skipped"  # already sent: never again


@pytest.mark.django_db(transaction=True)
def test_a_send_that_outlasts_its_lease_keeps_it_and_is_sent_once(
    owner, conversation, callback, settings
):
    """A callback slower than the lease (a file's deadline can be as long as the lease):
    the running send renews its lease, so the sweeper and a second worker leave it alone."""
    settings.FRONTDESK_SEND_LEASE_SECONDS = 1
    callback.behaviours = ["hang"]
    callback.hang_seconds = 3  # three leases
    message = _reply(owner, conversation)
    outcome: list[str] = []

    def worker() -> None:
        try:
            outcome.append(deliver(message.pk))
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    wait_for(lambda: callback.received)
    time.sleep(1.8)  # the first lease ran out long ago; the call is still open
    assert message.pk not in due_for_delivery()
    assert deliver(message.pk) == "skipped"
    first.join()
    assert outcome == ["sent"]
    assert len(callback.received) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.claimed_until) == ("sent", 1, None)


def test_the_sweeper_task_enqueues_due_messages(owner, conversation, callback, drain_queue):
    from frontdesk.inbox.outbox import sweep_outbox

    message = _reply(owner, conversation)  # on_commit never ran: the task was "lost"
    assert drain_queue() == []
    assert sweep_outbox.call_local() == 1
    assert drain_queue() == ["sent"]
    message.refresh_from_db()
    assert message.status == "sent"


def test_retry_puts_a_failed_message_back_in_the_outbox(owner, conversation, callback):
    callback.behaviours = ["reject"]
    message = _reply(owner, conversation)
    deliver(message.pk)
    retry(message)
    message.refresh_from_db()
    assert (message.status, message.error, message.attempts) == ("queued", "", 0)
    assert deliver(message.pk) == "sent"


def test_a_note_is_never_sent(
    owner, conversation, callback, drain_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        note = add_note(owner.user, conversation, "VIP client, be nice")
    assert (note.kind, note.status) == ("note", "")
    assert drain_queue() == []
    assert callback.received == []


def test_a_reply_updates_the_conversation_preview(owner, conversation):
    _reply(owner, conversation, "On its way")
    conversation.refresh_from_db()
    assert conversation.preview == "On its way"


def test_an_empty_reply_is_refused(owner, conversation):
    from frontdesk.inbox.errors import ActionRefused

    with pytest.raises(ActionRefused):
        _reply(owner, conversation, "   ")
    assert Message.objects.filter(direction="outbound").count() == 0


def test_the_signature_covers_the_exact_body(owner, conversation, callback, channel):
    message = _reply(owner, conversation, 'Quotes " and ünïcode ✓')
    deliver(message.pk)
    hit = callback.received[0]
    assert json.loads(hit.body)["text"] == 'Quotes " and ünïcode ✓'
    wrong = "sha256=" + hmac.new(b"not-the-secret", hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["x-frontdesk-signature"] != wrong
