"""Hostile and broken mail: each case is stored sensibly or refused, never crashes a sync."""

from __future__ import annotations

import base64
import hashlib

from frontdesk.connectors.email.parse import parse, sanitize_html, split_quoted
from frontdesk.connectors.email.tests.raw import ingest_raw
from frontdesk.inbox.models import Attachment, Conversation, Message
from frontdesk.inbox.sync import run_sync


def raw(headers: str, body: str | bytes) -> bytes:
    head = headers.strip().replace("\n", "\r\n").encode("utf-8", "surrogateescape")
    data = body if isinstance(body, bytes) else body.replace("\n", "\r\n").encode()
    return head + b"\r\n\r\n" + data


BASE = "From: Carla <carla@client.test>\nTo: support@example.test\nDate: Tue, 24 Nov 2026 10:00:00 +0000"


def test_broken_mime_boundaries_still_give_the_text(email_channel):
    data = raw(
        BASE + "\nSubject: broken\nMessage-ID: <b1@x>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="XYZ"',
        "--WRONG\nContent-Type: text/plain\n\nThe boundary never matches.\n--WRONG--\n",
    )
    assert ingest_raw(email_channel, data) == "created"
    message = Message.objects.get()
    assert "The boundary never matches." in message.text


def test_a_missing_message_id_gets_a_stable_one_and_is_stored_once(email_channel):
    data = raw(BASE + "\nSubject: no id", "Hello without an id\n")
    assert ingest_raw(email_channel, data) == "created"
    assert ingest_raw(email_channel, data) == "duplicate"  # a resync does not duplicate it
    message = Message.objects.get()
    assert message.provider_id.endswith("@frontdesk.invalid")
    assert message.extra["message_id_missing"] is True


def test_a_duplicate_message_id_on_different_mail_keeps_both(email_channel):
    first = raw(BASE + "\nSubject: a\nMessage-ID: <same@x>", "first body\n")
    second = raw(BASE + "\nSubject: b\nMessage-ID: <same@x>", "second body\n")
    assert ingest_raw(email_channel, first) == "created"
    assert ingest_raw(email_channel, second) == "created"
    assert ingest_raw(email_channel, second) == "duplicate"
    assert sorted(Message.objects.values_list("text", flat=True)) == ["first body", "second body"]


def test_unknown_charsets_and_8bit_headers_are_repaired(email_channel):
    data = raw(
        BASE.replace("Carla <", "Cärla Ñúñez <") + "\nSubject: Grüße aus Köln\nMessage-ID: <c1@x>\n"
        "Content-Type: text/plain; charset=x-unknown-charset\nContent-Transfer-Encoding: 8bit",
        "Caf\xe9 cr\xe8me".encode("latin-1") + b"\r\n",
    )
    assert ingest_raw(email_channel, data) == "created"
    message = Message.objects.get()
    assert message.subject == "Grüße aus Köln"
    assert message.author_name == "Cärla Ñúñez"
    assert message.text == "Café crème"  # not UTF-8: read as Windows-1252


def test_quoted_printable_base64_and_encoded_words(email_channel):
    data = raw(
        BASE
        + "\nSubject: =?utf-8?b?"
        + base64.b64encode("Réservation ✓".encode()).decode()
        + "?=\nMessage-ID: <qp@x>\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable",
        "R=C3=A9servation confirm=C3=A9e pour un tr=\n=C3=A8s long s=C3=A9jour\n",
    )
    ingest_raw(email_channel, data)
    message = Message.objects.get()
    assert message.subject == "Réservation ✓"
    assert message.text == "Réservation confirmée pour un très long séjour"


