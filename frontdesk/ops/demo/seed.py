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
from frontdesk.inbox.actions.send import add_note, queue_reply
from frontdesk.inbox.models import ChannelAccount, Contact, Conversation
from frontdesk.workspaces.models import Membership, Role, Workspace
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

# Deals made straight from a contact (title, client, stage, value in EUR, what else): the
# stage a won or lost deal was moved from, its owner, priority, lost reason, days untouched,
# days to its expected close.
DEALS: list[tuple[str, str, str, str, dict]] = [
    (
        "García Bikes: online shop",
        "Mateo García",
        "Proposal sent",
        "9800",
        {"priority": "high", "closes_in": 10},
    ),
    ("Atelier Chloé: brand site", "Chloé Dubois", "Negotiation", "7400", {"idle_days": 12}),
    (
        "Northside Gym: class booking",
        "Ava Johnson",
        "Contact made",
        "5200",
        {"owner": "Priya Natarajan", "closes_in": 30},
    ),
    ("O'Brien Law: privacy pages", "Liam O'Brien", "Won", "1800", {"from": "Negotiation"}),
    (
        "Kita Sonnenschein: parent portal",
        "Emma Schmidt",
        "Lost",
        "15000",
        {"from": "Proposal sent", "lost_reason": "Went with a bigger agency"},
    ),
]

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
                    delivery="read",
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


# --- the connected channels (``frontdesk demo``: through the stand-ins of ``world.py``) ----
WHATSAPP: list[tuple[str, str, list[tuple[int, str, str, str | None]], str]] = [
    # wa_id, name, [(minutes ago, kind, text, file)], what happens next
    ("447700900101", "Grace Kim", [(14, "image", "Our shop front, as promised", "shop"),
                                   (12, "text", "Can the new site use these colours?", None)], "sam"),
    ("351912345678", "Tomás Silva", [(26, "audio", "", "voice"),
                                     (25, "text", "Sorry for the voice note: can we push the launch to Friday?", None)], ""),
    ("212600112233", "Fatima Zahra", [(65, "document", "Signed contract attached", "contract")], "priya"),
    ("14155550134", "Ben Carter", [(130, "text", "Do you do logo design as well?", None)], "lead"),
    ("85291234567", "Mia Wong", [(300, "text", "Thanks for the fast fix, all good now!", None)], "resolved"),
    ("4790012345", "Jonas Berg", [(1250, "text", "Can I call you tomorrow at 10?", None)], "snoozed"),
    ("48501234567", "Elena Petrova", [(41, "image", "Option A for the hero image", "hero-a"),
                                      (40, "image", "Option B. Which one do you prefer?", "hero-b")], ""),
    ("233201234567", "Kwame Mensah", [(3, "text", "Hello, is this Northwind Studio? I need a website for my restaurant.", None)], ""),
]  # fmt: skip
WHATSAPP_REPLIES = {  # replies already sent, then delivered and read
    "Fatima Zahra": "Got it, thank you! We start on Monday.",
    "Mia Wong": "Glad to hear it, Mia!",
}
LINKEDIN = [
    ("li-laura-chen", "Laura Chen", "Head of Marketing at Finch Analytics",
     [(95, "Hi Dana, loved the Brightside case study. Could we talk about a redesign for Finch?", False),
      (80, "Thanks Laura! Happy to. Does Wednesday work?", True),
      (31, "Wednesday 2pm is perfect. Here is our brief.", False)], 2),
    ("li-marco-ricci", "Marco Ricci", "Founder, Ricci Wines",
     [(185, "Are you taking on new projects in Q1?", False)], None),
    ("li-david-park", "David Park", "CTO at Loop Health",
     [(370, "We need to move our marketing site off Webflow. Budget is around 20k. Interested?", False)], None),
    ("li-sarah-oneil", "Sarah O'Neil", "Talent Partner at Brightwork",
     [(1500, "Hi Dana, are you open to freelance collaborations this spring?", False)], None),
    ("li-nina-hoffmann", "Nina Hoffmann", "Product Designer",
     [(2900, "Thanks for connecting! Your portfolio is lovely.", False)], None),
]  # fmt: skip
WHATSAPP_QR = [
    ("351961112223", "Pedro Alves", [(16, "Olá! Is the workshop still on for Saturday?", False)], None),
    ("2348031234567", "Aisha Bello", [(52, "I sent the payment this morning", False),
                                      (47, "Received, thank you Aisha!", True)], None),
    ("4520123456", "Henrik Larsen", [(190, "Our new office is ready, have a look!", False)], 0),
    ("447700900177", "Lucy Turner", [(1440, "Could you resend last month's invoice?", False)], None),
]  # fmt: skip


