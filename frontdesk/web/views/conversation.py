"""The thread of one conversation and what a member does in it (reply, assign, resolve,
snooze, mark read, retry).

Every action is a POST with CSRF protection that works without the websocket; the socket
only tells the page which pieces to fetch again.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from frontdesk.connectors.base import InboundAttachment
from frontdesk.core.instants import in_utc
from frontdesk.inbox import queries
from frontdesk.inbox.actions import compose
from frontdesk.inbox.actions import conversation as conversation_actions
from frontdesk.inbox.actions import labels as label_actions
from frontdesk.inbox.actions import send as send_actions
from frontdesk.inbox.actions.signatures import signature_for
from frontdesk.inbox.errors import ActionRefused, ReplyHeld
from frontdesk.inbox.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Message,
)
from frontdesk.web.access import (
    conversation_or_404,
    current_member,
    form_error,
    member_required,
    workspace_members,
)
from frontdesk.web.views.shell import STATUSES, ListState
from frontdesk.workspaces.models import Membership, User

THREAD_PAGE = 50


# --- list state --------------------------------------------------------------------------


def thread_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    member = current_member(request)
    wanted = request.GET.get("m", "")  # a search result: open the thread at this message
    reaching = int(wanted) if wanted.isdigit() and len(wanted) < 19 else None
    page = queries.thread(conversation, limit=THREAD_PAGE, reaching=reaching)
    connector = conversation.channel.connector
    refused = request.session.pop(_refused_key(conversation), None)
    return {
        "conversation": conversation,
        "thread_messages": page.items,
        "newest_message_id": max((m.pk for m in page.items), default=0),
        "found_id": reaching if any(m.pk == reaching for m in page.items) else None,
        "older_url": _older_url(conversation, page.next_cursor),
        **header_context(member),
        "channel": conversation.channel,
        "connector": connector,
        "capabilities": connector.capabilities,
        "reply_closed": (closed := send_actions.reply_closed(conversation)),
        "reply_blocked": closed
        or connector.reply_blocked_reason(send_actions.reply_context(conversation)),
        "composer": composer_settings(connector),
        # A refused reply comes back with the signature the member had typed.
        "signature": refused.get("signature", "")
        if refused
        else signature_for(member, conversation.channel),
        "refused_reply": refused,
        "others": other_conversations(conversation),
    }


def header_context(member: Membership) -> dict[str, Any]:
    """The thread header's menus: teammates to assign (the away ones marked), snoozes."""
    away = Membership.objects.filter(workspace_id=member.workspace_id, available=False)
    return {
        "members": workspace_members(member),
        "away_ids": set(away.values_list("user_id", flat=True)),
        "statuses": STATUSES,
        "snooze_choices": _snooze_choices(),
        "all_labels": list(queries.labels(member.workspace_id)),
    }


def composer_settings(connector) -> dict[str, Any]:
    """What the composer checks before sending, from the connector's capabilities."""
    caps = connector.capabilities
    return {
        "formatting": "html" if caps.html else (caps.markup or "plain"),
        "file_rules": json.dumps(
            [{"types": r.types, "max": r.max_bytes, "what": r.what} for r in caps.attachment_rules]
        ),
        "max_bytes": settings.FRONTDESK_MAX_ATTACHMENT_BYTES,
    }


def _refused_key(conversation: Conversation) -> str:
    return f"refused-reply-{conversation.pk}"


def other_conversations(conversation: Conversation) -> list[Conversation]:
    """The contact's other conversations, newest first, for the contact panel."""
    # No ORDER BY in SQL: that lets the database use the contact index instead of walking
    # the workspace's recency index; a contact has few conversations, sorted here.
    return sorted(
        Conversation.objects.filter(
            workspace_id=conversation.workspace_id, contact_id=conversation.contact_id
        )
        .exclude(pk=conversation.pk)
        .select_related("channel")
        .order_by()[:200],
        key=lambda c: c.last_message_at,
        reverse=True,
    )[:20]


