"""IMAP IDLE in the worker against a real Dovecot: new mail within 5 s, reconnects, shutdown."""

from __future__ import annotations

import time

import pytest

from frontdesk.connectors.email.idle import IdleSupervisor, start_supervisor
from frontdesk.connectors.email.tests.conftest import make_channel
from frontdesk.inbox.directory import InboxDirectory
from frontdesk.inbox.models import ChannelAccount, Conversation, Message
from tests.fixtures import wait_for

# The watchers run in their own threads with their own database connections.
pytestmark = pytest.mark.django_db(transaction=True)


def arrived_within(text: str, seconds: float) -> float:
    """Seconds until a conversation holds a message with ``text`` (fails after ``seconds``)."""
    start = time.monotonic()
    wait_for(
        lambda: Conversation.objects.filter(messages__text=text).exists(),
        timeout=seconds,
        interval=0.1,
    )
    return time.monotonic() - start


def watcher_of(supervisor: IdleSupervisor, channel: ChannelAccount):
    return wait_for(lambda: supervisor.watchers.get(channel.pk), timeout=5)


def test_new_mail_arrives_through_idle_within_five_seconds_and_after_a_dropped_connection(
    email_channel, mailbox, mail
):
    supervisor = start_supervisor(
        InboxDirectory()
    )  # default settings, as `frontdesk worker` runs it
    assert supervisor is not None
    try:
        watcher = watcher_of(supervisor, email_channel)
        assert watcher.idling.wait(10), watcher.last_error

        mailbox.deliver(mail("pushed by IDLE"))
        first = arrived_within("pushed by IDLE", 5.0)

        # the server drops the connection; mail that comes meanwhile is not lost
        mailbox.dovecot.kick(mailbox.address)
        mailbox.deliver(mail("while reconnecting"))
        wait_for(lambda: watcher.connections >= 2 and watcher.idling.is_set(), timeout=10)
        arrived_within("while reconnecting", 5.0)
        mailbox.deliver(mail("after the reconnect"))
        again = arrived_within("after the reconnect", 5.0)
    finally:
        supervisor.stop()
    assert not supervisor.running and not watcher.is_alive()  # stopped within its 5 s
    assert sorted(Message.objects.values_list("text", flat=True)) == [
        "after the reconnect",
        "pushed by IDLE",
        "while reconnecting",
    ]
    assert watcher.state == "stopped"
    print(f"IDLE arrival: {first:.2f}s, after reconnect: {again:.2f}s")


def test_the_supervisor_follows_connected_mailboxes_and_a_broken_one_only_backs_off(
    owner, dovecot, smtp_server, mail, monkeypatch
):
    from frontdesk.connectors.email.tests.conftest import Mailbox

    def new_mailbox() -> Mailbox:
        address, password = dovecot.add_user()
        return Mailbox(address, password, dovecot)

    good_box = new_mailbox()
    good = make_channel(owner, good_box, smtp_server)
    broken = make_channel(owner, new_mailbox(), smtp_server, password="wrong-password")
    supervisor = IdleSupervisor(InboxDirectory(), rescan_seconds=0.3).start()
    try:
        ok = watcher_of(supervisor, good)
        assert ok.idling.wait(10), ok.last_error
        bad = watcher_of(supervisor, broken)
        wait_for(lambda: bad.state == "backoff", timeout=10)
        assert "refused the login" in bad.last_error

        good_box.deliver(mail("still served"))
        arrived_within("still served", 5.0)

        # a newly connected mailbox gets its watcher; a disconnected one loses it
        late_box = new_mailbox()
        late = make_channel(owner, late_box, smtp_server)
        assert watcher_of(supervisor, late).idling.wait(10)
        ChannelAccount.objects.filter(pk=good.pk).update(status="disconnected")
        wait_for(lambda: good.pk not in supervisor.watchers, timeout=5)
        wait_for(lambda: not ok.is_alive(), timeout=6)
        late_box.deliver(mail("to the late mailbox"))
        arrived_within("to the late mailbox", 5.0)
    finally:
        supervisor.stop()
    assert not supervisor.running
    assert all(not w.is_alive() for w in (ok, bad))


def test_a_server_without_idle_is_left_to_polling(email_channel, monkeypatch):
    from imapclient import IMAPClient

    real = IMAPClient.capabilities
    monkeypatch.setattr(
        IMAPClient, "capabilities", lambda self: tuple(c for c in real(self) if c != b"IDLE")
    )
    supervisor = IdleSupervisor(InboxDirectory(), rescan_seconds=0.2).start()
    try:
        watcher = watcher_of(supervisor, email_channel)
        wait_for(lambda: watcher.state == "no-idle", timeout=10)
        time.sleep(0.5)  # a few rescans: it is not started again
        assert supervisor.watchers[email_channel.pk] is watcher
        assert watcher.connections == 0
    finally:
        supervisor.stop()


