"""`frontdesk demo`: believable seeded data, and replies that really leave and turn sent."""

from __future__ import annotations

from django.test import Client

from frontdesk.inbox.actions.send import queue_reply
from frontdesk.inbox.models import ChannelAccount, Conversation, Message
from frontdesk.inbox.outbox import deliver
from frontdesk.ops.demo.receiver import start_receiver
from frontdesk.ops.demo.seed import (
    CLIENTS,
    DEMO_EMAIL,
    point_demo_channels,
    reset_demo,
    seed_demo,
)
from frontdesk.workspaces.models import Membership


def test_seed_is_complete_and_idempotent(db):
    workspace = seed_demo()
    assert seed_demo().pk == workspace.pk
    assert Conversation.objects.filter(workspace=workspace).count() == len(CLIENTS)
    assert Membership.objects.filter(workspace=workspace).count() == 3
    assert Membership.objects.get(workspace=workspace, role="owner").user.email == DEMO_EMAIL
    statuses = set(Conversation.objects.values_list("status", flat=True))
    assert statuses == {"open", "resolved", "snoozed"}
    assert Conversation.objects.filter(assignee__isnull=False).exists()
    assert Message.objects.filter(kind="note").exists()


def test_a_demo_reply_is_received_and_marked_sent(db):
    workspace = seed_demo()
    channel = ChannelAccount.objects.get(workspace=workspace, provider="api")
    server, url = start_receiver(channel.credentials["secret"])
    try:
        point_demo_channels(workspace, url)
        conversation = Conversation.objects.filter(workspace=workspace, status="open").first()
        owner = Membership.objects.get(workspace=workspace, role="owner").user
        message = queue_reply(owner, conversation, "Happy to help!")
        assert deliver(message.pk) == "sent"
        message.refresh_from_db()
        assert (message.status, message.provider_id) == ("sent", f"demo-out-{message.pk}")
    finally:
        server.shutdown()


def test_reset_starts_the_demo_over(db):
    workspace = seed_demo()
    conversation = Conversation.objects.filter(workspace=workspace, status="open").first()
    conversation.status = "resolved"
    conversation.save()
    reset_demo()
    assert not Conversation.objects.filter(workspace=workspace).exists()
    fresh = seed_demo()
    assert fresh.pk != workspace.pk
    assert Conversation.objects.filter(workspace=fresh).count() == len(CLIENTS)
    assert Membership.objects.filter(workspace=fresh).count() == 3


def test_the_demo_says_so_in_the_sidebar(db, settings):
    seed_demo()
    client = Client()
    assert client.login(username=DEMO_EMAIL, password="frontdesk-demo")
    assert "the clients are simulated" not in client.get("/").text
    settings.FRONTDESK_DEMO = True
    assert "Demo: the clients are simulated" in client.get("/").text


def test_the_stand_ins_never_load_in_a_normal_run():
    """``frontdesk run``'s imports (settings, URLs, the ASGI app, the worker and its tasks)
    load no stand-in, no demo code and nothing from tests/."""
    import subprocess
    import sys

    probe = (
        "import sys, django, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'frontdesk.settings');"
        "django.setup();"
        "import frontdesk.urls, frontdesk.asgi;"
        "from frontdesk.ops.management.commands import run, _serve;"
        "from django.utils.module_loading import autodiscover_modules;"
        "autodiscover_modules('tasks');"
        "from frontdesk.connectors.registry import CONNECTORS;"
        "from django.urls import resolve; resolve('/');"
        "bad = sorted(m for m in sys.modules if m.startswith(('frontdesk.ops.demo', 'tests')));"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
