"""What a message carries, served to members only: an email's sanitized body (in a
sandboxed frame) and attachments.
"""

from __future__ import annotations

import re

import nh3
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from frontdesk.inbox.models import (
    Attachment,
    Message,
)
from frontdesk.web.access import (
    current_member,
    member_required,
)

# --- list state --------------------------------------------------------------------------


_FRAME_CSP_BLOCKED = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["data:"],
    "font-src": ["data:"],
    "form-action": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'self'"],
    # Same origin (never scripts: no allow-scripts here, script-src 'none' and nh3 strip them)
    # so the thread can read the body's height and size the frame to it.
    "sandbox": ["allow-same-origin", "allow-popups", "allow-popups-to-escape-sandbox"],
}
_FRAME_CSP_IMAGES = {**_FRAME_CSP_BLOCKED, "img-src": ["data:", "https:", "http:"]}


def sanitize_email_html(html: str) -> str:
    """nh3 with its safe defaults; links open outside the frame and carry no referrer."""
    return nh3.clean(
        html,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes={"http", "https", "mailto", "cid", "data"},
    )


# A remote image while images are blocked: a quiet placeholder box instead of the
# browser's broken-image icon (nh3 writes attributes with double quotes).
_REMOTE_IMG = re.compile(r'<img\b([^>]*?)\ssrc="(?:https?:)?//[^"]*"([^>]*)>', re.IGNORECASE)
_ALT = re.compile(r'\salt="([^"]*)"')


def _placeholder(match: re.Match[str]) -> str:
    alt = _ALT.search(match.group(1) + match.group(2))
    label = alt.group(1) if alt and alt.group(1).strip() else "Image"
    return f'<span class="fd-blocked-img" title="Remote image blocked">{label}</span>'


def _folded_body(message: Message) -> str:
    """The email, its quoted history (where the mail program started it, found at import)
    folded behind "…": a ``<details>`` opens without any script in the frame."""
    html = message.html
    at = message.extra.get("html_quoted_at") if isinstance(message.extra, dict) else None
    if not isinstance(at, int) or not 0 < at < len(html):
        return sanitize_email_html(html)
    return (
        f"{sanitize_email_html(html[:at])}"
        '<details class="fd-quoted"><summary title="Show the quoted history"'
        ' aria-label="Show the quoted history">…</summary>'
        f"{sanitize_email_html(html[at:])}</details>"
    )


def _email_document(message: Message, images: bool) -> str:
    body = _folded_body(message)
    if not images:
        body = _REMOTE_IMG.sub(_placeholder, body)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
        "<style>body{font:14px/1.5 system-ui,sans-serif;color:#1f2937;margin:12px;"
        "word-wrap:break-word}img{max-width:100%;height:auto}blockquote{margin:0 0 0 8px;"
        "padding-left:8px;border-left:3px solid #d1d5db;color:#4b5563}"
        ".fd-blocked-img{display:inline-block;padding:6px 10px;border:1px dashed #d1d5db;"
        "border-radius:4px;background:#f9fafb;color:#6b7280;font-size:12px}"
        ".fd-quoted{margin-top:8px}.fd-quoted>summary{display:inline-block;list-style:none;"
        "cursor:pointer;padding:0 8px;border-radius:8px;background:#e5e7eb;color:#374151;"
        "font-weight:700;line-height:16px}.fd-quoted>summary::-webkit-details-marker{display:none}"
        ".fd-quoted[open]>summary{margin-bottom:6px}"
        "</style></head><body>"
        f"{body}</body></html>"
    )


@member_required
@require_GET
def email_body(request: HttpRequest, conversation_id: int, message_id: int) -> HttpResponse:
    member = current_member(request)
    message = get_object_or_404(
        Message, pk=message_id, conversation_id=conversation_id, workspace_id=member.workspace_id
    )
    images = request.GET.get("images") == "1"
    response = HttpResponse(_email_document(message, images))
    response._csp_config = (  # type: ignore[attr-defined]
        _FRAME_CSP_IMAGES if images else _FRAME_CSP_BLOCKED
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


@require_GET
def original_message(request: HttpRequest, message_id: int) -> HttpResponseBase:
    """The message as the provider delivered it (an email's ``.eml``; ``Connector.original``
    says where it is kept), for any member of its workspace."""
    member = getattr(request, "membership", None)
    if member is None:
        return HttpResponse("Sign in first.", status=403)
    message = get_object_or_404(
        Message.objects.select_related("channel"), pk=message_id, workspace_id=member.workspace_id
    )
    original = message.channel.connector.original(message.extra or {})
    if original is None or not default_storage.exists(original.key):
        raise Http404("no original message is stored for this message")
    response = FileResponse(
        default_storage.open(original.key, "rb"),
        as_attachment=True,
        filename=f"message-{message.pk}{original.suffix}",
        content_type=original.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response
