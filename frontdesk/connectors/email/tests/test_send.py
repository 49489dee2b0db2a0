"""Replies through a real SMTP server (aiosmtpd), filed in Dovecot's Sent folder."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from email.utils import format_datetime, parseaddr

import pytest
from django.utils import timezone

from frontdesk.connectors.email.tests.conftest import make_channel, new_id
from frontdesk.connectors.email.tests.dovecot import free_port
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, Conversation, Message
from frontdesk.inbox.outbox import deliver
from frontdesk.inbox.sync import run_sync


def sync(channel: ChannelAccount) -> None:
    channel.refresh_from_db()
    run_sync(channel)


def mine(smtp_server, channel):
    return [r for r in smtp_server.received if r.mail_from == channel.config["address"]]


@pytest.fixture
def thread(email_channel, mailbox, mail):
    """A client thread of two messages already in the inbox."""
    root, second = new_id(), new_id()
    mailbox.deliver(mail("Do you ship to Spain?", message_id=root, subject="Shipping"))
    mailbox.deliver(mail("Any news?", message_id=second, subject="Re: Shipping", references=[root]))
    sync(email_channel)
    return Conversation.objects.get(), root.strip("<>"), second.strip("<>")


def test_a_reply_threads_in_the_clients_mail_program(
    owner, email_channel, mailbox, smtp_server, thread
):
    conversation, root, second = thread
    message = queue_reply(owner.user, conversation, "Yes, we ship to Spain.")
    assert deliver(message.pk) == "sent"

    [received] = mine(smtp_server, email_channel)
    assert received.rcpt_tos == ["carla@client.test"]
    assert received.login == mailbox.address
    sent = received.message
    # From shows a person and the company: "<member> at <workspace>" (no channel sender name set).
    expected_name = f"{owner.user.display_name} at {owner.workspace.name}"
    assert parseaddr(sent["From"]) == (expected_name, mailbox.address)
    assert sent["To"] == "carla@client.test"
    assert sent["Subject"] == "Re: Shipping"
    assert sent["In-Reply-To"] == f"<{second}>"
    assert sent["References"].split() == [f"<{root}>", f"<{second}>"]
    domain = mailbox.address.split("@")[1]
    assert sent["Message-ID"].endswith(f"@{domain}>")
    assert sent.get_body(("plain",)).get_content().strip() == "Yes, we ship to Spain."
    assert "Yes, we ship to Spain." in sent.get_body(("html",)).get_content()
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.provider_id == sent["Message-ID"].strip("<>")

    # filed in Sent by IMAP APPEND; the next sync knows it and stores nothing twice
    [copy] = mailbox.folder("Sent")
    assert BytesParser(policy=policy.default).parsebytes(copy)["Message-ID"] == sent["Message-ID"]
    sync(email_channel)
    assert Message.objects.filter(conversation=conversation, kind="message").count() == 3

    # the client answers our reply: it joins the same conversation
    answer = new_id()
    mailbox.deliver(
        BytesParser(policy=policy.default).parsebytes(
            b"From: carla@client.test\r\nTo: " + mailbox.address.encode() + b"\r\n"
            b"Subject: Re: Shipping\r\nMessage-ID: " + answer.encode() + b"\r\n"
            b"In-Reply-To: " + sent["Message-ID"].encode() + b"\r\n"
            b"References: "
            + sent["References"].encode()
            + b" "
            + sent["Message-ID"].encode()
            + b"\r\n\r\nGreat, thanks!\r\n"
        )
    )
    sync(email_channel)
    assert Message.objects.get(text="Great, thanks!").conversation == conversation


def test_cc_bcc_and_attachments_go_with_the_reply(
    owner, email_channel, mailbox, smtp_server, thread
):
    from frontdesk.connectors.base import InboundAttachment

    conversation, _, _ = thread
    message = queue_reply(
        owner.user,
        conversation,
        "Invoice attached.",
        attachments=[InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.4 test")],
        extra={"cc": ["boss@client.test"], "bcc": "archive@example.test"},
    )
    assert deliver(message.pk) == "sent"
    [received] = mine(smtp_server, email_channel)
    assert sorted(received.rcpt_tos) == [
        "archive@example.test",
        "boss@client.test",
        "carla@client.test",
    ]
    sent = received.message
    assert sent["Cc"] == "boss@client.test"
    assert sent["Bcc"] is None  # BCC never shows in what the recipients get
    [attachment] = list(sent.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"
    # the Sent copy keeps the BCC for the team
    [copy] = mailbox.folder("Sent")
    assert BytesParser(policy=policy.default).parsebytes(copy)["Bcc"] == "archive@example.test"


@pytest.mark.parametrize(
    "extra",
    [
        {"subject": "Hello\r\nBcc: victim@else.test"},
        {"cc": "boss@client.test\r\nBcc: victim@else.test"},
        {"cc": ["boss@client.test\nX-Evil: 1"]},
        {"bcc": "not an address"},
    ],
)
def test_header_injection_in_subject_or_cc_is_refused(
    owner, email_channel, smtp_server, thread, extra
):
    conversation, _, _ = thread
    message = queue_reply(owner.user, conversation, "hi", extra=extra)
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed"
    assert mine(smtp_server, email_channel) == []


def test_a_refused_smtp_login_asks_for_reconnection(owner, email_channel, smtp_server, thread):
    conversation, _, _ = thread
    email_channel.credentials = {"password": "wrong"}
    email_channel.save()
    message = queue_reply(owner.user, conversation, "hi")
    assert deliver(message.pk) == "failed"
    message.refresh_from_db()
    email_channel.refresh_from_db()
    assert "refused the login" in message.error
    assert email_channel.status == "needs_reconnect"


def test_an_unreachable_server_and_a_4xx_are_retried(owner, email_channel, smtp_server, thread):
    conversation, _, _ = thread
    good_port = email_channel.config["smtp_port"]
    email_channel.config["smtp_port"] = free_port()  # nobody listens there
    email_channel.save()
    message = queue_reply(owner.user, conversation, "hi")
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == "queued" and "cannot connect" in message.error

    email_channel.config["smtp_port"] = good_port
    email_channel.save()
    smtp_server.fail_next.append((451, "4.3.0 try again later"))
    Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
    assert deliver(message.pk) == "retry"
    message.refresh_from_db()
    assert "451" in message.error
    Message.objects.filter(pk=message.pk).update(next_attempt_at=None)
    assert deliver(message.pk) == "sent"
    assert len(mine(smtp_server, email_channel)) == 1


def test_a_new_email_to_an_address_gets_its_own_subject(owner, mailbox, smtp_server, mail):
    channel = make_channel(owner, mailbox, smtp_server, from_name="Acme Support")
    mailbox.deliver(mail("first contact"))
    sync(channel)
    conversation = Conversation.objects.get()
    message = queue_reply(owner.user, conversation, "A new topic", extra={"subject": "Your order"})
    assert deliver(message.pk) == "sent"
    [received] = mine(smtp_server, channel)
    assert received.message["Subject"] == "Your order"
    assert received.message["From"] == f"Acme Support <{mailbox.address}>"


def test_the_web_reply_box_carries_subject_cc_bcc_and_quote(
    owner, email_channel, smtp_server, thread
):
    from django.test import Client

    conversation, _, _ = thread
    client = Client()
    client.force_login(owner.user)
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    assert 'name="x_cc"' in page and 'name="x_bcc"' in page

    bad = client.post(
        f"/c/{conversation.pk}/reply", {"text": "hi", "x_cc": "boss@client.test\r\nBcc: x@y.z"}
    )
    assert Message.objects.filter(direction="outbound").count() == 0
    # Refused without JavaScript: back to the thread, the reason beside the box, the text in it.
    assert bad.status_code == 302 and bad["Location"] == f"/c/{conversation.pk}/"
    again = client.get(bad["Location"]).content.decode()
    assert "line break" in again and ">hi</textarea>" in again
    assert ">hi</textarea>" not in client.get(bad["Location"]).content.decode()  # shown once

    client.post(
        f"/c/{conversation.pk}/reply",
        {
            "text": "See below.",
            "x_cc": "Boss <boss@client.test>",
            "x_bcc": "archive@example.test",
            "x_quote": "1",
        },
    )
    message = Message.objects.get(direction="outbound", kind="message")
    assert message.extra == {
        "cc": ["boss@client.test"],
        "bcc": ["archive@example.test"],
        "quote": True,
    }
    assert deliver(message.pk) == "sent"
    [received] = mine(smtp_server, email_channel)
    sent = received.message
    assert sent["Cc"] == "boss@client.test"
    body = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body.startswith("See below.")
    assert "wrote:\n> Any news?" in body


def test_a_sync_between_smtp_and_the_outbox_update_does_not_duplicate_the_reply(
    owner, email_channel, mailbox, smtp_server, thread
):
    from frontdesk.connectors.email.smtp import build
    from frontdesk.inbox.outbox import _outbound_for

    conversation, _, _ = thread
    message = queue_reply(owner.user, conversation, "Racing the sync")
    mime, _ = build(email_channel, _outbound_for(message))
    mailbox.deliver(mime, folder="Sent")  # as if the APPEND landed before the worker saved
    sync(email_channel)
    assert list(
        Message.objects.filter(direction="outbound", kind="message").values_list("pk", flat=True)
    ) == [message.pk]
    assert deliver(message.pk) == "sent"
    message.refresh_from_db()
    assert message.provider_id == mime["Message-ID"].strip("<>")


def test_gmail_files_its_own_copy_so_nothing_is_appended(owner, mailbox, smtp_server, settings):
    settings.FRONTDESK_GMAIL_IMAP_HOST = "127.0.0.1"
    settings.FRONTDESK_GMAIL_IMAP_PORT = mailbox.dovecot.port
    settings.FRONTDESK_GMAIL_IMAP_SECURITY = "none"
    settings.FRONTDESK_GMAIL_SMTP_HOST = "127.0.0.1"
    settings.FRONTDESK_GMAIL_SMTP_PORT = smtp_server.port
    settings.FRONTDESK_GMAIL_SMTP_SECURITY = "none"
    from frontdesk.connectors.registry import get_connector

    setup = get_connector("gmail").setup({"address": mailbox.address, "password": mailbox.password})
    channel = ChannelAccount(
        workspace=owner.workspace, kind="email", provider="gmail", name="Gmail", config=setup.config
    )
    channel.credentials = setup.credentials
    channel.save()
    mailbox.deliver(
        b"From: carla@client.test\r\nSubject: Hi\r\nMessage-ID: <g1@client.test>\r\n"
        + f"Date: {format_datetime(timezone.now())}\r\n\r\nhello\r\n".encode()
    )
    sync(channel)
    message = queue_reply(owner.user, Conversation.objects.get(), "hello back")
    assert deliver(message.pk) == "sent"
    assert len(mine(smtp_server, channel)) == 1
    assert mailbox.folder("Sent") == []


def test_a_temporary_smtp_auth_failure_is_retried_not_a_reconnect(
    owner, email_channel, smtp_server, thread
):
    conversation, _, _ = thread
    smtp_server.auth_tempfail = True
    try:
        message = queue_reply(owner.user, conversation, "hi")
        assert deliver(message.pk) == "retry"
    finally:
        smtp_server.auth_tempfail = False
    message.refresh_from_db()
    email_channel.refresh_from_db()
    assert "454" in message.error
    assert email_channel.status == "connected"


def test_a_new_email_to_an_address_starts_its_own_conversation(
    owner, email_channel, mailbox, smtp_server
):
    """Compose: each new email is a conversation of its own; the client's answer joins it."""
    from frontdesk.inbox.actions.send import start_conversation

    first = start_conversation(
        owner.user, email_channel, "Dora@Prospect.test", "Hello Dora, about your request...",
        contact_name="Dora Prospect", extra={"subject": "Your quote"},
    )  # fmt: skip
    second = start_conversation(
        owner.user,
        email_channel,
        "dora@prospect.test",
        "One more thing",
        extra={"subject": "Invoice"},
    )
    assert first.conversation_id != second.conversation_id
    assert first.conversation.contact_id == second.conversation.contact_id
    assert deliver(first.pk) == "sent"
    [received] = mine(smtp_server, email_channel)
    assert received.rcpt_tos == ["dora@prospect.test"]
    sent = received.message
    assert sent["Subject"] == "Your quote"
    assert sent["In-Reply-To"] is None
    first.refresh_from_db()
    answer = new_id()
    mailbox.deliver(
        BytesParser(policy=policy.default).parsebytes(
            b"From: dora@prospect.test\r\nTo: " + mailbox.address.encode() + b"\r\n"
            b"Subject: Re: Your quote\r\nMessage-ID: " + answer.encode() + b"\r\n"
            b"In-Reply-To: " + sent["Message-ID"].encode() + b"\r\n\r\nThanks!\r\n"
        )
    )
    sync(email_channel)
    reply = Message.objects.get(provider_id=answer.strip("<>"))
    assert reply.conversation_id == first.conversation_id


