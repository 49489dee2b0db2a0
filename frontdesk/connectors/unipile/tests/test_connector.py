"""The Unipile connector (LinkedIn, WhatsApp by QR code) against a local Unipile stand-in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from frontdesk.connectors.unipile.client import SECRET_HEADER
from frontdesk.connectors.unipile.connector import UnipileConnector
from frontdesk.connectors.unipile.tests.peer import API_KEY, UnipilePeer
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import (
    ChannelAccount,
    ChannelStatus,
    Contact,
    ContactHandle,
    Conversation,
    Message,
    MessageKind,
)
from frontdesk.inbox.sync import store_page, sync_run
from tests.peers.callback import CallbackServer
from tests.webhook_client import WebhookClient

OWNER = {"provider_id": "ACoAAOwner000", "name": "Olivia Owner"}
KIM = {
    "provider_id": "ACoAAKim00001",
    "name": "Kim Prospect",
    "profile_url": "https://www.linkedin.com/in/kim-prospect/",
    "picture_url": "https://media.licdn.com/kim.jpg",
}


@pytest.fixture
def peer():
    server = UnipilePeer()
    yield server
    server.close()


def register_webhooks(channel: ChannelAccount) -> list[str]:
    """What a sync does first: the webhooks registered at Unipile, what that changed about
    the channel (a v2 endpoint's token and secret) stored by the inbox."""
    connector = channel.connector
    ids, page = connector.register_webhooks(
        channel, connector.client(channel), sync_run(channel).siblings
    )
    store_page(channel, page)
    return ids


def make_channel(membership, peer, account_id="acc-li-1", kind="linkedin", **config):
    connector = UnipileConnector().for_kind(kind)
    setup = connector.setup(
        {
            "dsn": peer.dsn,
            "api_key": API_KEY,
            "account_id": account_id,
            "network": kind,
            "api_version": "v1",
            **config,
        }
    )
    channel = ChannelAccount(
        workspace=membership.workspace,
        kind=kind,
        provider="unipile",
        name=f"{kind} {account_id}",
        config=setup.config,
    )
    channel.credentials = setup.credentials
    channel.save()
    return channel


@pytest.fixture
def linkedin(owner, peer):
    return make_channel(owner, peer)


def post_hook(body, secret: str | None, raw: bytes | None = None):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return WebhookClient().post(
        "/webhooks/unipile/",
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        headers=headers,
    )


def secret_of(channel) -> str:
    return channel.credentials["webhook_secret"]


def post_v2(event, channel=None, token: str | None = None, raw: bytes | None = None):
    """A v2 delivery to the endpoint URL registered for ``channel`` (or with ``token``)."""
    if token is None:
        token = channel.credentials["webhook_token"] if channel is not None else ""
    return WebhookClient().post(
        f"/webhooks/unipile/?token={token}" if token else "/webhooks/unipile/",
        data=raw if raw is not None else json.dumps(event),
        content_type="application/json",
    )


@dataclass
class Side:
    """The stand-in's side of one channel, in that channel's API version, for the tests
    whose expected behaviour is the same in v1 and v2."""

    version: str
    channel: ChannelAccount
    peer: UnipilePeer

    def event(self, message: dict[str, Any]) -> dict[str, Any]:
        """The new-message webhook body for a stored message."""
        if self.version == "v1":
            return self.peer.webhook_event(message, OWNER["provider_id"])
        return self.peer.v2_message_event(message)

    def fields(self, event: dict[str, Any]) -> dict[str, Any]:
        """Where the message's own fields (attachments, quoted…) sit in the body."""
        return event if self.version == "v1" else event["payload"]

    def post(self, event: dict[str, Any]):
        if self.version == "v1":
            return post_hook(event, secret_of(self.channel))
        return post_v2(event, self.channel)

    @property
    def attachments_prefix(self) -> str:
        return "/api/v1/messages/" if self.version == "v1" else "/v2/acc-li-1/chats/"


@pytest.fixture(params=["v1", "v2"])
def side(request, owner, peer) -> Side:
    channel = make_channel(owner, peer, api_version=request.param)
    if request.param == "v2":
        register_webhooks(channel)
        channel.refresh_from_db()
    return Side(request.param, channel, peer)


# --- channel creation through the API --------------------------------------------------------
def test_api_creates_linkedin_and_whatsapp_channels_without_returning_the_key(api, peer):
    for kind in ("linkedin", "whatsapp"):
        response = api.post(
            "/api/v1/channels",
            {
                "kind": kind,
                "provider": "unipile",
                "name": f"Our {kind}",
                "config": {
                    "dsn": peer.dsn,
                    "api_key": "sk-very-secret",
                    "account_id": f"acc-{kind}",
                    "network": kind,
                    "api_version": "v1",
                },
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        data = response.json()
        assert data["kind"] == kind and data["provider"] == "unipile"
        assert "sk-very-secret" not in response.content.decode()
        channel = ChannelAccount.objects.get(pk=data["id"])
        assert channel.credentials["api_key"] == "sk-very-secret"
        assert "sk-very-secret" not in channel.credentials_encrypted
        assert channel.connector.handle_kind == ("linkedin" if kind == "linkedin" else "phone")
    listed = api.get("/api/v1/channels").content.decode()
    assert "sk-very-secret" not in listed


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_channel_made_through_the_api_registers_its_webhooks_at_once(
    api, peer, drain_queue, django_capture_on_commit_callbacks, version
):
    """Not at the next periodic sync: the channel's first sync is queued when it is saved."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/channels",
            {
                "kind": "linkedin",
                "provider": "unipile",
                "name": "Sales",
                "config": {
                    "dsn": peer.dsn,
                    "api_key": API_KEY,
                    "account_id": "acc-api",
                    "network": "linkedin",
                    "api_version": version,
                },
            },
            content_type="application/json",
        )
    assert response.status_code == 201
    assert not peer.webhooks and not peer.endpoints  # nothing before the worker runs
    drain_queue()
    assert len(peer.webhooks if version == "v1" else peer.endpoints) == (
        2 if version == "v1" else 1
    )
    channel = ChannelAccount.objects.get(pk=response.json()["id"])
    assert channel.sync_state["webhooks"]


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("linkedin", {"network": "whatsapp"}, "does not match"),
        ("linkedin", {"network": "telegram"}, "network must be"),
        ("linkedin", {"api_version": "v3"}, "api_version must be"),
        ("linkedin", {"dsn": "", "api_version": "v1"}, "dsn"),
        ("linkedin", {"dsn": "https://api1.unipile.com:13111/some/path"}, "dsn must be"),
        ("linkedin", {"api_key": ""}, "api_key"),
        ("linkedin", {"api_key": "clé-secrète"}, "api_key must be printable ASCII"),
        ("linkedin", {"account_id": ""}, "account_id"),
        ("linkedin", {"backfill_days": -1}, "backfill_days"),
        ("email", {}, "unknown kind/provider"),
    ],
)
def test_api_refuses_bad_unipile_config(api, peer, kind, config, message):
    base = {"dsn": peer.dsn, "api_key": "k", "account_id": "a", "network": "linkedin"}
    response = api.post(
        "/api/v1/channels",
        {"kind": kind, "provider": "unipile", "name": "x", "config": {**base, **config}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not ChannelAccount.objects.filter(provider="unipile").exists()


# --- inbound webhooks ------------------------------------------------------------------------
def test_webhook_text_message_creates_contact_and_conversation_once(linkedin, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(chat, KIM["provider_id"], "Hi, are you free for a call?")
    event = peer.webhook_event(message, OWNER["provider_id"])

    response = post_hook(event, secret_of(linkedin))
    assert response.status_code == 200, response.content
    stored = Message.objects.get(channel=linkedin, provider_id=message["id"])
    assert stored.direction == "inbound" and stored.text == "Hi, are you free for a call?"
    assert stored.conversation.thread_key == chat
    contact = stored.conversation.contact
    assert contact.name == "Kim Prospect"
    assert list(contact.handles.values_list("kind", "value")) == [("linkedin", KIM["provider_id"])]
    assert contact.custom_fields["linkedin_url"] == KIM["profile_url"]

    again = post_hook(event, secret_of(linkedin))  # Unipile retries a delivery
    assert again.status_code == 200
    assert Message.objects.filter(channel=linkedin).count() == 1


def test_webhook_without_or_with_a_wrong_secret_is_refused(linkedin, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    event = peer.webhook_event(
        peer.add_message(chat, KIM["provider_id"], "x"), OWNER["provider_id"]
    )
    assert post_hook(event, None).status_code == 401
    assert post_hook(event, "").status_code == 401
    assert post_hook(event, secret_of(linkedin) + "x").status_code == 401
    assert post_hook(event, secret_of(linkedin)[:-1]).status_code == 401
    assert not Message.objects.exists()


def test_webhook_never_crosses_workspaces(owner, rival, peer):
    ours = make_channel(owner, peer, account_id="acc-ours")
    theirs = make_channel(rival, peer, account_id="acc-theirs")
    chat = peer.add_chat("acc-theirs", OWNER, KIM)
    event = peer.webhook_event(
        peer.add_message(chat, KIM["provider_id"], "x"), OWNER["provider_id"]
    )
    # Our secret with their account id, and an account id connected nowhere: refused.
    assert post_hook(event, secret_of(ours)).status_code == 401
    assert post_hook({**event, "account_id": "acc-unknown"}, secret_of(ours)).status_code == 401
    assert not Message.objects.exists()
    # Their own secret lands in their workspace only.
    assert post_hook(event, secret_of(theirs)).status_code == 200
    stored = Message.objects.get()
    assert stored.workspace_id == rival.workspace_id and stored.channel_id == theirs.pk


def _drop(key):
    return lambda e: e.pop(key)


def _set(**values):
    return lambda e: e.update(values)


@pytest.mark.parametrize(
    "mutate",
    [
        "raw",
        _drop("message_id"),
        _drop("chat_id"),
        _set(sender="Kim"),
        _set(sender={}),
        _set(message=["not", "text"]),
        _set(account_id=None),
        _set(account_id="a" * 300),
    ],
)
def test_malformed_events_get_400_and_store_nothing(linkedin, peer, mutate):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    event = peer.webhook_event(
        peer.add_message(chat, KIM["provider_id"], "x"), OWNER["provider_id"]
    )
    if mutate == "raw":
        response = post_hook(event, secret_of(linkedin), raw=b"{not json")
    else:
        mutate(event)
        response = post_hook(event, secret_of(linkedin))
    assert response.status_code == 400
    assert not Message.objects.exists()


HOSTILE_BODIES = [
    b"[" * 200_000 + b"]" * 200_000,  # past the parser's recursion limit
    b'{"a":' * 200_000 + b"1" + b"}" * 200_000,
    b'{"account_id": "acc-li-1", "n": ' + b"9" * 5000 + b"}",  # past int digits limit
    b'{"account_id": "\xff\xfe"}',  # not UTF-8
]


@pytest.mark.parametrize("raw", HOSTILE_BODIES, ids=["arrays", "objects", "number", "bytes"])
def test_hostile_json_is_refused_after_the_secret_and_never_500(linkedin, raw):
    """The secret is checked before the body is parsed: a stranger gets 401 whatever they
    send; the holder of the secret gets 400 for a body no parser should choke on."""
    client = WebhookClient(raise_request_exception=False)

    def post(headers, query=""):
        return client.post(
            f"/webhooks/unipile/{query}", raw, content_type="application/json", headers=headers
        )

    assert post({}).status_code == 401
    assert post({SECRET_HEADER: "guess"}).status_code == 401
    assert post({}, "?token=guess").status_code == 401
    answer = post({SECRET_HEADER: secret_of(linkedin)})
    assert answer.status_code == 400 and answer.json()["error"] == "body is not JSON"
    notify = client.post(
        "/connectors/unipile/notify/?state=x", raw, content_type="application/json"
    )
    assert notify.status_code == 400
    assert not Message.objects.exists()


def test_any_field_of_any_type_never_breaks_the_webhook(linkedin, peer, drain_queue):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(
        chat, OWNER["provider_id"], "x", is_sender=True, attachments=[("a.txt", "text/plain", b"a")]
    )
    base = peer.webhook_event(message, OWNER["provider_id"])
    odd_values = [None, 0, 1.5, True, "", "text", [], [1, "a", None], {}, {"id": 3}]
    for key in base:
        for value in odd_values:
            response = post_hook({**base, key: value}, secret_of(linkedin))
            assert response.status_code in (200, 202, 400, 401), (key, value, response.content)
    for key in ("sender", "account_info"):
        for inner in ("attendee_provider_id", "attendee_name", "user_id"):
            for value in odd_values:
                event = {**base, key: {**base[key], inner: value}}
                response = post_hook(event, secret_of(linkedin))
                assert response.status_code in (200, 202, 400), (key, inner, value)
    drain_queue()  # the queued attachment downloads cope too
    stored = set(Message.objects.filter(channel=linkedin).values_list("provider_id", flat=True))
    assert stored <= {message["id"], "text"}  # "text" was a (valid) message_id among the values


def test_non_object_json_is_refused(linkedin):
    assert post_hook(None, secret_of(linkedin), raw=b"[1, 2]").status_code == 400


def test_message_sent_from_the_account_elsewhere_is_stored_as_outbound(side, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(chat, OWNER["provider_id"], "Sent from my phone", is_sender=True)
    response = side.post(side.event(message))
    assert response.status_code == 200
    stored = Message.objects.get()
    # v2 objects say is_delivered (the stand-in: true); v1 events say nothing: sent
    assert stored.direction == "outbound"
    assert stored.status == ("delivered" if side.version == "v2" else "sent")
    handle = stored.conversation.contact.handles.get()
    assert handle.value == KIM["provider_id"]  # the other side, not the owner


def test_a_sent_message_naming_nobody_joins_the_conversation_of_its_chat(linkedin, peer):
    """A v1 event about a message the account sent may list no other attendee: the inbox
    knows who the chat is with from the chat's conversation; a chat it has never seen
    leaves the message nowhere to go, and the event is refused, nothing stored."""
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    hello = peer.add_message(chat, KIM["provider_id"], "Hello")
    hello_event = peer.webhook_event(hello, OWNER["provider_id"])
    assert post_hook(hello_event, secret_of(linkedin)).status_code == 200
    mine = peer.add_message(chat, OWNER["provider_id"], "Sent from my phone", is_sender=True)
    event = {**peer.webhook_event(mine, OWNER["provider_id"]), "attendees": []}
    assert post_hook(event, secret_of(linkedin)).status_code == 200
    sent = Message.objects.get(provider_id=mine["id"])
    assert sent.direction == "outbound"
    assert sent.conversation == Message.objects.get(provider_id=hello["id"]).conversation

    unseen = peer.add_chat("acc-li-1", OWNER, {"provider_id": "ACoAAOther", "name": "Other"})
    lost = peer.add_message(unseen, OWNER["provider_id"], "Hi there", is_sender=True)
    event = {**peer.webhook_event(lost, OWNER["provider_id"]), "attendees": []}
    answer = post_hook(event, secret_of(linkedin))
    assert answer.status_code == 400
    assert answer.json() == {"error": "no recipient known for a sent message"}
    assert not Message.objects.filter(provider_id=lost["id"]).exists()


def test_attachments_are_downloaded_by_the_worker_from_the_dsn_only(linkedin, peer, drain_queue):
    evil = CallbackServer()
    try:
        chat = peer.add_chat("acc-li-1", OWNER, KIM)
        pdf = b"%PDF-1.4 proposal " + b"x" * 1000
        message = peer.add_message(
            chat,
            KIM["provider_id"],
            "Here is the brief",
            attachments=[("brief.pdf", "application/pdf", pdf)],
        )
        event = peer.webhook_event(message, OWNER["provider_id"])
        event["attachments"][0]["url"] = evil.url  # a URL elsewhere must never be fetched
        response = post_hook(event, secret_of(linkedin))
        assert response.status_code == 202
        assert drain_queue() == ["created", "unavailable"]
        stored = Message.objects.get()
        attachment = stored.attachments.get()
        assert attachment.name == "brief.pdf" and attachment.content_type == "application/pdf"
        assert attachment.file.read() == pdf
        downloads = peer.requests_to("GET", "/api/v1/messages/")
        assert [r.path for r in downloads] == [
            f"/api/v1/messages/{message['id']}/attachments/{message['attachments'][0]['id']}"
        ]
        assert downloads[0].headers["x-api-key"] == API_KEY
        assert evil.received == []
        # The same event again (a retry) stores nothing new, and downloads nothing.
        retry = post_hook(event, secret_of(linkedin))
        assert retry.status_code == 200
        assert drain_queue() == []
        assert Message.objects.count() == 1
    finally:
        evil.close()


def test_a_huge_attachment_is_skipped_but_the_message_kept(side, peer, drain_queue, settings):
    settings.FRONTDESK_MAX_ATTACHMENT_BYTES = 2000
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(
        chat, KIM["provider_id"], "big video", attachments=[("video.mp4", "video/mp4", b"v" * 5000)]
    )
    event = side.event(message)
    side.fields(event)["attachments"][0].pop("file_size")  # found out while downloading
    assert side.post(event).status_code == 202
    assert drain_queue() == ["created", "unavailable"]
    assert [r.path for r in peer.requests_to("GET", side.attachments_prefix)]
    stored = Message.objects.get()
    assert stored.text == "big video" and not stored.attachments.exists()
    assert "video.mp4" in stored.extra["skipped_attachments"][0]


def test_an_attachment_redirect_to_another_host_is_not_followed(linkedin, peer, drain_queue):
    evil = CallbackServer()
    try:
        peer.redirect_attachments_to = evil.url
        chat = peer.add_chat("acc-li-1", OWNER, KIM)
        message = peer.add_message(
            chat,
            KIM["provider_id"],
            "photo",
            attachments=[("a.png", "image/png", b"\x89PNG\r\n\x1a\nx")],
        )
        assert (
            post_hook(
                peer.webhook_event(message, OWNER["provider_id"]), secret_of(linkedin)
            ).status_code
            == 202
        )
        assert drain_queue() == ["created", "unavailable"]
        assert evil.received == []
        stored = Message.objects.get()
        assert not stored.attachments.exists() and stored.extra["skipped_attachments"]
    finally:
        evil.close()


def test_read_event_marks_our_reply_read(
    linkedin, peer, owner, drain_queue, django_capture_on_commit_callbacks
):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    post_hook(
        peer.webhook_event(peer.add_message(chat, KIM["provider_id"], "hi"), OWNER["provider_id"]),
        secret_of(linkedin),
    )
    conversation = Conversation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = queue_reply(owner.user, conversation, "Hello Kim")
    assert drain_queue() == ["unavailable", "sent"]  # Kim has no profile on the peer
    reply.refresh_from_db()
    event = {
        "account_id": "acc-li-1",
        "event": "message_read",
        "chat_id": chat,
        "message_id": reply.provider_id,
    }
    assert post_hook(event, secret_of(linkedin)).status_code == 200
    reply.refresh_from_db()
    assert reply.status == "read"


def test_a_new_linkedin_sender_gets_their_profile_once(linkedin, peer, drain_queue):
    peer.profiles[KIM["provider_id"]] = {
        "provider_id": KIM["provider_id"],
        "public_identifier": "kim-prospect",
        "first_name": "Kim",
        "last_name": "Prospect",
        "headline": "Head of Procurement at Globex",
        "location": "Lyon, France",
        "profile_picture_url": "https://media.licdn.com/kim-large.jpg",
        "work_experience": [
            {
                "position": "Intern",
                "company": "Initech",
                "current": False,
                "skills": [],
                "start": None,
                "end": None,
            },
            {
                "position": "Head of Procurement",
                "company": "Globex",
                "current": True,
                "skills": [],
                "start": None,
                "end": None,
            },
        ],
    }
    chat = peer.add_chat("acc-li-1", OWNER, {**KIM, "picture_url": ""})
    for text in ("Hello", "Still there?"):
        event = peer.webhook_event(
            peer.add_message(chat, KIM["provider_id"], text), OWNER["provider_id"]
        )
        assert post_hook(event, secret_of(linkedin)).status_code == 200
        drain_queue()
    profile_calls = peer.requests_to("GET", "/api/v1/users/")
    assert [r.path for r in profile_calls] == [f"/api/v1/users/{KIM['provider_id']}"]
    assert profile_calls[0].query["account_id"] == "acc-li-1"
    contact = Conversation.objects.get().contact
    assert contact.company == "Globex"
    assert contact.avatar_url == "https://media.licdn.com/kim-large.jpg"
    assert contact.custom_fields["linkedin_headline"] == "Head of Procurement at Globex"
    assert contact.custom_fields["linkedin_url"] == KIM["profile_url"]  # the webhook's came first
    assert contact.custom_fields["linkedin_location"] == "Lyon, France"


def test_a_quoted_message_becomes_the_reply_to(side, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    first = peer.add_message(chat, OWNER["provider_id"], "Our price is 4k", is_sender=True)
    second = peer.add_message(chat, KIM["provider_id"], "Can you do 3.5k?")
    assert side.post(side.event(first)).status_code == 200
    event = side.event(second)
    side.fields(event)["quoted"] = {"id": first["id"], "text": first["text"]}
    assert side.post(event).status_code == 200
    answer = Message.objects.get(provider_id=second["id"])
    assert answer.reply_to.provider_id == first["id"]


def test_reactions_are_kept_on_the_message(linkedin, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(chat, OWNER["provider_id"], "Proposal attached", is_sender=True)
    event = peer.webhook_event(message, OWNER["provider_id"])
    assert post_hook(event, secret_of(linkedin)).status_code == 200
    sender = {"attendee_provider_id": KIM["provider_id"], "attendee_name": KIM["name"]}
    reaction = {**event, "event": "message_reaction", "reaction": "👍", "reaction_sender": sender}
    assert post_hook(reaction, secret_of(linkedin)).status_code == 200
    assert post_hook({**reaction, "reaction": "🎉"}, secret_of(linkedin)).status_code == 200
    stored = Message.objects.get()
    assert stored.extra["reactions"] == [
        {"emoji": "🎉", "by": KIM["provider_id"], "name": "Kim Prospect", "at": ""}
    ]
    assert post_hook({**reaction, "reaction": ""}, secret_of(linkedin)).status_code == 200
    assert Message.objects.get().extra["reactions"] == []  # taken back
    bad = {**reaction, "reaction_sender": "Kim"}
    assert post_hook(bad, secret_of(linkedin)).status_code == 400
    unknown = {**reaction, "message_id": "never-seen"}
    assert post_hook(unknown, secret_of(linkedin)).status_code == 200
    assert Message.objects.count() == 1


# --- account status ---------------------------------------------------------------------------
def test_account_status_webhooks_update_the_channel(linkedin):
    def status(message):
        body = {
            "AccountStatus": {
                "account_id": "acc-li-1",
                "account_type": "LINKEDIN",
                "message": message,
            }
        }
        return post_hook(body, secret_of(linkedin))

    assert status("CREDENTIALS").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.NEEDS_RECONNECT and "reconnect" in linkedin.last_error
    assert status("OK").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.CONNECTED and linkedin.last_error == ""
    assert status("ERROR").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.ERROR
    assert status("SYNC_SUCCESS").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.CONNECTED
    assert status("PERMISSIONS").status_code == 200  # no longer a 400
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.NEEDS_RECONNECT and "permission" in linkedin.last_error
    assert status("CREATION_FAIL").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.ERROR
    assert status("STOPPED").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.ERROR and "stopped" in linkedin.last_error
    assert status("OK").status_code == 200  # a channel in error is restored
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.CONNECTED and linkedin.last_error == ""
    assert status("NONSENSE").status_code == 400
    wrong = post_hook({"AccountStatus": {"account_id": "acc-li-1", "message": "DELETED"}}, "nope")
    assert wrong.status_code == 401
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.CONNECTED
    assert status("DELETED").status_code == 200
    linkedin.refresh_from_db()
    assert linkedin.status == ChannelStatus.DISCONNECTED


# --- outbound -------------------------------------------------------------------------------
@pytest.fixture
def kim_conversation(linkedin, peer):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(chat, KIM["provider_id"], "Hello")
    post_hook(peer.webhook_event(message, OWNER["provider_id"]), secret_of(linkedin))
    return Conversation.objects.get(channel=linkedin)


def _reply(owner, conversation, text="Thanks Kim!", attachments=None, capture=None):
    with capture(execute=True):
        return queue_reply(owner.user, conversation, text, attachments=attachments)


def test_reply_goes_to_the_chat_as_multipart_with_attachments(
    owner, linkedin, peer, kim_conversation, drain_queue, django_capture_on_commit_callbacks
):
    from frontdesk.connectors.base import InboundAttachment

    reply = _reply(
        owner,
        kim_conversation,
        attachments=[InboundAttachment("quote.pdf", "application/pdf", b"%PDF-1.4 quote")],
        capture=django_capture_on_commit_callbacks,
    )
    assert drain_queue() == ["sent"]
    sent = peer.requests_to("POST", f"/api/v1/chats/{kim_conversation.thread_key}/messages")
    assert len(sent) == 1
    assert sent[0].headers["x-api-key"] == API_KEY
    assert sent[0].headers["content-type"].startswith("multipart/form-data")
    assert sent[0].form == {"text": "Thanks Kim!", "account_id": "acc-li-1"}
    assert sent[0].files == [("quote.pdf", "application/pdf", b"%PDF-1.4 quote")]
    reply.refresh_from_db()
    assert reply.status == "sent" and reply.provider_id

    # Unipile echoes our own message as a webhook: it must not appear twice.
    echoed = next(
        m for m in peer.messages[kim_conversation.thread_key] if m["id"] == reply.provider_id
    )
    assert (
        post_hook(peer.webhook_event(echoed, OWNER["provider_id"]), secret_of(linkedin)).status_code
        == 200
    )
    # (The reply also assigned the conversation to its writer: an event line, not a message.)
    messages = Message.objects.filter(conversation=kim_conversation, kind=MessageKind.MESSAGE)
    assert messages.count() == 2


@pytest.mark.parametrize(
    ("status", "kind", "outcome", "channel_status"),
    [
        (401, "errors/disconnected_account", "failed", ChannelStatus.NEEDS_RECONNECT),
        (403, "errors/feature_not_subscribed", "failed", ChannelStatus.NEEDS_RECONNECT),
        (429, "errors/too_many_requests", "retry", ChannelStatus.CONNECTED),
        (500, "errors/unexpected_error", "retry", ChannelStatus.CONNECTED),
        (503, "errors/provider_unreachable", "retry", ChannelStatus.CONNECTED),
        (422, "errors/no_connection_with_recipient", "failed", ChannelStatus.CONNECTED),
    ],
)
def test_send_errors_are_mapped(
    owner,
    linkedin,
    peer,
    kim_conversation,
    drain_queue,
    django_capture_on_commit_callbacks,
    status,
    kind,
    outcome,
    channel_status,
):
    peer.fail_next(
        "/api/v1/chats/",
        status,
        detail=f"Unipile says {status}",
        kind=kind,
        headers={"Retry-After": "120"} if status == 429 else None,
    )
    reply = _reply(owner, kim_conversation, capture=django_capture_on_commit_callbacks)
    assert drain_queue() == [outcome]
    reply.refresh_from_db()
    linkedin.refresh_from_db()
    assert linkedin.status == channel_status
    assert f"Unipile says {status}" in reply.error
    if outcome == "retry":
        assert reply.status == "queued"
        if status == 429:
            assert (reply.next_attempt_at - reply.created_at).total_seconds() >= 119
    else:
        assert reply.status == "failed"


def test_unreachable_unipile_is_retried(
    owner, side, peer, drain_queue, django_capture_on_commit_callbacks
):
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    assert side.post(side.event(peer.add_message(chat, KIM["provider_id"], "Hi"))).status_code
    drain_queue()  # Kim's profile: none on the peer
    peer.close()
    conversation = Conversation.objects.get(channel=side.channel)
    reply = _reply(owner, conversation, capture=django_capture_on_commit_callbacks)
    assert drain_queue() == ["retry"]
    reply.refresh_from_db()
    assert reply.status == "queued" and "could not reach Unipile" in reply.error


def test_a_new_linkedin_chat_is_started_with_the_contacts_provider_id(
    owner, linkedin, peer, drain_queue, django_capture_on_commit_callbacks
):
    peer.add_chat("acc-li-1", OWNER, {"provider_id": "ACoAAOther", "name": "Someone"})
    contact = Contact.objects.create(workspace=owner.workspace, name="Lee Lead")
    ContactHandle.objects.create(
        workspace=owner.workspace, contact=contact, kind="linkedin", value="ACoAALee999"
    )
    conversation = Conversation.objects.create(
        workspace=owner.workspace,
        channel=linkedin,
        contact=contact,
        thread_key="linkedin:ACoAALee999",
    )
    reply = _reply(
        owner,
        conversation,
        "Hello Lee, nice to meet you",
        capture=django_capture_on_commit_callbacks,
    )
    assert drain_queue() == ["sent"]
    started = peer.requests_to("POST", "/api/v1/chats")
    assert len(started) == 1 and started[0].path == "/api/v1/chats"
    assert started[0].form == {
        "account_id": "acc-li-1",
        "attendees_ids": "ACoAALee999",
        "text": "Hello Lee, nice to meet you",
    }
    conversation.refresh_from_db()
    assert conversation.thread_key in peer.chats  # replies in that chat now join this conversation
    reply.refresh_from_db()
    assert reply.status == "sent"
    # Lee answers in the new chat: same conversation.
    answer = peer.add_message(conversation.thread_key, "ACoAALee999", "Hi!", minutes_ago=0)
    peer.attendees[conversation.thread_key][1]["name"] = "Lee Lead"
    assert (
        post_hook(peer.webhook_event(answer, OWNER["provider_id"]), secret_of(linkedin)).status_code
        == 200
    )
    assert Message.objects.get(provider_id=answer["id"]).conversation_id == conversation.pk


# --- WhatsApp by QR code ---------------------------------------------------------------------
def test_whatsapp_account_through_the_same_connector(
    owner, peer, drain_queue, django_capture_on_commit_callbacks
):
    channel = make_channel(owner, peer, account_id="acc-wa-1", kind="whatsapp")
    me = {"provider_id": "33100000000@s.whatsapp.net", "name": "Our shop"}
    client = {"provider_id": "33612345678@s.whatsapp.net", "name": "Chloé"}
    chat = peer.add_chat("acc-wa-1", me, client)
    message = peer.add_message(chat, client["provider_id"], "Bonjour, vous êtes ouverts ?")
    event = peer.webhook_event(message, me["provider_id"], account_type="WHATSAPP")
    assert post_hook(event, secret_of(channel)).status_code == 200
    stored = Message.objects.get(channel=channel)
    assert list(stored.conversation.contact.handles.values_list("kind", "value")) == [
        ("phone", "+33612345678")
    ]

    reply = _reply(
        owner, stored.conversation, "Oui, jusqu'à 19h", capture=django_capture_on_commit_callbacks
    )
    assert drain_queue() == ["sent"]
    assert (
        peer.requests_to("POST", f"/api/v1/chats/{chat}/messages")[0].form["text"]
        == "Oui, jusqu'à 19h"
    )
    reply.refresh_from_db()
    assert reply.status == "sent"

    # A new WhatsApp chat starts with the phone number as Unipile's attendee id.
    contact = Contact.objects.create(workspace=owner.workspace, name="Paul")
    ContactHandle.objects.create(
        workspace=owner.workspace, contact=contact, kind="phone", value="+33699887766"
    )
    conversation = Conversation.objects.create(
        workspace=owner.workspace, channel=channel, contact=contact, thread_key="phone:+33699887766"
    )
    _reply(
        owner, conversation, "Votre commande est prête", capture=django_capture_on_commit_callbacks
    )
    assert drain_queue() == ["sent"]
    assert (
        peer.requests_to("POST", "/api/v1/chats")[-1].form["attendees_ids"]
        == "33699887766@s.whatsapp.net"
    )


def test_a_whatsapp_sender_without_a_usable_number_is_refused(owner, peer):
    channel = make_channel(owner, peer, account_id="acc-wa-2", kind="whatsapp")
    me = {"provider_id": "33100000000@s.whatsapp.net", "name": "Our shop"}
    odd = {"provider_id": "status@broadcast", "name": "?"}
    chat = peer.add_chat("acc-wa-2", me, odd)
    message = peer.add_message(
        chat, odd["provider_id"], "x", attachments=[("a.txt", "text/plain", b"a")]
    )
    event = peer.webhook_event(message, me["provider_id"], account_type="WHATSAPP")
    response = post_hook(event, secret_of(channel))
    assert response.status_code == 400 and "phone" in response.json()["error"]
    assert not Message.objects.exists()


def test_whatsapp_handles_are_normalized_to_e164():
    connector = UnipileConnector().for_kind("whatsapp")
    assert connector.normalize_handle("33612345678@s.whatsapp.net") == "+33612345678"
    assert connector.normalize_handle("+33 6 12 34 56 78") == "+33612345678"
    assert connector.normalize_handle("0033612345678") == "+33612345678"
    assert connector.normalize_handle("abc") == ""


def test_a_message_whose_attachments_never_download_is_kept_without_them(side, peer):
    """The DSN answers 503 through every retry: the last attempt stores the message anyway."""
    from types import SimpleNamespace

    from frontdesk.inbox.pipeline import ingest_with_attachments

    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    message = peer.add_message(
        chat,
        KIM["provider_id"],
        "see attached",
        attachments=[("a.pdf", "application/pdf", b"%PDF-1")],
    )
    channel = side.channel
    item = channel.connector.webhook_events(channel, side.event(message)).messages[0]
    peer.fail_next(side.attachments_prefix, 503, "maintenance")
    with pytest.raises(Exception, match=r"503|maintenance"):
        ingest_with_attachments.call_local(channel.pk, item, task=SimpleNamespace(retries=3))
    assert Message.objects.count() == 0  # not the last attempt: Huey will try again
    peer.fail_next(side.attachments_prefix, 503, "maintenance")
    assert (
        ingest_with_attachments.call_local(channel.pk, item, task=SimpleNamespace(retries=0))
        == "created"
    )
    stored = Message.objects.get()
    assert stored.text == "see attached" and not stored.attachments.exists()
    assert "could not be downloaded" in stored.extra["skipped_attachments"][0]


def test_a_profile_link_from_the_webhook_fills_the_contact_and_tells_the_inbox(
    linkedin, peer, monkeypatch
):
    published = []
    monkeypatch.setattr(
        "frontdesk.realtime.publish.publish",
        lambda workspace_id, kind, **data: published.append((kind, data)),
    )
    chat = peer.add_chat("acc-li-1", OWNER, KIM)
    event = peer.webhook_event(
        peer.add_message(chat, KIM["provider_id"], "Hi"), OWNER["provider_id"]
    )
    assert post_hook(event, secret_of(linkedin)).status_code == 200
    contact = Conversation.objects.get().contact
    assert contact.custom_fields["linkedin_url"] == KIM["profile_url"]
    assert ("contact.updated", {"contact_id": contact.pk}) in published