def _older_url(conversation: Conversation, cursor: str | None) -> str | None:
    if not cursor:
        return None
    return reverse("thread_older", args=[conversation.pk]) + "?" + urlencode({"before": cursor})


def _snooze_choices() -> list[tuple[str, str]]:
    now = timezone.localtime(timezone.now())
    tomorrow = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    monday = (now + timedelta(days=7 - now.weekday())).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return [
        ((now + timedelta(hours=1)).isoformat(), "In 1 hour"),
        ((now + timedelta(hours=4)).isoformat(), "In 4 hours"),
        (tomorrow.isoformat(), "Tomorrow 9:00"),
        (monday.isoformat(), "Next Monday 9:00"),
    ]


@member_required
@require_GET
def thread_header(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    return render(
        request,
        "web/inbox/_thread_header.html",
        {"conversation": conversation, **header_context(member)},
    )


@member_required
@require_GET
def thread_older(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    try:
        page = queries.thread(conversation, before=request.GET.get("before"), limit=THREAD_PAGE)
    except queries.BadCursor:
        raise Http404("bad cursor") from None
    return render(
        request,
        "web/inbox/_messages.html",
        {
            "conversation": conversation,
            "thread_messages": page.items,
            "older_url": _older_url(conversation, page.next_cursor),
        },
    )


def _rendered_messages():
    """Messages with what ``_message.html`` shows of them, as ``queries.thread`` loads them."""
    return Message.objects.select_related(
        "author_user", "reply_to", "conversation__contact", "channel"
    ).prefetch_related("attachments")


@member_required
@require_GET
def message_item(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    member = current_member(request)
    message = get_object_or_404(
        _rendered_messages(),
        pk=message_id,
        conversation_id=conversation_id,
        workspace_id=member.workspace_id,
    )
    return render(
        request, "web/inbox/_message.html", {"m": message, "conversation": message.conversation}
    )


def back_to_thread(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    return redirect(reverse("conversation", args=[conversation.pk]) + ListState(request.POST).query)


def _attachment(upload) -> InboundAttachment:
    """An uploaded file; one Django spooled to disk (over 2.5 MB) is read from there."""
    spooled = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else ""
    return InboundAttachment(
        name=upload.name or "file",
        content_type=upload.content_type or "application/octet-stream",
        data=b"" if spooled else upload.read(),
        path=spooled,
    )


@member_required
@require_POST
def reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """A reply or a note from the composer. Refused, the typed text stays: beside the box
    (htmx), or back in the box on the conversation's page (a plain form post)."""
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    text = request.POST.get("text", "")
    note = request.POST.get("mode") == "note"
    try:
        if note:
            message = send_actions.add_note(member.user, conversation, text)
        else:
            extra = conversation.channel.connector.reply_extra(request.POST)
            files = [_attachment(f) for f in request.FILES.getlist("files")]
            message = compose.reply(
                member.user,
                conversation,
                text,
                files,
                extra,
                request.POST.get("signature", ""),
                after_message_id=_after_message_id(request),
            )
    except ReplyHeld as exc:
        return _held(request, conversation, text, exc)
    except ActionRefused as exc:
        if request.headers.get("HX-Request"):
            return form_error(request, str(exc), "#reply-error")
        request.session[_refused_key(conversation)] = {
            "error": str(exc),
            "text": text[:50_000],
            "note": note,
            "signature": request.POST.get("signature", "")[:2000],
        }
        return back_to_thread(request, conversation)
    if request.headers.get("HX-Request"):
        message = _rendered_messages().get(pk=message.pk)
        return render(request, "web/inbox/_message.html", {"m": message})
    return back_to_thread(request, conversation)


def _after_message_id(request: HttpRequest) -> int | None:
    """The newest message on the member's screen when they wrote (a hidden field)."""
    raw = request.POST.get("after_message_id", "")
    return int(raw) if raw.isdigit() else None


def _held(
    request: HttpRequest, conversation: Conversation, text: str, held: ReplyHeld
) -> HttpResponse:
    """A reply held for what came since the member started: the new messages right above
    the box with Send anyway and Edit (htmx: a 409 swapped into the composer's notices);
    without JavaScript, back to the thread with the text kept and the choice explained."""
    newest = max(m.pk for m in held.newer)
    if not request.headers.get("HX-Request"):
        request.session[_refused_key(conversation)] = {
            "error": f"{held} (they are in the thread above). Send again to send anyway.",
            "text": text[:50_000],
            "note": False,
        }
        return back_to_thread(request, conversation)
    response = render(
        request,
        "web/inbox/_held.html",
        {"held": held, "newer": held.newer, "newest": newest, "conversation": conversation},
        status=409,
    )
    response["HX-Retarget"] = "#reply-form [data-composer-notices]"
    response["HX-Reswap"] = "beforeend"
    return response


def _after_change(
    request: HttpRequest, conversation: Conversation, member: Membership
) -> HttpResponse:
    if not request.headers.get("HX-Request"):
        return back_to_thread(request, conversation)
    conversation = conversation_or_404(member, conversation.pk)
    event = (
        Message.objects.filter(conversation=conversation, kind="event")
        .select_related("author_user")
        .order_by("-created_at", "-id")
        .first()
    )
    return render(
        request,
        "web/inbox/_thread_header.html",
        {"conversation": conversation, **header_context(member), "event": event},
    )


@member_required
@require_POST
def assign(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    raw = request.POST.get("assignee", "")
    assignee: User | None
    if raw == "me":
        assignee = member.user
    elif raw.isdigit():
        assignee = User.objects.filter(
            pk=int(raw), memberships__workspace_id=member.workspace_id
        ).first()
        if assignee is None:
            return form_error(request, "That person is not in this workspace.", "#reply-error")
    else:
        assignee = None
    try:
        conversation_actions.assign(member.user, conversation, assignee)
    except ActionRefused as exc:
        return form_error(request, str(exc), "#reply-error")
    return _after_change(request, conversation, member)


@member_required
@require_POST
def change_label(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The header's label menu: ``label`` on (``on=1``) or off the conversation."""
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    raw = request.POST.get("label", "")
    try:
        found = label_actions.workspace_labels(
            member.workspace_id, [int(raw)] if raw.isdigit() else [0]
        )
    except ActionRefused:
        return form_error(request, "That label no longer exists.", "#reply-error")
    on = request.POST.get("on") == "1"
    label_actions.change_labels(
        member.user, conversation, add=found if on else [], remove=[] if on else found
    )
    return _after_change(request, conversation, member)


@member_required
@require_POST
def change_status(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    status = request.POST.get("status", "")
    until: datetime | None = None
    if status == ConversationStatus.SNOOZED:
        try:
            until = datetime.fromisoformat(request.POST.get("snoozed_until", ""))
            until = in_utc(timezone.make_aware(until) if timezone.is_naive(until) else until)
        except ValueError:
            return form_error(request, "Pick when the snooze should end.", "#reply-error")
    try:
        conversation_actions.set_status(member.user, conversation, status, until)
    except ActionRefused as exc:
        return form_error(request, str(exc), "#reply-error")
    return _after_change(request, conversation, member)


@member_required
@require_POST
def mark_read(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    conversation_actions.mark_read(member.user, conversation)
    if request.headers.get("HX-Request"):
        return HttpResponse(status=204)
    return back_to_thread(request, conversation)


@member_required
@require_POST
def retry(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    member = current_member(request)
    message = get_object_or_404(
        Message, pk=message_id, conversation_id=conversation_id, workspace_id=member.workspace_id
    )
    if message.status != DeliveryStatus.FAILED:
        return HttpResponseBadRequest("Only a failed message can be retried.")
    try:
        send_actions.retry(message)
    except ActionRefused as exc:
        return HttpResponseBadRequest(str(exc))
    if request.headers.get("HX-Request"):
        message = _rendered_messages().get(pk=message.pk)
        return render(request, "web/inbox/_message.html", {"m": message})
    return back_to_thread(request, message.conversation)