def test_only_this_workspaces_admins_set_a_channels_sender_name(owner, agent, rival, email_channel):
    from django.test import Client

    def post(membership, **data):
        client = Client()
        client.force_login(membership.user)
        return client.post("/settings/signatures/", {"action": "channel", **data}, follow=True)

    fields = {"channel": email_channel.pk, "from_name": "Acme\r\nBcc: x@y.z", "signature": "Acme"}
    assert "Only admins" in post(agent, **fields).content.decode()
    assert "not in this workspace" in post(rival, **fields).content.decode()
    email_channel.refresh_from_db()
    assert "from_name" not in email_channel.config and "signature" not in email_channel.config

    post(owner, **fields)
    email_channel.refresh_from_db()
    # One line, whatever was pasted: a header can never be smuggled into From.
    assert email_channel.config["from_name"] == "Acme Bcc: x@y.z"
    assert email_channel.config["signature"] == "Acme"
    post(owner, channel=email_channel.pk, from_name="", signature="")
    email_channel.refresh_from_db()
    assert "from_name" not in email_channel.config and "signature" not in email_channel.config


def test_the_team_signature_serves_members_without_their_own(owner, agent, email_channel):
    from frontdesk.inbox.actions.signatures import (
        set_channel_identity,
        set_own_signature,
        signature_for,
    )

    set_channel_identity(email_channel, from_name="", signature="The Acme team")
    email_channel.refresh_from_db()
    set_own_signature(agent, "  Ana from Acme  ")
    assert signature_for(agent, email_channel) == "Ana from Acme"
    assert signature_for(owner, email_channel) == "The Acme team"


