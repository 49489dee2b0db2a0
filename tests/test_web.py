"""View tests for the inbox web app: every page and partial, tenancy, escaping, query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frontdesk.connectors.base import InboundAttachment, InboundMessage
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.models import (
    ChannelStatus,
    Conversation,
    ConversationRead,
    DeliveryStatus,
    Message,
    MessageKind,
)
from tests.fixtures import PASSWORD, make_api_channel
from tests.fixtures import session_client as login

HX = {"HX-Request": "true"}


@pytest.fixture
def web(owner) -> Client:
    return login(owner)


def test_login_required_and_login_page(db, owner):
    anon = Client()
    response = anon.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    page = anon.get("/login/")
    assert page.status_code == 200 and b"Log in" in page.content
    response = anon.post("/login/", {"username": owner.user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"


def test_inbox_page_lists_conversations_with_sidebar(web, owner, channel, inbound):
    inbound("Hi, is the shop open?", handle="ana", contact_name="Ana Lima")
    inbound("Where is my order", handle="bob", contact_name="Bob Stone")
    response = web.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme" in html  # the workspace name in the sidebar
    assert "Ana Lima" in html and "Bob Stone" in html
    assert "Where is my order" in html
    assert "Support bot" in html  # the channel under Inbox
    assert 'data-count="all">2<' in html  # two unread for this member
    assert "Content-Security-Policy" in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # Newest first.
    assert html.index("Bob Stone") < html.index("Ana Lima")


def test_list_partial_for_htmx_and_filters(web, owner, agent, channel, inbound):
    a = inbound("one", handle="a", contact_name="Alpha").conversation
    b = inbound("two", handle="b", contact_name="Beta").conversation
    Conversation.objects.filter(pk=a.pk).update(assignee=owner.user)
    Conversation.objects.filter(pk=b.pk).update(status="resolved")

    partial = web.get("/", headers={**HX, "HX-Target": "conv-list"})
    assert partial.status_code == 200
    html = partial.content.decode()
    assert "<html" not in html and "Alpha" in html and "Beta" not in html  # open only

    resolved = web.get("/?status=resolved", headers={**HX, "HX-Target": "conv-list"}).content
    assert b"Beta" in resolved and b"Alpha" not in resolved
    mine = web.get("/?view=mine&status=all").content.decode()
    assert "Alpha" in mine and "Beta" not in mine.split('id="conv-list"')[1]
    unassigned = web.get("/?view=unassigned&status=all", headers={**HX, "HX-Target": "conv-list"})
    assert b"Beta" in unassigned.content and b"Alpha" not in unassigned.content
    search = web.get("/?status=all&q=bet", headers={**HX, "HX-Target": "conv-list"})
    assert b"Beta" in search.content and b"Alpha" not in search.content
    assert web.post(f"/c/{a.pk}/read", headers=HX).status_code == 204  # read it
    unread = web.get("/?status=all&unread=1", headers={**HX, "HX-Target": "conv-list"})
    assert b"Beta" in unread.content and b"Alpha" not in unread.content


def test_list_pagination_is_keyset_and_complete(web, channel, inbound):
    for i in range(120):
        inbound(f"message {i}", handle=f"h{i}", contact_name=f"Person {i:03d}")
    seen: list[str] = []
    response = web.get("/")
    html = response.content.decode()
    seen += re.findall(r'id="conv-(\d+)"', html)
    more = re.search(r'hx-get="(/inbox/list\?[^"]+)"', html)
    while more:
        html = web.get(more.group(1).replace("&amp;", "&")).content.decode()
        seen += re.findall(r'id="conv-(\d+)"', html)
        more = re.search(r'hx-get="(/inbox/list\?[^"]+)"', html)
    assert len(seen) == 120 and len(set(seen)) == 120
    assert web.get("/inbox/list?cursor=garbage").status_code == 404


def test_list_query_count_does_not_grow_with_rows(web, channel, inbound):
    for i in range(5):
        inbound(f"m {i}", handle=f"x{i}", contact_name=f"X {i}")
    with CaptureQueriesContext(connection) as few:
        assert web.get("/", headers={**HX, "HX-Target": "conv-list"}).status_code == 200
    for i in range(40):
        inbound(f"m {i}", handle=f"y{i}")  # some without names: display name from handles
    with CaptureQueriesContext(connection) as many:
        assert web.get("/", headers={**HX, "HX-Target": "conv-list"}).status_code == 200
    assert len(many) == len(few)
    assert len(many) <= 8


def test_thread_query_count_does_not_grow_with_messages(web, channel, inbound):
    conversation = inbound("first", handle="talker", contact_name="Talker").conversation
    web.post(f"/c/{conversation.pk}/read")  # the first read creates this member's read mark
    inbound("unread again", handle="talker")
    with CaptureQueriesContext(connection) as few:
        assert (
            web.get(
                f"/c/{conversation.pk}/", headers={**HX, "HX-Target": "thread-pane"}
            ).status_code
            == 200
        )
    for i in range(30):
        inbound(
            f"more {i}",
            handle="talker",
            attachments=[InboundAttachment(f"f{i}.txt", "text/plain", b"x" * 10)],
        )
    with CaptureQueriesContext(connection) as many:
        assert (
            web.get(
                f"/c/{conversation.pk}/", headers={**HX, "HX-Target": "thread-pane"}
            ).status_code
            == 200
        )
    assert len(many) == len(few)
    # Opening an unread conversation writes nothing (app.js POSTs the read mark).
    for captured in (few, many):
        assert not [
            q for q in captured.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))
        ]


def test_opening_a_conversation_shows_thread_and_marks_read_for_me_only(
    web, owner, agent, channel, inbound
):
    result = inbound("Hello, I need help", handle="cara", contact_name="Cara Diaz")
    conversation = result.conversation
    response = web.get(f"/c/{conversation.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Hello, I need help" in html and "Cara Diaz" in html
    assert 'id="reply-form"' in html and "Only your teammates see notes" in html
    # The thread's messages are not taken for flash messages (a box "Message 1 (inbound)"
    # over the list's filters): with nothing flashed, the page has no flash box.
    assert 'class="flash"' not in html and "(inbound)" not in html
    # The GET changes nothing (a prefetch or prerender must not read it): the page marks it
    # read with a POST once shown (app.js), or offers a button without JavaScript.
    assert not ConversationRead.objects.exists()
    assert 'data-unread="1"' in html
    noscript = re.search(r"<noscript><form[^>]*>", html).group(0)
    assert f'action="/c/{conversation.pk}/read"' in noscript and 'method="post"' in noscript
    back = web.post(f"/c/{conversation.pk}/read")  # the no-JS button: back to the thread
    assert back.status_code == 302 and back.url.startswith(f"/c/{conversation.pk}/")
    assert ConversationRead.objects.filter(conversation=conversation, user=owner.user).exists()
    again = web.get(f"/c/{conversation.pk}/").content.decode()
    assert 'data-unread="1"' not in again and "<noscript><form" not in again
    assert not ConversationRead.objects.filter(conversation=conversation, user=agent.user).exists()
    # The agent still sees it unread.
    agent_html = login(agent).get("/").content.decode()
    assert 'class="row unread' in agent_html
    # The htmx pane carries the contact panel out of band.
    pane = web.get(f"/c/{conversation.pk}/", headers={**HX, "HX-Target": "thread-pane"})
    assert b'id="contact-pane"' in pane.content and b"hx-swap-oob" in pane.content
    assert b"<html" not in pane.content


def test_other_workspaces_conversation_is_404(web, rival, callback):
    theirs = make_api_channel(rival, callback.url, name="Rival bot")
    conversation = ingest(
        theirs,
        InboundMessage(
            provider_id="r1",
            handle="x",
            text="secret",
            attachments=[InboundAttachment("plan.pdf", "application/pdf", b"%PDF-1.4 secret")],
        ),
    ).conversation
    message = conversation.messages.get()
    assert web.get(f"/files/{message.attachments.get().pk}").status_code == 404
    for url in [
        f"/c/{conversation.pk}/",
        f"/c/{conversation.pk}/row",
        f"/c/{conversation.pk}/header",
        f"/c/{conversation.pk}/older",
        f"/c/{conversation.pk}/m/{message.pk}",
        f"/c/{conversation.pk}/m/{message.pk}/email",
    ]:
        assert web.get(url).status_code == 404, url
    for url, data in [
        (f"/c/{conversation.pk}/reply", {"text": "hi"}),
        (f"/c/{conversation.pk}/assign", {"assignee": "me"}),
        (f"/c/{conversation.pk}/status", {"status": "resolved"}),
        (f"/c/{conversation.pk}/read", {}),
        (f"/c/{conversation.pk}/m/{message.pk}/retry", {}),
    ]:
        assert web.post(url, data).status_code == 404, url
    assert Message.objects.filter(conversation=conversation).count() == 1
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.assignee is None


def test_reply_queues_and_is_delivered_to_the_callback(
    web, owner, channel, inbound, callback, drain_queue, django_capture_on_commit_callbacks
):
    conversation = inbound("Can you help?", handle="dee").conversation
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(
            f"/c/{conversation.pk}/reply", {"text": "Of course!", "mode": "reply"}, headers=HX
        )
    assert response.status_code == 200
    assert b"Of course!" in response.content and b"Queued" in response.content
    message = Message.objects.get(text="Of course!")
    assert message.status == DeliveryStatus.QUEUED and message.author_user == owner.user
    drain_queue()
    message.refresh_from_db()
    assert message.status == DeliveryStatus.SENT
    assert callback.received[-1].json["text"] == "Of course!"
    # Without htmx the form posts and redirects back to the conversation.
    response = web.post(f"/c/{conversation.pk}/reply", {"text": "plain form", "mode": "reply"})
    assert response.status_code == 302 and response["Location"].startswith(f"/c/{conversation.pk}/")


def test_reply_with_attachment_and_empty_reply_error(web, channel, inbound):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = inbound("send me the invoice", handle="eve").conversation
    upload = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = web.post(
        f"/c/{conversation.pk}/reply", {"text": "", "mode": "reply", "files": [upload]}, headers=HX
    )
    assert response.status_code == 200 and b"invoice.pdf" in response.content
    attachment = Message.objects.get(
        conversation=conversation, direction="outbound", kind="message"
    ).attachments.get()
    file_response = web.get(f"/files/{attachment.pk}")
    assert file_response.status_code == 200
    assert "attachment" in file_response["Content-Disposition"]
    empty = web.post(f"/c/{conversation.pk}/reply", {"text": "  ", "mode": "reply"}, headers=HX)
    assert empty.status_code == 422 and b"needs text" in empty.content
    assert empty["HX-Retarget"] == "#reply-error"


def test_a_large_upload_is_stored_from_disk_intact(web, channel, inbound):
    """Django spools uploads over 2.5 MB to a file: the reply stores it from there."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = inbound("send the plans", handle="gus").conversation
    big = b"%PDF-1.4 " + bytes(range(256)) * (3 * 1024 * 1024 // 256)
    upload = SimpleUploadedFile("plans.pdf", big, content_type="application/pdf")
    response = web.post(
        f"/c/{conversation.pk}/reply",
        {"text": "Here", "mode": "reply", "files": [upload]},
        headers=HX,
    )
    assert response.status_code == 200
    stored = Message.objects.get(
        conversation=conversation, direction="outbound", kind="message"
    ).attachments.get()
    assert stored.size == len(big) and stored.file.read() == big


def test_internal_note_is_not_sent(
    web, channel, inbound, callback, drain_queue, django_capture_on_commit_callbacks
):
    conversation = inbound("hi", handle="fay").conversation
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(
            f"/c/{conversation.pk}/reply", {"text": "VIP client", "mode": "note"}, headers=HX
        )
    assert response.status_code == 200 and b"Internal note" in response.content
    assert b'class="msg outbound note' in response.content
    drain_queue()
    assert Message.objects.get(text="VIP client").kind == MessageKind.NOTE
    assert callback.received == []


def test_assign_and_status_actions(web, owner, agent, channel, inbound):
    conversation = inbound("hi", handle="gus").conversation
    response = web.post(
        f"/c/{conversation.pk}/assign", {"assignee": str(agent.user.pk)}, headers=HX
    )
    assert response.status_code == 200
    assert b"assigned this to Agnes Agent" in response.content  # the event line, out of band
    conversation.refresh_from_db()
    assert conversation.assignee == agent.user
    web.post(f"/c/{conversation.pk}/assign", {"assignee": "me"}, headers=HX)
    conversation.refresh_from_db()
    assert conversation.assignee == owner.user

    response = web.post(f"/c/{conversation.pk}/status", {"status": "resolved"}, headers=HX)
    assert response.status_code == 200 and b"Reopen" in response.content
    conversation.refresh_from_db()
    assert conversation.status == "resolved"
    until = (timezone.now() + timedelta(hours=2)).isoformat()
    web.post(f"/c/{conversation.pk}/status", {"status": "snoozed", "snoozed_until": until})
    conversation.refresh_from_db()
    assert conversation.status == "snoozed" and conversation.snoozed_until is not None
    bad = web.post(f"/c/{conversation.pk}/status", {"status": "snoozed", "snoozed_until": "nope"})
    assert bad.status_code == 400
    # A user from another workspace cannot be assigned.
    assert web.post(f"/c/{conversation.pk}/assign", {"assignee": "999999"}).status_code == 400
    events = Message.objects.filter(conversation=conversation, kind="event").count()
    assert events == 4
    thread = web.get(f"/c/{conversation.pk}/").content.decode()
    assert 'class="event"' in thread


def test_actions_need_csrf(owner, channel, inbound):
    conversation = inbound("hi", handle="hal").conversation
    client = Client(enforce_csrf_checks=True)
    client.login(username=owner.user.email, password=PASSWORD)
    response = client.post(f"/c/{conversation.pk}/status", {"status": "resolved"})
    assert response.status_code == 403
    conversation.refresh_from_db()
    assert conversation.status == "open"
    page = client.get(f"/c/{conversation.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        f"/c/{conversation.pk}/status", {"status": "resolved"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == "resolved"


def test_failed_message_shows_reason_and_retry(web, channel, inbound, drain_queue):
    conversation = inbound("hi", handle="ian").conversation
    message = Message.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        channel=channel,
        direction="outbound",
        text="did not go",
        status=DeliveryStatus.FAILED,
        error="unknown recipient",
    )
    html = web.get(f"/c/{conversation.pk}/").content.decode()
    assert "unknown recipient" in html and "Retry" in html
    response = web.post(f"/c/{conversation.pk}/m/{message.pk}/retry", headers=HX)
    assert response.status_code == 200 and b"Queued" in response.content
    message.refresh_from_db()
    assert message.status == DeliveryStatus.QUEUED
    assert web.post(f"/c/{conversation.pk}/m/{message.pk}/retry").status_code == 400


def test_user_content_is_escaped(web, channel, inbound):
    conversation = inbound(
        "<script>alert(1)</script>", handle="<b>x</b>", contact_name="<img src=x onerror=alert(1)>"
    ).conversation
    for url in ["/", f"/c/{conversation.pk}/"]:
        html = web.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "<img src=x onerror" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_email_html_is_sanitized_in_a_sandboxed_frame(web, channel):
    html = (
        '<p onclick="steal()">Hello <b>there</b></p><script>alert(1)</script>'
        '<form action="https://evil.test"><input name=x></form>'
        '<img src="https://tracker.test/pixel.gif"><a href="javascript:alert(1)">x</a>'
    )
    result = ingest(
        channel,
        InboundMessage(
            provider_id="e1", handle="zed", subject="Quarterly report", text="Hello", html=html
        ),
    )
    message = result.message
    thread = web.get(f"/c/{result.conversation.pk}/").content.decode()
    assert "Quarterly report" in thread
    frame = re.search(r"<iframe[^>]*>", thread).group(0)
    # Same origin so the thread can measure it; never scripted, never a form.
    assert 'sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"' in frame
    assert "allow-scripts" not in frame and "allow-forms" not in frame
    assert "Remote images are blocked" in thread
    body = web.get(f"/c/{result.conversation.pk}/m/{message.pk}/email")
    assert body.status_code == 200
    content = body.content.decode()
    assert "<b>there</b>" in content
    assert "<script" not in content and "onclick" not in content and "<form" not in content
    assert "javascript:" not in content
    # The blocked image is a placeholder: its address is not in the document at all.
    assert "tracker.test" not in content and "fd-blocked-img" in content
    csp = body.headers["Content-Security-Policy"]
    assert "allow-scripts" not in csp
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert "img-src data:;" in csp or csp.endswith("img-src data:") or "img-src data: " not in csp
    assert "https:" not in csp.split("img-src")[1].split(";")[0]
    allowed = web.get(f"/c/{result.conversation.pk}/m/{message.pk}/email?images=1")
    assert "https:" in allowed.headers["Content-Security-Policy"].split("img-src")[1].split(";")[0]
    assert 'src="https://tracker.test/pixel.gif"' in allowed.content.decode()


def test_partials_row_header_message_older_nav(web, owner, channel, inbound):
    conversation = inbound("hello", handle="jo", contact_name="Jo").conversation
    for i in range(60):
        inbound(f"line {i}", handle="jo")
    row = web.get(f"/c/{conversation.pk}/row")
    assert row.status_code == 200 and b'id="conv-' in row.content and b"Jo" in row.content
    assert web.get(f"/c/{conversation.pk}/row?status=resolved").status_code == 204
    header = web.get(f"/c/{conversation.pk}/header")
    assert header.status_code == 200 and b"Resolve" in header.content
    thread = web.get(f"/c/{conversation.pk}/").content.decode()
    assert "line 59" in thread and ">hello<" not in thread  # only the newest page
    older = re.search(r'hx-get="(/c/\d+/older\?before=[^"]+)"', thread).group(1)
    page = web.get(older.replace("&amp;", "&")).content.decode()
    assert "hello" in page and "line 59" not in page
    message = conversation.messages.order_by("-id").first()
    item = web.get(f"/c/{conversation.pk}/m/{message.pk}")
    assert item.status_code == 200 and f'id="m-{message.pk}"'.encode() in item.content
    nav = web.get("/inbox/nav")
    assert nav.status_code == 200 and b'id="inbox-nav"' in nav.content


def test_read_action(web, owner, channel, inbound):
    conversation = inbound("hello", handle="kim").conversation
    message = conversation.messages.get()
    # Fetching a message (app.js does when one arrives) is a plain GET: it never reads.
    assert web.get(f"/c/{conversation.pk}/m/{message.pk}?read=1", headers=HX).status_code == 200
    assert not ConversationRead.objects.exists()
    assert web.post(f"/c/{conversation.pk}/read", headers=HX).status_code == 204
    assert ConversationRead.objects.filter(conversation=conversation, user=owner.user).exists()


def test_apps_page_lists_accounts_and_admin_can_disconnect(web, owner, agent, channel):
    channel.last_error = "token expired"
    channel.save()
    page = web.get("/apps/").content.decode()
    assert "Support bot" in page and "token expired" in page and "API channel" in page
    assert "Sync failing" in page  # connected, but not working: not shown as "Connected"
    response = web.post(f"/apps/{channel.pk}/connection", {"action": "disconnect"})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.DISCONNECTED
    assert (
        login(agent).post(f"/apps/{channel.pk}/connection", {"action": "connect"}).status_code
        == 403
    )
    web.post(f"/apps/{channel.pk}/connection", {"action": "connect"})
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED and channel.last_error == ""


def test_apps_page_links_a_broken_account_to_its_connectors_reconnect_flow(web, owner):
    from django.urls import reverse

    from frontdesk.inbox.models import ChannelAccount

    mailbox = ChannelAccount.objects.create(
        workspace=owner.workspace,
        kind="email",
        provider="imap",
        name="hello@acme.test",
        status=ChannelStatus.NEEDS_RECONNECT,
        last_error="authentication failed",
    )
    page = web.get("/apps/").content.decode()
    expected = reverse(mailbox.connector.connect_url_name) + f"?channel={mailbox.pk}"
    assert f'href="{expected}">Reconnect<' in page
    assert "authentication failed" in page


def test_settings_lead_to_members_mail_and_profile(web, owner, agent):
    page = web.get("/settings/").content.decode()
    for link in ("/settings/members/", "/settings/mail/", "/settings/profile/"):
        assert f'href="{link}"' in page
    members = web.get("/settings/members/").content.decode()
    assert "agent@acme.test" in members and "Invite a teammate" in members
    agent_client = login(agent)
    assert "/settings/mail/" not in agent_client.get("/settings/").content.decode()
    assert b"Invite a teammate" not in agent_client.get("/settings/members/").content
    assert (
        agent_client.post(
            "/settings/members/", {"action": "invite", "email": "x@acme.test"}
        ).status_code
        == 403
    )


def test_sidebar_counts_are_capped(web, channel, inbound, monkeypatch):
    from frontdesk.web.views import shell

    monkeypatch.setattr(shell, "UNREAD_CAP", 2)
    for i in range(3):
        inbound("hi", handle=f"cap-{i}")
    html = web.get("/inbox/nav").content.decode()
    assert 'data-count="all">2+<' in html
    assert f'data-count="{channel.pk}">2+<' in html
    inbound("again", handle="cap-0")
    web.post(f"/c/{Conversation.objects.order_by('id').first().pk}/read", headers=HX)
    assert 'data-count="all">2<' in web.get("/inbox/nav").content.decode()


def test_compose_starts_a_conversation_from_the_web(owner, channel, callback):
    from django.test import Client

    from frontdesk.inbox.models import Conversation, Message

    client = Client()
    client.force_login(owner.user)
    page = client.get("/compose/")
    assert page.status_code == 200 and b"Support bot" in page.content
    missing = client.post("/compose/", {"channel": channel.pk, "to": "", "text": "hi"})
    assert missing.status_code == 400 and b"recipient" in missing.content
    done = client.post(
        "/compose/",
        {"channel": channel.pk, "to": "lead-77", "name": "Lee Lead", "text": "Hello Lee"},
    )
    conversation = Conversation.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/c/{conversation.pk}/"
    assert conversation.contact.name == "Lee Lead"
    assert Message.objects.get(conversation=conversation, kind="message").status == "queued"
    assert conversation.assignee == owner.user  # the new conversation is the sender's


def test_compose_cannot_use_another_workspaces_channel(owner, rival, callback):
    from django.test import Client

    from frontdesk.inbox.models import Conversation
    from tests.fixtures import make_api_channel

    theirs = make_api_channel(rival, callback.url, name="Theirs")
    client = Client()
    client.force_login(owner.user)
    response = client.post("/compose/", {"channel": theirs.pk, "to": "x", "text": "hi"})
    assert response.status_code == 400
    assert Conversation.objects.count() == 0


def test_the_sidebar_marks_all_conversations_current_only_in_the_inbox(owner):
    web = login(owner)
    current_all = 'class="nav-link current" href="/" data-view="all"'
    assert current_all in web.get("/").content.decode()
    for page in ("/leads/", "/apps/", "/settings/"):
        html = web.get(page).content.decode()
        assert current_all not in html, page
    # The counts refresh (from any page) keeps the page it was rendered for.
    assert current_all not in web.get("/inbox/nav?here=leads", headers=HX).content.decode()
    assert current_all in web.get("/inbox/nav?here=inbox", headers=HX).content.decode()


def test_compose_refuses_a_recipient_the_channel_cannot_take_in_words():
    from frontdesk.connectors.registry import get_connector
    from frontdesk.inbox.actions.send import recipient
    from frontdesk.inbox.errors import ActionRefused

    email = get_connector("imap")
    whatsapp = get_connector("whatsapp_cloud")
    assert recipient(email, " Ana@Client.TEST ") == "ana@client.test"
    assert recipient(whatsapp, "+44 20 7946 0958") == "+442079460958"
    for connector, typed, words in [
        (email, "ana at client", "is not an email address"),
        (whatsapp, "call me", "is not a phone number with its country code"),
        (email, "  ", "a recipient is required"),
    ]:
        with pytest.raises(ActionRefused, match=words):
            recipient(connector, typed)


def test_the_contact_picker_offers_this_workspaces_contacts_the_channel_can_reach(
    owner, rival, channel, callback
):
    from frontdesk.inbox.models import Contact, ContactHandle
    from tests.fixtures import make_api_channel

    def contact(workspace_id, name, company="", **handles):
        person = Contact.objects.create(workspace_id=workspace_id, name=name, company=company)
        for kind, value in handles.items():
            ContactHandle.objects.create(
                workspace_id=workspace_id, contact=person, kind=kind, value=value
            )

    make_api_channel(rival, callback.url, name="Theirs")
    contact(owner.workspace_id, "Paula Picker", "Acme", external="paula-1", email="p@acme.test")
    contact(rival.workspace_id, "Paula Rival", external="paula-2")
    client = Client()
    client.force_login(owner.user)
    found = client.get("/compose/contacts", {"channel": channel.pk, "q": "paula"}).json()
    # The API channel writes to external ids: Paula's email address is not offered.
    assert found == {"contacts": [{"handle": "paula-1", "name": "Paula Picker", "company": "Acme"}]}
    by_company = client.get("/compose/contacts", {"channel": channel.pk, "q": "acm"}).json()
    assert [c["handle"] for c in by_company["contacts"]] == ["paula-1"]


def test_a_server_error_is_logged_with_its_traceback(db, monkeypatch):
    """With DEBUG off, Django sends a 500's traceback only to the admins' mail (none here):
    it must reach the console, where the person running Frontdesk looks."""
    import io
    import logging

    from frontdesk.web.views import auth

    handler = next(h for h in logging.getLogger("django.request").handlers if h.name == "console")
    stream = io.StringIO()
    monkeypatch.setattr(handler, "stream", stream)

    class Broken:
        def cursor(self):
            raise RuntimeError("the database went away mid-request")

    monkeypatch.setattr(auth, "connection", Broken())
    answer = Client(raise_request_exception=False).get("/healthz")
    assert answer.status_code == 500
    logged = stream.getvalue()
    assert "Internal Server Error: /healthz" in logged
    assert "RuntimeError: the database went away mid-request" in logged
