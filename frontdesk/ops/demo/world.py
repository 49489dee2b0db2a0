"""The demo's outside world: local stand-ins for Meta's Graph API (WhatsApp Cloud), Unipile
(LinkedIn, and WhatsApp by QR code) and a mailbox (Dovecot for IMAP when it is installed,
with a small SMTP server beside it), and the demo's channels connected to them through the
product's own connect pages, as an admin would (``django.test.Client``, in this process).

The clients' first messages come in the way real ones do: signed webhooks into the webhook
door (WhatsApp), chats the connect-time backfill imports (Unipile) and mail in the mailbox
that the first sync imports (email).
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from frontdesk.inbox.models import ChannelAccount
from frontdesk.ops.demo.peers.dovecot import DOVECOT, Dovecot
from frontdesk.ops.demo.peers.graph import GraphPeer, sign
from frontdesk.ops.demo.peers.smtp_sink import SmtpSink
from frontdesk.ops.demo.peers.unipile import UnipilePeer
from frontdesk.workspaces.models import User

APP_SECRET = "demo-meta-app-secret"
VERIFY_TOKEN = "demo-verify-token"
UNIPILE_KEY = "demo-unipile-key"
MAILBOX = "hello@northwind.example"
ME = {"provider_id": "dana-reyes", "name": "Dana Reyes"}
ACCOUNTS = {"linkedin": "acc-demo-linkedin", "whatsapp": "acc-demo-whatsapp"}


class DemoError(RuntimeError):
    """A connect page refused a demo channel (the stand-ins and the app disagree)."""


@dataclass
class World:
    graph: GraphPeer
    unipile: UnipilePeer
    dovecot: Dovecot | None
    smtp: SmtpSink | None
    mail_login: tuple[str, str] = ("", "")
    names: dict[str, str] = field(default_factory=dict)  # a client's handle -> name
    sent: list[Any] = field(default_factory=list)

    @classmethod
    def start(cls) -> World:
        graph = GraphPeer(
            token="demo-graph-token",
            verified_name="Northwind Studio",
            display_phone_number="+1 555-010-0142",
        )
        unipile = UnipilePeer(api_key=UNIPILE_KEY, first_id=int(time.time()))  # new ids each run
        dovecot = smtp = None
        login = ("", "")
        if DOVECOT_PRESENT:
            dovecot = Dovecot()
            login = dovecot.add_user()
            smtp = SmtpSink(login[0], login[1], on_mail=lambda *a: None)
        return cls(graph, unipile, dovecot, smtp, login)

    def close(self) -> None:
        self.graph.close()
        self.unipile.close()
        if self.smtp is not None:
            self.smtp.close()
        if self.dovecot is not None:
            self.dovecot.close()

    def restore(self, workspace: Any) -> None:
        """The demo runs again on its kept data: its channels are pointed at this run's
        stand-ins, which learn the accounts and chats they knew (their state was in memory)."""
        from frontdesk.connectors.unipile.webhook import webhook_url

        for channel in ChannelAccount.objects.filter(workspace=workspace):
            config, credentials = dict(channel.config), channel.credentials
            # the clients' names, so their answers are signed as before (not "Client")
            for conversation in channel.conversations.select_related("contact"):
                for value in conversation.contact.handles.values_list("value", flat=True):
                    if conversation.contact.name:
                        self.names.setdefault(value.lstrip("+"), conversation.contact.name)
            if channel.provider == "whatsapp_cloud":
                config["graph_url"] = self.graph.url
            elif channel.provider == "unipile":
                config["dsn"] = self.unipile.dsn
                account_id = config.get("account_id", "")
                self.unipile.add_account(account_id, config.get("network", "linkedin"))
                token = credentials.get("webhook_token")
                if token and not any(
                    e["url"] == webhook_url(token) for e in self.unipile.endpoints
                ):
                    self.unipile.endpoints.append(
                        {
                            "url": webhook_url(token),
                            "trigger_events": ["message.new", "message.receipt.read"],
                            "account_ids": [],
                            "secret": "whsec_demo",
                        }
                    )
                for conversation in channel.conversations.select_related("contact"):
                    handle = conversation.contact.handles.values_list("value", flat=True).first()
                    if handle and conversation.thread_key not in self.unipile.chats:
                        name = conversation.contact.name
                        self.names[handle] = name
                        self.unipile.add_chat(
                            account_id,
                            ME,
                            {"provider_id": handle, "name": name},
                            minutes_ago=0,
                            chat_id=conversation.thread_key,
                        )
            elif channel.provider == "imap" and self.dovecot and self.smtp:
                config.update(
                    username=self.mail_login[0],
                    imap_host=self.dovecot.host,
                    imap_port=self.dovecot.port,
                    smtp_host=self.smtp.host,
                    smtp_port=self.smtp.port,
                )
                credentials["password"] = self.mail_login[1]
            channel.config, channel.credentials = config, credentials
            channel.save(update_fields=["config", "credentials_encrypted"])

    # --- the admin's browser, in this process ---------------------------------------------
    def admin(self, owner: User) -> Client:
        client = Client(HTTP_HOST=urlsplit(settings.BASE_URL).netloc)
        client.force_login(owner)
        return client

    # --- WhatsApp (Cloud API) ---------------------------------------------------------------
    def connect_whatsapp(self, client: Client) -> ChannelAccount:
        answer = client.post(
            reverse("whatsapp_cloud_connect"),
            {
                "name": "WhatsApp Business",
                "phone_number_id": self.graph.phone_number_id,
                "waba_id": self.graph.waba_id,
                "access_token": self.graph.token,
                "app_secret": APP_SECRET,
                "verify_token": VERIFY_TOKEN,
                "graph_url": self.graph.url,
                "mark_read": "on",
                "action": "save",
            },
        )
        _expect_redirect(answer, "WhatsApp")
        return ChannelAccount.objects.get(
            provider="whatsapp_cloud", config__phone_number_id=self.graph.phone_number_id
        )

    def whatsapp_in(
        self,
        wa_id: str,
        name: str,
        kind: str = "text",
        text: str = "",
        minutes_ago: float = 0,
        client: Client | None = None,
        data: tuple[bytes, str, str] | None = None,
    ) -> int:
        """A client's WhatsApp message, as Meta posts it (signed): the answer's status."""
        self.names[wa_id] = name
        item: dict[str, Any] = {
            "from": wa_id,
            "id": "wamid.demo" + hashlib.sha1(f"{wa_id}{time.time_ns()}".encode()).hexdigest(),  # noqa: S324
            "timestamp": str(int(time.time() - minutes_ago * 60)),
            "type": kind,
        }
        if kind == "text":
            item["text"] = {"body": text}
        elif data is not None:
            blob, mime, filename = data
            media_id = str(7000000000 + len(self.graph.media))
            found = self.graph.add_media(media_id, blob, mime)
            body: dict[str, Any] = {"id": media_id, "mime_type": mime, "sha256": found.sha256}
            if text:
                body["caption"] = text
            if kind == "document":
                body["filename"] = filename
            if kind == "audio":
                body["voice"] = True
            item[kind] = body
        payload = self.graph.webhook(
            messages=[item], contacts=[{"profile": {"name": name}, "wa_id": wa_id}]
        )
        return self.post_whatsapp(payload, client)

    def post_whatsapp(self, payload: dict[str, Any], client: Client | None = None) -> int:
        import json

        body = json.dumps(payload).encode()
        headers = {"X-Hub-Signature-256": sign(APP_SECRET, body)}
        if client is not None:
            return client.post(
                "/webhooks/whatsapp/", data=body, content_type="application/json", headers=headers
            ).status_code
        return self.graph.deliver(
            f"{settings.BASE_URL}/webhooks/whatsapp/", body, APP_SECRET
        ).status_code

    # --- Unipile: LinkedIn and WhatsApp by QR code ------------------------------------------
    def connect_unipile(
        self, client: Client, network: str, chats: list[dict[str, Any]]
    ) -> ChannelAccount:
        """Connect page -> Unipile's hosted wizard (approved) -> back to Frontdesk, with the
        account's ``chats`` waiting in Unipile for the backfill."""
        answer = client.post(
            reverse("unipile_connect"),
            {
                "network": network,
                "name": "LinkedIn" if network == "linkedin" else "WhatsApp (phone)",
                "dsn": self.unipile.dsn,
                "api_key": UNIPILE_KEY,
                "api_version": "v2",
            },
        )
        _expect_redirect(answer, f"Unipile {network}")
        where = answer["Location"]
        if not where.startswith(self.unipile.dsn):  # a hand-over page of the app's own first
            where = client.get(where).content.decode()
        found = re.search(re.escape(self.unipile.dsn) + r"/hosted/([\w-]+)", where)
        link = self.unipile.link(found.group(1)) if found else None
        if link is None:
            raise DemoError(f"Unipile {network}: no way to Unipile's page in {where[:300]!r}")
        self.unipile.next_account_id = ACCOUNTS[network]
        back = self.unipile.approve(link)  # the admin signed in (or scanned the QR code)
        for chat in chats:
            self.add_unipile_chat(ACCOUNTS[network], **chat)
        answer = client.get(back)
        _expect_redirect(answer, f"Unipile {network} (coming back)")
        return ChannelAccount.objects.get(provider="unipile", config__account_id=ACCOUNTS[network])

    def add_unipile_chat(
        self,
        account_id: str,
        handle: str,
        name: str,
        lines: list[tuple[float, str, bool]],
        headline: str = "",
        files: list[tuple[int, tuple[str, str, bytes]]] | None = None,
    ) -> str:
        """A chat with ``lines`` of (minutes ago, text, sent by us); ``files`` attaches a
        file to the line at that index."""
        self.names[handle] = name
        other = {"provider_id": handle, "name": name}
        if account_id == ACCOUNTS["linkedin"]:
            slug = name.lower().replace(" ", "-")
            other["profile_url"] = f"https://www.linkedin.com/in/{slug}/"
            first, _, last = name.partition(" ")
            self.unipile.profiles[handle] = {
                "provider_id": handle,
                "public_identifier": slug,
                "first_name": first,
                "last_name": last,
                "headline": headline,
                "location": "Remote",
            }
        chat_id = self.unipile.add_chat(
            account_id, ME, other, minutes_ago=lines[0][0] if lines else 0
        )
        attached = dict(files or [])
        for n, (minutes_ago, text, ours) in enumerate(lines):
            self.unipile.add_message(
                chat_id,
                ME["provider_id"] if ours else handle,
                text,
                minutes_ago=minutes_ago,
                is_sender=ours,
                seen=ours,  # the team's earlier replies were read
                attachments=[attached[n]] if n in attached else None,
            )
        return chat_id

    def unipile_in(self, account_id: str, handle: str, name: str, text: str) -> None:
        """A client writes on Unipile: the message, then Unipile's ``message.new`` event."""
        chat_id = next(
            (
                c["id"]
                for c in self.unipile.chats.values()
                if c["account_id"] == account_id and c["attendee_provider_id"] == handle
            ),
            None,
        ) or self.add_unipile_chat(account_id, handle, name, [])
        message = self.unipile.add_message(chat_id, handle, text, minutes_ago=0)
        self.unipile.deliver_v2(self.unipile.v2_message_event(message))

    # --- the website's chat widget (the API channel) ------------------------------------------
    def website_post(self, channel: tuple[int, str], what: str, payload: dict[str, Any]) -> int:
        """The widget's backend calls the API channel's door, with the channel's secret:
        ``what`` is "messages" (a visitor writes) or "statuses" (a reply's ticks)."""
        from frontdesk.ops.demo.peers.website import post_to_api_channel

        channel_id, secret = channel
        answer = post_to_api_channel(settings.BASE_URL, channel_id, secret, what, payload)
        if answer.status_code >= 400:
            raise DemoError(f"the API channel refused {what}: {answer.status_code} {answer.text}")
        return answer.status_code

    def website_in(self, channel: tuple[int, str], handle: str, name: str, text: str) -> int:
        """A visitor writes in the website chat."""
        stamp = hashlib.sha1(f"{handle}{time.time_ns()}".encode()).hexdigest()  # noqa: S324
        contact = {"handle": handle} | ({"name": name} if name else {})
        return self.website_post(
            channel, "messages", {"id": f"demo-web-{stamp}", "contact": contact, "text": text}
        )

    # --- the mailbox ------------------------------------------------------------------------
    def connect_email(self, client: Client) -> ChannelAccount | None:
        if self.dovecot is None or self.smtp is None:
            return None
        user, password = self.mail_login
        answer = client.post(
            reverse("email_connect_imap"),
            {
                "name": MAILBOX,
                "address": MAILBOX,
                "username": user,
                "password": password,
                "imap_host": self.dovecot.host,
                "imap_port": str(self.dovecot.port),
                "imap_security": "none",
                "smtp_host": self.smtp.host,
                "smtp_port": str(self.smtp.port),
                "smtp_security": "none",
                "backfill_days": "30",
                "action": "save",
            },
        )
        _expect_redirect(answer, "the mailbox")
        return ChannelAccount.objects.filter(provider="imap", config__address=MAILBOX).first()

    def mail_in(
        self,
        sender: tuple[str, str],
        subject: str,
        text: str,
        minutes_ago: float = 0,
        reply_to: EmailMessage | None = None,
        folder: str = "INBOX",
        to: tuple[str, str] | None = None,
        attachment: tuple[bytes, str, str] | None = None,
        quoted: str = "",
    ) -> EmailMessage:
        """Put a mail in the mailbox (IMAP APPEND): the sync (or IDLE) brings it in.
        ``quoted``: the text of ``reply_to``, quoted below the answer as mail programs do
        (``> `` lines, and a ``blockquote type=cite`` in the HTML part)."""
        from imapclient import IMAPClient

        self.names[sender[1]] = sender[0]
        mail = EmailMessage()
        mail["From"] = f"{sender[0]} <{sender[1]}>"
        to = to or ("Northwind Studio", MAILBOX)
        mail["To"] = f"{to[0]} <{to[1]}>"
        mail["Subject"] = subject
        mail["Date"] = format_datetime(timezone.now() - timedelta(minutes=minutes_ago))
        mail["Message-ID"] = make_msgid(domain=sender[1].split("@")[-1])
        if reply_to is not None:
            parent = str(reply_to["Message-ID"])
            mail["In-Reply-To"] = parent
            mail["References"] = f"{reply_to.get('References', '')} {parent}".strip()
        if quoted and reply_to is not None:
            who = str(reply_to["From"]).split("<")[0].strip() or "you"
            intro = f"On {reply_to['Date']}, {who} wrote:"
            mail.set_content(f"{text}\n\n{intro}\n{quote(quoted.strip())}\n")
            paragraphs = "".join(
                f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n")
            )
            cited = html.escape(quoted.strip()).replace("\n", "<br>")
            mail.add_alternative(
                f'<html><body>{paragraphs}<div class="moz-cite-prefix">{html.escape(intro)}'
                f'</div><blockquote type="cite">{cited}</blockquote></body></html>',
                subtype="html",
            )
        else:
            mail.set_content(text)
        if attachment is not None:
            blob, mime, filename = attachment
            main, _, sub = mime.partition("/")
            mail.add_attachment(blob, maintype=main, subtype=sub, filename=filename)
        if self.dovecot is None:
            return mail
        user, password = self.mail_login
        with IMAPClient(self.dovecot.host, port=self.dovecot.port, ssl=False, timeout=10) as imap:
            imap.login(user, password)
            imap.append(folder, mail.as_bytes(), flags=[b"\\Seen"] if folder != "INBOX" else [])
        return mail


DOVECOT_PRESENT = bool(shutil.which(DOVECOT))


def _expect_redirect(answer: Any, what: str) -> None:
    if answer.status_code not in (301, 302, 303):
        text = answer.content.decode(errors="replace")
        raise DemoError(f"connecting {what} failed ({answer.status_code}): {text[:600]}")


def quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
