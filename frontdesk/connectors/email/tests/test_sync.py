"""Inbound email against a real Dovecot: first sync, incremental, UIDVALIDITY, threading."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from frontdesk.connectors.email.tests.conftest import new_id
from frontdesk.inbox.models import ChannelAccount, Contact, ContactHandle, Conversation, Message
from frontdesk.inbox.sync import run_sync


def sync(channel: ChannelAccount) -> None:
    channel.refresh_from_db()
    run_sync(channel)
    channel.refresh_from_db()


def test_first_sync_brings_in_the_backfill_window_and_the_sent_folder(email_channel, mailbox, mail):
    old = mail("Ancient history", date=timezone.now() - timedelta(days=60), subject="Old")
    mailbox.deliver(old)
    first = mail("Hello, I would like a quote.", sender="Carla Client <Carla@Client.TEST>")
    mailbox.deliver(first)
    mailbox.deliver(
        mail(
            "Sure, here it is.",
            sender=mailbox.address,
            to="Bob <bob@buyer.test>",
            subject="Offer",
        ),
        folder="Sent",
    )

    mailbox.deliver(b"From: nodate@client.test\r\nMessage-ID: <nd@client.test>\r\n\r\nundated\r\n")

    sync(email_channel)

    assert email_channel.last_error == ""
    assert email_channel.last_synced_at is not None
    texts = set(Message.objects.filter(channel=email_channel).values_list("text", flat=True))
    # 60 days is outside the 30-day window; a mail without a Date counts by its arrival
    assert texts == {"Hello, I would like a quote.", "Sure, here it is.", "undated"}
    inbound = Message.objects.get(text__startswith="Hello")
    assert inbound.direction == "inbound"
    assert inbound.subject == "Quote request"
    assert inbound.author_name == "Carla Client"
    assert inbound.provider_id == first["Message-ID"].strip("<>")
    handle = ContactHandle.objects.get(contact=inbound.conversation.contact)
    assert (handle.kind, handle.value) == ("email", "carla@client.test")
    assert inbound.conversation.contact.name == "Carla Client"
    # the raw message is kept in storage for download and re-parsing
    with default_storage.open(inbound.extra["raw_key"]) as fh:
        assert fh.read() == first.as_bytes().replace(b"\n", b"\r\n")
    outbound = Message.objects.get(text="Sure, here it is.")
    assert outbound.direction == "outbound"
    assert outbound.status == "sent"
    assert outbound.conversation.contact.handles.get().value == "bob@buyer.test"
    state = email_channel.sync_state["folders"]["inbox"]
    assert state["backfill_total"] == 2 and state["backfill_done"] == 2


def test_incremental_sync_fetches_only_what_is_new(email_channel, mailbox, mail):
    mailbox.deliver(mail("one"))
    sync(email_channel)
    high = email_channel.sync_state["folders"]["inbox"]["high"]
    mailbox.deliver(mail("two"))
    mailbox.deliver(mail("three"))
    sync(email_channel)
    assert email_channel.sync_state["folders"]["inbox"]["high"] == high + 2
    sync(email_channel)  # nothing new: nothing changes
    assert sorted(Message.objects.values_list("text", flat=True)) == ["one", "three", "two"]
    # every mail without references starts its own conversation for the same contact
    assert Conversation.objects.count() == 3
    assert Contact.objects.count() == 1


def test_a_changed_uidvalidity_resyncs_by_message_id_without_duplicates(
    email_channel, mailbox, mail
):
    for text in ("alpha", "beta"):
        mailbox.deliver(mail(text))
    sync(email_channel)
    assert Message.objects.count() == 2
    state = email_channel.sync_state
    state["folders"]["inbox"]["uidvalidity"] = 1  # as if the server renumbered the folder
    ChannelAccount.objects.filter(pk=email_channel.pk).update(sync_state=state)
    mailbox.deliver(mail("gamma"))

    sync(email_channel)

    assert sorted(Message.objects.values_list("text", flat=True)) == ["alpha", "beta", "gamma"]
    inbox = email_channel.sync_state["folders"]["inbox"]
    assert inbox["uidvalidity"] != 1
    assert inbox["resets"] == 1


def test_threading_by_references_across_three_replies(email_channel, mailbox, mail):
    root = new_id()
    mailbox.deliver(mail("Question?", message_id=root, subject="Help"))
    sync(email_channel)
    chain = [root]
    for n in range(3):
        mid = new_id()
        mailbox.deliver(
            mail(
                f"Follow-up {n}\n\nOn Mon, Carla wrote:\n> earlier text\n",
                message_id=mid,
                subject="Re: Help",
                in_reply_to=chain[-1],
                references=list(chain),
            )
        )
        chain.append(mid)
        sync(email_channel)
    conversation = Conversation.objects.get()
    messages = list(conversation.messages.order_by("created_at", "id"))
    assert [m.text for m in messages] == ["Question?", "Follow-up 0", "Follow-up 1", "Follow-up 2"]
    # the quoted history is separated from the new part but kept
    assert "> earlier text" in messages[-1].extra["full_text"]
    assert messages[-1].extra["references"] == [c.strip("<>") for c in chain[:-1]]


def test_after_a_history_import_the_list_shows_the_newest_message(
    email_channel, mailbox, mail, owner
):
    """The backfill runs newest first: the older mail ingested after must not take over the
    conversation's preview beside the newest time."""
    from django.test import Client

    now = timezone.now().replace(microsecond=0)
    chain: list[str] = []
    for n, text in enumerate(["First question", "Second question", "Newest question"]):
        mid = new_id()
        mailbox.deliver(
            mail(
                text,
                message_id=mid,
                subject="Re: Help" if chain else "Help",
                in_reply_to=chain[-1] if chain else None,
                references=list(chain) or None,
                date=now - timedelta(hours=3 - n),
            )
        )
        chain.append(mid)
    sync(email_channel)

    conversation = Conversation.objects.get()
    assert conversation.messages.count() == 3
    assert conversation.preview == "Newest question"
    assert conversation.last_message_at == now - timedelta(hours=1)
    client = Client()
    client.force_login(owner.user)
    page = client.get("/").content.decode()
    assert '<span class="preview">Newest question</span>' in page
    assert "First question" not in page


