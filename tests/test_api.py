"""The REST API: shapes fixed by DESIGN.md section 5, tenancy, and bad input."""

from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings
from django.test import Client

from frontdesk.inbox.models import Conversation, Message
from tests.fixtures import make_api_channel, token_client


def post_json(client: Client, url: str, body, **kw):
    return client.post(url, data=json.dumps(body), content_type="application/json", **kw)


def inbound_body(**over):
    body = {
        "id": "ext-1",
        "contact": {"handle": "+15551230000", "name": "Pat Client"},
        "text": "Hello!",
    }
    body.update(over)
    return body


def test_me(api, owner):
    data = api.get("/api/v1/me").json()
    assert data["user"]["email"] == "owner@acme.test"
    assert data["workspace"]["slug"] == owner.workspace.slug
    assert data["role"] == "owner"


def test_no_or_wrong_token_is_401(db):
    assert Client().get("/api/v1/me").status_code == 401
    wrong = Client(headers={"Authorization": "Bearer fd_nope"}).get("/api/v1/me")
    assert wrong.status_code == 401
    assert "detail" in wrong.json()


def test_create_an_api_channel_returns_its_secret_once(api, owner, callback, monkeypatch):
    published: list[tuple] = []
    monkeypatch.setattr(
        "frontdesk.realtime.publish.publish",
        lambda workspace_id, event, **data: published.append((workspace_id, event, data)),
    )
    r = post_json(
        api,
        "/api/v1/channels",
        {"kind": "api", "provider": "api", "name": "Bot", "config": {"callback_url": callback.url}},
    )
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["secret"] and created["config"] == {"callback_url": callback.url}
    listed = api.get("/api/v1/channels").json()["items"]
    assert [c["id"] for c in listed] == [created["id"]]
    assert listed[0]["secret"] is None
    assert created["secret"] not in json.dumps(listed)
    # Open sidebars learn of the new channel (they refresh on channel.status).
    assert published == [
        (
            owner.workspace_id,
            "channel.status",
            {"channel_id": created["id"], "status": "connected", "error": ""},
        )
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "api", "provider": "api", "name": "Bot", "config": {}}, "callback_url"),
        (
            {
                "kind": "api",
                "provider": "api",
                "name": "Bot",
                "config": {"callback_url": "ftp://x"},
            },
            "callback_url",
        ),
        (
            {"kind": "carrier-pigeon", "provider": "coo", "name": "Bot", "config": {}},
            "unknown kind/provider",
        ),
    ],
)
def test_bad_channel_config_is_a_clear_400(api, body, message):
    r = post_json(api, "/api/v1/channels", body)
    assert r.status_code == 400
    assert message in r.json()["detail"]


def test_agents_cannot_create_channels(agent, callback):
    r = post_json(
        token_client(agent),
        "/api/v1/channels",
        {"kind": "api", "provider": "api", "name": "x", "config": {"callback_url": callback.url}},
    )
    assert r.status_code == 403


def test_inbound_message_creates_then_repeats_idempotently(api, channel):
    url = f"/api/v1/channels/{channel.pk}/messages"
    first = post_json(api, url, inbound_body())
    assert first.status_code == 201, first.content
    ids = first.json()
    assert set(ids) == {"message_id", "conversation_id"}
    again = post_json(api, url, inbound_body())
    assert again.status_code == 200
    assert again.json() == ids
    assert Message.objects.count() == 1


def test_inbound_with_the_channel_secret_as_bearer(channel):
    client = Client(headers={"Authorization": f"Bearer {channel.credentials['secret']}"})
    r = post_json(client, f"/api/v1/channels/{channel.pk}/messages", inbound_body())
    assert r.status_code == 201
    wrong = Client(headers={"Authorization": "Bearer guess"})
    assert (
        post_json(
            wrong, f"/api/v1/channels/{channel.pk}/messages", inbound_body(id="2")
        ).status_code
        == 401
    )


