"""Reads of contacts the Contacts page, a contact's page and the API share (per workspace)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from frontdesk.crm.models import OPEN_STAGES, Lead
from frontdesk.crm.queries import tags as _tags  # noqa: F401  (registers tags__has_tag)
from frontdesk.crm.queries.paging import Sort, keyset_page
from frontdesk.inbox.models import Contact, ContactHandle, Conversation
from frontdesk.inbox.queries import Page

CONTACT_SORTS = {
    "recent": Sort("id", descending=True, label="Newest first"),
    "name": Sort("name", label="Name"),
    "company": Sort("company", label="Company"),
    "updated": Sort("updated_at", descending=True, label="Recently updated"),
}


@dataclass
class ContactFilter:
    q: str = ""  # in the name, company, job title or an address
    owner: str = ""  # "me", "none" or a user id
    tag: str = ""
    company: str = ""
    channel_id: int | None = None  # has a conversation on this channel
    open_lead: bool | None = None  # has (or has not) an open lead
    archived: bool = False  # the archived contacts instead of the others


def _handles() -> Prefetch:
    return Prefetch("handles", queryset=ContactHandle.objects.order_by("id"))


def with_open_lead() -> Exists:
    return Exists(Lead.objects.filter(contact_id=OuterRef("pk"), stage__in=OPEN_STAGES))


def filtered(workspace_id: int, me_id: int, flt: ContactFilter) -> QuerySet[Contact]:
    qs = Contact.objects.filter(workspace_id=workspace_id, archived_at__isnull=not flt.archived)
    q = flt.q.strip()[:200]
    if q:
        address = ContactHandle.objects.filter(
            workspace_id=workspace_id, contact_id=OuterRef("pk"), value__icontains=q
        )
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(company__icontains=q)
            | Q(job_title__icontains=q)
            | Exists(address)
        )
    if flt.owner == "me":
        qs = qs.filter(owner_id=me_id)
    elif flt.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif flt.owner.isdigit():
        qs = qs.filter(owner_id=int(flt.owner))
    if flt.tag.strip():
        qs = qs.filter(tags__has_tag=flt.tag.strip())
    if flt.company.strip():
        qs = qs.filter(company__icontains=flt.company.strip()[:200])
    if flt.channel_id is not None:
        qs = qs.filter(
            Exists(
                Conversation.objects.filter(contact_id=OuterRef("pk"), channel_id=flt.channel_id)
            )
        )
    if flt.open_lead is not None:
        qs = qs.filter(with_open_lead() if flt.open_lead else ~with_open_lead())
    return qs


def contact_list(
    workspace_id: int,
    me_id: int,
    flt: ContactFilter,
    sort: str = "recent",
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """One page of the workspace's contacts; each row knows its addresses, its owner and
    whether it has an open lead (``has_open_lead``)."""
    qs = filtered(workspace_id, me_id, flt).select_related("owner").prefetch_related(_handles())
    page = keyset_page(qs, CONTACT_SORTS.get(sort, CONTACT_SORTS["recent"]), cursor, limit)
    # Asked for the page's contacts alone: as a subquery of the page's query, PostgreSQL
    # hashed every open lead of the workspace first (40,000 rows for a page of 50).
    with_lead = set(
        Lead.objects.filter(
            workspace_id=workspace_id,
            contact_id__in=[c.pk for c in page.items],
            stage__in=OPEN_STAGES,
        ).values_list("contact_id", flat=True)
    )
    for contact in page.items:
        contact.has_open_lead = contact.pk in with_lead
    return page


def contact_for(workspace_id: int, contact_id: int) -> Contact | None:
    """One contact of the workspace (archived too), with its addresses and owner."""
    return (
        Contact.objects.filter(workspace_id=workspace_id, pk=contact_id)
        .select_related("owner")
        .prefetch_related(_handles())
        .first()
    )


def contact_leads(contact: Contact) -> list[Lead]:
    return list(
        Lead.objects.filter(workspace_id=contact.workspace_id, contact=contact)
        .select_related("owner")
        .order_by("-updated_at", "-id")[:50]
    )


CONVERSATIONS_SHOWN = 200


def contact_conversations(contact: Contact) -> list[Conversation]:
    """Newest first, at most ``CONVERSATIONS_SHOWN`` (a contact has few: sorted here, so
    the contact index is used)."""
    rows = (
        Conversation.objects.filter(workspace_id=contact.workspace_id, contact=contact)
        .select_related("channel", "assignee")
        .order_by()[:CONVERSATIONS_SHOWN]
    )
    return sorted(rows, key=lambda c: c.last_message_at, reverse=True)