def test_a_reply_whose_root_we_never_saw_still_groups_by_references(email_channel, mailbox, mail):
    unseen_root = new_id()
    a, b = new_id(), new_id()
    mailbox.deliver(mail("first", message_id=a, references=[unseen_root]))
    mailbox.deliver(mail("second", message_id=b, references=[unseen_root, a]))
    mailbox.deliver(mail("Same subject, new thread", subject="Re: Quote request"))
    sync(email_channel)
    assert Conversation.objects.count() == 2  # subject-only matching is not threading
    assert Message.objects.get(text="first").conversation_id == (
        Message.objects.get(text="second").conversation_id
    )


def test_a_known_contact_from_another_channel_owns_the_conversation(
    email_channel, mailbox, mail, owner
):
    contact = Contact.objects.create(workspace=owner.workspace, name="Known Person")
    ContactHandle.objects.create(
        workspace=owner.workspace, contact=contact, kind="email", value="carla@client.test"
    )
    mailbox.deliver(mail("hi again"))
    sync(email_channel)
    assert Message.objects.get().conversation.contact == contact


def test_a_wrong_password_needs_reconnection_and_keeps_the_sync_position(
    email_channel, mailbox, mail
):
    mailbox.deliver(mail("before"))
    sync(email_channel)
    position = email_channel.sync_state
    email_channel.credentials = {"password": "not-the-password"}
    email_channel.save()

    sync(email_channel)

    assert email_channel.status == "needs_reconnect"
    assert "refused the login" in email_channel.last_error
    assert email_channel.sync_state == position


