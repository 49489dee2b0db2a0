"""The inbox screens: sidebar, conversation list, thread, contact panel, and their actions.

One URL per screen state (``/?status=open&assignee=me`` and ``/c/<id>/?...``). A normal
request renders the whole page; an htmx request that targets one pane gets only that pane.
Every action is a POST with CSRF protection that works without the websocket; the socket
only tells the page which pieces to fetch again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import nh3
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from frontdesk.connectors.base import InboundAttachment
from frontdesk.inbox import avatars, queries
from frontdesk.inbox.actions import contacts as contact_actions
from frontdesk.inbox.actions import conversation as conversation_actions
from frontdesk.inbox.actions import send as send_actions
from frontdesk.inbox.actions.ingest import InvalidInbound
from frontdesk.inbox.models import (
    Attachment,
    Contact,
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
from frontdesk.workspaces.models import Membership, User

LIST_PAGE = 50
THREAD_PAGE = 50
UNREAD_CAP = 99
STATUSES = ["open", "pending", "snoozed", "resolved"]


# --- list state --------------------------------------------------------------------------


class ListState:
    """The filters of the conversation list, read from and written back to the query string."""

    def __init__(self, params: Any):
        self.view = params.get("view", "all")
        if self.view not in ("all", "mine", "unassigned"):
            self.view = "all"
        status = params.get("status", "open")
        self.status = status if status in [*STATUSES, "all"] else "open"
        assignee = params.get("assignee", "")
        self.assignee = assignee if assignee in ("me", "none") or assignee.isdigit() else ""
        channel = params.get("channel", "")
        self.channel = int(channel) if channel.isdigit() else None
        self.unread = params.get("unread") in ("1", "on", "true")
        self.sort = "oldest" if params.get("sort") == "oldest" else "newest"
        self.q = str(params.get("q", "")).strip()[:200]

    @property
    def filter(self) -> queries.ConversationFilter:
        assignee = self.assignee or {"mine": "me", "unassigned": "none"}.get(self.view)
        return queries.ConversationFilter(
            status=None if self.status == "all" else self.status,
            assignee=assignee,
            channel_id=self.channel,
            unread_only=self.unread,
            oldest_first=self.sort == "oldest",
            q=self.q,
        )

    def params(self, **override: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "view": self.view,
            "status": self.status,
            "assignee": self.assignee,
            "channel": self.channel or "",
            "unread": "1" if self.unread else "",
            "sort": self.sort,
            "q": self.q,
        }
        values.update(override)
        defaults = {"view": "all", "status": "open", "sort": "newest"}
        return {
            k: str(v) for k, v in values.items() if v not in ("", None) and defaults.get(k) != v
        }

    @property
    def query(self) -> str:
        q = urlencode(self.params())
        return f"?{q}" if q else ""

    def link(self, **override: Any) -> str:
        q = urlencode(self.params(**override))
        return reverse("inbox") + (f"?{q}" if q else "")


def _sidebar_context(member: Membership) -> dict[str, Any]:
    channels = list(queries.channels(member.workspace_id))
    counts = queries.unread_counts(
        member.workspace_id, member.user_id, [c.pk for c in channels], cap=UNREAD_CAP
    )
    return {
        "channels": channels,
        "counts": {k: (f"{UNREAD_CAP}+" if v > UNREAD_CAP else v) for k, v in counts.items()},
    }


def _list_context(request: HttpRequest, state: ListState) -> dict[str, Any]:
    member = current_member(request)
    try:
        page = queries.conversations(
            member.workspace_id,
            member.user_id,
            state.filter,
            cursor=request.GET.get("cursor") or None,
            limit=LIST_PAGE,
        )
    except queries.BadCursor:
        raise Http404("bad cursor") from None
    more_url = more_page_url = None
    if page.next_cursor:
        query = urlencode({**state.params(), "cursor": page.next_cursor})
        more_url = reverse("inbox_list") + "?" + query
        more_page_url = reverse("inbox") + "?" + query
    return {
        "conversations": page.items,
        "more_url": more_url,
        "more_page_url": more_page_url,
        "state": state,
    }


def _thread_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    member = current_member(request)
    page = queries.thread(conversation, limit=THREAD_PAGE)
    connector = conversation.channel.connector
    return {
        "conversation": conversation,
        "messages": page.items,
        "older_url": _older_url(conversation, page.next_cursor),
        "members": workspace_members(member),
        "connector": connector,
        "capabilities": connector.capabilities,
        "reply_blocked": connector.reply_blocked_reason(conversation),
        "others": _other_conversations(conversation),
        "statuses": STATUSES,
        "snooze_choices": _snooze_choices(),
    }


def _other_conversations(conversation: Conversation) -> list[Conversation]:
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


# --- pages and partials ------------------------------------------------------------------


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
            {**_thread_context(request, conversation), "state": state, "oob": True},
        )
    context: dict[str, Any] = {
        "membership": member,
        "state": state,
        "statuses_all": [*ConversationStatus.choices, ("all", "Any status")],
        "members": workspace_members(member),
        **_sidebar_context(member),
        **_list_context(request, state),
    }
    if conversation is not None:
        context.update(_thread_context(request, conversation))
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
    flt.only_id = conversation_id
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
        {"state": ListState(request.GET), "membership": member, **_sidebar_context(member)},
    )


@member_required
@require_GET
def thread_header(request: HttpRequest, conversation_id: int) -> HttpResponse:
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    return render(
        request,
        "web/inbox/_thread_header.html",
        {
            "conversation": conversation,
            "members": workspace_members(member),
            "statuses": STATUSES,
            "snooze_choices": _snooze_choices(),
        },
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
            "messages": page.items,
            "older_url": _older_url(conversation, page.next_cursor),
        },
    )


def _rendered_messages():
    """Messages with what ``_message.html`` shows of them, as ``queries.thread`` loads them."""
    return Message.objects.select_related(
        "author_user", "reply_to", "conversation__contact"
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


# --- actions -----------------------------------------------------------------------------


def _back(request: HttpRequest, conversation: Conversation) -> HttpResponse:
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
    member = current_member(request)
    conversation = conversation_or_404(member, conversation_id)
    text = request.POST.get("text", "")
    try:
        if request.POST.get("mode") == "note":
            message = send_actions.add_note(member.user, conversation, text)
        else:
            extra = conversation.channel.connector.reply_extra(request.POST)
            files = [_attachment(f) for f in request.FILES.getlist("files")]
            message = send_actions.queue_reply(member.user, conversation, text, files, extra)
    except InvalidInbound as exc:
        return form_error(request, str(exc), "#reply-error")
    if request.headers.get("HX-Request"):
        message = _rendered_messages().get(pk=message.pk)
        return render(request, "web/inbox/_message.html", {"m": message})
    return _back(request, conversation)


def _after_change(
    request: HttpRequest, conversation: Conversation, member: Membership
) -> HttpResponse:
    if not request.headers.get("HX-Request"):
        return _back(request, conversation)
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
        {
            "conversation": conversation,
            "members": workspace_members(member),
            "statuses": STATUSES,
            "snooze_choices": _snooze_choices(),
            "event": event,
        },
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
    except InvalidInbound as exc:
        return form_error(request, str(exc), "#reply-error")
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
        except ValueError:
            return form_error(request, "Pick when the snooze should end.", "#reply-error")
        if timezone.is_naive(until):
            until = timezone.make_aware(until)
    try:
        conversation_actions.set_status(member.user, conversation, status, until)
    except InvalidInbound as exc:
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
    return _back(request, conversation)


@member_required
@require_POST
def retry(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    member = current_member(request)
    message = get_object_or_404(
        Message, pk=message_id, conversation_id=conversation_id, workspace_id=member.workspace_id
    )
    if message.status != DeliveryStatus.FAILED:
        return HttpResponseBadRequest("Only a failed message can be retried.")
    send_actions.retry(message)
    if request.headers.get("HX-Request"):
        message = _rendered_messages().get(pk=message.pk)
        return render(request, "web/inbox/_message.html", {"m": message})
    return _back(request, message.conversation)


# --- the contact panel and merging contacts ------------------------------------------------

MERGE_CANDIDATES = 8


def _contact_panel(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    return render(
        request,
        "web/inbox/_contact.html",
        {"conversation": conversation, "others": _other_conversations(conversation)},
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
    except InvalidInbound as exc:
        return form_error(request, str(exc), "#merge-results")
    if not request.headers.get("HX-Request"):
        return _back(request, conversation)
    return _contact_panel(request, conversation_or_404(member, conversation_id))


# --- email bodies and files --------------------------------------------------------------


def sanitize_email_html(html: str) -> str:
    """nh3 with its safe defaults; links open outside the frame and carry no referrer."""
    return nh3.clean(
        html,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes={"http", "https", "mailto", "cid", "data"},
    )


_FRAME_CSP_BLOCKED = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["data:"],
    "font-src": ["data:"],
    "form-action": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'self'"],
    "sandbox": ["allow-popups", "allow-popups-to-escape-sandbox"],
}
_FRAME_CSP_IMAGES = {**_FRAME_CSP_BLOCKED, "img-src": ["data:", "https:", "http:"]}


def _email_document(message: Message) -> str:
    body = sanitize_email_html(message.html)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
        "<style>body{font:14px/1.5 system-ui,sans-serif;color:#1f2937;margin:12px;"
        "word-wrap:break-word}img{max-width:100%;height:auto}blockquote{margin:0 0 0 8px;"
        "padding-left:8px;border-left:3px solid #d1d5db;color:#4b5563}</style></head><body>"
        f"{body}</body></html>"
    )


@member_required
@require_GET
def email_body(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    member = current_member(request)
    message = get_object_or_404(
        Message, pk=message_id, conversation_id=conversation_id, workspace_id=member.workspace_id
    )
    response = HttpResponse(_email_document(message))
    response._csp_config = (  # type: ignore[attr-defined]
        _FRAME_CSP_IMAGES if request.GET.get("images") == "1" else _FRAME_CSP_BLOCKED
    )
    response["Cache-Control"] = "private, no-store"
    return response


@member_required
@require_GET
def attachment_file(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    member = current_member(request)
    row = get_object_or_404(Attachment, pk=attachment_id, workspace_id=member.workspace_id)
    inline = row.content_type.split("/", 1)[0] in {"image", "audio", "video"}
    response = FileResponse(
        row.file.open("rb"),
        as_attachment=not inline,
        filename=row.name,
        content_type=row.content_type,
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


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
