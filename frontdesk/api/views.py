"""REST API v1. Views validate, call an action, and shape the answer; they never write rows."""

from __future__ import annotations

import base64
import binascii

from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Swagger
from ninja.errors import HttpError
from ninja.responses import Status

from frontdesk.api import schemas as s
from frontdesk.api import serialize
from frontdesk.api.auth import ChannelSecretAuth, TokenAuth, secret_matches
from frontdesk.api.auth import request_member as _member
from frontdesk.api.openapi import DocumentedAPI
from frontdesk.connectors.base import ConfigError, InboundAttachment, InboundMessage, StatusUpdate
from frontdesk.connectors.registry import CONNECTORS
from frontdesk.inbox import queries
from frontdesk.inbox.actions import conversation as conversation_actions
from frontdesk.inbox.actions import routing
from frontdesk.inbox.actions import send as send_actions
from frontdesk.inbox.actions.channel import remove_channel
from frontdesk.inbox.actions.connections import save_connection
from frontdesk.inbox.actions.delivery import ingest_status
from frontdesk.inbox.actions.ingest import ingest
from frontdesk.inbox.actions.send import add_note, queue_reply
from frontdesk.inbox.errors import ActionRefused, ReplyBlocked, ReplyHeld
from frontdesk.inbox.models import Attachment, ChannelAccount, Conversation
from frontdesk.workspaces.models import Membership, User

api = DocumentedAPI(
    title="Frontdesk API",
    version="1",
    urls_namespace="api-1",
    auth=TokenAuth(),
    docs_url="/docs",
    # No call home to validator.swagger.io (the CSP would block it anyway).
    docs=Swagger(settings={"validatorUrl": None}),
)
api.add_router("", "frontdesk.api.leads.router")
api.add_router("", "frontdesk.api.teamwork.router")
api.add_router("", "frontdesk.api.contacts.router")
api.add_router("", "frontdesk.api.deals.router")
api.add_router("", "frontdesk.api.followups.router")
api.add_router("", "frontdesk.api.search.router")


@api.exception_handler(ActionRefused)
def invalid_input(request: HttpRequest, exc: ActionRefused):
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(queries.BadCursor)
def bad_cursor(request: HttpRequest, exc: queries.BadCursor):
    return api.create_response(request, {"detail": "invalid cursor"}, status=400)


def _conversation(member: Membership, conversation_id: int) -> Conversation:
    row = queries.conversation_for(member.workspace_id, member.user_id, conversation_id)
    if row is None:
        raise HttpError(404, "conversation not found")
    return row


@api.get("/me", response=s.MeOut, tags=["people"])
def me(request: HttpRequest):
    return _me(_member(request))


@api.patch("/me", response=s.MeOut, tags=["people"])
def patch_me(request: HttpRequest, payload: s.MePatch):
    """Set yourself available for new work (auto-assignment) or away."""
    member = _member(request)
    if payload.available is not None:
        routing.set_available(member, payload.available)
    return _me(member)


def _me(member: Membership) -> dict:
    return {
        "user": serialize.person(member.user),
        "workspace": {
            "id": member.workspace_id,
            "name": member.workspace.name,
            "slug": member.workspace.slug,
        },
        "role": member.role,
        # (the token's membership is built from one flat query, without this field)
        "available": Membership.objects.filter(pk=member.pk)
        .values_list("available", flat=True)
        .first(),
    }


@api.get("/channels", response=s.ChannelList, tags=["channels"])
def list_channels(request: HttpRequest, removed: bool = False):
    """The workspace's channels; ``removed=true``: the removed ones instead (``last_error``
    says when the provider could not be told)."""
    member = _member(request)
    rows = queries.channels(member.workspace_id, removed=removed)
    return {"items": [serialize.channel(c) for c in rows], "next_cursor": None}


@api.patch(
    "/channels/{channel_id}",
    response={200: s.ChannelOut, 400: s.Error, 403: s.Error, 404: s.Error},
    tags=["channels"],
)
def patch_channel(request: HttpRequest, channel_id: int, payload: s.ChannelPatch):
    """Change a channel's auto-assignment (owners and admins)."""
    member = _member(request)
    channel = _admin_channel(member, channel_id)
    if payload.auto_assign is not None:
        routing.set_auto_assign(channel, payload.auto_assign.model_dump())
    return serialize.channel(channel)


@api.delete(
    "/channels/{channel_id}", response={204: None, 403: s.Error, 404: s.Error}, tags=["channels"]
)
def delete_channel(request: HttpRequest, channel_id: int):
    """Remove a channel (owners and admins): disconnected, its credentials erased, gone from
    the list; its conversations and messages stay readable, marked as from a removed
    channel, and cannot be replied to. What connecting set up at the provider is undone
    where the provider documents how (README, *Remove channel*); when the provider could
    not be told, the channel is removed all the same and ``GET /channels?removed=true``
    shows why in its ``last_error``."""
    remove_channel(_admin_channel(_member(request), channel_id))
    return Status(204, None)


