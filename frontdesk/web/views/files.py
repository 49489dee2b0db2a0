"""What a message carries, served to members only: an email's sanitized body (in a
sandboxed frame) and attachments.
"""

from __future__ import annotations

import nh3
from django.http import (
    FileResponse,
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
    "sandbox": ["allow-popups", "allow-popups-to-escape-sandbox"],
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
