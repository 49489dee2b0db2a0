"""`frontdesk demo`: believable seeded data, and replies that really leave and turn sent."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

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
    load no stand-in, no demo code and nothing from tests/ or a provider's tests/."""
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
        "bad = sorted(m for m in sys.modules if m.startswith(('frontdesk.ops.demo', 'tests'))"
        " or m.startswith('frontdesk.connectors.') and '.tests' in m);"
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"


def test_the_demo_connects_each_channel_through_its_connect_page_and_fills_it(
    db, settings, drain_queue, django_capture_on_commit_callbacks
):
    """WhatsApp (Cloud API), LinkedIn and WhatsApp by QR code (Unipile) and a mailbox
    (Dovecot + SMTP) are connected through their connect pages against the stand-ins; their
    clients come in through the webhook door, the backfill and the mailbox sync."""
    from frontdesk.crm.models import Deal, FollowUp, Lead
    from frontdesk.inbox.models import Attachment
    from frontdesk.ops.demo.seed import seed_channels, seed_crm_extras
    from frontdesk.ops.demo.world import World

    settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES = True
    world = World.start()
    try:
        workspace = seed_demo()
        with django_capture_on_commit_callbacks(execute=True):
            channels = seed_channels(workspace, world)
        for _ in range(3):  # media fetches, the backfills, the mailbox's first sync
            drain_queue()
        seed_crm_extras(workspace)
    finally:
        world.close()
    assert set(channels) == {"whatsapp", "linkedin", "whatsapp_qr", "email"}
    listed = ChannelAccount.objects.filter(workspace=workspace)
    assert {(c.provider, c.kind, c.status) for c in listed} == {
        ("api", "api", "connected"),
        ("whatsapp_cloud", "whatsapp", "connected"),
        ("unipile", "linkedin", "connected"),
        ("unipile", "whatsapp", "connected"),
        ("imap", "email", "connected"),
    }
    per_channel = {c.name: c.conversations.count() for c in listed}
    assert sum(per_channel.values()) >= 30 and min(per_channel.values()) >= 3, per_channel
    kinds = set(
        Attachment.objects.filter(message__conversation__workspace=workspace).values_list(
            "content_type", flat=True
        )
    )
    assert {"image/png", "application/pdf", "audio/ogg"} <= kinds
    thread = Conversation.objects.get(workspace=workspace, subject__contains="Fox & Co")
    mails = list(thread.messages.filter(kind="message").order_by("created_at"))
    assert len(mails) == 3
    assert "French would be great" in mails[-1].text and "> " not in mails[-1].text
    assert "<blockquote" in mails[-1].html  # the thread folds it
    assert "1. How many projects" in mails[-1].html
    statuses = set(
        Conversation.objects.filter(workspace=workspace).values_list("status", flat=True)
    )
    assert statuses == {"open", "resolved", "snoozed"}
    assert Lead.objects.filter(workspace=workspace).count() >= 5
    deals = {d.title: d for d in Deal.objects.filter(workspace=workspace).select_related("stage")}
    assert deals["Okafor Logistics: API portal"].lead_id  # converted from its lead
    assert deals["O'Brien Law: privacy pages"].status == "won"
    assert deals["O'Brien Law: privacy pages"].closed_at.date() == timezone.localdate()
    lost = deals["Kita Sonnenschein: parent portal"]
    assert (lost.status, lost.lost_reason) == ("lost", "Went with a bigger agency")
    assert deals["Atelier Chloé: brand site"].is_stale(timezone.now())
    assert deals["García Bikes: online shop"].priority == "high"
    assert len({d.stage.name for d in deals.values()}) == 6  # every stage of the pipeline
    today = timezone.localdate()
    assert FollowUp.objects.filter(workspace=workspace, due_at__date__gte=today).count() == 2