def _admin_channel(member: Membership, channel_id: int) -> ChannelAccount:
    """A channel of the member's workspace, not removed, that they may change."""
    channel = ChannelAccount.objects.filter(
        pk=channel_id, workspace_id=member.workspace_id, removed_at=None
    ).first()
    if channel is None:
        raise HttpError(404, "channel not found")
    if not member.is_admin:
        raise HttpError(403, "only owners and admins can change channels")
    return channel


@api.post("/channels", response={201: s.ChannelOut, 400: s.Error, 403: s.Error}, tags=["channels"])
def create_channel(request: HttpRequest, payload: s.ChannelIn):
    member = _member(request)
    if not member.is_admin:
        raise HttpError(403, "only owners and admins can connect channels")
    connector = CONNECTORS.get(payload.provider)
    if connector is None or payload.kind not in connector.kinds:
        known = ", ".join(f"{k}/{c.provider}" for c in CONNECTORS.values() for k in c.kinds)
        raise HttpError(
            400, f"unknown kind/provider {payload.kind}/{payload.provider} (known: {known})"
        )
    connector = connector.for_kind(payload.kind)
    try:
        setup = connector.setup(payload.config)
    except ConfigError as exc:
        raise HttpError(400, str(exc)) from None
    channel = save_connection(
        ChannelAccount(
            workspace_id=member.workspace_id, kind=connector.kind, provider=connector.provider
        ),
        name=payload.name,
        config=setup.config,
        credentials=setup.credentials,
    )
    return Status(201, serialize.channel(channel, secret=setup.reveal_once.get("secret")))


def _inbound_channel(request: HttpRequest, channel_id: int) -> ChannelAccount:
    auth = request.auth  # type: ignore[attr-defined]
    found = list(ChannelAccount.objects.filter(pk=channel_id, removed_at=None)[:1])
    channel = found[0] if found else None
    if isinstance(auth, Membership):
        if channel is None or channel.workspace_id != auth.workspace_id:
            raise HttpError(404, "channel not found")
    else:
        if channel is None or not secret_matches(channel.credentials.get("secret", ""), str(auth)):
            raise HttpError(401, "invalid token for this channel")
    if not channel.connector.capabilities.api_inbound:
        raise HttpError(400, "this channel does not accept messages through the API")
    return channel