def test_a_dropped_connection_mid_fetch_resumes_without_loss_or_duplicates(
    email_channel, mailbox, mail, settings, monkeypatch
):
    settings.FRONTDESK_EMAIL_FETCH_BATCH = 2
    for n in range(7):
        mailbox.deliver(mail(f"message {n}"))
    from imapclient import IMAPClient

    real_fetch = IMAPClient.fetch
    calls = {"n": 0}

    def flaky_fetch(self, messages, data, modifiers=None):
        if b"BODY.PEEK[]" in [d.encode() if isinstance(d, str) else d for d in data]:
            calls["n"] += 1
            if calls["n"] == 3:  # the third batch: the server hangs up on us
                mailbox.dovecot.kick(mailbox.address)
        return real_fetch(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", flaky_fetch)
    sync(email_channel)
    assert "sync failed" in email_channel.last_error
    stored = Message.objects.count()
    assert 0 < stored < 7
    monkeypatch.setattr(IMAPClient, "fetch", real_fetch)

    sync(email_channel)

    assert email_channel.last_error == ""
    texts = sorted(Message.objects.values_list("text", flat=True))
    assert texts == [f"message {n}" for n in range(7)]


def test_backfill_progress_is_stored_by_the_inbox_and_shown_live(
    email_channel, mailbox, mail, settings, owner, monkeypatch
):
    """The worker's sync (inbox.sync.sync_channel) hands the connector a progress callback;
    the inbox stores each report, shows it on Apps and in the sidebar, and publishes it."""
    from django.test import Client

    from frontdesk.connectors.email import sync as email_sync
    from frontdesk.connectors.email.client import MailboxError
    from frontdesk.inbox.sync import sync_channel

    told: list[dict] = []

    def record(workspace_id: int, event: str, **data) -> None:
        if event == "channel.progress":
            told.append(data)

    monkeypatch.setattr("frontdesk.realtime.publish.publish", record)
    settings.FRONTDESK_EMAIL_FETCH_BATCH = 2
    for n in range(5):
        mailbox.deliver(mail(f"old {n}"))
    real = email_sync._read_batch
    calls = {"n": 0}

    def one_batch_only(client, *args):
        calls["n"] += 1
        if calls["n"] > 1:
            raise MailboxError("stopped for the test")
        return real(client, *args)

    monkeypatch.setattr(email_sync, "_read_batch", one_batch_only)
    sync_channel.call_local(email_channel.pk)
    email_channel.refresh_from_db()
    assert email_channel.import_progress == {"done": 2, "total": 5}
    assert [t["text"] for t in told] == [
        "Importing: 0 of ~5 messages",
        "Importing: 2 of ~5 messages",
    ]
    client = Client()
    client.force_login(owner.user)
    apps = client.get("/apps/").content.decode()
    assert apps.count("Importing: 2 of ~5 messages") == 2  # the account's row and the sidebar

    monkeypatch.setattr(email_sync, "_read_batch", real)
    sync_channel.call_local(email_channel.pk)
    email_channel.refresh_from_db()
    assert email_channel.import_progress is None
    assert told[-1]["text"] == "" and told[-1]["synced_at"]  # finished: the last sync's time
    before = len(told)
    sync_channel.call_local(email_channel.pk)
    assert len(told) == before  # a later sync with nothing to import says nothing
    assert "Importing" not in client.get("/apps/").content.decode()
    assert Message.objects.count() == 5


def test_progress_counts_in_thousands(email_channel):
    email_channel.import_progress = {"done": 1240, "total": 3000}
    assert email_channel.import_text == "Importing: 1,240 of ~3,000 messages"


def test_the_original_message_can_be_downloaded_by_members_only(
    email_channel, mailbox, mail, owner, rival
):
    from django.test import Client

    original = mail("keep me")
    mailbox.deliver(original)
    sync(email_channel)
    message = Message.objects.get()
    client = Client()
    client.force_login(owner.user)
    response = client.get(f"/connectors/email/raw/{message.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert b"".join(response.streaming_content) == original.as_bytes().replace(b"\n", b"\r\n")
    stranger = Client()
    stranger.force_login(rival.user)
    assert stranger.get(f"/connectors/email/raw/{message.pk}/").status_code == 404


def test_a_large_original_downloads_as_on_the_server_and_a_resync_keeps_it_once(
    email_channel, mailbox, mail, owner, settings
):
    """A large mail (fetched in slices to a temporary file) is kept whole by the inbox from
    that file before it goes; reading it again stores no second copy."""
    import os

    from django.test import Client

    settings.FRONTDESK_EMAIL_LARGE_BYTES = 4096
    settings.FRONTDESK_EMAIL_FETCH_SLICE = 1000
    big = mail("a large one")
    big.add_attachment(
        os.urandom(300_000), maintype="application", subtype="octet-stream", filename="d.bin"
    )
    mailbox.deliver(big)
    sync(email_channel)
    [on_server] = mailbox.folder("INBOX")
    message = Message.objects.get()
    assert message.attachments.get().size == 300_000
    client = Client()
    client.force_login(owner.user)
    response = client.get(f"/messages/{message.pk}/original")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == on_server
    key = message.extra["raw_key"]
    folder, name = key.rsplit("/", 1)

    def resync() -> None:
        state = email_channel.sync_state
        state["folders"]["inbox"]["uidvalidity"] = 1  # as if the server renumbered the folder
        ChannelAccount.objects.filter(pk=email_channel.pk).update(sync_state=state)
        sync(email_channel)

    resync()
    assert Message.objects.get().pk == message.pk
    Message.objects.all().delete()  # read again as new: the inbox finds its copy kept
    resync()
    assert Message.objects.get().extra["raw_key"] == key
    digest = name.removesuffix(".eml")  # a second copy would be "<digest>_<random>.eml"
    assert [f for f in default_storage.listdir(folder)[1] if f.startswith(digest)] == [name]


def test_the_worker_syncs_connected_mailboxes_every_minute(
    owner, email_channel, mailbox, mail, drain_queue
):
    """Every connected mailbox is queued, a channel whose connector does not sync (the API
    channel) and a disconnected mailbox are not."""
    from frontdesk.inbox.models import ChannelStatus
    from frontdesk.inbox.sync import sync_channels
    from tests.fixtures import make_api_channel

    make_api_channel(owner, "http://127.0.0.1:9/hook")
    gone = ChannelAccount.objects.get(pk=email_channel.pk)
    gone.pk, gone.status = None, ChannelStatus.DISCONNECTED
    gone.save()
    mailbox.deliver(mail("through the worker"))
    assert sync_channels.call_local() == 1  # the periodic task enqueues one sync per mailbox
    drain_queue()
    assert Message.objects.get().text == "through the worker"
    email_channel.refresh_from_db()
    assert email_channel.last_synced_at is not None


def test_a_folder_recreated_on_the_server_gets_a_new_uidvalidity_and_no_duplicates(
    email_channel, mailbox, mail
):
    for text in ("sent one", "sent two"):
        mailbox.deliver(mail(text, sender=mailbox.address, to="bob@buyer.test"), folder="Sent")
    sync(email_channel)
    before = email_channel.sync_state["folders"]["sent"]["uidvalidity"]
    copies = mailbox.folder("Sent")
    client = mailbox.imap()
    try:  # the server loses the folder and it is rebuilt: new UIDVALIDITY, UIDs from 1
        client.delete_folder("Sent")
        client.create_folder("Sent")
        for raw in copies:
            client.append("Sent", raw)
        client.append(
            "Sent", mail("sent three", sender=mailbox.address, to="bob@buyer.test").as_bytes()
        )
    finally:
        client.logout()

    sync(email_channel)

    sent = email_channel.sync_state["folders"]["sent"]
    assert sent["uidvalidity"] != before
    assert sent["resets"] == 1
    texts = sorted(Message.objects.filter(direction="outbound").values_list("text", flat=True))
    assert texts == ["sent one", "sent three", "sent two"]


def test_an_unexpected_sync_failure_is_named_on_apps_and_integrations(
    email_channel, owner, monkeypatch
):
    from django.test import Client

    from frontdesk.connectors.email import sync as email_sync

    def broken(channel, *args, **kwargs):
        yield channel.config["imap_hots"]  # a bug: a KeyError alone would read 'imap_hots'

    monkeypatch.setattr(email_sync, "sync_pages", broken)
    sync(email_channel)
    assert email_channel.last_error == (
        "sync failed: unexpected error, a setting of this mailbox is missing (reconnect it) "
        "(KeyError: 'imap_hots'); the next sync retries from the same point"
    )
    client = Client()
    client.force_login(owner.user)
    page = client.get("/apps/").content.decode()
    assert "unexpected error, a setting of this mailbox is missing" in page
    assert "KeyError: &#x27;imap_hots&#x27;" in page  # within the 160 characters shown

    def dropped(channel, *args, **kwargs):
        from imapclient.exceptions import IMAPClientAbortError

        raise IMAPClientAbortError("socket error: EOF")
        yield  # a generator, as the sync is

    monkeypatch.setattr(email_sync, "sync_pages", dropped)
    sync(email_channel)
    assert email_channel.last_error.startswith(
        "sync failed: the mail server closed the connection (IMAP4.abort: socket error: EOF)"
    )


def test_mail_without_a_usable_sender_is_kept_readable_and_cannot_be_replied_to(
    email_channel, mailbox, mail, owner
):
    """No From, a From with no address, an unparsable one: each is stored under one
    "Unknown sender" contact (not skipped), readable, with replying off and the reason shown."""
    from django.test import Client

    from frontdesk.inbox.actions.send import UNKNOWN_SENDER_REASON

    date = "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nTo: support@example.test\r\n"
    mailbox.deliver(
        f"{date}Subject: No sender\r\nMessage-ID: <nofrom@x.test>\r\n\r\nWho am I?\r\n".encode()
    )
    mailbox.deliver(
        f"{date}From: Bob Smith\r\nSubject: Name only\r\nMessage-ID: <name@x.test>\r\n\r\n"
        "Just a name\r\n".encode()
    )
    mailbox.deliver(
        f"{date}From: @@@ <>\r\nSubject: Garbage\r\nMessage-ID: <junk@x.test>\r\n\r\n"
        "Garbled sender\r\n".encode()
    )
    mailbox.deliver(mail("A normal question"))
    sync(email_channel)

    assert email_channel.last_error == ""
    unknown = Contact.objects.get(name="Unknown sender")
    stored = Message.objects.filter(conversation__contact=unknown).order_by("subject")
    assert [(m.subject, m.text, m.author_name) for m in stored] == [
        ("Garbage", "Garbled sender", "Unknown sender"),
        ("Name only", "Just a name", "Unknown sender"),
        ("No sender", "Who am I?", "Unknown sender"),
    ]
    assert [m.extra["unknown_sender"] for m in stored] == [
        "@@@ <>",
        "Bob Smith",
        "(no From header)",
    ]
    assert Conversation.objects.filter(contact=unknown).count() == 3  # one per mail thread
    normal = Message.objects.get(text="A normal question").conversation

    client = Client()
    client.force_login(owner.user)
    conversation = stored[2].conversation
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert "Who am I?" in page
    assert UNKNOWN_SENDER_REASON in page
    assert 'name="mode" value="reply" disabled' in page
    refused = client.post(
        f"/c/{conversation.pk}/reply",
        {"text": "Hello?", "mode": "reply", "subject": "Re: No sender"},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 422 and "nobody to reply to" in refused.content.decode()
    assert not Message.objects.filter(conversation=conversation, direction="outbound").exists()
    noted = client.post(f"/c/{conversation.pk}/reply", {"text": "Spam, ignore", "mode": "note"})
    assert noted.status_code == 302
    assert conversation.messages.filter(kind="note", text="Spam, ignore").exists()
    # a client with an address can still be answered
    page = client.get(f"/c/{normal.pk}/").content.decode()
    assert UNKNOWN_SENDER_REASON not in page
    assert 'name="mode" value="reply" checked' in page


def test_the_original_is_also_at_the_generic_url_and_a_reply_has_none(
    email_channel, mailbox, mail, owner
):
    from django.test import Client

    original = mail("keep me too")
    mailbox.deliver(original)
    sync(email_channel)
    message = Message.objects.get()
    client = Client()
    client.force_login(owner.user)
    response = client.get(f"/messages/{message.pk}/original")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="message-{message.pk}.eml"'
    assert b"keep me too" in b"".join(response.streaming_content)
    Message.objects.filter(pk=message.pk).update(extra={})  # nothing kept (a reply sent from here)
    assert client.get(f"/messages/{message.pk}/original").status_code == 404
