"""Demo data, written through the same actions the product uses (ingest, notes, assign)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from frontdesk.connectors.base import InboundMessage
from frontdesk.crm.actions.leads import change_stage, convert_to_lead, update_lead
from frontdesk.crm.models import Deal, Lead
from frontdesk.inbox.actions.conversation import assign, set_status
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.actions.send import add_note
from frontdesk.inbox.models import ChannelAccount, Contact
from frontdesk.workspaces.models import Role, Workspace
from frontdesk.workspaces.services import add_member, create_workspace

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "frontdesk-demo"

TEAM = [
    ("sam@example.com", "Sam Carter", Role.AGENT),
    ("priya@example.com", "Priya Natarajan", Role.ADMIN),
]

CLIENTS = [
    (
        "Olivia Martin",
        "Brightside Dental",
        [
            "Hi! Do you still have slots for a website refresh in March?",
            "We'd need a booking page too.",
        ],
    ),
    (
        "Lucas Bernard",
        "Bernard & Fils",
        ["Can you send the invoice for February again? The PDF didn't open."],
    ),
    (
        "Amara Okafor",
        "Okafor Logistics",
        ["Quick question about the API integration: is there a sandbox?"],
    ),
    ("Hiroshi Tanaka", "", ["Hello, I saw your post about the spring workshop. Is it in English?"]),
    (
        "Sofia Rossi",
        "Trattoria Rossi",
        ["The new menu page looks great!", "One typo though: 'tiramisu' is spelled wrong."],
    ),
    (
        "Noah Williams",
        "Williams Carpentry",
        ["I'd like a quote for 3 landing pages.", "Budget is around 4k."],
    ),
    (
        "Emma Schmidt",
        "Kita Sonnenschein",
        ["Our contact form stopped sending emails since yesterday."],
    ),
    ("Mateo García", "García Bikes", ["Are you open on Saturdays?"]),
    ("Chloé Dubois", "Atelier Chloé", ["Thanks for the call today. Sending the brand assets now."]),
    ("Ava Johnson", "Northside Gym", ["Can we move our meeting to Thursday 3pm?"]),
    ("Liam O'Brien", "O'Brien Law", ["We need to update our privacy policy page, urgent-ish."]),
    ("Yuki Sato", "", ["Is the price on your site per month or per year?"]),
]

# Conversations that became leads: client index -> (stage, value in EUR).
LEADS = {
    0: ("working", "6500"),
    2: ("contacted", "12000"),
    5: ("new", "4000"),
    8: ("converted", "3200"),
}

REPLIES = [
    "Thanks for reaching out! I'll check and get back to you today.",
    "Sure, sending it over in a minute.",
    "Good catch, fixed it. Thanks!",
    "Yes, we can do that. Does next week work for you?",
]


@transaction.atomic
def reset_demo() -> None:
    """Delete the demo workspace and everything in it (``seed_demo`` then starts over)."""
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is None:
        return
    # deals hold on to their stages and contacts, leads to their contacts: those go first
    Deal.objects.filter(workspace=workspace).delete()
    Lead.objects.filter(workspace=workspace).delete()
    workspace.delete()


@transaction.atomic
def seed_demo() -> Workspace:
    """Create the demo workspace once; later calls return it unchanged."""
    existing = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if existing:
        return existing
    workspace, owner = create_workspace(
        "Northwind Studio", DEMO_EMAIL, DEMO_PASSWORD, slug=DEMO_SLUG
    )
    owner.user.name = "Dana Reyes"
    owner.user.save(update_fields=["name"])
    members = [owner.user] + [
        add_member(workspace, email, DEMO_PASSWORD, role=role, name=name).user
        for email, name, role in TEAM
    ]
    channel = ChannelAccount(
        workspace=workspace,
        kind="api",
        provider="api",
        name="Website chat",
        config={"callback_url": "http://127.0.0.1:9/"},
    )
    channel.credentials = {"secret": "demo-" + workspace.slug}
    channel.save()

    rng = random.Random(7)
    now = timezone.now()
    for index, (name, company, lines) in enumerate(CLIENTS):
        start = now - timedelta(hours=index * 5 + rng.randint(0, 4), minutes=rng.randint(0, 59))
        handle = f"visitor-{1000 + index}"
        result = None
        for n, line in enumerate(lines):
            result = ingest(
                channel,
                InboundMessage(
                    provider_id=f"demo-in-{index}-{n}",
                    handle=handle,
                    contact_name=name,
                    text=line,
                    sent_at=start + timedelta(minutes=n * 2),
                ),
            )
        assert result is not None
        conversation = result.conversation
        Contact.objects.filter(pk=conversation.contact_id).update(company=company)
        if index % 3 == 1:
            ingest(
                channel,
                InboundMessage(
                    provider_id=f"demo-out-{index}",
                    handle=handle,
                    text=REPLIES[index % len(REPLIES)],
                    outbound=True,
                    sent_at=start + timedelta(minutes=20),
                ),
            )
        if index % 4 == 0:
            assign(owner.user, conversation, members[index % len(members)])
        if index % 5 == 2:
            add_note(
                members[1], conversation, "Existing client since 2023, invoices go to accounting@."
            )
        if index in (7, 10):
            set_status(owner.user, conversation, "resolved")
        if index == 9:
            set_status(owner.user, conversation, "snoozed", now + timedelta(days=1))
        if index in LEADS:
            stage, value = LEADS[index]
            lead = convert_to_lead(workspace.pk, conversation.pk, owner.user).lead
            update_lead(workspace.pk, lead.pk, owner.user, value=value)
            change_stage(workspace.pk, lead.pk, stage, owner.user)
    return workspace


def point_demo_channels(workspace: Workspace, callback_url: str) -> None:
    """Aim the demo API channel at this run's local receiver."""
    for channel in ChannelAccount.objects.filter(workspace=workspace, provider="api"):
        channel.config = {**channel.config, "callback_url": callback_url}
        channel.save(update_fields=["config"])