def _with_attachment(name_param: str, payload: bytes, ctype: str = "application/octet-stream"):
    encoded = base64.encodebytes(payload).decode()
    return raw(
        BASE
        + f"\nSubject: files\nMessage-ID: <f-{hashlib.md5(payload).hexdigest()[:8]}@x>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="B"',
        "--B\nContent-Type: text/plain\n\nsee attached\n--B\n"
        f"Content-Type: {ctype}\nContent-Disposition: attachment; {name_param}\n"
        f"Content-Transfer-Encoding: base64\n\n{encoded}\n--B--\n",
    )


def test_filenames_with_dot_dot_or_nul_are_made_safe(email_channel):
    ingest_raw(email_channel, _with_attachment('filename="../../etc/passwd"', b"x" * 10))
    ingest_raw(email_channel, _with_attachment("filename*=utf-8''evil%00name.txt", b"y" * 10))
    names = sorted(Attachment.objects.values_list("name", flat=True))
    assert names == ["evilname.txt", "passwd"]
    for attachment in Attachment.objects.all():
        assert ".." not in attachment.file.name and "\x00" not in attachment.file.name


def test_a_25_mb_attachment_is_stored_without_holding_it_in_memory(email_channel, mailbox):
    import tracemalloc

    payload = bytes(range(256)) * (25_000_000 // 256)
    mailbox.deliver(_with_attachment('filename="big.bin"', payload))
    tracemalloc.start()
    try:
        run_sync(email_channel)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    email_channel.refresh_from_db()
    assert email_channel.last_error == ""
    message = Message.objects.get()
    assert message.text == "see attached"
    attachment = Attachment.objects.get()
    assert (attachment.name, attachment.size) == ("big.bin", len(payload))
    assert attachment.sha256 == hashlib.sha256(payload).hexdigest()
    with attachment.file.open("rb") as fh:
        digest = hashlib.sha256()
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    assert digest.hexdigest() == attachment.sha256
    # fetched in 1 MB slices, decoded to a file, copied in chunks: far below the 34 MB mail
    assert peak < 8_000_000, f"peak Python heap {peak / 1e6:.1f} MB"


def test_a_small_mail_with_attachments_parsed_in_memory_is_the_same(email_channel):
    payload = b"%PDF-1.4 small"
    assert ingest_raw(email_channel, _with_attachment('filename="a.pdf"', payload)) == "created"
    assert Attachment.objects.get().size == len(payload)


def test_winmail_dat_and_inline_cid_images_are_kept(email_channel):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    data = raw(
        BASE + "\nSubject: pics\nMessage-ID: <cid@x>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="M"',
        '--M\nContent-Type: multipart/related; boundary="R"\n\n'
        '--R\nContent-Type: text/html; charset=utf-8\n\n<p>Logo: <img src="cid:logo@x"></p>\n'
        "--R\nContent-Type: image/png\nContent-ID: <logo@x>\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(png).decode()
        + "\n--R--\n--M\nContent-Type: application/ms-tnef; name=winmail.dat\n"
        "Content-Disposition: attachment; filename=winmail.dat\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(b"\x78\x9f\x3e\x22 tnef").decode()
        + "\n--M--\n",
    )
    ingest_raw(email_channel, data)
    message = Message.objects.get()
    assert sorted(a.name for a in message.attachments.all()) == ["attachment.png", "winmail.dat"]
    assert message.extra["inline_cids"] == {"logo@x": "attachment.png"}
    # shown from the message itself (a data: URI), with nothing loaded from elsewhere
    assert 'src="data:image/png;base64,' + base64.b64encode(png).decode() + '"' in message.html
    assert message.text == "Logo:"


def test_a_thousand_recipients_are_counted_not_exploded(email_channel):
    to = ", ".join(f"person{n}@crowd.test" for n in range(1000))
    data = raw(
        BASE.replace("To: support@example.test", f"To: {to}")
        + "\nSubject: all\nMessage-ID: <many@x>",
        "hi all\n",
    )
    assert ingest_raw(email_channel, data) == "created"
    message = Message.objects.get()
    assert len(message.extra["to"]) == 100
    assert message.extra["recipients_total"] == 1000
    assert Conversation.objects.get().contact.handles.get().value == "carla@client.test"


HOSTILE = """
<html><head><style>body{background:url(https://evil.test/x)}</style>
<script>alert(1)</script></head>
<body onload="steal()">
<p style="color:red" onclick="x()">Hello <b>there</b></p>
<a href="javascript:alert(2)">click</a> <a href="https://shop.test/ok">shop</a>
<iframe src="https://evil.test/frame"></iframe>
<img src="https://tracker.test/pixel.gif?u=1" width="1" height="1">
<form action="https://evil.test"><input name="pw"></form>
<svg><script>alert(3)</script></svg>
<object data="x.swf"></object><embed src="y">
</body></html>
"""


def test_scripts_iframes_javascript_links_and_css_are_removed():
    clean, blocked = sanitize_html(HOSTILE)
    lowered = clean.lower()
    for bad in (
        "<script",
        "alert(",
        "<iframe",
        "javascript:",
        "onload",
        "onclick",
        "<style",
        "style=",
        "<form",
        "<input",
        "<svg",
        "<object",
        "<embed",
        "evil.test",
    ):
        assert bad not in lowered, bad
    assert "<b>there</b>" in clean
    assert 'href="https://shop.test/ok"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean
    # the tracking pixel is counted; the inbox frame blocks it until images are allowed
    assert blocked == 1
    assert 'src="https://tracker.test/pixel.gif?u=1"' in clean


def test_hostile_html_mail_is_stored_sanitized(email_channel):
    data = raw(
        BASE + "\nSubject: html\nMessage-ID: <h@x>\nContent-Type: text/html; charset=utf-8",
        HOSTILE,
    )
    ingest_raw(email_channel, data)
    message = Message.objects.get()
    assert "<script" not in message.html and "javascript:" not in message.html
    assert message.extra["remote_images"] == 1
    assert "Hello there" in message.text


def test_tracking_pixels_stay_blocked_in_the_inbox_until_allowed(email_channel, owner):
    from django.test import Client

    data = raw(
        BASE + "\nSubject: pixel\nMessage-ID: <px@x>\nContent-Type: text/html; charset=utf-8",
        '<p>Hi</p><img src="https://tracker.test/p.gif" width="1" height="1">',
    )
    ingest_raw(email_channel, data)
    message = Message.objects.get()
    client = Client()
    client.force_login(owner.user)
    url = f"/c/{message.conversation_id}/m/{message.pk}/email"
    blocked = client.get(url)
    policy = blocked["Content-Security-Policy"]
    assert "img-src data:" in policy and "https:" not in policy
    allowed = client.get(url, {"images": "1"})
    assert "https:" in allowed["Content-Security-Policy"]
    assert 'src="https://tracker.test/p.gif"' in allowed.content.decode()


def test_auto_replies_and_bulk_are_skipped_and_lists_are_marked(email_channel):
    auto = raw(
        BASE + "\nSubject: Out of office\nMessage-ID: <ooo@x>\nAuto-Submitted: auto-replied",
        "I am away\n",
    )
    bulk = raw(BASE + "\nSubject: Promo\nMessage-ID: <bulk@x>\nPrecedence: bulk", "Buy now\n")
    listed = raw(
        BASE + "\nSubject: Digest\nMessage-ID: <list@x>\nList-Id: <news.client.test>", "news\n"
    )
    assert ingest_raw(email_channel, auto) == "auto-reply"
    assert ingest_raw(email_channel, bulk) == "auto-reply"
    assert ingest_raw(email_channel, listed) == "created"
    assert Message.objects.get().extra["list_id"] == "<news.client.test>"


def test_a_bounce_fails_the_original_outbound_message(email_channel, owner):
    from frontdesk.inbox.actions.send import queue_reply

    ingest_raw(email_channel, raw(BASE + "\nSubject: q\nMessage-ID: <q@x>", "question\n"))
    reply = queue_reply(owner.user, Conversation.objects.get(), "answer")
    Message.objects.filter(pk=reply.pk).update(status="sent", provider_id="ours.1@example.test")
    bounce = raw(
        "From: MAILER-DAEMON@mx.client.test\nTo: support@example.test\nSubject: Undelivered\n"
        "Message-ID: <bounce@mx>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="D"',
        "--D\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--D\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.client.test\n\n"
        "Final-Recipient: rfc822; carla@client.test\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown\n"
        "--D\nContent-Type: text/rfc822-headers\n\nMessage-ID: <ours.1@example.test>\nSubject: answer\n"
        "--D--\n",
    )
    assert ingest_raw(email_channel, bounce) == "bounce"
    reply.refresh_from_db()
    assert reply.status == "failed"
    assert "550 5.1.1 mailbox unknown" in reply.error
    assert (
        Message.objects.filter(kind="message").count() == 2
    )  # the bounce itself is not shown as a message


def test_quoted_history_and_signature_are_separated():
    text = "Thanks, that works.\n\n-- \nCarla\nACME\n\nOn Tue, Bob wrote:\n> old\n"
    assert split_quoted(text) == "Thanks, that works."
    outlook = "Sounds good.\n\nFrom: Bob <bob@x>\nSent: Monday\nTo: Carla\nSubject: Re: x\n\nold"
    assert split_quoted(outlook) == "Sounds good."
    assert split_quoted("From: the start of a sentence is fine") == (
        "From: the start of a sentence is fine"
    )
    assert parse(b"Subject: x\r\n\r\n> only quoted\r\n").text == "> only quoted"


def test_spooling_keeps_nested_parts_and_decodes_big_ones_exactly(tmp_path):
    import io

    from frontdesk.connectors.email.spool import spool_large_parts

    big = bytes(range(256)) * 4000  # ~1 MB
    data = raw(
        BASE + "\nSubject: nested\nMessage-ID: <n@x>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="outer"',
        'preamble\n--outer\nContent-Type: multipart/alternative; boundary="inner"\n\n'
        "--inner\nContent-Type: text/plain\n\nplain body\n"
        "--inner\nContent-Type: text/html\n\n<p>html body</p>\n--inner--\n"
        "--outer\nContent-Type: image/png\nContent-ID: <pic@x>\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(big).decode()
        + "--outer\nContent-Type: text/plain; name=small.txt\n"
        "Content-Disposition: attachment; filename=small.txt\nContent-Transfer-Encoding: base64\n\n"
        + base64.encodebytes(b"tiny").decode()
        + "--outer--\nepilogue\n",
    )
    spooled = spool_large_parts(io.BytesIO(data), str(tmp_path), threshold=64 * 1024)
    assert len(spooled.reduced) < 4000
    [path] = spooled.files.values()
    with open(path, "rb") as fh:
        assert fh.read() == big
    parsed = parse(spooled.reduced)
    assert parsed.text == "plain body"
    assert "<p>html body</p>" in parsed.html
    by_name = {a.name: a for a in parsed.attachments}
    assert by_name["small.txt"].data == b"tiny"
    assert by_name["attachment.png"].spooled == "1"
    assert by_name["attachment.png"].content_id == "pic@x"


def test_a_message_that_cannot_be_stored_is_noted_and_the_rest_still_arrive(
    email_channel, mailbox, mail, monkeypatch
):
    from frontdesk.connectors.email import sync

    real = sync.parse

    def explode_on_one(raw_bytes):
        if b"poison" in raw_bytes:
            raise ValueError("cannot parse this one")
        return real(raw_bytes)

    monkeypatch.setattr(sync, "parse", explode_on_one)
    for text in ("fine one", "poison", "fine two"):
        mailbox.deliver(mail(text))
    run_sync(email_channel)
    email_channel.refresh_from_db()
    assert sorted(Message.objects.values_list("text", flat=True)) == ["fine one", "fine two"]
    [failure] = email_channel.sync_state["failures"]
    assert "cannot parse this one" in failure["error"]
    assert email_channel.last_error == ""


def test_encoded_display_names_and_folded_headers():
    data = raw(
        "From: =?utf-8?q?Jos=C3=A9_Mar=C3=ADa?= <Jose@Example.TEST>\n"
        "To: a@x.test,\n b@x.test\nSubject: a very long subject that was\n folded by the sender\n"
        "Message-ID: <folded@x>",
        "hi\n",
    )
    parsed = parse(data)
    assert (parsed.from_name, parsed.from_address) == ("José María", "jose@example.test")
    assert parsed.to == ["a@x.test", "b@x.test"]
    assert parsed.subject == "a very long subject that was folded by the sender"


def test_a_database_outage_mid_sync_loses_no_mail(email_channel, mailbox, mail, monkeypatch):
    """The database failing is not the message's fault: the sync position stays before it
    and the next sync stores it (a broken message, by contrast, is noted and skipped)."""
    from django.db import OperationalError

    from frontdesk.connectors.email.tests.conftest import new_id

    for n in range(3):
        mailbox.deliver(mail(f"Are you open on day {n}?", message_id=new_id(), subject="Hours"))
    from frontdesk.inbox.actions import ingest as ingest_module

    real_insert = ingest_module.insert_row
    saves = {"n": 0}

    def outage(obj, *args, **kwargs):
        if isinstance(obj, Message):
            saves["n"] += 1
            if saves["n"] == 2:  # in the middle of the batch
                raise OperationalError("database is locked")
        return real_insert(obj, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "insert_row", outage)
    run_sync(email_channel)
    email_channel.refresh_from_db()
    assert "database is locked" in email_channel.last_error
    assert Message.objects.count() == 0  # the batch is undone, not half kept
    inbox = email_channel.sync_state["folders"]["inbox"]
    assert inbox["backfill_done"] == 0 and "failures" not in email_channel.sync_state
    monkeypatch.undo()
    run_sync(email_channel)
    assert sorted(Message.objects.values_list("text", flat=True)) == [
        f"Are you open on day {n}?" for n in range(3)
    ]


def test_a_message_failing_mid_batch_is_skipped_and_undone_alone(
    email_channel, mailbox, mail, monkeypatch, caplog
):
    """A broken message in a batch rolls back only its own writes (its new conversation
    too), and the messages after it that would have joined that conversation still land.
    The inbox's page store skips it (email's pages ask it to) and logs it with why."""
    from frontdesk.connectors.email.tests.conftest import new_id
    from frontdesk.inbox import events

    first, second = new_id(), new_id()
    # the first sync walks the backfill newest first: "broken" comes before "reply"
    mailbox.deliver(mail("other", message_id=new_id(), sender="a@client.test"))
    mailbox.deliver(mail("reply", message_id=second, references=[first], sender="b@client.test"))
    mailbox.deliver(mail("broken", message_id=first, sender="b@client.test"))
    real = events.message_created

    def fail_for_broken(message):
        if message.text == "broken":
            raise ValueError("something odd in this one message")
        real(message)

    monkeypatch.setattr(events, "message_created", fail_for_broken)
    run_sync(email_channel)
    email_channel.refresh_from_db()

    assert email_channel.last_error == ""
    assert sorted(Message.objects.values_list("text", flat=True)) == ["other", "reply"]
    [skipped] = [r for r in caplog.records if "could not be stored; skipped" in r.getMessage()]
    assert first.strip("<>") in skipped.getMessage()
    assert "something odd in this one message" in str(skipped.exc_info[1])
    reply = Message.objects.get(text="reply")
    assert reply.conversation.thread_key == f"email:{first.strip('<>')}"
    assert reply.conversation.messages.count() == 1
