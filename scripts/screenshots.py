#!/usr/bin/env python
"""Regenerate docs/screenshots/: the main screens of the inbox, from demo data.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Seeds a throwaway data dir with `frontdesk demo --seed-only`, adds an email and a WhatsApp
conversation (HTML email, attachments, delivery states), serves it with `frontdesk demo`
and drives Debian's Chromium (/usr/bin/chromium) through Playwright.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.live import base_env, cli, free_port, running, wait_until_up  # noqa: E402


def chart_png() -> bytes:
    """A small real PNG (a bar chart) for the image-attachment thumbnail."""
    import struct
    import zlib

    width, height = 240, 150
    rows = []
    bars = [(20, 60), (70, 100), (120, 40), (170, 120)]
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            colour = (248, 250, 252)
            for left, h in bars:
                if left <= x < left + 36 and y >= height - h - 10 and y < height - 10:
                    colour = (79, 70, 229)
            row += bytes(colour)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


EMAIL_HTML = """
<p>Hi Dana,</p>
<p>Following up on our call: attached is the <b>Q1 traffic report</b> and the signed
proposal. Two things we'd love your take on:</p>
<ol><li>Moving the booking widget above the fold</li><li>A German version of the site</li></ol>
<p><img src="https://tracker.example.net/open.gif" width="1" height="1" alt=""></p>
<p>Best,<br>Olivia<br><span style="color:#6b7280">Brightside Dental · +1 555 0142</span></p>
<blockquote>On Mon, Dana Reyes wrote:<br>Happy to help with the March refresh!</blockquote>
"""


def seed_extra() -> None:
    """Email and WhatsApp conversations on top of the demo, through the real write paths."""
    import django

    django.setup()
    from django.utils import timezone

    from frontdesk.connectors.base import InboundAttachment, InboundMessage, StatusUpdate
    from frontdesk.ops.demo.seed import DEMO_SLUG
    from frontdesk.inbox.actions.ingest import ingest, ingest_status
    from frontdesk.inbox.actions.send import queue_reply
    from frontdesk.inbox.models import ChannelAccount, ChannelStatus, Message
    from frontdesk.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug=DEMO_SLUG)
    owner = workspace.memberships.get(role="owner").user
    now = timezone.now()
    mailbox = ChannelAccount.objects.create(
        workspace=workspace,
        kind="email",
        provider="imap",
        name="hello@northwind.studio",
        config={"address": "hello@northwind.studio"},
        last_synced_at=now - timedelta(minutes=1),
    )
    whatsapp = ChannelAccount.objects.create(
        workspace=workspace,
        kind="whatsapp",
        provider="whatsapp_cloud",
        name="WhatsApp +1 555 0100",
        config={"phone_number_id": "demo"},
        status=ChannelStatus.ERROR,
        last_error="Graph API: (#131005) Access denied — the access token has expired.",
        last_synced_at=now - timedelta(hours=2),
    )
    email = ingest(
        mailbox,
        InboundMessage(
            provider_id="<q1-report@brightside.example>",
            handle="olivia@brightside.example",
            contact_name="Olivia Martin",
            subject="Q1 report and signed proposal",
            text="Hi Dana, following up on our call...",
            html=EMAIL_HTML,
            sent_at=now - timedelta(minutes=3),
            attachments=[
                InboundAttachment("q1-traffic.png", "image/png", chart_png()),
                InboundAttachment(
                    "proposal-signed.pdf", "application/pdf", b"%PDF-1.4\n" + b"0" * 182_000
                ),
            ],
        ),
    )
    assert email.created
    chat = [
        ("in", "Hola! Is the spring workshop still on? 🌸", 50),
        ("in", "I'd like to bring a friend", 49),
    ]
    for n, (_, text, minutes) in enumerate(chat):
        result = ingest(
            whatsapp,
            InboundMessage(
                provider_id=f"wamid.demo{n}",
                handle="+34600111222",
                contact_name="Mateo García",
                text=text,
                sent_at=now - timedelta(minutes=minutes),
            ),
        )
    conversation = result.conversation
    for text, status, error in [
        ("Yes! Saturday 10:00 at the studio. Your friend is welcome.", "read", ""),
        (
            "Here is the address: Calle Mayor 12, Madrid",
            "failed",
            "(#131047) Re-engagement message: more than 24 hours have passed since the customer last replied.",
        ),
    ]:
        message = queue_reply(owner, conversation, text)
        Message.objects.filter(pk=message.pk).update(
            provider_id=f"wamid.out{message.pk}", status="sent", next_attempt_at=None
        )
        ingest_status(
            whatsapp, StatusUpdate(provider_id=f"wamid.out{message.pk}", status=status, error=error)
        )
    ingest(
        whatsapp,
        InboundMessage(
            provider_id="wamid.demo-photo",
            handle="+34600111222",
            text="This is the bike I'll bring",
            attachments=[InboundAttachment("photo.png", "image/png", chart_png())],
        ),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data = Path(tempfile.mkdtemp(prefix="frontdesk-shots-"))
    env = base_env(data)
    os.environ.update(
        {"FRONTDESK_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "frontdesk.settings"}
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    cli(env, "demo", "--seed-only")
    seed_extra()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(env, ["demo", "--port", str(port)]) as procs:
        wait_until_up(base, procs)
        shoot(base, out)
    print(f"screenshots in {out}")
    return 0


def shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from frontdesk.ops.demo.seed import DEMO_EMAIL, DEMO_PASSWORD
    from frontdesk.inbox.models import Conversation

    email_conv = Conversation.objects.get(channel__provider="imap")
    wa_conv = Conversation.objects.get(channel__provider="whatsapp_cloud")

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            for name, viewport in [
                ("desktop", {"width": 1440, "height": 900}),
                ("phone", {"width": 390, "height": 844}),
            ]:
                context = browser.new_context(
                    viewport=viewport, device_scale_factor=1 if name == "desktop" else 2
                )
                page = context.new_page()
                page.goto(f"{base}/login/")
                if name == "desktop":
                    page.screenshot(path=str(out / "login.png"))
                page.fill("#id_username", DEMO_EMAIL)
                page.fill("#id_password", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")
                page.wait_for_timeout(300)
                if name == "phone":
                    page.screenshot(path=str(out / "phone-list.png"))
                    page.goto(f"{base}/c/{wa_conv.pk}/")
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(out / "phone-thread.png"))
                    context.close()
                    continue
                page.screenshot(path=str(out / "inbox.png"))
                page.goto(f"{base}/c/{email_conv.pk}/")
                page.wait_for_timeout(800)
                page.screenshot(path=str(out / "email-thread.png"))
                page.goto(f"{base}/c/{wa_conv.pk}/")
                page.wait_for_timeout(500)
                page.check("input[name=mode][value=note]")
                page.fill("#reply-text", "Mateo is a regular: offer the early-bird price")
                page.screenshot(path=str(out / "whatsapp-thread.png"))
                page.goto(f"{base}/?status=all&sort=newest")
                page.locator("#rows .row").nth(3).click()
                page.wait_for_timeout(500)
                page.click("summary:has-text('Snooze')")
                page.screenshot(path=str(out / "snooze-menu.png"))
                page.keyboard.press("Escape")
                page.goto(f"{base}/")
                page.keyboard.press("?")
                page.wait_for_timeout(200)
                page.screenshot(path=str(out / "shortcuts.png"))
                page.goto(f"{base}/apps/")
                page.screenshot(path=str(out / "apps.png"))
                page.goto(f"{base}/settings/")
                page.screenshot(path=str(out / "settings.png"))
                context.close()
        finally:
            browser.close()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