def seed_channels(workspace: Workspace, world) -> dict[str, ChannelAccount | None]:
    """Connect WhatsApp, LinkedIn, WhatsApp by QR code and the mailbox through their connect
    pages, and bring their first clients in as the providers would."""
    from frontdesk.inbox.outbox import deliver
    from frontdesk.ops.demo import media
    from frontdesk.ops.demo.world import MAILBOX

    owner = Membership.objects.get(workspace=workspace, role=Role.OWNER).user
    admin = world.admin(owner)
    files = {
        "shop": (media.png(hue=0), "image/png", "shop.png"),
        "hero-a": (media.png(hue=1), "image/png", "hero-a.png"),
        "hero-b": (media.png(hue=2), "image/png", "hero-b.png"),
        "voice": (media.voice_note(), "audio/ogg; codecs=opus", "voice.ogg"),
        "contract": (
            media.pdf("Service agreement", ["Northwind Studio x Zahra Atelier", "Signed."]),
            "application/pdf",
            "signed-contract.pdf",
        ),
    }
    channels: dict[str, ChannelAccount | None] = {}
    channels["whatsapp"] = wa = world.connect_whatsapp(admin)
    for wa_id, name, lines, _ in WHATSAPP:
        for minutes_ago, kind, text, file in lines:
            world.whatsapp_in(wa_id, name, kind, text, minutes_ago, admin, files.get(file or ""))
    members = {
        m.user.email.split("@")[0]: m.user for m in Membership.objects.filter(workspace=workspace)
    }
    for wa_id, name, _, then in WHATSAPP:
        conversation = Conversation.objects.filter(
            channel=wa, contact__handles__value=f"+{wa_id}"
        ).first()
        if conversation is None:
            continue  # its media is still being fetched: it arrives through the worker
        if name in WHATSAPP_REPLIES:
            sent = queue_reply(owner, conversation, WHATSAPP_REPLIES[name])
            deliver(sent.pk)
            sent.refresh_from_db()
            for status in ("delivered", "read"):
                world.post_whatsapp(
                    world.graph.webhook(
                        statuses=[world.graph.status(sent.provider_id, status, wa_id)]
                    ),
                    admin,
                )
        if then in members:
            assign(owner, conversation, members[then])
        elif then == "lead":
            convert_to_lead(workspace.pk, conversation.pk, owner)
        elif then == "resolved":
            set_status(owner, conversation, "resolved")
        elif then == "snoozed":
            set_status(owner, conversation, "snoozed", timezone.now() + timedelta(hours=20))

    brief = media.pdf(
        "Finch Analytics: website brief", ["Goals: more demo requests", "Launch: May"]
    )
    photo = media.png(hue=1)
    linkedin_chats = [
        {
            "handle": handle,
            "name": name,
            "headline": headline,
            "lines": lines,
            "files": [(at, ("finch-brief.pdf", "application/pdf", brief))]
            if at is not None
            else [],
        }
        for handle, name, headline, lines, at in LINKEDIN
    ]
    channels["linkedin"] = world.connect_unipile(admin, "linkedin", linkedin_chats)
    qr_chats = [
        {
            "handle": handle,
            "name": name,
            "lines": lines,
            "files": [(at, ("office.png", "image/png", photo))] if at is not None else [],
        }
        for handle, name, lines, at in WHATSAPP_QR
    ]
    channels["whatsapp_qr"] = world.connect_unipile(admin, "whatsapp", qr_chats)

    if world.dovecot is not None:
        fox = ("Robert Fox", "robert@foxandco.example")
        us = ("Dana Reyes", MAILBOX)
        first = world.mail_in(
            fox,
            "Website for Fox & Co",
            "Hello,\n\nWe are a small architecture practice and our website is ten years old."
            "\nCould you send us a proposal for a new one?\n\nBest,\nRobert",
            minutes_ago=2900,
        )
        answer_text = (
            "Hi Robert,\n\nThanks for thinking of us! Two questions before the proposal:\n"
            "1. How many projects would you like to show?\n2. Do you need it in French too?\n\n"
            "Dana"
        )
        ours = world.mail_in(
            us, "Re: Website for Fox & Co", answer_text, 2700, first, "Sent", to=fox
        )
        world.mail_in(
            fox,
            "Re: Website for Fox & Co",
            "Hi Dana,\n\nAbout 20 projects, and yes, French would be great.\n\nRobert",
            minutes_ago=180,
            reply_to=ours,
            quoted=answer_text,
        )
        world.mail_in(
            ("Julia Novak", "julia@novak.example"),
            "Invoice 2026-118",
            "Hi,\n\nCould you add our VAT number to invoice 2026-118? It is CZ12345678.\n\n"
            "Thanks,\nJulia",
            minutes_ago=310,
        )
        world.mail_in(
            ("Ahmed Khan", "ahmed@khanprint.example"),
            "Partnership idea",
            "Hello Northwind team,\n\nWe print for a lot of small brands and often get asked "
            "for a website designer. Would you be open to referrals?\n\nAhmed",
            minutes_ago=1500,
        )
        channels["email"] = world.connect_email(admin)
    return channels


