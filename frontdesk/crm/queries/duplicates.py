"""Contacts that may be the same person as another: the same email (any case), the same
phone number once both are written in E.164 (a WhatsApp number arrives as bare digits, a
typed one with its +), or the same name at the same company. The contact page offers each
with a one-click merge (``inbox.actions.contacts.merge_contacts``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Q, Value
from django.db.models.functions import Lower

from frontdesk.inbox.models import Contact, ContactHandle, HandleKind

LIMIT = 10


@dataclass
class Suggestion:
    contact: Contact
    reasons: list[str] = field(default_factory=list)


def _phone_forms(value: str) -> list[str]:
    digits = re.sub(r"\D", "", value)
    return [f"+{digits}", digits] if 7 <= len(digits) <= 15 else []


def duplicates_of(contact: Contact) -> list[Suggestion]:
    """Other contacts of the workspace that look like ``contact``, with why, best first."""
    ws = contact.workspace_id
    # .all(): the page has the contact's addresses already (prefetched), a filter reads again
    handles = [h for h in contact.handles.all() if h.kind in (HandleKind.EMAIL, HandleKind.PHONE)]
    found: dict[int, list[str]] = {}

    def add(contact_id: int, reason: str) -> None:
        reasons = found.setdefault(contact_id, [])
        if reason not in reasons:
            reasons.append(reason)

    # Compared in lower case on both sides, as the ``*_ci`` indexes hold them (an iexact
    # lookup read every address and every contact of the workspace).
    match = Q(pk__in=[])
    for h in handles:
        if h.kind == HandleKind.EMAIL:
            match |= Q(kind=HandleKind.EMAIL, value_ci=Lower(Value(h.value)))
        else:
            match |= Q(kind=HandleKind.PHONE, value__in=_phone_forms(h.value))
    if handles:
        for contact_id, kind, value in (
            ContactHandle.objects.alias(value_ci=Lower("value"))
            .filter(match, workspace_id=ws)
            .exclude(contact_id=contact.pk)
            .values_list("contact_id", "kind", "value")[: LIMIT * 4]
        ):
            add(contact_id, f"same {'email' if kind == HandleKind.EMAIL else 'phone'} {value}")
    if contact.name.strip() and contact.company.strip():
        for contact_id in (
            Contact.objects.alias(name_ci=Lower("name"), company_ci=Lower("company"))
            .filter(
                workspace_id=ws,
                name_ci=Lower(Value(contact.name.strip())),
                company_ci=Lower(Value(contact.company.strip())),
            )
            .exclude(pk=contact.pk)
            .values_list("pk", flat=True)[:LIMIT]
        ):
            add(contact_id, "same name and company")
    rows = Contact.objects.filter(workspace_id=ws, pk__in=list(found)).prefetch_related("handles")
    suggestions = [Suggestion(c, found[c.pk]) for c in rows]
    suggestions.sort(key=lambda s: (-len(s.reasons), s.contact.pk))
    return suggestions[:LIMIT]
