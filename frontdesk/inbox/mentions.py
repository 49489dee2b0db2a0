"""@mentions in internal notes: which members a note names.

A mention is written as ``@`` and the member's display name (the reply box's picker
inserts exactly that). The note keeps the mentioned members as ``extra["mentions"]``
(``[{"id", "name"}]``, the name as written), which is what the thread highlights.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from frontdesk.workspaces.models import User

MENTIONS = "mentions"


class UnknownMember(ValueError):
    """A mentioned id that is not an active member of the workspace."""


def workspace_people(workspace_id: int) -> list[User]:
    return list(
        User.objects.filter(memberships__workspace_id=workspace_id, is_active=True).order_by(
            "name", "email"
        )
    )


def _pattern(name: str) -> re.Pattern[str]:
    # Not inside a word or an address ("ana@x.com"), and the whole name ("@Ana" is not
    # "@Anabel").
    return re.compile(r"(?<![\w@])@" + re.escape(name) + r"(?!\w)", re.IGNORECASE)


def mentioned_members(
    workspace_id: int, text: str, user_ids: Sequence[int] | None = None
) -> list[User]:
    """The members a note mentions: ``user_ids`` when given (each must be an active member
    of the workspace), else every member whose ``@Display Name`` is in the text."""
    people = workspace_people(workspace_id)
    if user_ids is not None:
        by_id = {u.pk: u for u in people}
        unknown = [i for i in user_ids if i not in by_id]
        if unknown:
            raise UnknownMember(
                f"not members of this workspace: {', '.join(str(i) for i in unknown)}"
            )
        return [by_id[i] for i in dict.fromkeys(user_ids)]
    found: list[User] = []
    rest = text
    # Longest names first, each match blanked out, so "@Ana Lima" is not also "@Ana".
    for person in sorted(people, key=lambda u: len(u.display_name), reverse=True):
        pattern = _pattern(person.display_name)
        if pattern.search(rest):
            found.append(person)
            rest = pattern.sub(" ", rest)
    return found


def stored(people: Sequence[User]) -> list[dict]:
    """What a note keeps of the members it mentions."""
    return [{"id": u.pk, "name": u.display_name} for u in people]


def spans(text: str, mentions: Sequence[dict]) -> list[tuple[str, int | None]]:
    """The text cut into pieces, each plain (``None``) or a mention of a member id."""
    names = sorted(
        ((str(m.get("name") or ""), m.get("id")) for m in mentions if m.get("name")),
        key=lambda item: len(item[0]),
        reverse=True,
    )
    if not names:
        return [(text, None)]
    alternatives = "|".join(re.escape(name) for name, _ in names)
    pattern = re.compile(r"(?<![\w@])@(" + alternatives + r")(?!\w)", re.IGNORECASE)
    ids = {name.lower(): user_id for name, user_id in names}
    pieces: list[tuple[str, int | None]] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() > at:
            pieces.append((text[at : match.start()], None))
        pieces.append((match.group(0), ids.get(match.group(1).lower())))
        at = match.end()
    if at < len(text):
        pieces.append((text[at:], None))
    return pieces
