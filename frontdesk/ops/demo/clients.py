"""Simulated clients for ``frontdesk demo``: everything reaches the running app over HTTP
(or IMAP) the way the providers deliver it, into the real webhook door and mailbox sync.

- A WhatsApp reply is delivered, then read (Meta's status webhooks), then answered.
- A LinkedIn or WhatsApp-by-QR reply is read (Unipile's ``message.receipt.read``), then
  answered (``message.new``).
- A mail sent through the demo's SMTP server is answered by mail, quoting it.
- A website chat reply (the API channel) is delivered, then read, then answered, through
  the API channel's own door (``/api/v1/channels/{id}/statuses`` and ``/messages``).
- Every ``every`` seconds a new client writes, on each channel in turn.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from frontdesk.ops.demo.world import ACCOUNTS, World

log = logging.getLogger("frontdesk.demo")

ANSWERS = [
    (("price", "cost", "quote", "budget", "€", "$"), "That works for us. Can you send a formal quote?"),
    (("call", "meet", "monday", "tuesday", "wednesday", "thursday", "friday", "tomorrow", "week"),
     "Perfect, that time works for me. Talk then!"),
    (("invoice", "payment", "pay"), "Thanks, I'll forward it to our accountant."),
    (("?",), "Good question. Let me check with my team and come back to you."),
    (("thank", "thanks"), "You're welcome!"),
]  # fmt: skip
DEFAULT_ANSWERS = [
    "Great, thank you!",
    "Sounds good to me.",
    "Thanks, that helps a lot.",
    "Brilliant, let's do it.",
]
NEWCOMERS = [
    ("Zoe Martins", "Hi! Do you build online shops too?"),
    ("Omar Haddad", "Hello, what would a one-page site for a dentist cost?"),
    ("Lena Fischer", "Hi there, is your studio taking on new clients this month?"),
    ("Carlos Ruiz", "Hey, a friend recommended you. Can we have a quick call this week?"),
    ("Ingrid Olsen", "Hello! Our booking form stopped working, can you help?"),
    ("Kenji Watanabe", "Hi, do you offer website maintenance plans?"),
    ("Amelia Scott", "Good morning! Could you redesign our newsletter template?"),
    ("Yusuf Demir", "Hi, I'd like a quote for a portfolio site."),
]


def answer_to(text: str, rng: random.Random) -> str:
    lowered = text.lower()
    for words, answer in ANSWERS:
        if any(w in lowered for w in words):
            return answer
    return rng.choice(DEFAULT_ANSWERS)


class Clients:
    def __init__(self, world: World, every: float = 60.0, delay: float = 1.0) -> None:
        """``delay`` scales the pauses (ticks after ~1.5 s and ~3.5 s, answers after ~7 s)."""
        self.world, self.every, self.delay = world, every, delay
        self.rng = random.Random()
        self.stopped = threading.Event()
        self.newcomers = itertools.cycle(NEWCOMERS)
        self.turns = itertools.cycle(["whatsapp", "linkedin", "email", "website", "whatsapp_qr"])
        self.count = itertools.count(1)
        self.website: tuple[int, str] | None = None  # the API channel: its id and secret

    def start(self) -> None:
        self.world.graph.on_sent = self.on_whatsapp_sent
        self.world.unipile.before_answer = self.on_unipile_request
        if self.world.smtp is not None:
            self.world.smtp.on_mail = self.on_mail
        if self.every > 0:
            threading.Thread(target=self._newcomers, name="demo-newcomers", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        self.world.graph.on_sent = None
        self.world.unipile.before_answer = None

    def later(self, seconds: float, action: Callable[[], Any]) -> None:
        def run() -> None:
            if self.stopped.is_set():
                return
            try:
                action()
            except Exception:  # a demo client never takes the demo down
                log.exception("a simulated client failed")

        timer = threading.Timer(seconds * self.delay, run)
        timer.daemon = True
        timer.start()

    # --- WhatsApp (Cloud API) ----------------------------------------------------------
    def on_whatsapp_sent(self, body: dict[str, Any], wamid: str) -> None:
        to = str(body.get("to", "")).lstrip("+")
        graph = self.world.graph

        def tick(status: str) -> Callable[[], Any]:
            return lambda: self.world.post_whatsapp(
                graph.webhook(statuses=[graph.status(wamid, status, to)])
            )

        self.later(1.5, tick("delivered"))
        self.later(3.5, tick("read"))
        text = str((body.get("text") or {}).get("body") or "")
        name = self.world.names.get(to, "Client")
        self.later(7, lambda: self.world.whatsapp_in(to, name, "text", answer_to(text, self.rng)))

    # --- Unipile (LinkedIn, WhatsApp by QR) --------------------------------------------
    def on_unipile_request(self, request: Any, status: int, payload: Any) -> None:
        path = request.path.rstrip("/").split("/")
        if request.method != "POST" or status != 200 or path[-2:] != ["messages", "send"]:
            return
        account_id, chat_id = path[2], path[4]
        chat = self.world.unipile.chats.get(chat_id)
        if chat is None:
            return
        handle = chat["attendee_provider_id"]
        sent_id = payload.get("message_id") if isinstance(payload, dict) else None
        if isinstance(sent_id, str):
            peer = self.world.unipile
            self.later(
                3,
                lambda: peer.deliver_v2(
                    peer.v2_event("message.receipt.read", account_id, {"message_id": sent_id})
                ),
            )
        text = request.form.get("text", "")
        name = self.world.names.get(handle, chat.get("name") or "Client")
        self.later(
            7, lambda: self.world.unipile_in(account_id, handle, name, answer_to(text, self.rng))
        )

    # --- the website chat (API channel) -----------------------------------------------
    def on_website_reply(self, body: dict[str, Any], given_id: str) -> None:
        """The receiver acknowledged a reply (``given_id``): the visitor's widget shows it
        delivered, then read, and the visitor answers."""
        channel = self.website
        if channel is None:
            return
        handle = str((body.get("to") or {}).get("handle") or "")
        text = str(body.get("text") or "")

        def tick(status: str) -> Callable[[], Any]:
            return lambda: self.world.website_post(
                channel, "statuses", {"id": given_id, "status": status}
            )

        self.later(1.5, tick("delivered"))
        self.later(3.5, tick("read"))
        if handle:
            answer = answer_to(text, self.rng)
            self.later(7, lambda: self.world.website_in(channel, handle, "", answer))

    # --- the mailbox ---------------------------------------------------------------------
    def on_mail(self, sender: str, recipients: list[str], mail: EmailMessage) -> None:
        if not recipients:
            return
        address = recipients[0]
        body = mail.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        name = self.world.names.get(address) or address.split("@")[0].replace(".", " ").title()
        subject = str(mail["Subject"] or "")
        reply = f"Hi,\n\n{answer_to(text, self.rng)}\n\nBest,\n{name.split(' ')[0]}"
        self.later(
            8,
            lambda: self.world.mail_in(
                (name, address),
                subject if subject.lower().startswith("re:") else f"Re: {subject}",
                reply,
                reply_to=mail,
                quoted=text,
            ),
        )

    # --- someone new writes -----------------------------------------------------------------
    def _newcomers(self) -> None:
        while not self.stopped.wait(self.every * self.rng.uniform(0.8, 1.2)):
            try:
                self.newcomer()
            except Exception:
                log.exception("a new simulated client failed")

    def newcomer(self, channel: str | None = None) -> str:
        name, text = next(self.newcomers)
        n = next(self.count)
        channel = channel or next(self.turns)
        if (channel == "email" and self.world.dovecot is None) or (
            channel == "website" and self.website is None
        ):
            channel = "whatsapp"
        if channel == "website" and self.website is not None:
            handle = f"visitor-{self.rng.randrange(10**5, 10**6)}"
            self.world.website_in(self.website, handle, name, text)
        elif channel == "whatsapp":
            self.world.whatsapp_in(f"4915{self.rng.randrange(10**8, 10**9)}", name, "text", text)
        elif channel == "email":
            user = name.lower().replace(" ", ".")
            self.world.mail_in((name, f"{user}@example.org"), "Hello Northwind", text)
        else:
            network = "linkedin" if channel == "linkedin" else "whatsapp"
            handle = f"new-{network}-{n}-{self.rng.randrange(10**6)}"
            if network == "whatsapp":
                handle = f"4477009{self.rng.randrange(10**5, 10**6)}"
            self.world.unipile_in(ACCOUNTS[network], handle, name, text)
        return channel
