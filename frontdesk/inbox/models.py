"""The inbox side of the domain: channels, contacts, conversations, messages.

Every row carries ``workspace`` so that each query can (and must) filter on it.
"""

import copy
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from frontdesk.connectors.base import ChannelView
from frontdesk.connectors.registry import get_connector
from frontdesk.core.crypto import decrypt_json, encrypt_json
from frontdesk.inbox.credentials import refresh_credentials
from frontdesk.workspaces.models import Workspace


class EncryptedCredentials:
    """``credentials``: a dict kept encrypted in the model's ``credentials_encrypted``."""

    credentials_encrypted: str

    @property
    def credentials(self) -> dict[str, Any]:
        return decrypt_json(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = encrypt_json(value)


class ChannelStatus(models.TextChoices):
    CONNECTING = "connecting", "Connecting"
    CONNECTED = "connected", "Connected"
    ERROR = "error", "Error"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnection"
    DISCONNECTED = "disconnected", "Disconnected"


class ChannelAccount(EncryptedCredentials, models.Model):
    """One connected account (a WhatsApp number, a mailbox, an API channel...)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=20)
    provider = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    config = models.JSONField(default=dict, blank=True)  # public settings only
    credentials_encrypted = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=20, choices=ChannelStatus.choices, default=ChannelStatus.CONNECTED
    )
    last_error = models.TextField(blank=True, default="")
    sync_state = models.JSONField(default=dict, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Auto-assignment of new work on this channel (inbox/actions/routing.py): {"mode":
    # "off"|"round_robin"|"least_open", "cap": int|None, "member_ids": [user ids]|None,
    # "last_user_id": the round robin's place}. Empty: off.
    auto_assign = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by "Remove channel" (inbox/actions/channel.py): the row stays, disconnected and
    # without credentials, so its conversations keep their history; it is gone from the
    # sidebar, Apps & integrations and the API's list.
    removed_at = models.DateTimeField(null=True, blank=True)
    # A history import under way: {"done": int, "total": int|None} messages (the total may be
    # an estimate; None: the provider gives none), reported by the connector's sync and stored by the inbox
    # (actions/channel.record_import_progress); None when no import is running.
    import_progress = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "kind"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"

    @property
    def import_text(self) -> str:
        """ "Importing: 1,240 of ~3,000 messages" while a history import runs ("Importing:
        1,240 messages so far" when the provider gives no total), else ""."""
        if self.import_progress is None:
            return ""
        done, total = int(self.import_progress.get("done") or 0), self.import_progress.get("total")
        if total is None:
            return f"Importing: {done:,} messages so far"
        return f"Importing: {done:,} of ~{int(total):,} messages" if done < int(total) else ""

    @property
    def connector(self):
        return get_connector(self.provider).for_kind(self.kind)

    def view(self) -> ChannelView:
        """This channel as a connector is handed it: its values, copied (``ChannelView``)."""
        return ChannelView(
            pk=self.pk,
            workspace_id=self.workspace_id,
            kind=self.kind,
            provider=self.provider,
            name=self.name,
            config=copy.deepcopy(self.config),
            sync_state=copy.deepcopy(self.sync_state),
            connector=self.connector,
            read_credentials=lambda: self.credentials,
            refresh=self.refresh_credentials,
        )

    def refresh_credentials(self, held, fresh, refresh) -> dict[str, Any]:
        """Credentials the provider refreshes (OAuth): the connector gives the token it
        holds, how to tell a fresh one, and the refresh call (values out); the inbox
        (``inbox/credentials.py``) makes the refreshes take turns and stores the result."""
        return refresh_credentials(self, held, fresh, refresh)


class Contact(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=300, blank=True, default="")
    company = models.CharField(max_length=300, blank=True, default="")
    job_title = models.CharField(max_length=200, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    avatar_url = models.URLField(max_length=1000, blank=True, default="")  # at the provider
    # Our copy of that picture (inbox.avatars): provider links expire, and the browser only
    # loads images from us.
    avatar = models.FileField(upload_to="avatars/", max_length=500, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    # Set instead of deleting a contact that has conversations (the CRM's bulk delete):
    # hidden from the contacts list, its history kept.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The CRM's contacts list, sorted by name, company or
            # last update, keyset-paginated on the id.
            models.Index(fields=["workspace", "name", "id"], name="contact_ws_name"),
            models.Index(fields=["workspace", "company", "id"], name="contact_ws_company"),
            models.Index(fields=["workspace", "updated_at", "id"], name="contact_ws_updated"),
            # Duplicate suggestions: the same name at the same company, in any case.
            models.Index(
                F("workspace"), Lower("name"), Lower("company"), name="contact_ws_name_company_ci"
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"Contact {self.pk}"

    @property
    def profile(self) -> dict[str, str]:
        """What a connector learnt of the person's public profile (LinkedIn: headline, link,
        location), for the contact panel and the lead it becomes."""
        fields = self.custom_fields or {}
        found = {key: str(fields.get(f"linkedin_{key}") or "") for key in ("headline", "location")}
        url = str(fields.get("linkedin_url") or "")
        found["url"] = url if url.startswith("https://") else ""  # never a javascript: link
        return {key: value for key, value in found.items() if value}

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        handle = next(iter(self.handles.all()), None)
        return handle.value if handle else f"Contact #{self.pk}"


class HandleKind(StrEnum):
    """The address kinds the app itself reads and types (the CRM's forms, imports, exports
    and duplicates, the new-conversation hints). Not a closed set: a kind exists when a
    registered connector declares it (``Connector.handle_kinds``, labels included)."""

    PHONE = "phone"
    EMAIL = "email"
    LINKEDIN = "linkedin"
    EXTERNAL = "external"


class ContactHandle(models.Model):
    """One address of a contact on one kind of channel; unique per workspace. Its kind is
    one a registered connector declares (``connectors.registry.handle_kinds``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="handles")
    kind = models.CharField(max_length=20)
    value = models.CharField(max_length=320)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "value"], name="handle_unique_in_workspace"
            )
        ]
        indexes = [
            # Duplicate suggestions: the same email address in any case.
            models.Index(F("workspace"), F("kind"), Lower("value"), name="handle_ws_kind_value_ci")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class ConversationStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


class Conversation(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="conversations")
    channel = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, related_name="conversations"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    thread_key = models.CharField(max_length=500)
    subject = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=ConversationStatus.choices, default=ConversationStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Kept on the row so the list renders from one table with no per-row queries.
    last_message_at = models.DateTimeField(default=timezone.now)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # Since when the client waits for an answer: set by the first client message after our
    # last reply (ingest), cleared by a reply (send, or one sent from elsewhere); notes and
    # event lines leave it. The "Waiting longest" view lists these, oldest first.
    waiting_since = models.DateTimeField(null=True, blank=True)
    preview = models.CharField(max_length=200, blank=True, default="")
    # Who wrote the previewed message when it is ours ("You:" / a teammate's name in the list);
    # preview_outbound with no author: sent from elsewhere (the phone, the mail client).
    preview_outbound = models.BooleanField(default=False)
    preview_author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    labels: "models.ManyToManyField[Label, ConversationLabel]" = models.ManyToManyField(
        "Label", through="ConversationLabel", related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "thread_key"], name="one_conversation_per_thread"
            )
        ]
        indexes = [
            models.Index(
                fields=["workspace", "status", "-last_message_at", "-id"],
                name="conv_ws_status_recent",
            ),
            models.Index(fields=["workspace", "-last_message_at", "-id"], name="conv_ws_recent"),
            models.Index(
                fields=["workspace", "assignee", "status", "-last_message_at"],
                name="conv_ws_assignee",
            ),
            models.Index(
                fields=["workspace", "channel", "status", "-last_message_at"],
                name="conv_ws_channel",
            ),
            models.Index(fields=["contact"], name="conv_contact"),
            models.Index(
                fields=["workspace", "status", "waiting_since", "id"],
                condition=Q(waiting_since__isnull=False),
                name="conv_ws_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk}"


class ConversationRead(models.Model):
    """How far one member has read one conversation."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="one_read_state")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.conversation_id} at {self.last_read_at}"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class MessageKind(models.TextChoices):
    MESSAGE = "message", "Message"
    NOTE = "note", "Internal note"
    EVENT = "event", "Event"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"


class Message(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    kind = models.CharField(max_length=8, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=300, blank=True, default="")
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    subject = models.CharField(max_length=500, blank=True, default="")
    provider_id = models.CharField(max_length=500, null=True, blank=True)
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, blank=True, default="")
    error = models.TextField(blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)
    # Outbox bookkeeping: a worker claims a queued message until claimed_until.
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # the provider's time, if given
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"],
                condition=Q(provider_id__isnull=False),
                name="message_provider_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at", "id"], name="msg_thread"),
            # Search walks a workspace's newest messages first (inbox/search.py).
            models.Index(fields=["workspace", "-created_at", "-id"], name="msg_ws_recent"),
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status="queued"),
                name="msg_outbox",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} ({self.direction})"


class Attachment(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=200, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    file = models.FileField(upload_to="attachments/%Y/%m/", max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class MessagePart(models.Model):
    """One more provider id of a reply the provider took as several messages (a long text,
    several files, a new chat and then its files), so that a status, a reaction, a quote or
    an echo of any part finds the reply. The first part's id is the message's own."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    channel = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="parts")
    provider_id = models.CharField(max_length=500)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"], name="uniq_message_part_provider_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} of message {self.message_id}"


class PendingStatus(models.Model):
    """A delivery status that arrived before the message it is about (kept, applied later)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    channel = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE)
    provider_id = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices)
    error = models.TextField(blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["channel", "provider_id"])]

    def __str__(self) -> str:
        return f"{self.status} for {self.provider_id}"


