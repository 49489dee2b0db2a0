"""Who may see a page, and the workspace rows a page may show: shared by every app's views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render

from frontdesk.inbox import queries
from frontdesk.inbox.models import Conversation
from frontdesk.workspaces.models import Membership, User


def member_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if getattr(request, "membership", None) is None:
            return HttpResponseForbidden("You are not a member of any workspace.")
        return view(request, *args, **kwargs)

    return wrapped


def current_member(request: HttpRequest) -> Membership:
    """The signed-in user's membership (set by the workspace middleware)."""
    return request.membership  # type: ignore[attr-defined]


def workspace_members(member: Membership) -> list[User]:
    """The workspace's active members by name, read once per request: a page asks in
    several places (the record's owner picker, the follow-up form's assignee)."""
    known: list[User] | None = getattr(member, "_workspace_members", None)
    if known is None:
        known = list(
            User.objects.filter(
                memberships__workspace_id=member.workspace_id, is_active=True
            ).order_by("name", "email")
        )
        setattr(member, "_workspace_members", known)  # noqa: B010 (the request's own row)
    return list(known)


def conversation_or_404(member: Membership, conversation_id: int) -> Conversation:
    """A conversation of the member's workspace; another workspace's is "not found" too."""
    conversation = queries.conversation_for(member.workspace_id, member.user_id, conversation_id)
    if conversation is None:
        raise Http404("no such conversation")
    return conversation


def form_error(request: HttpRequest, message: str, target: str) -> HttpResponse:
    """The message shown in ``target`` beside the form that sent it (what the user typed
    stays), or a plain 400 without htmx."""
    if not request.headers.get("HX-Request"):
        return HttpResponseBadRequest(message)
    response = render(request, "web/inbox/_error.html", {"error": message}, status=422)
    response["HX-Retarget"] = target
    response["HX-Reswap"] = "innerHTML"
    return response
