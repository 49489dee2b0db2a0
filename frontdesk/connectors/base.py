"""The one interface every channel connector implements.

A connector turns provider traffic into plain values (``InboundMessage``,
``StatusUpdate``) for ``inbox.actions.ingest`` and sends one ``OutboundMessage``.
Views, models and templates ask the connector; they never test a provider name.

Sending is values in, values out: the outbox hands ``send`` an ``OutboundMessage`` carrying
everything the connector needs (the recipient, the thread, the message it answers, when the
client last wrote) and records what comes back (``SendResult``); a reply sent as several
provider messages reports each accepted part through ``PartsSent`` as it goes. A connector
never queries or writes the inbox's rows to send.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from django.urls import NoReverseMatch, reverse

from frontdesk.connectors import http as outbound


class ChannelPort(Protocol):
    """A channel as a connector sees it: read, never written. The inbox hands connectors a
    ``ChannelView`` (values copied from the row); a connector types against this, so it is
    checked without the inbox, and its tests may hand it a row or a view alike."""

    @property
    def pk(self) -> Any: ...
    @property
    def workspace_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def config(self) -> Any: ...  # dict[str, Any], a JSON field
    @property
    def credentials(self) -> dict[str, Any]: ...
    @property
    def sync_state(self) -> Any: ...  # the last stored sync page's cursor
    @property
    def connector(self) -> Connector: ...  # the variant serving this channel's kind
    def refresh_credentials(self, held: Any, fresh: Any, refresh: Any) -> dict[str, Any]:
        """An OAuth access token refreshed once across workers (``inbox/credentials.py``)."""
        ...


@dataclass(eq=False)
class ChannelView:
    """A channel as the inbox hands it to a connector (``ChannelAccount.view``): values read
    from its row and copied, so nothing a connector does to them reaches the row. The
    credentials are decrypted when first asked for; refreshing them goes back through the
    inbox (``refresh_credentials``), which stores them, and the view holds the new ones."""

    pk: Any
    workspace_id: int
    kind: str
    provider: str
    name: str
    config: dict[str, Any]
    sync_state: Any
    connector: Connector = field(repr=False)
    read_credentials: Callable[[], dict[str, Any]] = field(repr=False)
    refresh: Callable[[Any, Any, Any], dict[str, Any]] = field(repr=False)
    _credentials: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def credentials(self) -> dict[str, Any]:
        if self._credentials is None:
            self._credentials = self.read_credentials()
        return dict(self._credentials)

    def refresh_credentials(self, held: Any, fresh: Any, refresh: Any) -> dict[str, Any]:
        self._credentials = self.refresh(held, fresh, refresh)
        return dict(self._credentials)


@dataclass
class InboundAttachment:
    name: str
    content_type: str = "application/octet-stream"
    data: bytes = b""
    path: str = ""  # when set, the data is read from this file (large files stay on disk)


@dataclass
class InboundOriginal:
    """A message whole, as the provider delivered it (an email's .eml), for the inbox to keep
    for download (``Connector.original``) and re-reading: its bytes, or the file holding them
    (``path``, a connector's temporary file: the inbox reads it while it stores the page, so
    the file must last until the page is stored). The inbox keeps one copy per content, under
    ``<folder>/<channel id>/<sha256[:2]>/<sha256><suffix>`` in the app's file storage (a sync
    page's before its transaction), and puts that key in the message's
    ``extra[ORIGINAL_KEY]`` before the message is written."""

    folder: str  # where the channel's originals go, e.g. "email/raw"
    suffix: str  # e.g. ".eml"
    data: bytes = b""
    path: str = ""  # when set, the original is read from this file (large ones stay on disk)


# Where a stored message's ``extra`` holds the storage key of its kept original.
ORIGINAL_KEY = "raw_key"

# The handle of a message whose sender could not be read (an email with no usable From):
# stored under one "Unknown sender" contact, readable, never replied to. ``.invalid`` is
# reserved (RFC 2606): no mail can ever go there.
UNKNOWN_SENDER = "unknown-sender@frontdesk.invalid"
UNKNOWN_SENDER_NAME = "Unknown sender"


@dataclass
class InboundMessage:
    """One message as the provider told it, before it becomes rows."""

    provider_id: str
    # The sender (inbound) or recipient (outbound) address. An outbound message may leave it
    # empty when the provider did not say who it went to: the inbox finds out (the contact
    # of the thread's conversation, else ``Connector.webhook_recipient``, else the reply
    # being sent now that it echoes; ``inbox/pipeline.py``).
    handle: str
    text: str = ""
    html: str = ""
    subject: str = ""
    contact_name: str = ""
    thread_key: str = ""  # empty: one conversation per handle on this channel
    references: list[str] = field(default_factory=list)  # provider ids this one answers
    reply_to_provider_id: str = ""
    sent_at: datetime | None = None
    outbound: bool = False  # sent from the connected account elsewhere (a phone, a mail client)
    # An outbound message's delivery state as the provider knows it when it is imported
    # ("delivered", "read"); empty: "sent".
    delivery: str = ""
    attachments: list[InboundAttachment] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # Facts the contact keeps when this message is new, the first value of each winning
    # (e.g. the ad that brought the client in).
    contact_facts: dict[str, Any] = field(default_factory=dict)
    # Media to download after the message is stored: ``extra["media"]`` says what, the inbox's
    # ``fetch_media`` job hands it to ``Connector.download`` (the message shows it pending).
    fetch_later: bool = False
    # Attachments to download *before* the message is stored (``Connector.fetch_attachments``,
    # run by an inbox job; the webhook is answered 202): the message appears whole.
    fetch_first: bool = False
    # What the message says about its sender (a picture, a profile link): fills the
    # contact's blanks when the message is new.
    profile: ProfileUpdate | None = None
    # Ask the provider for the sender's full profile once (``Connector.enrich``) when new.
    enrich: bool = False
    # The message as the provider delivered it, kept by the inbox (``InboundOriginal``).
    original: InboundOriginal | None = None


@dataclass
class StatusUpdate:
    provider_id: str
    status: str  # sent | delivered | read | failed
    error: str = ""


@dataclass
class Reaction:
    message_id: str  # the reacted-to message's provider id
    by: str  # the reactor's handle
    emoji: str  # "" removes the reaction
    at: datetime | None
    name: str = ""


@dataclass
class HandleChange:
    """A client's address moved (a new phone number): their handle follows."""

    kind: str
    old: str
    new: str


@dataclass(frozen=True)
class ProfileUpdate:
    """What a provider says about a contact: it fills blanks, never overwrites. ``complete``:
    a full profile was read, so the contact is not looked up again."""

    name: str = ""
    picture: str = ""  # an https:// URL, copied to our storage
    company: str = ""
    headline: str = ""
    url: str = ""  # the profile's public page
    location: str = ""
    complete: bool = False


@dataclass(frozen=True)
class ChannelStateChange:
    """The provider says the connected account's state changed. ``status`` is one of
    connected, connecting, error, needs_reconnect, disconnected; a disconnected channel
    only ever takes "disconnected" (an admin's disconnect is not undone by the provider)."""

    status: str
    error: str = ""


@dataclass
class InboundEvents:
    """What one piece of provider traffic says, for the inbox to write."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    handle_changes: list[HandleChange] = field(default_factory=list)
    channel_states: list[ChannelStateChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # errors the provider reported: logged


@dataclass
class SyncPage:
    """One step of a sync (``Connector.sync_pages``): what it read, and where the sync stands
    once that is stored. The inbox writes the events, the cursor and the rest in ONE
    transaction, then publishes; a page that fails is stored not at all, so the next run
    starts again from the cursor before it and loses nothing (ingest is idempotent on the
    provider id, so what a page had stored once is never stored twice)."""

    events: InboundEvents = field(default_factory=InboundEvents)
    # The channel's sync position after this page (opaque to the inbox, a JSON object that
    # replaces the last one; ``SyncRun.cursor`` hands it back next time). None: unchanged.
    cursor: dict[str, Any] | None = None
    # What the provider changed about the connection itself (refreshed OAuth tokens, a
    # registered webhook's secret): the whole new value, stored encrypted. None: unchanged.
    credentials: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    # A history import's progress, (done, total) messages; shown live. done >= total ends it
    # (total ``UNKNOWN_TOTAL``: the provider gives none).
    progress: tuple[int, int] | None = None
    # The channel was synced now ("synced 2 minutes ago").
    synced: bool = False
    # The sync worked again: a channel still connected forgets the last sync error.
    recovered: bool = False
    # A message of this page that cannot be stored (anything but the database failing) is
    # logged and skipped alone, its writes undone, and the rest of the page is stored: one
    # broken mail must not hold a mailbox back. False: it fails the page (retried next run).
    skip_unstorable: bool = False


@dataclass(frozen=True)
class SyncRun:
    """What the inbox gives a sync: where the last stored page left it, and the questions a
    sync may ask of the inbox (answered from its rows, read-only)."""

    cursor: Mapping[str, Any]
    # Which of these provider ids this channel has stored already (skip downloading them).
    known: Callable[[Sequence[str]], set[str]] = lambda ids: set()
    # The credentials of the workspace's other channels of this provider whose config holds
    # these values (a webhook endpoint several accounts share).
    siblings: Callable[[Mapping[str, Any]], list[dict[str, Any]]] = lambda config: []
    # The stored messages among these provider ids, each with the value the connector put
    # under this key of its ``InboundMessage.extra`` (None: none): tells the same message
    # read again from another one under a reused id (e.g. by a fingerprint of its body).
    held: Callable[[Sequence[str], str], dict[str, Any]] = lambda ids, key: {}
    # Which of these provider ids are messages this channel sent (replies sent from here,
    # or imported as sent from the account elsewhere): what a delivery report may concern.
    sent: Callable[[Sequence[str]], set[str]] = lambda ids: set()
    # Which of these Frontdesk message ids (``OutboundMessage.message_id``, read back from
    # what the connector made of a send, e.g. an email's Message-ID) are this channel's
    # messages: a copy of our own send found at the provider, even before the outbox has
    # recorded its provider id.
    ours: Callable[[Sequence[int]], set[int]] = lambda ids: set()


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook delivery as the door received it."""

    method: str
    headers: Mapping[str, str]  # case-insensitive
    query: Mapping[str, str]
    body: bytes
    declared_length: int = 0  # Content-Length (0: not given)


class WebhookAnswer(Exception):
    """Stop handling a delivery and answer this. The door's policy: 401 bad or missing
    signature, 400 unreadable body, 413 too large, 200 with ``ignored`` for traffic about
    no channel here or of no interest."""

    def __init__(self, status: int, body: Mapping[str, Any], text: bool = False):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = dict(body)
        self.text = text  # answer body["text"] as text/plain (handshakes)

    @classmethod
    def unsigned(cls, why: str) -> WebhookAnswer:
        return cls(401, {"error": why})

    @classmethod
    def unreadable(cls, why: str) -> WebhookAnswer:
        return cls(400, {"error": why})

    @classmethod
    def too_large(cls) -> WebhookAnswer:
        return cls(413, {"error": "payload too large"})

    @classmethod
    def ignored(cls, why: str) -> WebhookAnswer:
        return cls(200, {"ok": True, "ignored": why})

    @classmethod
    def plain(cls, status: int, text: str) -> WebhookAnswer:
        return cls(status, {"text": text}, text=True)


@dataclass
class OutgoingAttachment:
    id: int
    name: str
    content_type: str
    size: int
    path: str
    url: str


@dataclass(frozen=True)
class ReplyParent:
    """The earlier message a reply answers (given to connectors with ``wants_reply_parent``):
    the one quoted, else the newest one no other message answers."""

    provider_id: str
    subject: str  # its own subject, else its conversation's
    # The provider ids of the thread up to it, oldest first (what it referenced, else the
    # conversation's earlier messages); the parent's own id is not included.
    references: tuple[str, ...] = ()
    sent_at: datetime | None = None
    author: str = ""
    text: str = ""


@dataclass
class OutboundMessage:
    """What a connector needs to send one reply. ``idempotency_key`` never changes across retries."""

    message_id: int
    conversation_id: int
    to_handle: str
    thread_key: str
    text: str
    html: str = ""
    subject: str = ""
    reply_to_provider_id: str = ""
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # When the client last wrote in this conversation (None: never): reply windows.
    last_inbound_at: datetime | None = None
    parent: ReplyParent | None = None
    # Provider ids of the parts of this reply already accepted on an earlier attempt, in
    # order: a retry skips them (see ``PartsSent``).
    sent_parts: tuple[str, ...] = ()
    # The display name the reply goes out under where the channel shows one (email ``From``):
    # the channel's own, or "<member> at <workspace>".
    sender_name: str = ""

    @property
    def idempotency_key(self) -> str:
        return f"frontdesk-message-{self.message_id}"


@dataclass(frozen=True)
class ReplyContext:
    """The conversation a reply would go to, as ``Connector.reply_blocked_reason`` sees it
    (built by the inbox from its row)."""

    # When the client last wrote in this conversation (None: never): reply windows.
    last_inbound_at: datetime | None = None


# Called by ``Connector.send`` with the provider ids of the parts accepted so far (in order)
# when a reply goes as several provider messages without an idempotency key: the outbox
# commits them before the next part goes, so a retry never sends a part twice, and a status
# or a quote of any part finds the reply.
PartsSent = Callable[[Sequence[str]], None]
# A history import's progress (``SyncPage.progress``) may give ``UNKNOWN_TOTAL`` when the
# provider gives no total (Unipile lists chats and messages without an account-wide count).
# The inbox stores it and shows it live ("Importing: 1,240 of ~3,000 messages", or
# "Importing: 1,240 messages so far"); a known total with done >= total ends it (so an
# import without a total ends with (done, done)).
UNKNOWN_TOTAL = -1


@dataclass
class SendResult:
    provider_id: str | None = None
    # The provider's thread this send started (a new chat): the conversation adopts it.
    thread_key: str = ""


class SendError(Exception):
    """A send that did not go through; ``reason`` is shown to the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TransientSendError(SendError):
    """Worth retrying later (timeouts, 5xx, rate limits)."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying will not help: the message fails with the provider's reason."""


class ReconnectNeeded(PermanentSendError):
    """The credentials were refused: the channel needs an admin to reconnect it."""


class ProviderCallError(Exception):
    """A background call to the provider (a download, a read receipt) that failed;
    ``reason`` is shown or logged. ``retry``: worth another try later; ``reconnect``: the
    credentials were refused (the inbox flags the channel "needs reconnection")."""

    def __init__(self, reason: str, *, retry: bool = False, reconnect: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.reconnect = reconnect


@dataclass(frozen=True)
class RetryPolicy:
    """How often a background call is tried, and the first wait (doubled each time, at
    most an hour)."""

    attempts: int = 5
    first_delay_s: float = 15.0

    def delay(self, attempt: int) -> float:
        return min(self.first_delay_s * 2.0 ** max(attempt - 1, 0), 3600.0)


class SyncBusy(Exception):
    """The channel's sync is running somewhere else right now (``ChannelDirectory.sync_now``)."""


class ChannelDirectory(Protocol):
    """The inbox's channels as a connector's worker service sees them (``worker_service``):
    read them, ask for a sync; never write them."""

    def connected(self, kind: str) -> Sequence[ChannelPort]:
        """The connected channels of this kind (their credentials read when asked for)."""
        ...

    def connected_one(self, channel_id: int) -> ChannelPort | None:
        """The channel, whole, if it is still connected."""
        ...

    def sync_now(self, channel_id: int) -> None:
        """Run the channel's sync here and now, as the worker's job does (its pages stored by
        the inbox); raises ``SyncBusy`` when the worker is syncing it already."""
        ...

    def let_go(self) -> None:
        """This thread is about to wait (or stop): it holds no database connection after."""
        ...


class InputRefused(ValueError):
    """Input that cannot be acted on, said in words a user can act on (a reply form's bad Cc
    address). The inbox's ``ActionRefused`` is this class: the web and the API answer it with
    its words (400 or 409), whoever raised it."""


class ConfigError(ValueError):
    """A channel configuration that cannot work; the message says which field and why."""


@dataclass(frozen=True)
class AttachmentRule:
    """Files of these content types (``image/png``, ``image/*``, ``*/*``) up to ``max_bytes``;
    ``what`` names them for a person ("photos (JPEG, PNG)")."""

    types: tuple[str, ...]
    max_bytes: int
    what: str

    def matches(self, content_type: str) -> bool:
        major = content_type.split("/", 1)[0]
        return any(t in (content_type, f"{major}/*", "*/*") for t in self.types)


@dataclass(frozen=True)
class Capabilities:
    attachments: bool = False
    # Takes an HTML body beside the plain text (the composer's formatting goes as HTML).
    html: bool = False
    # The channel's own text markup when it takes no HTML: "whatsapp" (*bold*, _italic_,
    # "- " lists); empty: plain text, formatting markers taken out.
    markup: str = ""
    # The most characters one message carries (None: no limit worth showing), and whether a
    # longer text is sent as several messages instead of being refused.
    text_limit: int | None = None
    splits_long_text: bool = False
    # Replies carry the sender's signature (email).
    signatures: bool = False
    # Which files the channel takes, and how big (none: any file up to the app's own limit).
    attachment_rules: tuple[AttachmentRule, ...] = ()
    subject: bool = False
    templates: bool = False
    read_receipts: bool = False
    reply_window_hours: int | None = None
    # The worker runs ``Connector.sync_pages`` periodically (mailbox polling, backfill).
    sync: bool = False
    api_inbound: bool = False  # external systems may post messages in through the REST API

    def attachment_refused(self, name: str, content_type: str, size: int, app_limit: int) -> str:
        """Why this file cannot go out on the channel, in words (empty: it can)."""
        if not self.attachments:
            return "this channel cannot send files"
        content_type = (content_type or "application/octet-stream").split(";")[0].lower()
        rule = next((r for r in self.attachment_rules if r.matches(content_type)), None)
        if self.attachment_rules and rule is None:
            takes = "; ".join(r.what for r in self.attachment_rules)
            return f"{name}: this channel does not take this kind of file (it takes {takes})"
        limit = min(rule.max_bytes, app_limit) if rule else app_limit
        if size > limit:
            return f"{name} is {_megabytes(size)}: the limit for it here is {_megabytes(limit)}"
        return ""


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(size // 1024, 1)} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


@dataclass
class ChannelSetup:
    """A validated configuration, split into what may be shown and what is encrypted."""

    config: dict[str, Any]
    credentials: dict[str, Any]
    reveal_once: dict[str, Any] = field(default_factory=dict)  # shown to the creator, once


@dataclass(frozen=True)
class OriginalMessage:
    """A message as the provider delivered it, kept in the app's file storage under ``key``
    (``Connector.original``): downloaded as ``message-<id><suffix>``."""

    key: str
    content_type: str
    suffix: str


@dataclass(frozen=True)
class ConnectRoute:
    """A URL of a connector's connect flow (``connect_flows.py``: the kind offering each
    step). The app's views serve it (``web/views/connect.py`` drives every flow); the
    connector only chooses the path (a provider has its callback URL
    registered, so it never changes) and the URL name. ``step``, what the app serves there:

    - "page": the connector's own connect page;
    - "callback": where the provider sends the browser back (the pending row claimed at once);
    - "popup": where the provider's popup posts its answer (``popup_complete``);
    - "continue" (path with ``<int:pending_id>``): the app's own page that goes on to the
      provider's link (``ConnectRedirect.via_continue``);
    - "notify": the provider confirms a flow server to server (``notify_read``, then
      ``notify_complete``; a POST, answered in JSON);
    - "return": where the browser comes back when the provider may confirm by "notify"
      (``notify_awaited``), or by the return itself (``redirect_complete``);
    - "status" (path with ``<int:channel_id>``): a channel's own page (``status_template``);
    - "reconnect" (path with ``<int:channel_id>``): a POST starting the flow again for the
      channel (``reconnect_pending``)."""

    step: str
    path: str
    name: str


@dataclass(frozen=True)
class PendingValues:
    """A connect flow under way at the provider (the inbox's pending connection), as values:
    what ``connect_pending`` asked it to keep, the flow's single-use ``state``, and the
    channel being reconnected (None: a new one)."""

    id: int
    state: str
    kind: str
    name: str
    config: Mapping[str, Any]
    credentials: Mapping[str, Any]
    expires_at: datetime
    channel: ChannelPort | None = None


@dataclass
class ConnectPending:
    """What a redirect flow keeps while the person is at the provider (``connect_pending``):
    the name the channel will get, shown config, and secrets (stored encrypted)."""

    name: str
    config: dict[str, Any]
    credentials: dict[str, Any] = field(default_factory=dict)
    # The channel kind the flow connects, when the form chose it ("": the connector's kind).
    kind: str = ""


@dataclass(frozen=True)
class ConnectRedirect:
    """Where a redirect flow sends the person (a consent page), and the secrets to keep for
    its end (a PKCE verifier). ``via_continue``: the page's origin is only known now (the
    provider made the link), so the CSP's ``form-action`` could not allow it: the app answers
    with a redirect to its own "continue" page, which goes on to ``url`` (a GET navigation)."""

    url: str
    keep: dict[str, Any] = field(default_factory=dict)
    via_continue: bool = False


@dataclass(frozen=True)
class ConnectNotice:
    """What a provider confirmed server to server ("notify" route, ``notify_read``): the
    flow's state ("": the call proves no attempt, answered as an unknown state), the
    provider's account, and whether the provider says it reconnected an account (rather
    than made a new one)."""

    state: str
    account: str
    reconnected: bool = False


@dataclass
class ConnectionTried:
    """What trying a configuration at the provider found: ``words`` for the page ("Connection
    works." and these), more for its template (``details``), the name a channel connected so
    gets when nobody gave one, and warnings for the person (it connected all the same)."""

    words: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConnectPopup:
    """A provider's popup the connect page opens (Meta's Embedded Signup): the script that
    runs it, and the origins it frames, calls and posts its messages from. The page's CSP
    allows exactly those, and keeps the link to the popups it opens."""

    script: str
    origins: tuple[str, ...]


class ConnectRefused(Exception):
    """A connect flow that ended without a channel, in words for the person. ``cancelled``:
    they chose to (told as news, not as an error)."""

    def __init__(self, words: str, cancelled: bool = False):
        super().__init__(words)
        self.words = words
        self.cancelled = cancelled


@dataclass(frozen=True)
class Glyph:
    """How the app marks a channel kind (sidebar, lists, Apps & integrations): a short
    ``text`` in ``colour`` on ``background`` (CSS hex colours)."""

    text: str
    background: str = "#e5e7eb"
    colour: str = "#374151"


@dataclass(frozen=True)
class ConnectField:
    """One field of the app's own connect form (``Connector.connect_fields``); its value goes
    to ``setup`` under ``name``. ``secret``: typed into a password box, never shown again."""

    name: str
    label: str
    help: str = ""
    input_type: str = "text"  # text | url | number | email
    secret: bool = False
    required: bool = True
    placeholder: str = ""


class Connector(ABC):
    provider: ClassVar[str]
    kind: ClassVar[str]
    label: ClassVar[str]
    # What a person calls the channel's kind ("WhatsApp", "Email"), beside a channel's name.
    kind_label: ClassVar[str] = ""
    # How the thread labels a message the team sent outside Frontdesk on this channel (a
    # history import, the provider's echo of a send from its own app); "" = "sent from
    # <kind_label>".
    sent_outside_label: ClassVar[str] = ""
    # The kind of address its clients are known by (``ContactHandle.kind``): one of
    # ``handle_kinds``.
    handle_kind: ClassVar[str]
    # The kinds of address this connector brings, each with its label ({"phone": "Phone"}):
    # the registry gathers them, the contact panel and page show the label, and the inbox
    # refuses an address of a kind no registered connector declares.
    handle_kinds: ClassVar[Mapping[str, str]] = {}
    capabilities: ClassVar[Capabilities] = Capabilities()
    # The mark of each kind it serves (a kind without one shows its first three letters).
    glyphs: ClassVar[Mapping[str, Glyph]] = {}

    @classmethod
    def sent_outside(cls) -> str:
        if cls.sent_outside_label:
            return cls.sent_outside_label
        return f"sent from {cls.kind_label}" if cls.kind_label else "sent outside Frontdesk"

    # URL name of the connector's own connect page (Apps & integrations links to it): a
    # connector with a flow of its own offers it by its kinds (``connectors/connect_flows.py``).
    connect_url_name: ClassVar[str | None] = None
    # Or none of its own: the app's connect form (``web/views/channels.py``, at
    # ``/apps/<provider>/connect/``) asks for these fields and hands them to ``setup``.
    connect_fields: ClassVar[tuple[ConnectField, ...]] = ()
    # Every channel kind this connector serves (default: just ``kind``). A connector that
    # serves several (Unipile: linkedin and whatsapp) returns a per-kind variant from
    # ``for_kind``; ``ChannelPort.connector`` and channel creation use that variant.
    kinds: ClassVar[tuple[str, ...]] = ()
    # ``OutboundMessage.parent`` is filled in for this connector (email threads by it).
    wants_reply_parent: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kinds" not in cls.__dict__ and "kind" in cls.__dict__:
            cls.kinds = (cls.kind,)

    def for_kind(self, kind: str) -> Connector:
        """The connector serving channels of this kind (itself, unless it serves several)."""
        return self

    @abstractmethod
    def setup(self, config: dict[str, Any]) -> ChannelSetup:
        """Validate a configuration from the API or a connect form."""

    @abstractmethod
    def send(
        self, channel: ChannelPort, message: OutboundMessage, parts_sent: PartsSent
    ) -> SendResult:
        """Send one message; raise a ``SendError`` subclass when it did not go. Reads only
        ``channel.config``/``credentials``/``pk`` and the message; writes nothing."""

    def normalize_handle(self, value: str) -> str:
        return value.strip()

    # --- the webhook door (``inbox/webhooks.py``) -----------------------------------------
    # Served at ``webhook_path`` (name ``webhook_name``). A POST is split into parts, each
    # naming its channel by ``config[webhook_route_field]``; the door loads those channels,
    # keeps the ones ``webhook_signed_by`` accepts, and writes what ``webhook_events`` says.
    webhook_path: ClassVar[str] = ""
    webhook_name: ClassVar[str] = ""
    webhook_route_field: ClassVar[str] = ""
    webhook_route_label: ClassVar[str] = "channel"  # "unknown <label>" when none matches

    def webhook_keys(self, request: WebhookRequest) -> dict[str, str] | None:
        """For a provider whose secret travels outside the body (a header, a URL token):
        the config values naming the candidate channels, read *before* the body, which the
        door reads only once one of them ``webhook_signed_by`` accepts the delivery ({}: every
        live channel of the provider). None (the default): the body names the channel."""
        return None

    def webhook_handshake(
        self, request: WebhookRequest, channels: Sequence[ChannelPort]
    ) -> WebhookAnswer:
        """Answer a GET (a subscription check) given the provider's live channels."""
        return WebhookAnswer(405, {"error": "method not allowed"})

    def webhook_split(self, request: WebhookRequest) -> list[tuple[str, Any]]:
        """The delivery's parts as (route value, payload); raise ``WebhookAnswer`` to stop."""
        raise WebhookAnswer.ignored("this provider takes no webhooks")

    def webhook_unrouted(self, request: WebhookRequest) -> WebhookAnswer:
        """The answer to a delivery about a channel none of those that signed it serves."""
        return WebhookAnswer.ignored(f"{self.webhook_route_label} not connected here")

    def webhook_signed_by(self, channel: ChannelPort, request: WebhookRequest) -> bool:
        """Whether this channel's secret signed the delivery."""
        return False

    def webhook_events(self, channel: ChannelPort, part: Any) -> InboundEvents:
        """What one part says (values only: the door writes them)."""
        return InboundEvents()

    def webhook_recipient(
        self, channel: ChannelPort, item: InboundMessage
    ) -> InboundMessage | None:
        """An outbound message whose recipient the delivery did not name (``handle`` empty)
        and no conversation here knows by its thread: the message with its recipient as the
        provider says, asked now; None: the provider cannot say. Raise ``WebhookAnswer`` to
        answer otherwise (a 503 when the provider cannot be asked)."""
        return None

    def fetch_attachments(self, channel: ChannelPort, item: InboundMessage) -> None:
        """Download an ``InboundMessage.fetch_first`` item's attachments into
        ``item.attachments`` (a file that cannot be had is noted in
        ``item.extra["skipped_attachments"]``); raise to be tried again later."""
        return None

    def enrich(self, channel: ChannelPort, handle: str) -> ProfileUpdate | None:
        """The full profile of a contact (``InboundMessage.enrich``); None: none to be had.
        Raise to be tried again later."""
        return None

    def download(self, channel: ChannelPort, media: Mapping[str, Any]) -> InboundAttachment:
        """Fetch the media a stored message announced (``InboundMessage.fetch_later``; ``media``
        is its ``extra["media"]``). Raise ``ProviderCallError`` when it cannot be had now
        (``retry``) or ever. Run by the inbox's ``fetch_media`` job, which stores the file."""
        raise ProviderCallError("this channel has no media to download")

    def download_policy(self) -> RetryPolicy:
        """How often ``download`` is tried before the message shows the file as failed."""
        return RetryPolicy()

    def worker_service(self) -> Callable[[ChannelDirectory], Any] | None:
        """What runs beside the worker from its start to its stop (email's IDLE supervisor):
        a function starting it (given the inbox's ``ChannelDirectory``) and returning an
        object with ``stop()``, or None. Connectors returning the same function share one."""
        return None

    def sync_pages(self, channel: ChannelPort, run: SyncRun) -> Iterator[SyncPage]:
        """Fetch what is new (called by the worker when ``capabilities.sync`` is set), as a
        generator of pages: each ``SyncPage`` is stored, with its cursor, in one transaction
        before the next is asked for (so do the provider calls between yields, never hold
        anything across them). Start from ``run.cursor``. Raise ``ProviderCallError`` to
        record an error (``reconnect``: flag the channel); the pages yielded before stay."""
        return iter(())

    def reply_blocked_reason(
        self, reply: ReplyContext, extra: Mapping[str, Any] | None = None
    ) -> str | None:
        """Why this reply (its channel-specific ``extra``; none: a free-form text) cannot be
        sent now in the conversation ``reply`` describes (e.g. a closed 24-hour window), or
        None."""
        return None

    def reply_text(self, text: str, extra: Mapping[str, Any]) -> str:
        """The text a reply shows in the thread (e.g. a WhatsApp template's filled-in text)."""
        return text

    def read_receipts_on(self, channel: ChannelPort) -> bool:
        """Whether the client is told when a member reads their messages on this channel."""
        return self.capabilities.read_receipts

    def mark_read(self, channel: ChannelPort, provider_id: str) -> None:
        """Tell the provider the client's message ``provider_id`` (and those before it) was
        read; best effort, run by the inbox's ``send_read_receipt`` job once per message.
        Raise ``ProviderCallError`` when it did not go."""
        return None

    # A template the web reply box includes for channel-specific fields (subject/cc/bcc, a
    # template picker...). It is rendered with ``conversation`` and ``channel``; its field
    # names should start with ``x_`` and ``reply_extra`` turns them into ``Message.extra``.
    reply_form_template: ClassVar[str | None] = None

    def reply_extra(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Channel-specific values from the web reply form, stored in ``Message.extra``."""
        return {}

    def revoke(self, channel: ChannelPort, others: Sequence[ChannelPort] = ()) -> str:
        """Undo at the provider what connecting this channel set up, now that it is removed
        (revoke the OAuth grant, delete the account link, unsubscribe the app), wherever the
        provider documents a way. The inbox calls it before it erases the credentials;
        ``others`` are the provider's other live channels (whatever they share is kept).
        Returns what was done, in words for the admin ("": nothing to undo); raises
        ``ProviderCallError`` when the provider could not be reached or refused, and the
        channel is removed here all the same."""
        return ""

    def reconnect_url(self, channel: ChannelPort) -> str | None:
        """Where Apps & integrations sends an admin to reconnect this account (None: nowhere)."""
        if not self.connect_url_name:
            return None
        try:
            return f"{reverse(self.connect_url_name)}?channel={channel.pk}"
        except NoReverseMatch:
            return None

    def original(self, extra: Mapping[str, Any]) -> OriginalMessage | None:
        """Where the original of a stored message (its ``extra``) is kept, to download as it
        was received; None: none is kept."""
        return None

    def connect_url(self) -> str:
        """Where Apps & integrations sends an admin to connect an account ("": the REST API
        only): the connector's own page, else the app's form when it declares fields."""
        try:
            if self.connect_url_name:
                return reverse(self.connect_url_name)
            if self.connect_fields:
                return reverse("channel_connect", args=[self.provider])
        except NoReverseMatch:
            pass
        return ""


def require(config: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not str(config.get(n) or "").strip()]
    if missing:
        raise ConfigError(f"missing required config: {', '.join(missing)}")


_HTTP_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)


def require_http_url(config: dict[str, Any], name: str) -> str:
    value = str(config.get(name) or "").strip()
    if not _HTTP_URL.match(value):
        raise ConfigError(f"{name} must be an http:// or https:// URL")
    return value


def require_public_host(name: str, host: str, port: int = 443) -> None:
    """An admin-set host must be on the public internet: never loopback, a private network
    or cloud metadata (``FRONTDESK_FETCH_PRIVATE_ADDRESSES`` allows them on a closed
    network). Each call checks again the address it connects to (``connectors.http``)."""
    if outbound.private_allowed():
        return
    try:
        addresses = outbound.resolve(host, port)
    except OSError:
        raise ConfigError(f"{name}: the host {host} cannot be found") from None
    for address in addresses:
        if not outbound.is_public(address):
            raise ConfigError(
                f"{name} points at {address}, which is not a public address (loopback, a "
                "private network or cloud metadata); Frontdesk only calls public addresses"
            )


def require_public_http_url(config: dict[str, Any], name: str) -> str:
    """``require_http_url``, on a public host."""
    value = require_http_url(config, name)
    parts = urlsplit(value)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise ConfigError(f"{name} has an invalid port") from None
    require_public_host(name, parts.hostname or "", port)
    return value
