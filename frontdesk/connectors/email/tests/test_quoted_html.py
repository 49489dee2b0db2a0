"""Quoted history in HTML mail: found where each mail program starts it, kept in the stored
email, and folded behind "…" in the thread's frame."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from frontdesk.connectors.email.parse import parse
from frontdesk.connectors.email.tests.raw import ingest_raw
from frontdesk.inbox.models import Message

HEAD = (
    "From: Carla <carla@client.test>\r\nTo: support@example.test\r\n"
    "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nSubject: Re: Shipping\r\nMIME-Version: 1.0\r\n"
)
NEW = "<p>Sounds good, <b>Friday</b> works.</p>"
OLD = "<p>Can we ship on Friday?</p>"

QUOTES = {
    "gmail": f'<div dir="ltr">{NEW}</div><br><div class="gmail_quote"><div dir="ltr"'
    f' class="gmail_attr">On Mon, Nov 23, 2026 Support wrote:<br></div>'
    f'<blockquote class="gmail_quote" style="margin:0">{OLD}</blockquote></div>',
    "outlook": f'<div>{NEW}</div><hr style="display:inline-block" tabindex="-1">'
    f'<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Support<br></div><div>{OLD}</div>',
    "apple": f'<div>{NEW}<div><br><blockquote type="cite"><div>On 23 Nov, Support wrote:</div>'
    f"{OLD}</blockquote></div></div>",
    "thunderbird": f'{NEW}<div class="moz-cite-prefix">On 23/11/2026 Support wrote:<br></div>'
    f'<blockquote type="cite" cite="mid:x@y">{OLD}</blockquote>',
    "zoho": f'<div>{NEW}</div><div class="zmail_extra"><blockquote>{OLD}</blockquote></div>',
    "yahoo": f'<div>{NEW}</div><div class="yahoo_quoted"><div>{OLD}</div></div>',
}


def html_mail(html: str, extra_parts: str = "") -> bytes:
    if not extra_parts:
        return (HEAD + "Content-Type: text/html; charset=utf-8\r\n\r\n" + html).encode()
    return (
        HEAD + 'Content-Type: multipart/related; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n" + extra_parts
    ).encode()


@pytest.mark.parametrize("program", sorted(QUOTES))
def test_the_quote_is_found_where_each_mail_program_starts_it(program):
    parsed = parse(html_mail(QUOTES[program]))
    at = parsed.html_quoted_at
    assert at > 0, program
    new, quoted = parsed.html[:at], parsed.html[at:]
    assert "Friday</b> works" in new and "Can we ship" not in new
    assert "Can we ship on Friday?" in quoted
    assert parsed.text.startswith("Sounds good, Friday works.")


def test_a_message_that_is_only_quote_is_not_folded():
    parsed = parse(html_mail(f'<div class="gmail_quote">---------- Forwarded ---------{OLD}</div>'))
    assert parsed.html_quoted_at == 0
    assert "Can we ship on Friday?" in parsed.html


def test_the_fold_stays_exact_when_an_inline_image_above_it_is_embedded():
    png = base64.b64encode(
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
        )
    ).decode()
    html = f'<div>{NEW}<img src="cid:logo@x" alt="logo"></div>' + QUOTES["gmail"][len(NEW) + 16 :]
    image = (
        "--B\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{png}\r\n--B--\r\n"
    )
    parsed = parse(html_mail(html, image))
    at = parsed.html_quoted_at
    assert 'src="data:image/png;base64,' in parsed.html[:at]
    assert parsed.html[at:].lstrip().startswith("<div>")  # the quote's own first element
    assert "Can we ship" in parsed.html[at:] and "Can we ship" not in parsed.html[:at]


def test_the_thread_frame_folds_the_quote_behind_dots(owner, email_channel):
    assert ingest_raw(email_channel, html_mail(QUOTES["outlook"])) == "created"
    message = Message.objects.get()
    client = Client()
    client.force_login(owner.user)
    page = client.get(f"/c/{message.conversation_id}/m/{message.pk}/email").content.decode()
    before, _, folded = page.partition('<details class="fd-quoted">')
    assert "Friday</b> works" in before and "Can we ship" not in before
    assert "Can we ship on Friday?" in folded and 'aria-label="Show the quoted history"' in folded
