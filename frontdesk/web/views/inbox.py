"""The inbox screen: the sidebar and the conversation list, as a page or as panes.

One URL per screen state (``/?status=open&assignee=me`` and ``/c/<id>/?...``). A normal
request renders the whole page; an htmx request that targets one pane gets only that pane.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from frontdesk.inbox import queries, search
from frontdesk.inbox.models import (
    Conversation,
    ConversationStatus,
)
from frontdesk.web.access import (
    conversation_or_404,
    current_member,
    member_required,
    workspace_members,
)
from frontdesk.web.views.conversation import thread_context
from frontdesk.web.views.shell import ListState, sidebar_context

LIST_PAGE = 50


def _list_context(request: HttpRequest, state: ListState) -> dict[str, Any]:
    """The conversation list, or with words in the search box, what they find."""
    member = current_member(request)
    cursor = request.GET.get("cursor") or None
    try:
        if state.q:
            page = search.search(
                member.workspace_id, member.user_id, state.q, state.search_filter, cursor, LIST_PAGE
            )
        else:
            page = queries.conversations(
                member.workspace_id, member.user_id, state.filter, cursor=cursor, limit=LIST_PAGE
            )
    except queries.BadCursor:
        raise Http404("bad cursor") from None
    more_url = more_page_url = None
    if page.next_cursor:
        query = urlencode({**state.params(), "cursor": page.next_cursor})
        more_url = reverse("inbox_list") + "?" + query
        more_page_url = reverse("inbox") + "?" + query
    return {
        "searching": bool(state.q),
        "hits": page.items if state.q else [],
        "conversations": [] if state.q else page.items,
        "search_everywhere_url": state.link(status="all"),
        "more_url": more_url,
        "more_page_url": more_page_url,
        "state": state,
    }


@member_required
@require_GET
def inbox(request: HttpRequest, conversation_id: int | None = None) -> HttpResponse:
    member = current_member(request)
    state = ListState(request.GET)
    target = request.headers.get("HX-Target", "") if request.headers.get("HX-Request") else ""
    if target == "conv-list":
        return render(request, "web/inbox/_list.html", _list_context(request, state))
    # A GET never changes state (a browser's prefetch or prerender must not mark a
    # conversation read, nor send the client a WhatsApp read receipt): the page POSTs
    # ``mark_read`` from app.js once it is shown, or offers a button without JavaScript.
    conversation = conversation_or_404(member, conversation_id) if conversation_id else None
    if target == "thread-pane" and conversation is not None:
        return render(
            request,
            "web/inbox/_thread_pane.html",
            {**thread_context(request, conversation), "state": state, "oob": True},
        )
    context: dict[str, Any] = {
        "membership": member,
        "state": state,
        "statuses_all": [*ConversationStatus.choices, ("all", "Any status")],
        "members": workspace_members(member),
        **sidebar_context(member, bell=True, followups=True),
        **_list_context(request, state),
    }
    if conversation is not None:
        context.update(thread_context(request, conversation))
    return render(request, "web/inbox/page.html", context)


@member_required
@require_GET
def list_more(request: HttpRequest) -> HttpResponse:
    return render(request, "web/inbox/_rows.html", _list_context(request, ListState(request.GET)))


@member_required
@require_GET
def conversation_row(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    state = ListState(request.GET)
    flt = state.filter
    flt.only_ids = [conversation_id]
    page = queries.conversations(member.workspace_id, member.user_id, flt, limit=1)
    if not page.items:
        if not Conversation.objects.filter(
            pk=conversation_id, workspace_id=member.workspace_id
        ).exists():
            raise Http404("no such conversation")
        return HttpResponse(status=204)  # it exists but no longer matches this list
    return render(
        request,
        "web/inbox/_row.html",
        {"c": page.items[0], "state": state, "active": request.GET.get("active") == "1"},
    )


@member_required
@require_GET
def sidebar_counts(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    return render(
        request,
        "web/inbox/_inbox_nav.html",
        {"state": ListState(request.GET), "membership": member, **sidebar_context(member)},
    )
