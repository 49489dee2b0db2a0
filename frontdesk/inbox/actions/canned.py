"""Canned replies: the workspace's saved answers, and their variables filled in.

Variables (documented on Settings > Canned replies): ``{{contact.name}}``,
``{{contact.first_name}}``, ``{{contact.company}}``, ``{{agent.name}}``,
``{{agent.first_name}}``, ``{{workspace.name}}``. An unknown one stays as typed, so a typo
shows in the reply box before anything is sent.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import CannedReply, Conversation
from frontdesk.workspaces.models import User

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
TITLE_LIMIT = 120
TEXT_LIMIT = 5000
VARIABLES = (
    ("contact.name", "the client's name"),
    ("contact.first_name", "the client's first name"),
    ("contact.company", "the client's company"),
    ("agent.name", "your name"),
    ("agent.first_name", "your first name"),
    ("workspace.name", "the workspace's name"),
)
_VARIABLE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")


def _clean(shortcut: str, title: str, text: str) -> tuple[str, str, str]:
    shortcut = str(shortcut or "").strip().lstrip("/").lower()
    if not SHORTCUT.match(shortcut):
        raise ActionRefused(
            "a shortcut is 1 to 40 letters, digits, - or _ (no spaces), e.g. refund-policy"
        )
    title = " ".join(str(title or "").split())[:TITLE_LIMIT] or shortcut
    text = str(text or "").strip()
    if not text:
        raise ActionRefused("a canned reply needs its text")
    if len(text) > TEXT_LIMIT:
        raise ActionRefused(f"a canned reply's text is at most {TEXT_LIMIT:,} characters")
    return shortcut, title, text


def save_canned(
    workspace_id: int,
    shortcut: str,
    title: str,
    text: str,
    author: User | None = None,
    row: CannedReply | None = None,
) -> CannedReply:
    """A new canned reply, or ``row`` changed."""
    row = row or CannedReply(workspace_id=workspace_id, created_by=author)
    row.shortcut, row.title, row.text = _clean(shortcut, title, text)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise ActionRefused(f"the shortcut /{row.shortcut} is taken") from None
    return row


def delete_canned(row: CannedReply) -> None:
    row.delete()


def _first(name: str) -> str:
    return name.split()[0] if name.split() else ""


def values_for(conversation: Conversation, agent: User) -> dict[str, str]:
    contact = conversation.contact
    contact_name = contact.name or ""
    return {
        "contact.name": contact_name,
        "contact.first_name": _first(contact_name),
        "contact.company": contact.company or "",
        "agent.name": agent.display_name,
        "agent.first_name": _first(agent.display_name),
        "workspace.name": conversation.workspace.name,
    }


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each known ``{{variable}}`` replaced by its value."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)
