"""Remove channel: the account leaves the sidebar, Apps and the API's list; its
conversations stay readable, marked as from a removed channel, and cannot be replied to.
Owners and admins only, in their own workspace."""

from __future__ import annotations

from django.test import Client

from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, DeliveryStatus, Message, MessageKind
from tests.fixtures import token_client


def logged_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_removed_channel_leaves_the_app_and_its_history_stays(owner, channel, inbound):
    first = inbound("Do you ship to Lisbon?", handle="ana", contact_name="Ana Lima")
    conversation = first.conversation
    queued = queue_reply(owner.user, conversation, "Yes, we do")
    web = logged_in(owner)
    assert f"?channel={channel.pk}" in web.get("/").content.decode()

    assert web.post(f"/apps/{channel.pk}/remove").status_code == 302

    apps = web.get("/apps/").content.decode()
    assert f'id="channel-{channel.pk}"' not in apps and "is removed" in apps
    assert f"?channel={channel.pk}" not in web.get("/").content.decode()  # the sidebar
    assert channel.pk not in [
        c["id"] for c in token_client(owner).get("/api/v1/channels").json()["items"]
    ]
    thread = web.get(f"/c/{conversation.pk}/").content.decode()
    assert "Do you ship to Lisbon?" in thread and "Yes, we do" in thread
    assert "(removed channel)" in thread
    assert "a channel that was removed" in thread  # the reason replying is off
    assert 'name="mode" value="reply" disabled' in thread

    reply = token_client(owner).post(
        f"/api/v1/conversations/{conversation.pk}/messages",
        {"text": "Still there?"},
        content_type="application/json",
    )
    assert reply.status_code == 409 and "a channel that was removed" in reply.json()["detail"]
    queued.refresh_from_db()
    assert (queued.status, queued.error) == (
        DeliveryStatus.FAILED,
        "not sent: the channel was removed",
    )
    retried = web.post(f"/c/{conversation.pk}/m/{queued.pk}/retry")
    assert retried.status_code == 400
    readable = token_client(owner).get(f"/api/v1/conversations/{conversation.pk}/messages")
    assert readable.status_code == 200
    channel.refresh_from_db()
    assert channel.credentials == {} and channel.removed_at is not None
    assert Message.objects.filter(conversation=conversation, kind=MessageKind.MESSAGE).count() == 2


def test_only_owners_and_admins_of_the_workspace_remove(owner, agent, rival, channel):
    assert logged_in(agent).post(f"/apps/{channel.pk}/remove").status_code == 403
    assert logged_in(rival).post(f"/apps/{channel.pk}/remove").status_code == 404
    assert token_client(agent).delete(f"/api/v1/channels/{channel.pk}").status_code == 403
    assert token_client(rival).delete(f"/api/v1/channels/{channel.pk}").status_code == 404
    channel.refresh_from_db()
    assert channel.removed_at is None

    assert token_client(owner).delete(f"/api/v1/channels/{channel.pk}").status_code == 204
    assert token_client(owner).delete(f"/api/v1/channels/{channel.pk}").status_code == 404
    # a removed channel is gone for every change: connecting it, auto-assignment
    web = logged_in(owner)
    assert web.post(f"/apps/{channel.pk}/connection", {"action": "connect"}).status_code == 404
    patched = token_client(owner).patch(
        f"/api/v1/channels/{channel.pk}", {"auto_assign": {"mode": "off"}}, "application/json"
    )
    assert patched.status_code == 404
    assert ChannelAccount.objects.filter(pk=channel.pk).exists()  # the row stays for history


def test_a_removed_api_channel_takes_no_more_messages(owner, channel):
    secret = channel.credentials["secret"]
    assert token_client(owner).delete(f"/api/v1/channels/{channel.pk}").status_code == 204
    refused = Client(headers={"Authorization": f"Bearer {secret}"}).post(
        f"/api/v1/channels/{channel.pk}/messages",
        {"id": "late-1", "contact": {"handle": "ana"}, "text": "Hello?"},
        content_type="application/json",
    )
    assert refused.status_code == 401