def test_the_worker_runs_the_supervisor_from_start_to_stop(email_channel, settings, monkeypatch):
    from huey.consumer import Consumer

    from frontdesk.ops.management.commands._serve import make_consumer

    monkeypatch.setattr(Consumer, "_set_signal_handlers", lambda self: None)
    consumer = make_consumer(1)
    consumer.start()
    try:
        [supervisor] = consumer.services  # email's IDLE supervisor, its only worker service
        assert supervisor is not None and supervisor.running
        assert watcher_of(supervisor, email_channel).idling.wait(10)
    finally:
        started = time.monotonic()
        consumer.stop(graceful=True)
    assert time.monotonic() - started < 8
    assert not supervisor.running and not supervisor.watchers

    settings.FRONTDESK_EMAIL_IDLE = "0"  # polling only
    assert start_supervisor(InboxDirectory()) is None


def test_idle_is_renewed_on_the_same_connection(email_channel, mailbox, mail, settings):
    settings.FRONTDESK_EMAIL_IDLE_RENEW_SECONDS = 0.5  # production: 600 (RFC 2177: < 29 min)
    supervisor = IdleSupervisor(InboxDirectory()).start()
    try:
        watcher = watcher_of(supervisor, email_channel)
        assert watcher.idling.wait(10)
        time.sleep(2)  # four renewals (DONE, then IDLE again)
        mailbox.deliver(mail("after renewals"))
        arrived_within("after renewals", 5.0)
        assert watcher.connections == 1 and watcher.state == "idle"
        assert watcher.renewals >= 2
    finally:
        supervisor.stop()


def test_frontdesk_run_brings_new_mail_in_within_five_seconds(tmp_path, mailbox, smtp_server, mail):
    """The shipping process with default settings: `frontdesk run`, a mailbox connected
    over the API, a message delivered to INBOX, the conversation listed within 5 s."""
    import httpx

    from tests.live import base_env, create_token, embedded

    env = base_env(tmp_path / "data")
    with embedded(env) as (base, _):
        token = create_token(env, "owner@example.com")
        api = httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        created = api.post(
            "/channels",
            json={
                "kind": "email",
                "provider": "imap",
                "name": "Support",
                "config": {
                    "address": mailbox.address,
                    "imap_host": "127.0.0.1",
                    "imap_port": mailbox.dovecot.port,
                    "imap_security": "none",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp_server.port,
                    "smtp_security": "none",
                    "password": mailbox.password,
                },
            },
        )
        assert created.status_code == 201, created.text
        channel_id = created.json()["id"]
        log = tmp_path / "data" / "process-0.log"
        # the supervisor looks for new mailboxes every 10 s (default)
        wait_for(
            lambda: f"channel {channel_id}: waiting for new mail in IMAP IDLE" in log.read_text(),
            timeout=30,
        )
        mailbox.deliver(mail("Is the shop open on Sunday?"))
        start = time.monotonic()
        [conversation] = wait_for(lambda: api.get("/conversations").json()["items"], timeout=5)
        elapsed = time.monotonic() - start
    assert conversation["contact"]["name"] == "Carla Client"
    print(f"frontdesk run: new mail listed {elapsed:.2f}s after delivery")


@pytest.mark.skipif(
    not __import__("os").environ.get("REDIS_URL"),
    reason="several worker processes share mailboxes through Redis (scale mode: CI's second pass)",
)
def test_two_workers_watch_a_mailbox_once_and_one_takes_over_from_the_other(
    email_channel, mailbox, mail
):
    """Scale mode: each mailbox has one IDLE connection however many workers run, and when
    its worker stops (or dies: the lease expires) another one watches it."""
    first = IdleSupervisor(InboxDirectory(), rescan_seconds=0.3).start()
    second = IdleSupervisor(InboxDirectory(), rescan_seconds=0.3).start()
    try:
        holder = wait_for(
            lambda: next((s for s in (first, second) if email_channel.pk in s.watchers), None),
            timeout=5,
        )
        other = second if holder is first else first
        time.sleep(1.0)  # several rescans: the other one never starts a watcher of its own
        assert email_channel.pk not in other.watchers
        assert holder.watchers[email_channel.pk].idling.wait(10)

        holder.stop()
        taken = wait_for(lambda: other.watchers.get(email_channel.pk), timeout=5)
        assert taken.idling.wait(10)
        mailbox.deliver(mail("after the takeover"))
        arrived_within("after the takeover", 5.0)

        # another worker got the lease (this one was cut off longer than the lease lasts):
        # this one lets go of the mailbox, and takes it back once that worker's lease ran out
        other.leases.client.set(
            other.leases.prefix + str(email_channel.pk), "a-worker-that-died", px=800
        )
        wait_for(lambda: email_channel.pk not in other.watchers, timeout=5)
        assert wait_for(lambda: other.watchers.get(email_channel.pk), timeout=5).idling.wait(10)
    finally:
        first.stop()
        second.stop()