def _decode(item: s.InboundAttachmentIn) -> InboundAttachment:
    try:
        data = base64.b64decode(item.data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise HttpError(400, f"attachment {item.name!r}: data_base64 is not valid base64") from None
    return InboundAttachment(name=item.name, content_type=item.content_type, data=data)


@api.post(
    "/channels/{channel_id}/messages",
    response={200: s.InboundOut, 201: s.InboundOut, 400: s.Error, 401: s.Error, 404: s.Error},
    auth=[TokenAuth(), ChannelSecretAuth()],
    tags=["channels"],
)
def post_inbound(request: HttpRequest, channel_id: int, payload: s.InboundIn):
    """An external system delivers one inbound message. The same ``id`` twice is stored once."""
    channel = _inbound_channel(request, channel_id)
    result = ingest(
        channel,
        InboundMessage(
            provider_id=payload.id,
            handle=payload.contact.handle,
            contact_name=payload.contact.name or "",
            text=payload.text,
            thread_key=payload.thread or "",
            sent_at=payload.sent_at,
            attachments=[_decode(a) for a in payload.attachments],
        ),
    )
    body = {"message_id": result.message.pk, "conversation_id": result.conversation.pk}
    return Status(201 if result.created else 200, body)


@api.post(
    "/channels/{channel_id}/statuses",
    response={202: None, 400: s.Error, 401: s.Error, 404: s.Error},
    auth=[TokenAuth(), ChannelSecretAuth()],
    tags=["channels"],
)
def post_status(request: HttpRequest, channel_id: int, payload: s.StatusIn):
    """The external system reports delivery of an outbound message (by the id it answered)."""
    channel = _inbound_channel(request, channel_id)
    ingest_status(
        channel, StatusUpdate(provider_id=payload.id, status=payload.status, error=payload.error)
    )
    return Status(202, None)


@api.get(
    "/conversations",
    response={200: s.ConversationPage, 400: s.Error, 404: s.Error},
    tags=["conversations"],
)
def list_conversations(
    request: HttpRequest,
    status: str | None = None,
    assignee: str | None = Query(None, description='"me", "none" or a user id'),
    channel: int | None = None,
    label: int | None = Query(None, description="only conversations with this label"),
    unread: bool = False,
    waiting: bool = Query(
        False,
        description="only conversations whose newest message is the client's, the longest"
        " waiting first (waiting_since)",
    ),
    cursor: str | None = None,
    limit: int = 50,
):
    member = _member(request)
    if assignee not in (None, "me", "none") and not str(assignee).isdigit():
        raise HttpError(400, 'assignee must be "me", "none" or a user id')
    if label is not None and not queries.labels(member.workspace_id).filter(pk=label).exists():
        raise HttpError(404, "label not found")
    page = queries.conversations(
        member.workspace_id,
        member.user_id,
        queries.ConversationFilter(
            status=status,
            assignee=assignee,
            channel_id=channel,
            label_id=label,
            unread_only=unread,
            waiting=waiting,
        ),
        cursor=cursor,
        limit=max(1, min(limit, 200)),
    )
    return {
        "items": [serialize.conversation(c) for c in page.items],
        "next_cursor": page.next_cursor,
    }


@api.get(
    # an int, so that POST /conversations/bulk is not taken for a conversation's id
    "/conversations/{int:conversation_id}",
    response={200: s.ConversationOut, 404: s.Error},
    tags=["conversations"],
)
def get_conversation(request: HttpRequest, conversation_id: int):
    member = _member(request)
    return serialize.conversation(_conversation(member, conversation_id))


@api.get(
    "/conversations/{conversation_id}/messages",
    response={200: s.MessagePage, 404: s.Error},
    tags=["conversations"],
)
def list_messages(
    request: HttpRequest, conversation_id: int, before: str | None = None, limit: int = 100
):
    member = _member(request)
    conversation = _conversation(member, conversation_id)
    page = queries.thread(conversation, before=before, limit=max(1, min(limit, 500)))
    return {"items": [serialize.message(m) for m in page.items], "next_cursor": page.next_cursor}


@api.post(
    "/conversations/{conversation_id}/messages",
    response={201: s.MessageOut, 400: s.Error, 404: s.Error, 409: s.HeldReply},
    tags=["conversations"],
)
def post_message(request: HttpRequest, conversation_id: int, payload: s.MessageIn):
    """Queue a reply (sent by the worker through the conversation's channel) or add a note."""
    member = _member(request)
    conversation = _conversation(member, conversation_id)
    if payload.kind == "note":
        message = add_note(member.user, conversation, payload.text, payload.mentions)
    else:
        try:  # e.g. WhatsApp's closed 24-hour window: refused before anything is queued
            message = queue_reply(
                member.user, conversation, payload.text, after_message_id=payload.after_message_id
            )
        except ReplyHeld as exc:  # something newer came: held, nothing queued
            return Status(
                409, {"detail": str(exc), "newer": [serialize.message(m) for m in exc.newer]}
            )
        except ReplyBlocked as exc:
            raise HttpError(409, str(exc)) from None
    return Status(201, serialize.message(message))


@api.post(
    "/conversations",
    response={201: s.NewConversationOut, 400: s.Error, 404: s.Error, 409: s.Error},
    tags=["conversations"],
)
def start_conversation(request: HttpRequest, payload: s.NewConversationIn):
    """Write first to someone through one of the workspace's channels (an email to an
    address, a LinkedIn message to a member ...). The message is queued like a reply."""
    member = _member(request)
    channel = ChannelAccount.objects.filter(
        pk=payload.channel_id, workspace_id=member.workspace_id
    ).first()
    if channel is None:
        raise HttpError(404, "channel not found")
    extra = {"subject": payload.subject} if payload.subject else {}
    try:
        message = send_actions.start_conversation(
            member.user, channel, payload.to.handle, payload.text, payload.to.name, extra=extra
        )
    except ReplyBlocked as exc:
        raise HttpError(409, str(exc)) from None
    conversation = _conversation(member, message.conversation_id)
    return Status(
        201,
        {
            "conversation": serialize.conversation(conversation),
            "message": serialize.message(message),
        },
    )


@api.post(
    "/conversations/{conversation_id}/assign",
    response={200: s.ConversationOut, 400: s.Error, 404: s.Error},
    tags=["conversations"],
)
def assign(request: HttpRequest, conversation_id: int, payload: s.AssignIn):
    member = _member(request)
    conversation = _conversation(member, conversation_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = User.objects.filter(
            pk=payload.assignee_id, memberships__workspace_id=member.workspace_id
        ).first()
        if assignee is None:
            raise HttpError(400, "assignee is not a member of this workspace")
    conversation_actions.assign(member.user, conversation, assignee)
    return serialize.conversation(_conversation(member, conversation_id))


@api.post(
    "/conversations/{conversation_id}/status",
    response={200: s.ConversationOut, 400: s.Error, 404: s.Error},
    tags=["conversations"],
)
def change_status(request: HttpRequest, conversation_id: int, payload: s.StatusChangeIn):
    member = _member(request)
    conversation = _conversation(member, conversation_id)
    conversation_actions.set_status(
        member.user, conversation, payload.status, payload.snoozed_until
    )
    return serialize.conversation(_conversation(member, conversation_id))


@api.post(
    "/conversations/{conversation_id}/read",
    response={204: None, 404: s.Error},
    tags=["conversations"],
)
def mark_read(request: HttpRequest, conversation_id: int):
    member = _member(request)
    conversation_actions.mark_read(member.user, _conversation(member, conversation_id))
    return Status(204, None)


@api.get(
    "/attachments/{attachment_id}/content", tags=["conversations"], url_name="attachment_content"
)
def attachment_content(request: HttpRequest, attachment_id: int):
    member = _member(request)
    row = get_object_or_404(Attachment, pk=attachment_id, workspace_id=member.workspace_id)
    return FileResponse(
        row.file.open("rb"), as_attachment=True, filename=row.name, content_type=row.content_type
    )
