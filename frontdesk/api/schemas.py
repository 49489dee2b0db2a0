"""Request and response shapes of the REST API (DESIGN.md section 5 fixes the names)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, Field

from frontdesk.core.instants import in_utc

# A time the API is given (in a body or a query): stored and compared as UTC.
Instant = Annotated[datetime, AfterValidator(in_utc)]


class Error(Schema):
    detail: str


class ChannelRef(Schema):
    id: int
    kind: str
    provider: str
    removed: bool = Field(
        default=False, description="the channel was removed: readable, no more replies"
    )


class HandleOut(Schema):
    kind: str
    value: str


class ContactOut(Schema):
    id: int
    name: str
    company: str = ""
    handles: list[HandleOut]


class ContactMergeIn(Schema):
    other_id: int = Field(description="the contact merged into this one, then deleted")


class PersonOut(Schema):
    id: int
    name: str
    email: str


class LabelOut(Schema):
    id: int
    name: str
    color: str = Field(description="one of the palette's hex colours, e.g. #0090ff")


class ConversationOut(Schema):
    id: int
    channel: ChannelRef
    contact: ContactOut
    subject: str
    status: str
    assignee: PersonOut | None
    last_message_at: datetime
    snoozed_until: datetime | None
    waiting_since: datetime | None = Field(
        None, description="since when the client waits for an answer (their message is newest)"
    )
    preview: str
    unread: bool
    labels: list[LabelOut]


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    url: str


class MessageOut(Schema):
    id: int
    conversation_id: int
    direction: Literal["inbound", "outbound"]
    kind: Literal["message", "note", "event"]
    text: str
    html: str
    subject: str
    author: dict[str, Any] | None
    provider_id: str | None
    status: str | None
    error: str
    created_at: datetime
    mentions: list[int] = Field(default_factory=list, description="a note's mentioned members")
    attachments: list[AttachmentOut]


class ConversationPage(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


class ChannelIn(Schema):
    kind: str
    provider: str
    name: str = Field(min_length=1, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)


class AutoAssign(Schema):
    mode: Literal["off", "round_robin", "least_open"] = "off"
    cap: int | None = Field(default=None, ge=1, description="at most this many open per member")
    member_ids: list[int] | None = Field(
        default=None, description="who may get work (user ids); null: every member"
    )


class ChannelOut(Schema):
    id: int
    kind: str
    provider: str
    name: str
    status: str
    last_error: str
    config: dict[str, Any]
    auto_assign: AutoAssign
    secret: str | None = None  # the API channel's signing secret, shown once at creation
    removed: bool = Field(
        default=False,
        description="removed (Remove channel / DELETE): listed only with ?removed=true; its "
        "conversations stay readable and take no replies",
    )
    removed_at: datetime | None = None


class ChannelPatch(Schema):
    auto_assign: AutoAssign | None = None


class ChannelList(Schema):
    items: list[ChannelOut]
    next_cursor: str | None = None


class InboundContact(Schema):
    handle: str = Field(min_length=1, max_length=320)
    name: str | None = Field(default=None, max_length=300)


class InboundAttachmentIn(Schema):
    name: str = Field(max_length=500)
    content_type: str = "application/octet-stream"
    data_base64: str


class InboundIn(Schema):
    id: str = Field(min_length=1, max_length=500)
    contact: InboundContact
    text: str = ""
    thread: str | None = Field(default=None, max_length=500)
    sent_at: Instant | None = None
    attachments: list[InboundAttachmentIn] = Field(default_factory=list)


class InboundOut(Schema):
    message_id: int
    conversation_id: int


class StatusIn(Schema):
    id: str = Field(min_length=1, max_length=500)
    status: Literal["sent", "delivered", "read", "failed"]
    error: str = ""


class MessageIn(Schema):
    text: str
    kind: Literal["reply", "note"] = "reply"
    mentions: list[int] | None = Field(
        default=None,
        description='a note\'s mentioned members (user ids); by default each "@Name" in the text',
    )
    after_message_id: int | None = Field(
        default=None,
        description="a reply's newest message the sender had seen: if the conversation has a "
        "newer one (the client's, or a teammate's reply or note) the reply is held: 409 with "
        "the newer messages, nothing queued",
    )


class HeldReply(Schema):
    detail: str
    newer: list[MessageOut] = Field(
        default_factory=list, description="a held reply's newer messages, oldest first"
    )


class Recipient(Schema):
    handle: str = Field(min_length=1, max_length=320)
    name: str = Field(default="", max_length=300)


class NewConversationIn(Schema):
    channel_id: int
    to: Recipient
    text: str
    subject: str = Field(default="", max_length=500)


class NewConversationOut(Schema):
    conversation: ConversationOut
    message: MessageOut


class AssignIn(Schema):
    assignee_id: int | None = None


class StatusChangeIn(Schema):
    status: Literal["open", "pending", "snoozed", "resolved"]
    snoozed_until: Instant | None = None


class MeOut(Schema):
    user: PersonOut
    workspace: dict[str, Any]
    role: str
    available: bool


class MePatch(Schema):
    available: bool | None = None
