"""The composer's server side: its light markup rendered per channel, the channel's limits
checked before anything is queued, and a refused reply that keeps what was typed."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from frontdesk.connectors.base import InboundAttachment
from frontdesk.connectors.registry import get_connector
from frontdesk.inbox import formatting
from frontdesk.inbox.actions.compose import render_body
from frontdesk.inbox.actions.send import check_channel_limits
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import Message

SOURCE = """Hello **Ana**, thanks for *writing*!

Your _order_ is:
- 2 shirts
- 1 hat, see [the page](https://shop.test/a_b?x=1*2)

1. pay
2. wait
snake_case stays, 5*3*2 too, and https://x.test/q_a_b is a link."""


def test_markup_becomes_html_with_a_plain_twin():
    body = formatting.render(SOURCE, html_part=True)
    assert body.html == (
        "<p>Hello <strong>Ana</strong>, thanks for <strong>writing</strong>!</p>\n"
        "<p>Your <em>order</em> is:</p>\n"
        '<ul><li>2 shirts</li><li>1 hat, see <a href="https://shop.test/a_b?x=1*2">the page</a>'
        "</li></ul>\n<ol><li>pay</li><li>wait</li></ol>\n"
        "<p>snake_case stays, 5*3*2 too, and "
        '<a href="https://x.test/q_a_b">https://x.test/q_a_b</a> is a link.</p>'
    )
    assert body.text == (
        "Hello Ana, thanks for writing!\n\nYour order is:\n• 2 shirts\n"
        "• 1 hat, see the page (https://shop.test/a_b?x=1*2)\n\n1. pay\n2. wait\n"
        "snake_case stays, 5*3*2 too, and https://x.test/q_a_b is a link."
    )


def test_markup_becomes_whatsapp_markup_or_plain_text():
    whatsapp = formatting.render(SOURCE, html_part=False, markup="whatsapp")
    assert whatsapp.html == ""
    assert whatsapp.text.startswith("Hello *Ana*, thanks for *writing*!\n\nYour _order_ is:\n- 2")
    assert "- 1 hat, see the page (https://shop.test/a_b?x=1*2)" in whatsapp.text
    plain = formatting.render("**Hi** _there_", html_part=False)
    assert plain == formatting.Rendered(text="Hi there")


def test_html_is_escaped_never_passed_through():
    source = "<img src=x onerror=alert(1)> **<b>x</b>** [a](javascript:alert(1))"
    assert formatting.render(source, html_part=True).html == (
        "<p>&lt;img src=x onerror=alert(1)&gt; <strong>&lt;b&gt;x&lt;/b&gt;</strong>"
        " [a](javascript:alert(1))</p>"  # only http(s) and mailto links become links
    )


def test_a_signature_follows_the_text_on_channels_that_carry_one():
    email = get_connector("imap")
    body = render_body(email, "See you **soon**", "Dana Reyes\nNorthwind")
    assert body.text == "See you soon\n\n-- \nDana Reyes\nNorthwind"
    assert body.html.endswith('<div class="signature">-- <br><p>Dana Reyes<br>Northwind</p></div>')
    chat = get_connector("whatsapp_cloud")
    assert render_body(chat, "See you **soon**", "Dana").text == "See you *soon*"


def _file(name: str, content_type: str, size: int) -> InboundAttachment:
    return InboundAttachment(name=name, content_type=content_type, data=b"x" * size)


def test_channel_limits_refuse_before_queueing(settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
    whatsapp = get_connector("whatsapp_cloud")
    linkedin = get_connector("unipile").for_kind("linkedin")
    check_channel_limits(whatsapp, "x" * 5000, [])  # WhatsApp sends it in two parts
    with pytest.raises(ActionRefused, match="LinkedIn takes at most 8,000 characters"):
        check_channel_limits(linkedin, "x" * 8001, [])
    with pytest.raises(ActionRefused, match="does not take this kind of file"):
        check_channel_limits(whatsapp, "", [_file("a.zip", "application/zip", 10)])
    with pytest.raises(ActionRefused, match=r"photo\.png is 6 MB: the limit for it here is 5 MB"):
        check_channel_limits(whatsapp, "", [_file("photo.png", "image/png", 6 * 1024 * 1024)])
    check_channel_limits(whatsapp, "", [_file("menu.pdf", "application/pdf", 6 * 1024 * 1024)])
    check_channel_limits(get_connector("imap"), "", [_file("a.zip", "application/zip", 10)])


def test_the_web_reply_renders_the_markup_for_the_channel(
    owner, inbound, drain_queue, callback, django_capture_on_commit_callbacks
):
    conversation = inbound("Hello", handle="ana").conversation
    client = Client()
    client.force_login(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            f"/c/{conversation.pk}/reply",
            {"text": "Yes, **today**:\n- shirts\n- hats", "mode": "reply"},
            headers={"HX-Request": "true"},
        )
    assert answer.status_code == 200 and b"<strong>today</strong>" in answer.content
    drain_queue()
    sent = callback.received[-1].json
    assert sent["text"] == "Yes, today:\n• shirts\n• hats"
    assert (
        sent["html"] == "<p>Yes, <strong>today</strong>:</p>\n<ul><li>shirts</li><li>hats</li></ul>"
    )


def test_a_refused_web_reply_keeps_the_typed_text(owner, inbound, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 1024
    conversation = inbound("Hello", handle="ana").conversation
    client = Client()
    client.force_login(owner.user)
    upload = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 4096, "application/pdf")
    data = {"text": "Here is the **offer**", "mode": "reply", "files": [upload]}
    htmx = client.post(f"/c/{conversation.pk}/reply", data, headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and htmx["HX-Retarget"] == "#reply-error"
    assert b"big.pdf is 4 KB: the limit for it here is 1 KB" in htmx.content
    upload.seek(0)
    plain = client.post(f"/c/{conversation.pk}/reply", data)
    assert plain.status_code == 302
    page = client.get(plain["Location"]).content.decode()
    assert "big.pdf is 4 KB" in page and ">Here is the **offer**</textarea>" in page
    assert not Message.objects.filter(direction="outbound").exists()


def test_another_workspaces_conversation_is_not_found(owner, rival, inbound):
    conversation = inbound("Hello", handle="ana").conversation
    client = Client()
    client.force_login(rival.user)
    answer = client.post(f"/c/{conversation.pk}/reply", {"text": "hi", "mode": "reply"})
    assert answer.status_code == 404