def test_new_conversation_by_email_carries_subject_copies_and_signature(
    owner, email_channel, smtp_server
):
    from django.test import Client

    from frontdesk.inbox.actions.signatures import set_own_signature

    set_own_signature(owner, "Olga Owner")
    client = Client()
    client.force_login(owner.user)
    page = client.get("/compose/").content.decode()
    assert 'name="x_subject"' in page and "Olga Owner</textarea>" in page
    refused = client.post(
        "/compose/",
        {"channel": email_channel.pk, "to": "not an address", "text": "hi", "x_subject": "Hi"},
    )
    assert refused.status_code == 400 and "is not an email address" in refused.content.decode()
    assert 'value="Hi"' in refused.content.decode()  # what was typed stays
    done = client.post(
        "/compose/",
        {
            "channel": email_channel.pk,
            "to": "Nora@Client.test",
            "name": "Nora",
            "x_subject": "Your quote",
            "x_cc": "boss@client.test",
            "text": "Here is **the quote**.",
            "signature": "Olga Owner",
        },
    )
    assert done.status_code == 302
    message = Message.objects.get(direction="outbound", kind="message")
    assert deliver(message.pk) == "sent"
    [received] = mine(smtp_server, email_channel)
    sent = received.message
    assert received.rcpt_tos == ["nora@client.test", "boss@client.test"]
    assert sent["Subject"] == "Your quote" and sent["Cc"] == "boss@client.test"
    assert "<strong>the quote</strong>" in sent.get_body(("html",)).get_content()
    plain = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.rstrip().endswith("Here is the quote.\n\n-- \nOlga Owner")