def seed_crm_extras(workspace: Workspace) -> None:
    """Follow-ups due today, a deal from a lead, and deals across the pipeline's stages (one
    stale, one high priority, one won this month, one lost with its reason), on the seeded
    clients: the deals board of the tour is a working one."""
    from frontdesk.crm.actions.deals import convert_lead, create_deal, move_deal
    from frontdesk.crm.actions.followups import create_followup
    from frontdesk.crm.actions.pipelines import workspace_pipelines

    owner = Membership.objects.get(workspace=workspace, role=Role.OWNER).user
    now = timezone.now()
    leads = list(Lead.objects.filter(workspace=workspace).order_by("pk"))
    notes = ["Call back about the booking page", "Send the sandbox credentials"]
    for lead, note, hours in zip(leads[:2], notes, (1, 3), strict=False):
        create_followup(workspace.pk, owner, now + timedelta(hours=hours), note, lead_id=lead.pk)
    open_leads = [lead for lead in leads if lead.stage == "contacted"]
    if open_leads:
        convert_lead(workspace.pk, open_leads[0].pk, owner, title="Okafor Logistics: API portal")
    stages = {stage.name: stage for stage in workspace_pipelines(workspace.pk)[0].stages.all()}
    contacts = {c.name: c for c in Contact.objects.filter(workspace=workspace)}
    members = {m.user.display_name: m.user for m in workspace.memberships.select_related("user")}
    for title, client, stage, value, extra in DEALS:
        contact = contacts.get(client)
        if contact is None or stage not in stages:
            continue
        by = members.get(extra.get("owner", ""), owner)
        deal = create_deal(
            workspace.pk,
            by,
            contact_id=contact.pk,
            title=title,
            stage_id=stages[extra.get("from", stage)].pk,
            value=value,
            priority=extra.get("priority", "medium"),
            expected_close_date=(
                timezone.localdate() + timedelta(days=extra["closes_in"])
                if "closes_in" in extra
                else None
            ),
        )
        if "from" in extra:  # won or lost: moved there, as a person would
            move_deal(workspace.pk, deal.pk, stages[stage].pk, by, extra.get("lost_reason", ""))
        if "idle_days" in extra:  # nobody has touched it since: the board flags it stale
            Deal.objects.filter(pk=deal.pk).update(
                updated_at=now - timedelta(days=extra["idle_days"])
            )