def test_inbound_with_thread_sent_at_and_attachment(api, channel):
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 20
    body = inbound_body(
        thread="order-77",
        sent_at="2026-01-02T03:04:05Z",
        attachments=[
            {
                "name": "shot.png",
                "content_type": "image/png",
                "data_base64": base64.b64encode(png).decode(),
            }
        ],
    )
    ids = post_json(api, f"/api/v1/channels/{channel.pk}/messages", body).json()
    messages = api.get(f"/api/v1/conversations/{ids['conversation_id']}/messages").json()["items"]
    [m] = messages
    assert m["created_at"].startswith("2026-01-02T03:04:05")
    [a] = m["attachments"]
    assert (a["name"], a["size"], a["content_type"]) == ("shot.png", len(png), "image/png")
    download = api.get(a["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png
    assert Conversation.objects.get().thread_key == "order-77"


def test_the_conversation_and_message_shapes(api, channel, owner):
    ids = post_json(api, f"/api/v1/channels/{channel.pk}/messages", inbound_body()).json()
    conv = api.get(f"/api/v1/conversations/{ids['conversation_id']}").json()
    assert conv["channel"] == {"id": channel.pk, "kind": "api", "provider": "api", "removed": False}
    assert conv["contact"]["name"] == "Pat Client"
    assert conv["contact"]["handles"] == [{"kind": "external", "value": "+15551230000"}]
    assert (conv["status"], conv["assignee"], conv["unread"]) == ("open", None, True)
    assert conv["last_message_at"]
    [msg] = api.get(f"/api/v1/conversations/{ids['conversation_id']}/messages").json()["items"]
    for key in (
        "id",
        "direction",
        "kind",
        "text",
        "html",
        "subject",
        "author",
        "provider_id",
        "status",
        "error",
        "created_at",
        "attachments",
    ):
        assert key in msg
    assert (msg["direction"], msg["kind"], msg["text"], msg["provider_id"]) == (
        "inbound",
        "message",
        "Hello!",
        "ext-1",
    )
    assert msg["author"]["type"] == "contact"


def test_reply_note_assign_status_read_through_the_api(api, channel, owner, agent):
    ids = post_json(api, f"/api/v1/channels/{channel.pk}/messages", inbound_body()).json()
    base = f"/api/v1/conversations/{ids['conversation_id']}"
    reply = post_json(api, f"{base}/messages", {"text": "On it!"})
    assert reply.status_code == 201
    assert (reply.json()["status"], reply.json()["direction"]) == ("queued", "outbound")
    note = post_json(api, f"{base}/messages", {"text": "VIP", "kind": "note"}).json()
    assert (note["kind"], note["status"]) == ("note", None)
    assigned = post_json(api, f"{base}/assign", {"assignee_id": agent.user_id}).json()
    assert assigned["assignee"]["email"] == "agent@acme.test"
    resolved = post_json(api, f"{base}/status", {"status": "resolved"}).json()
    assert resolved["status"] == "resolved"
    assert api.post(f"{base}/read").status_code == 204
    assert api.get(base).json()["unread"] is False
    kinds = [m["kind"] for m in api.get(f"{base}/messages").json()["items"]]
    # Replying assigned the conversation to the replier: one event line, before the reply.
    assert kinds == ["message", "event", "message", "note", "event", "event"]


def test_snooze_needs_a_future_time(api, channel):
    ids = post_json(api, f"/api/v1/channels/{channel.pk}/messages", inbound_body()).json()
    r = post_json(
        api, f"/api/v1/conversations/{ids['conversation_id']}/status", {"status": "snoozed"}
    )
    assert r.status_code == 400
    assert "future" in r.json()["detail"]


def test_list_filters_and_cursor_pagination(api, channel, owner):
    for i in range(5):
        post_json(
            api,
            f"/api/v1/channels/{channel.pk}/messages",
            inbound_body(id=f"m{i}", contact={"handle": f"h{i}"}),
        )
    page1 = api.get("/api/v1/conversations?limit=2").json()
    page2 = api.get(f"/api/v1/conversations?limit=2&cursor={page1['next_cursor']}").json()
    page3 = api.get(f"/api/v1/conversations?limit=2&cursor={page2['next_cursor']}").json()
    seen = [c["id"] for c in page1["items"] + page2["items"] + page3["items"]]
    assert len(seen) == len(set(seen)) == 5
    assert page3["next_cursor"] is None
    first = page1["items"][0]["id"]
    post_json(api, f"/api/v1/conversations/{first}/assign", {"assignee_id": owner.user_id})
    assert [c["id"] for c in api.get("/api/v1/conversations?assignee=me").json()["items"]] == [
        first
    ]
    assert len(api.get("/api/v1/conversations?assignee=none").json()["items"]) == 4
    assert (
        len(api.get(f"/api/v1/conversations?channel={channel.pk}&status=open").json()["items"]) == 5
    )
    assert api.get("/api/v1/conversations?status=resolved").json()["items"] == []
    assert api.get("/api/v1/conversations?cursor=garbage!").status_code == 400


def test_contacts_list(api, channel):
    post_json(api, f"/api/v1/channels/{channel.pk}/messages", inbound_body())
    items = api.get("/api/v1/contacts?q=Pat").json()["items"]
    assert [c["name"] for c in items] == ["Pat Client"]


# --- tenancy: another workspace's rows are 404, never 403 ---------------------------------


def test_another_workspaces_conversation_is_404(api, channel, rival, callback):
    theirs = make_api_channel(rival, callback.url, name="Theirs")
    rival_api = token_client(rival)
    ids = post_json(rival_api, f"/api/v1/channels/{theirs.pk}/messages", inbound_body()).json()
    cid = ids["conversation_id"]
    assert api.get(f"/api/v1/conversations/{cid}").status_code == 404
    assert api.get(f"/api/v1/conversations/{cid}/messages").status_code == 404
    assert (
        post_json(api, f"/api/v1/conversations/{cid}/messages", {"text": "hi"}).status_code == 404
    )
    assert (
        post_json(api, f"/api/v1/conversations/{cid}/assign", {"assignee_id": None}).status_code
        == 404
    )
    assert (
        post_json(api, f"/api/v1/conversations/{cid}/status", {"status": "resolved"}).status_code
        == 404
    )
    assert api.get("/api/v1/conversations").json()["items"] == []
    assert api.get("/api/v1/contacts").json()["items"] == []
    # posting into their channel with our token is a 404 too, and stores nothing
    assert (
        post_json(api, f"/api/v1/channels/{theirs.pk}/messages", inbound_body(id="x")).status_code
        == 404
    )
    assert Message.objects.filter(channel=theirs).count() == 1


def test_assigning_to_someone_outside_the_workspace_is_refused(api, channel, rival):
    ids = post_json(api, f"/api/v1/channels/{channel.pk}/messages", inbound_body()).json()
    r = post_json(
        api,
        f"/api/v1/conversations/{ids['conversation_id']}/assign",
        {"assignee_id": rival.user_id},
    )
    assert r.status_code == 400


def test_another_workspaces_attachment_is_404(api, rival, callback):
    theirs = make_api_channel(rival, callback.url, name="Theirs")
    body = inbound_body(
        attachments=[{"name": "a.txt", "data_base64": base64.b64encode(b"secret").decode()}]
    )
    ids = post_json(token_client(rival), f"/api/v1/channels/{theirs.pk}/messages", body).json()
    att = Message.objects.get(pk=ids["message_id"]).attachments.get()
    assert api.get(f"/api/v1/attachments/{att.pk}/content").status_code == 404


# --- bad input ----------------------------------------------------------------------------


def test_malformed_json_is_a_clear_400(api, channel):
    r = api.post(
        f"/api/v1/channels/{channel.pk}/messages",
        data=b"{not json",
        content_type="application/json",
    )
    assert r.status_code in (400, 422)
    assert r.json()["detail"]
    assert Message.objects.count() == 0


def test_missing_fields_are_named(api, channel):
    r = post_json(api, f"/api/v1/channels/{channel.pk}/messages", {"id": "x", "text": "no contact"})
    assert r.status_code == 422
    assert "contact" in json.dumps(r.json()["detail"])


def test_unknown_channel_is_404(api):
    assert post_json(api, "/api/v1/channels/999999/messages", inbound_body()).status_code == 404


def test_ten_megabytes_of_text_is_refused_cleanly(api, channel):
    r = post_json(
        api, f"/api/v1/channels/{channel.pk}/messages", inbound_body(text="x" * 10_000_000)
    )
    assert r.status_code == 400
    # the limit reads as a person writes numbers (was "200000 characters")
    limit = settings.FRONTDESK_MAX_TEXT_CHARS
    assert r.json()["detail"] == f"text is longer than {limit:,} characters"
    assert Message.objects.count() == 0


def test_invalid_utf8_is_a_clear_400(api, channel):
    raw = b'{"id": "x", "contact": {"handle": "h"}, "text": "\xff\xfe broken"}'
    r = api.post(
        f"/api/v1/channels/{channel.pk}/messages", data=raw, content_type="application/json"
    )
    assert r.status_code in (400, 422)
    assert Message.objects.count() == 0


def test_bad_base64_attachment_is_a_clear_400(api, channel):
    body = inbound_body(attachments=[{"name": "a.txt", "data_base64": "%%%not base64"}])
    r = post_json(api, f"/api/v1/channels/{channel.pk}/messages", body)
    assert r.status_code == 400
    assert "base64" in r.json()["detail"]
    assert Message.objects.count() == 0


def test_status_updates_through_the_api_channel(api, channel, owner, callback):
    from frontdesk.inbox.outbox import deliver

    callback.default = "ok-with-id"
    ids = post_json(api, f"/api/v1/channels/{channel.pk}/messages", inbound_body(id="in-1")).json()
    reply = post_json(
        api, f"/api/v1/conversations/{ids['conversation_id']}/messages", {"text": "Hi"}
    ).json()
    deliver(reply["id"])
    r = post_json(api, f"/api/v1/channels/{channel.pk}/statuses", {"id": "ext-1", "status": "read"})
    assert r.status_code == 202
    assert Message.objects.get(pk=reply["id"]).status == "read"
    unknown = post_json(
        api, f"/api/v1/channels/{channel.pk}/statuses", {"id": "nope", "status": "delivered"}
    )
    assert unknown.status_code == 202  # kept for when that message shows up


def test_openapi_document(db):
    doc = Client().get("/api/v1/openapi.json").json()
    assert doc["info"]["title"] == "Frontdesk API"
    for path in (
        "/api/v1/channels",
        "/api/v1/channels/{channel_id}/messages",
        "/api/v1/conversations",
        "/api/v1/me",
    ):
        assert path in doc["paths"]


def test_a_deactivated_users_token_stops_working(api, owner):
    assert api.get("/api/v1/me").status_code == 200
    owner.user.is_active = False
    owner.user.save(update_fields=["is_active"])
    assert api.get("/api/v1/me").status_code == 401


def test_start_a_conversation_on_a_chat_channel(api, channel, callback):
    from frontdesk.inbox.outbox import deliver

    body = {
        "channel_id": channel.pk,
        "to": {"handle": "+15559990000", "name": "Nia New"},
        "text": "Hi Nia!",
    }
    r = post_json(api, "/api/v1/conversations", body)
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["conversation"]["contact"]["name"] == "Nia New"
    assert created["conversation"]["contact"]["handles"] == [
        {"kind": "external", "value": "+15559990000"}
    ]
    assert (created["message"]["status"], created["message"]["text"]) == ("queued", "Hi Nia!")
    assert deliver(created["message"]["id"]) == "sent"
    assert callback.received[0].json["to"] == {"handle": "+15559990000"}
    # on a chat channel, writing again continues the same conversation, and so does her answer
    again = post_json(api, "/api/v1/conversations", {**body, "text": "Still there?"}).json()
    assert again["conversation"]["id"] == created["conversation"]["id"]
    answer = post_json(
        api,
        f"/api/v1/channels/{channel.pk}/messages",
        {"id": "nia-1", "contact": {"handle": "+15559990000"}, "text": "Yes!"},
    ).json()
    assert answer["conversation_id"] == created["conversation"]["id"]


def test_start_a_conversation_needs_a_channel_of_this_workspace_and_a_handle(api, rival, callback):
    theirs = make_api_channel(rival, callback.url, name="Theirs")
    body = {"channel_id": theirs.pk, "to": {"handle": "x"}, "text": "hi"}
    assert post_json(api, "/api/v1/conversations", body).status_code == 404
    assert (
        post_json(api, "/api/v1/conversations", {**body, "channel_id": 999999}).status_code == 404
    )
    assert Conversation.objects.count() == 0


def test_times_with_any_iso_offset_are_the_same_instant_on_every_database(api, channel):
    """ISO 8601 allows offsets up to 23:59 and PostgreSQL only up to 15:59: each time the
    API is given, in a body or a query, means its instant (UTC) and is never a 500."""
    far = "+21:45"  # 2027-01-02T09:00+21:45 is 2027-01-01T11:15Z
    sent = post_json(
        api,
        f"/api/v1/channels/{channel.pk}/messages",
        inbound_body(sent_at=f"2027-01-02T09:00:00{far}"),
    )
    assert sent.status_code == 201, sent.content
    message = Message.objects.get(pk=sent.json()["message_id"])
    assert message.sent_at.isoformat() == "2027-01-01T11:15:00+00:00"
    conversation = sent.json()["conversation_id"]

    snoozed = post_json(
        api,
        f"/api/v1/conversations/{conversation}/status",
        {"status": "snoozed", "snoozed_until": f"2099-01-02T09:00:00{far}"},
    )
    assert snoozed.status_code == 200, snoozed.content
    until = Conversation.objects.get(pk=conversation).snoozed_until
    assert until.isoformat() == "2099-01-01T11:15:00+00:00"

    made = post_json(
        api,
        "/api/v1/followups",
        {"due_at": f"2099-01-02T09:00:00{far}", "conversation_id": conversation},
    )
    assert made.status_code == 201, made.content
    assert made.json()["due_at"].startswith("2099-01-01T11:15:00")
    moved = api.patch(
        f"/api/v1/followups/{made.json()['id']}",
        data=json.dumps({"due_at": f"2099-03-02T01:00:00{far}"}),
        content_type="application/json",
    )
    assert moved.status_code == 200 and moved.json()["due_at"].startswith("2099-03-01T03:15:00")

    lead = post_json(api, f"/api/v1/conversations/{conversation}/lead", {})
    assert lead.status_code in (200, 201), lead.content
    since = "2000-01-02T09:00:00%2B21:45"  # the "+" of a query string, encoded
    listed = api.get(f"/api/v1/leads?created_after={since}")
    assert listed.status_code == 200, listed.content
    assert [item["id"] for item in listed.json()["items"]] == [lead.json()["id"]]
    before = api.get(f"/api/v1/leads?created_before={since}")
    assert before.status_code == 200 and before.json()["items"] == []
    found = api.get(f"/api/v1/search?q=Hello&after={since}")
    assert found.status_code == 200, found.content
    assert [hit["message_id"] for hit in found.json()["items"]] == [message.pk]


def test_a_time_past_the_last_date_is_a_clear_400_not_a_500(api, channel):
    late = inbound_body(sent_at="9999-12-31T23:00:00-05:00")  # 10000-01-01 in UTC
    answer = post_json(api, f"/api/v1/channels/{channel.pk}/messages", late)
    assert answer.status_code in (400, 422), answer.content
    assert "out of range" in answer.content.decode()
    assert not Message.objects.exists()


def _cursor(*parts) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def test_a_page_cursor_or_a_snooze_at_any_offset_is_its_instant(api, channel, owner):
    """A cursor is ours, but a client may build one, and a form may be posted by hand: a
    time in either with an offset PostgreSQL refuses ("+21:45") is read as its instant."""
    from frontdesk.inbox.queries import encode_cursor
    from tests.fixtures import session_client

    ids = post_json(api, f"/api/v1/channels/{channel.pk}/messages", inbound_body()).json()
    conversation = Conversation.objects.get(pk=ids["conversation_id"])
    lead = post_json(api, f"/api/v1/conversations/{conversation.pk}/lead", {}).json()
    future = "2099-01-02T09:00:00+21:45"  # 2099-01-01T11:15Z: every row is older
    from datetime import datetime

    pages = {
        "/api/v1/conversations": encode_cursor(datetime.fromisoformat(future), 10**9),
        "/api/v1/leads": _cursor(future, 10**9),
        "/api/v1/contacts?sort=updated": _cursor(future, 10**9),
    }
    for url, cursor in pages.items():
        page = api.get(f"{url}{'&' if '?' in url else '?'}cursor={cursor}")
        assert page.status_code == 200, (url, page.content)
        assert len(page.json()["items"]) == 1, url
    assert page.json()["items"][0]["id"] == conversation.contact_id
    assert (
        api.get(f"/api/v1/leads?cursor={pages['/api/v1/leads']}").json()["items"][0]["id"]
        == lead["id"]
    )

    member = session_client(owner)
    timeline = member.get(
        f"/contacts/{conversation.contact_id}/timeline?cursor={_cursor(future, 1, 10**9)}"
    )
    assert timeline.status_code == 200 and "Hello!" in timeline.content.decode()
    snoozed = member.post(
        f"/c/{conversation.pk}/status", {"status": "snoozed", "snoozed_until": future}
    )
    assert snoozed.status_code in (200, 302), snoozed.content
    conversation.refresh_from_db()
    assert conversation.snoozed_until.isoformat() == "2099-01-01T11:15:00+00:00"
