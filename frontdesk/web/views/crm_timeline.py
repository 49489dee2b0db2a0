"""The timeline and the notes of a record's page (a contact, a lead, a deal): the same two
sections on each, restricted to the record.

URLs carry the record: ``/contacts/5/timeline``, ``/leads/7/notes`` ... A record of another
workspace is a 404 like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from frontdesk.crm.actions import activity as actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.queries import contacts as contact_queries
from frontdesk.crm.queries import deals as deal_queries
from frontdesk.crm.queries import leads as lead_queries
from frontdesk.crm.queries import timeline as queries
from frontdesk.inbox.models import Conversation
from frontdesk.inbox.queries import BadCursor
from frontdesk.web.access import (
    conversation_or_404,
    current_member,
    form_error,
    member_required,
)

TIMELINE_PAGE = 50


@dataclass
class Record:
    """The page a timeline is on: ``kind`` is its URL prefix (contacts, leads, deals), or
    "conversations" for a conversation's contact panel (``contact_id`` is its contact)."""

    kind: str
    pk: int
    scope: queries.Scope
    contact_id: int | None = None

    @property
    def base(self) -> str:
        return f"/c/{self.pk}" if self.kind == "conversations" else f"/{self.kind}/{self.pk}"

    @property
    def page_url(self) -> str:
        return f"{self.base}/"


def conversation_record(conversation: Conversation) -> Record:
    """A conversation's contact panel: its contact's follow-ups, new ones tied to it."""
    scope = queries.Scope(Q(contact_id=conversation.contact_id), (conversation.pk,))
    return Record("conversations", conversation.pk, scope, conversation.contact_id)


def record_for(request: HttpRequest, kind: str, pk: int) -> Record:
    workspace_id = current_member(request).workspace_id
    if kind == "contacts":
        contact = contact_queries.contact_for(workspace_id, pk)
        if contact is None:
            raise Http404("no such contact")
        return Record(kind, contact.pk, queries.contact_scope(contact))
    if kind == "leads":
        try:
            lead = lead_queries.lead_for(workspace_id, pk)
        except lead_queries.LeadNotFound:
            raise Http404("no such lead") from None
        return Record(kind, lead.pk, queries.lead_scope(lead))
    if kind == "deals":
        try:
            deal = deal_queries.deal_for(workspace_id, pk)
        except deal_queries.DealNotFound:
            raise Http404("no such deal") from None
        return Record(kind, deal.pk, queries.deal_scope(deal))
    if kind == "conversations":
        conversation = conversation_or_404(current_member(request), pk)
        return conversation_record(conversation)
    raise Http404("no such record")


def timeline_context(request: HttpRequest, record: Record, cursor: str | None = None) -> dict:
    workspace_id = current_member(request).workspace_id
    page = queries.timeline(workspace_id, record.scope, cursor, TIMELINE_PAGE)
    return {
        "record": record,
        "groups": queries.grouped(page.items),
        "next_cursor": page.next_cursor,
        "pinned": queries.pinned_notes(workspace_id, record.scope),
    }


@member_required
@require_GET
def timeline(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    """The timeline section (first page), or with ``cursor`` the lines after it."""
    record = record_for(request, kind, record_id)
    cursor = request.GET.get("cursor") or None
    try:
        context = timeline_context(request, record, cursor)
    except BadCursor:
        raise Http404("no such page") from None
    template = "web/crm/_timeline_more.html" if cursor else "web/crm/_timeline.html"
    return render(request, template, context)


def _notes_answer(request: HttpRequest, record: Record, **extra: Any) -> HttpResponse:
    if not request.headers.get("HX-Request"):
        return redirect(record.page_url)
    context = {**timeline_context(request, record), "oob": True, **extra}
    return render(request, "web/crm/_notes.html", context)


@member_required
@require_POST
def note_add(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    member = current_member(request)
    record = record_for(request, kind, record_id)
    target = {"contacts": "contact_id", "leads": "lead_id", "deals": "deal_id"}[kind]
    try:
        actions.add_note(
            member.workspace_id,
            member.user,
            request.POST.get("text", ""),
            pinned=request.POST.get("pinned") == "1",
            **{target: record.pk},
        )
    except CrmError as exc:
        return form_error(request, str(exc), "#note-error")
    return _notes_answer(request, record)


@member_required
@require_POST
def note_change(request: HttpRequest, kind: str, record_id: int, note_id: int) -> HttpResponse:
    """Pin, unpin or delete one of the record's notes."""
    member = current_member(request)
    record = record_for(request, kind, record_id)
    action = request.POST.get("action", "")
    try:
        if action in ("pin", "unpin"):
            actions.pin_note(member.workspace_id, note_id, action == "pin", member.user)
        elif action == "delete":
            actions.delete_note(member.workspace_id, note_id, member)
        else:
            return HttpResponse("Unknown action.", status=400)
    except actions.NoteNotFound:
        raise Http404("no such note") from None
    except CrmError as exc:
        return form_error(request, str(exc), "#note-error")
    return _notes_answer(request, record)
