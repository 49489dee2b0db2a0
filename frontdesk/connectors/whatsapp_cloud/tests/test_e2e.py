"""End to end over real HTTP: the Graph API peer delivers signed webhooks to a live server,
the worker fetches media and sends the reply to the peer, statuses come back signed."""

from __future__ import annotations

import hashlib

from frontdesk.connectors.whatsapp_cloud.tests.conftest import (
    APP_SECRET,
    CLIENT_WA,
    contacts,
    make_whatsapp_channel,
    msg,
)
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import Conversation, Message


def test_a_whatsapp_chat_round_trip_over_real_http(live_server, owner, graph, drain_queue):
    wa = make_whatsapp_channel(owner, graph)
    url = f"{live_server.url}/webhooks/whatsapp/"
    jpeg = b"\xff\xd8\xff\xe0" + b"menu" * 500
    graph.add_media("880001", jpeg, "image/jpeg")
    photo = msg(
        "image",
        {"id": "880001", "mime_type": "image/jpeg", "sha256": hashlib.sha256(jpeg).hexdigest()},
    )
    text = msg("text", {"body": "Is this still on the menu?"}, context={"id": photo["id"]})
    payload = graph.webhook(messages=[photo, text], contacts=contacts("Zoe Client"))

    assert graph.deliver(url, payload, "wrong-secret").status_code == 401
    assert not Message.objects.exists()
    response = graph.deliver(url, payload, APP_SECRET)
    assert response.status_code == 200
    assert graph.deliver(url, payload, APP_SECRET).status_code == 200  # Meta retries: no duplicate
    conversation = Conversation.objects.get(channel=wa)
    assert conversation.contact.name == "Zoe Client"
    assert [m.text for m in conversation.messages.order_by("created_at", "id")] == [
        "📷 Photo",
        "Is this still on the menu?",
    ]

    assert "stored" in drain_queue()  # the worker fetches the photo
    stored = Message.objects.get(provider_id=photo["id"])
    assert stored.attachments.get().file.read() == jpeg

    reply = queue_reply(owner.user, conversation, "Yes, every day until 3pm")
    assert "sent" in drain_queue()
    reply.refresh_from_db()
    [sent] = graph.sent
    assert sent["to"] == CLIENT_WA
    assert sent["text"]["body"] == "Yes, every day until 3pm"

    for status in ("read", "delivered"):
        statuses = [{"id": reply.provider_id, "status": status, "timestamp": "1700000000"}]
        assert graph.deliver(url, graph.webhook(statuses=statuses), APP_SECRET).status_code == 200
    reply.refresh_from_db()
    assert reply.status == "read"