# --- teamwork: notifications, labels, canned replies --------------------------------------


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned to you"
    MENTION = "mention", "You are mentioned"
    NEW_MESSAGE = "new_message", "New message in a conversation you own"
    SNOOZE_ENDED = "snooze_ended", "A snooze ended"
    FOLLOWUP_DUE = "followup_due", "A follow-up is due"


class Notification(models.Model):
    """Something one member should know about, shown by the bell and maybe mailed.

    CRM rows (lead, deal, follow-up) are kept by id: the inbox sits below the CRM and never
    imports it. New messages of one conversation fold into its one unread notification
    (``count``), so a busy conversation is one line, not fifty.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead_id = models.PositiveBigIntegerField(null=True, blank=True)
    deal_id = models.PositiveBigIntegerField(null=True, blank=True)
    followup_id = models.PositiveBigIntegerField(null=True, blank=True)
    text = models.CharField(max_length=500)
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the member wants this kind by email; the digest task mails what is due.
    email_due_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "workspace", "-created_at", "-id"], name="notif_recent"),
            models.Index(
                fields=["user", "workspace"],
                condition=Q(read_at__isnull=True),
                name="notif_unread",
            ),
            models.Index(
                fields=["email_due_at"],
                condition=Q(email_due_at__isnull=False),
                name="notif_email_due",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "conversation"],
                condition=Q(read_at__isnull=True, kind="new_message"),
                name="one_unread_new_message",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}: {self.text}"


# Label colours: a fixed palette (the page's style sheet has a class for each, and the CSP
# allows no inline style). The API takes and returns these hex values.
LABEL_COLORS = {
    "#e5484d": "Red",
    "#f76b15": "Orange",
    "#ffb224": "Yellow",
    "#30a46c": "Green",
    "#12a594": "Teal",
    "#0090ff": "Blue",
    "#6e56cf": "Purple",
    "#e93d82": "Pink",
    "#8b8d98": "Grey",
}


class Label(models.Model):
    """A name and a colour a team puts on conversations ("Billing", "VIP")."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default="#8b8d98")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), "workspace", name="label_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def color_class(self) -> str:
        """The style sheet's class for the colour (``lc-0`` .. ``lc-8``)."""
        colors = list(LABEL_COLORS)
        return f"lc-{colors.index(self.color) if self.color in colors else len(colors) - 1}"


