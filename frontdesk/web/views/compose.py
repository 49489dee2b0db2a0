"""New conversation: write first to a client through one connected channel.

The channel comes first (From): the page shows that channel's own fields (subject, Cc and
Bcc for email; the approved template and its variables for WhatsApp) and a contact picker
that searches the workspace's contacts by name, company and handle. Choosing another
channel re-renders the page with everything typed kept (a POST, so nothing is lost).
"""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from frontdesk.inbox.actions import compose as compose_actions
from frontdesk.inbox.actions.signatures import signature_for
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, ContactHandle, HandleKind
from frontdesk.web.access import current_member, member_required
from frontdesk.web.views.conversation import composer_settings
from frontdesk.web.views.shell import shell_context

# What "To" takes on each kind of channel, in words (the placeholder and the hint).
HANDLE_HINTS = {
    HandleKind.EMAIL: ("name@example.com", "An email address."),
    HandleKind.PHONE: (
        "+44 20 7946 0958",
        "A phone number with its country code; spaces and dashes are fine.",
    ),
    HandleKind.LINKEDIN: (
        "ACoAAB…",
        "The person's LinkedIn member id: pick someone who wrote to you before.",
    ),
    HandleKind.EXTERNAL: ("customer-42", "The id your system uses for this person."),
}
FIELDS = ("to", "name", "text", "signature")
PICKER_LIMIT = 8


def _channels(workspace_id: int) -> list[ChannelAccount]:
    return list(
        ChannelAccount.objects.filter(workspace_id=workspace_id, status="connected").order_by(
            "name"
        )
    )


@member_required
def compose(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    channels = _channels(member.workspace_id)
    data = request.POST if request.method == "POST" else request.GET
    wanted = data.get("channel", "")
    channel = next((c for c in channels if str(c.pk) == wanted), None)
    form = {k: data.get(k, "") for k in FIELDS}
    error = ""
    if request.method == "POST" and channel is None:
        error = "Pick a connected channel to write from."
    elif request.method == "POST" and channel is not None and data.get("action") != "switch":
        try:
            connector = channel.connector
            message = compose_actions.start(
                member.user,
                channel,
                form["to"],
                form["text"],
                form["name"].strip(),
                connector.reply_extra(request.POST),
                form["signature"],
            )
        except ActionRefused as exc:
            error = str(exc)
        else:
            return redirect("conversation", conversation_id=message.conversation_id)
    channel = channel or (channels[0] if channels else None)
    if request.method != "POST" and channel is not None:
        form["signature"] = signature_for(member, channel)
    connector = channel.connector if channel else None
    placeholder, hint = HANDLE_HINTS.get(connector.handle_kind, ("", "")) if connector else ("", "")
    ctx = {
        **shell_context(request),
        "compose_channels": channels,
        "channel": channel,
        "connector": connector,
        "capabilities": connector.capabilities if connector else None,
        "composer": composer_settings(connector) if connector else None,
        "form": {**form, **{k: v for k, v in request.POST.items() if k.startswith("x_")}},
        "to_placeholder": placeholder,
        "to_hint": hint,
        "error": error,
        "compose": True,
    }
    return render(request, "web/compose.html", ctx, status=400 if error else 200)


@member_required
@require_GET
def contact_picker(request: HttpRequest) -> JsonResponse:
    """Contacts with a handle the chosen channel can write to, matching what is typed."""
    member = current_member(request)
    channel = next(
        (c for c in _channels(member.workspace_id) if str(c.pk) == request.GET.get("channel")),
        None,
    )
    query = request.GET.get("q", "").strip()[:100]
    if channel is None or len(query) < 2:
        return JsonResponse({"contacts": []})
    handles = (
        ContactHandle.objects.filter(
            workspace_id=member.workspace_id,
            kind=channel.connector.handle_kind,
            contact__archived_at__isnull=True,
        )
        .filter(
            Q(value__icontains=query)
            | Q(contact__name__icontains=query)
            | Q(contact__company__icontains=query)
        )
        .select_related("contact")
        .order_by("contact__name", "value")[:PICKER_LIMIT]
    )
    return JsonResponse(
        {
            "contacts": [
                {
                    "handle": h.value,
                    "name": h.contact.display_name,
                    "company": h.contact.company,
                }
                for h in handles
            ]
        }
    )
