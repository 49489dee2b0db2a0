"""REST API for contacts, mounted on the v1 API (frontdesk/api/views.py).

Another workspace's contact is a 404, never a 403: its existence is not told.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import Field

from frontdesk.api import serialize
from frontdesk.api.auth import request_member
from frontdesk.api.schemas import ContactMergeIn, Error, HandleOut, PersonOut
from frontdesk.crm.actions import activity
from frontdesk.crm.actions import contacts as actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Activity
from frontdesk.crm.queries import contacts as queries
from frontdesk.crm.queries import timeline
from frontdesk.inbox.actions import contacts as inbox_contacts
from frontdesk.inbox.models import Contact
from frontdesk.inbox.queries import Page

router = Router(tags=["contacts"])


class HandleIn(Schema):
    kind: Literal["email", "phone", "linkedin"]
    value: str = Field(min_length=1, max_length=320)


class ContactIn(Schema):
    name: str = Field(max_length=300)
    company: str = Field(default="", max_length=300)
    job_title: str = Field(default="", max_length=200)
    handles: list[HandleIn] = Field(default_factory=list)
    owner_id: int | None = None
    tags: list[str] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, description="values of the workspace's contact fields, by key"
    )


class ContactPatch(Schema):
    """Only the fields sent change. ``handles`` is the full list of the contact's email,
    phone and LinkedIn addresses (those left out are removed); ``custom_fields`` changes
    the fields named (``null`` clears one); ``owner_id: null`` leaves it without owner."""

    name: str | None = Field(default=None, max_length=300)
    company: str | None = Field(default=None, max_length=300)
    job_title: str | None = Field(default=None, max_length=200)
    handles: list[HandleIn] | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class ContactDetail(Schema):
    id: int
    name: str
    company: str
    job_title: str
    handles: list[HandleOut]
    owner_id: int | None
    owner: PersonOut | None
    tags: list[str]
    custom_fields: dict[str, Any]
    archived: bool
    created_at: datetime
    updated_at: datetime


class TimelineEntry(Schema):
    kind: Literal["message", "note", "event", "lead", "deal", "followup"]
    at: datetime
    text: str
    conversation_id: int | None = None
    lead_id: int | None = None
    deal_id: int | None = None
    followup_id: int | None = None


class Timeline(Schema):
    items: list[TimelineEntry]
    next_cursor: str | None


class NoteIn(Schema):
    text: str = Field(min_length=1, max_length=10_000)
    pinned: bool = False


class NoteOut(Schema):
    id: int
    text: str
    pinned: bool
    contact_id: int
    lead_id: int | None
    deal_id: int | None
    author_id: int | None
    at: datetime


class ContactList(Schema):
    items: list[ContactDetail]
    next_cursor: str | None


def contact_json(contact: Contact) -> dict[str, Any]:
    return {
        **serialize.contact(contact),
        "job_title": contact.job_title,
        "owner_id": contact.owner_id,
        "owner": serialize.person(contact.owner),
        "tags": contact.tags,
        "custom_fields": contact.custom_fields,
        "archived": contact.archived_at is not None,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def _contact(workspace_id: int, contact_id: int) -> Contact:
    contact = queries.contact_for(workspace_id, contact_id)
    if contact is None:
        raise HttpError(404, "contact not found")
    return contact


def _refused(exc: CrmError) -> HttpError:
    return HttpError(400, str(exc))


@router.get("/contacts", response={200: ContactList, 400: Error})
def list_contacts(
    request: HttpRequest,
    q: str = "",
    owner: str = Query("", description='"me", "none" or a user id'),
    tag: str = "",
    company: str = "",
    channel: int | None = Query(None, description="has a conversation on this channel"),
    open_lead: bool | None = Query(None, description="has (true) or has not (false) an open lead"),
    archived: bool = False,
    sort: Literal["recent", "name", "company", "updated"] = "recent",
    cursor: str | None = None,
    limit: int = 50,
):
    member = request_member(request)
    if owner and owner not in ("me", "none") and not owner.isdigit():
        raise HttpError(400, 'owner must be "me", "none" or a user id')
    page = queries.contact_list(
        member.workspace_id,
        member.user_id,
        queries.ContactFilter(
            q=q,
            owner=owner,
            tag=tag,
            company=company,
            channel_id=channel,
            open_lead=open_lead,
            archived=archived,
        ),
        sort,
        cursor=cursor,
        limit=max(1, min(limit, 200)),
    )
    return {"items": [contact_json(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/contacts", response={201: ContactDetail, 400: Error})
def create_contact(request: HttpRequest, payload: ContactIn):
    member = request_member(request)
    try:
        contact = actions.create_contact(
            member.workspace_id,
            member.user,
            name=payload.name,
            company=payload.company,
            job_title=payload.job_title,
            handles=[h.model_dump() for h in payload.handles],
            owner_id=payload.owner_id,
            tags=payload.tags,
            custom_fields=payload.custom_fields,
        )
    except CrmError as exc:
        raise _refused(exc) from None
    return Status(201, contact_json(_contact(member.workspace_id, contact.pk)))


@router.get("/contacts/{contact_id}", response={200: ContactDetail, 404: Error})
def get_contact(request: HttpRequest, contact_id: int):
    return contact_json(_contact(request_member(request).workspace_id, contact_id))


@router.patch("/contacts/{contact_id}", response={200: ContactDetail, 400: Error, 404: Error})
def patch_contact(request: HttpRequest, contact_id: int, payload: ContactPatch):
    member = request_member(request)
    _contact(member.workspace_id, contact_id)
    fields = payload.model_dump(exclude_unset=True)
    for required in ("name", "company", "job_title", "handles", "tags", "custom_fields"):
        if required in fields and fields[required] is None:
            raise HttpError(400, f"{required} cannot be null")
    try:
        actions.update_contact(member.workspace_id, contact_id, member.user, **fields)
    except CrmError as exc:
        raise _refused(exc) from None
    return contact_json(_contact(member.workspace_id, contact_id))


@router.post("/contacts/{contact_id}/merge", response={200: ContactDetail, 400: Error, 404: Error})
def merge_contact(request: HttpRequest, contact_id: int, payload: ContactMergeIn):
    """Merge contact ``other_id`` (the same person) into this one, then delete it: its
    handles and conversations move here, and blank fields are filled from it."""
    member = request_member(request)
    try:
        inbox_contacts.merge_contacts(
            member.workspace_id, contact_id, payload.other_id, by_user=member.user
        )
    except Contact.DoesNotExist:
        raise HttpError(404, "contact not found") from None
    return contact_json(_contact(member.workspace_id, contact_id))


def timeline_json(page: Page) -> dict[str, Any]:
    items = [
        {
            "kind": e.kind,
            "at": e.at,
            "text": e.text,
            "conversation_id": e.conversation_id,
            "lead_id": e.lead_id,
            "deal_id": e.deal_id,
            "followup_id": e.followup_id,
        }
        for e in page.items
    ]
    return {"items": items, "next_cursor": page.next_cursor}


def note_json(note: Activity) -> dict[str, Any]:
    return {
        "id": note.pk,
        "text": note.text,
        "pinned": note.pinned,
        "contact_id": note.contact_id,
        "lead_id": note.lead_id,
        "deal_id": note.deal_id,
        "author_id": note.actor_id,
        "at": note.at,
    }


@router.get("/contacts/{contact_id}/timeline", response={200: Timeline, 400: Error, 404: Error})
def contact_timeline(request: HttpRequest, contact_id: int, cursor: str | None = None):
    """Everything with this person, newest first: the messages of their conversations on
    every channel, notes, lead and deal changes, follow-ups."""
    member = request_member(request)
    contact = _contact(member.workspace_id, contact_id)
    return timeline_json(
        timeline.timeline(member.workspace_id, timeline.contact_scope(contact), cursor)
    )


@router.post("/contacts/{contact_id}/notes", response={201: NoteOut, 400: Error, 404: Error})
def add_contact_note(request: HttpRequest, contact_id: int, payload: NoteIn):
    member = request_member(request)
    try:
        note = activity.add_note(
            member.workspace_id,
            member.user,
            payload.text,
            contact_id=contact_id,
            pinned=payload.pinned,
        )
    except activity.NoteNotFound:
        raise HttpError(404, "contact not found") from None
    except CrmError as exc:
        raise _refused(exc) from None
    return Status(201, note_json(note))
