"""End to end over real HTTP: the Unipile peer calls the hosted-auth notify_url and posts
webhooks to a live server (v1: with the registered secret header, only for the events
subscribed to; v2: to the endpoint URL with its token); the worker registers the webhooks,
fetches attachments and sends the reply to the peer."""

from __future__ import annotations

from django.test import Client

from frontdesk.connectors.unipile.tests.peer import API_KEY, UnipilePeer
from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Conversation, Message

OWNER = {"provider_id": "ACoAAE2EOwner", "name": "Olivia Owner"}
SAM = {
    "provider_id": "ACoAAE2ESam",
    "name": "Sam Buyer",
    "profile_url": "https://www.linkedin.com/in/sam/",
}


def test_a_linkedin_account_round_trip_over_real_http(live_server, owner, drain_queue, settings):
    settings.BASE_URL = live_server.url
    peer = UnipilePeer()
    try:
        web = Client()
        web.force_login(owner.user)
        answer = web.post(
            "/connectors/unipile/connect/",
            {
                "network": "linkedin",
                "dsn": peer.dsn,
                "api_key": API_KEY,
                "name": "Sales",
                "api_version": "v1",
            },
        )
        assert answer.status_code == 302
        [link] = peer.hosted_links
        assert peer.complete_hosted(link, "acc-e2e").status_code == 200
        channel = ChannelAccount.objects.get(provider="unipile")
        assert channel.status == ChannelStatus.CONNECTED
        drain_queue()  # backfill task: registers both webhooks with Unipile
        assert {h["source"] for h in peer.webhooks} == {"messaging", "account_status"}

        chat = peer.add_chat("acc-e2e", OWNER, SAM)
        message = peer.add_message(
            chat,
            SAM["provider_id"],
            "Specs attached",
            attachments=[("specs.pdf", "application/pdf", b"%PDF-1.7 specs")],
        )
        event = peer.webhook_event(message, OWNER["provider_id"])
        assert [r.status_code for r in peer.deliver("messaging", event, secret="forged")] == [401]
        assert [r.status_code for r in peer.deliver("messaging", event)] == [202]
        assert "created" in drain_queue()
        stored = Message.objects.get(provider_id=message["id"])
        assert stored.attachments.get().file.read() == b"%PDF-1.7 specs"

        conversation = Conversation.objects.get(channel=channel)
        reply = queue_reply(owner.user, conversation, "Thanks Sam, reading now")
        assert "sent" in drain_queue()
        reply.refresh_from_db()
        assert reply.status == "sent"
        [sent] = peer.requests_to("POST", f"/api/v1/chats/{chat}/messages")
        assert sent.form["text"] == "Thanks Sam, reading now"
        echoed = next(m for m in peer.messages[chat] if m["id"] == reply.provider_id)
        echo = peer.webhook_event(echoed, OWNER["provider_id"])
        assert [r.status_code for r in peer.deliver("messaging", echo)] == [200]
        assert conversation.messages.filter(kind="message").count() == 2

        status = {
            "AccountStatus": {
                "account_id": "acc-e2e",
                "account_type": "LINKEDIN",
                "message": "CREDENTIALS",
            }
        }
        assert [r.status_code for r in peer.deliver("account_status", status)] == [200]
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.NEEDS_RECONNECT
        # Unipile says the account is fine again: the channel hears it (subscribed to OK).
        back = peer.deliver("account_status", peer.account_status("acc-e2e", "OK"))
        assert [r.status_code for r in back] == [200]
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.CONNECTED
    finally:
        peer.close()


def test_a_v2_linkedin_account_round_trip_over_real_http(live_server, owner, drain_queue, settings):
    """v2: the wizard sends the browser back, the worker registers the webhook endpoint,
    the peer posts signed events to the live server, the reply goes to the v2 chat."""
    settings.BASE_URL = live_server.url
    peer = UnipilePeer()
    try:
        web = Client()
        web.force_login(owner.user)
        answer = web.post(
            "/connectors/unipile/connect/",
            {"network": "linkedin", "dsn": peer.dsn, "api_key": API_KEY, "name": "Sales"},
        )  # no version chosen: v2, the default for new connections
        assert answer.status_code == 302
        [link] = peer.hosted_links
        assert web.get(peer.redirect_back(link, "acc-e2e")).status_code == 302
        channel = ChannelAccount.objects.get(provider="unipile")
        assert channel.status == ChannelStatus.CONNECTED and channel.config["api_version"] == "v2"
        drain_queue()  # backfill task: registers the webhook endpoint with Unipile
        [endpoint] = peer.endpoints
        assert endpoint["url"].startswith(f"{live_server.url}/webhooks/unipile/?token=")

        chat = peer.add_chat("acc-e2e", OWNER, SAM)
        message = peer.add_message(
            chat,
            SAM["provider_id"],
            "Specs attached",
            attachments=[("specs.pdf", "application/pdf", b"%PDF-1.7 specs")],
        )
        event = peer.v2_message_event(message)
        forged = f"{live_server.url}/webhooks/unipile/?token=forged"
        assert [r.status_code for r in peer.deliver_v2(event, url=forged)] == [401]
        assert [r.status_code for r in peer.deliver_v2(event)] == [202]
        assert "created" in drain_queue()
        stored = Message.objects.get(provider_id=message["id"])
        assert stored.attachments.get().file.read() == b"%PDF-1.7 specs"

        conversation = Conversation.objects.get(channel=channel)
        reply = queue_reply(owner.user, conversation, "Thanks Sam, reading now")
        assert "sent" in drain_queue()
        reply.refresh_from_db()
        assert reply.status == "sent"
        [sent] = peer.requests_to("POST", f"/v2/acc-e2e/chats/{chat}/messages/send")
        assert sent.json["text"] == "Thanks Sam, reading now"
        echoed = next(m for m in peer.messages[chat] if m["id"] == reply.provider_id)
        assert [r.status_code for r in peer.deliver_v2(peer.v2_message_event(echoed))] == [200]
        assert conversation.messages.filter(kind="message").count() == 2

        status = peer.v2_event("account.status.disconnected", "acc-e2e", {"timestamp": "now"})
        assert [r.status_code for r in peer.deliver_v2(status)] == [200]
        channel.refresh_from_db()
        assert channel.status == ChannelStatus.NEEDS_RECONNECT
    finally:
        peer.close()
