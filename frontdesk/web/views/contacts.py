"""The contact panel beside a thread, merging two contacts, and contact pictures."""

from __future__ import annotations

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from frontdesk.inbox import avatars, queries
from frontdesk.inbox.actions import contacts as contact_actions
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import (
    Contact,
    Conversation,
)
from frontdesk.web.access import (
    conversation_or_404,
    current_member,
    form_error,
    member_required,
)
from frontdesk.web.views.conversation import back_to_thread, other_conversations

# --- list state --------------------------------------------------------------------------


MERGE_CANDIDATES = 8


def _contact_panel(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    return render(
        request,
        "web/inbox/_contact.html",
        {"conversation": conversation, "others": other_conversations(conversation)},
    )


@member_required
@require_GET
def contact_panel(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _contact_panel(request, conversation_or_404(current_member(request), conversation_id))


@member_required
@require_GET
def merge_candidates(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Contacts matching ``q`` by name or address that could be merged into this one."""
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    q = request.GET.get("q", "").strip()[:200]
    candidates = []
    if q:
        candidates = queries.contacts(
            member.workspace_id, q, limit=MERGE_CANDIDATES, exclude_id=conversation.contact_id
        ).items
    return render(
        request,
        "web/inbox/_contact_merge_results.html",
        {"conversation": conversation, "candidates": candidates, "q": q},
    )


@member_required
@require_GET
def merge_confirm(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    other_id = request.GET.get("other", "")
    other = queries.contact_for(member.workspace_id, int(other_id)) if other_id.isdigit() else None
    if other is None or other.pk == conversation.contact_id:
        raise Http404("no such contact")
    return render(
        request,
        "web/inbox/_contact_merge_confirm.html",
        {
            "conversation": conversation,
            "other": other,
            "label": contact_actions.contact_label(other),
            "q": request.GET.get("q", ""),
        },
    )


@member_required
@require_POST
def merge_contact(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Merge the chosen contact into this conversation's contact; answer the new panel."""
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    other_id = request.POST.get("other_id", "")
    if not other_id.isdigit():
        return form_error(request, "Pick the contact to merge.", "#merge-results")
    try:
        contact_actions.merge_contacts(
            member.workspace_id, conversation.contact_id, int(other_id), by_user=member.user
        )
    except Contact.DoesNotExist:
        return form_error(request, "That contact no longer exists.", "#merge-results")
    except ActionRefused as exc:
        return form_error(request, str(exc), "#merge-results")
    if not request.headers.get("HX-Request"):
        return back_to_thread(request, conversation)
    return _contact_panel(request, conversation_or_404(member, conversation_id))


@member_required
@require_GET
def contact_avatar(request: HttpRequest, contact_id: int) -> HttpResponseBase:
    """The stored copy of a contact's picture (``inbox.avatars``); the URL carries the file's
    name, so a new picture is a new URL and this one may be cached."""
    member = current_member(request)
    contact = get_object_or_404(Contact, pk=contact_id, workspace_id=member.workspace_id)
    if not contact.avatar:
        raise Http404("no picture")
    response = FileResponse(contact.avatar.open("rb"), content_type=avatars.content_type(contact))
    response["Cache-Control"] = "private, max-age=86400"
    return response