class ConversationLabel(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "label"], name="one_label_each")
        ]
        # The list filtered by a label starts from the label's rows.
        indexes = [models.Index(fields=["label", "conversation"], name="convlabel_label")]

    def __str__(self) -> str:
        return f"{self.label_id} on {self.conversation_id}"


class CannedReply(models.Model):
    """A saved answer the team types with ``/shortcut`` in the reply box; ``{{contact.name}}``,
    ``{{contact.first_name}}``, ``{{agent.name}}`` ... are filled in (inbox/actions/canned.py)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    shortcut = models.CharField(max_length=40)
    title = models.CharField(max_length=120)
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "shortcut"], name="canned_shortcut_unique")
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class PendingConnection(EncryptedCredentials, models.Model):
    """A connect flow under way at a provider (OAuth consent, Unipile's hosted auth): no
    channel exists until the provider sends the person back with a grant, so an abandoned
    flow leaves nothing in the sidebar. One per workspace, provider, kind and target
    channel: starting again reuses it (with a new state); it expires unused."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    provider = models.CharField(max_length=30)
    kind = models.CharField(max_length=20)
    # Set when the flow reconnects an existing channel.
    channel = models.ForeignKey(
        ChannelAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=200, blank=True, default="")
    config = models.JSONField(default=dict, blank=True)
    credentials_encrypted = models.TextField(blank=True, default="")  # API keys, PKCE verifier
    state = models.CharField(max_length=100, unique=True)  # the single-use state we sent
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "provider", "kind"])]

    def __str__(self) -> str:
        return f"{self.provider} connection pending since {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()
