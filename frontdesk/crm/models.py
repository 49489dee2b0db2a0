"""The CRM side of the domain: leads, pipelines and deals, the timeline's own lines, the
workspace's contact fields.

Every row carries ``workspace`` so that each query can (and must) filter on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from frontdesk.inbox.models import ChannelAccount, Contact, Conversation
from frontdesk.workspaces.models import Workspace


class LeadStage(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    WORKING = "working", "Working"
    CONVERTED = "converted", "Converted"
    UNQUALIFIED = "unqualified", "Unqualified"
    JUNK = "junk", "Junk"


# A lead is open while someone still works it; a conversation has at most one open lead.
OPEN_STAGES = (LeadStage.NEW, LeadStage.CONTACTED, LeadStage.WORKING)
# The board's columns in pipeline order; the closed-out ones are shown on request.
PIPELINE_STAGES = (*OPEN_STAGES, LeadStage.CONVERTED)
DISMISSED_STAGES = (LeadStage.UNQUALIFIED, LeadStage.JUNK)


class Lead(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="leads")
    title = models.CharField(max_length=300)
    # RESTRICT: deleting a contact alone must not drop its leads (a merge moves them first),
    # while deleting the whole workspace, which deletes both, still can.
    contact = models.ForeignKey(Contact, on_delete=models.RESTRICT, related_name="leads")
    source_conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    source_channel = models.ForeignKey(
        ChannelAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where it came from: the channel kind of a converted conversation ("whatsapp",
    # "email" ...), or what a member typed for a lead made by hand ("Referral", "Fair").
    source = models.CharField(max_length=50, blank=True, default="")
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    stage = models.CharField(max_length=12, choices=LeadStage.choices, default=LeadStage.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expected_close_date = models.DateField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # What the contact looked like when the lead was made (name, company, LinkedIn headline,
    # profile and picture URLs, handles, channel): the lead keeps it if the contact changes.
    details = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_conversation"],
                condition=Q(stage__in=[s.value for s in OPEN_STAGES]),
                name="one_open_lead_per_conversation",
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "stage", "-updated_at"], name="lead_ws_stage_recent"),
            # The board's count and value per stage and currency, read from the index alone
            # (the table has every other field: summing from it read all 50,000 leads).
            models.Index(
                fields=["workspace", "stage", "currency", "value"], name="lead_ws_stage_sums"
            ),
            models.Index(fields=["workspace", "owner", "stage"], name="lead_ws_owner_stage"),
            models.Index(fields=["contact"], name="lead_contact"),
            # The list view's sorts (keyset on the id) and its source filter.
            models.Index(fields=["workspace", "-created_at", "-id"], name="lead_ws_created"),
            models.Index(fields=["workspace", "-updated_at", "-id"], name="lead_ws_updated"),
            models.Index(fields=["workspace", "source"], name="lead_ws_source"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class LeadAssignee(models.Model):
    """A member working the lead besides its owner."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "user"], name="one_assignment_per_member")
        ]
        indexes = [models.Index(fields=["workspace", "user"], name="lead_assignee_member")]

    def __str__(self) -> str:
        return f"{self.user_id} on lead {self.lead_id}"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"


class CustomField(models.Model):
    """A field the workspace adds to its contacts (managed in settings). Values live in
    ``Contact.custom_fields[key]``: text and choice as strings, numbers as decimal strings,
    dates as ISO dates."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=FieldType.choices, default=FieldType.TEXT)
    choices = models.JSONField(default=list, blank=True)  # the options of a choice field
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return self.label


class StageType(models.TextChoices):
    ACTIVE = "active", "Active"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Pipeline(models.Model):
    """A sales process: its ordered stages, through which deals move to won or lost."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="pipeline_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One step of a pipeline. Its type says what reaching it means (still open, won,
    lost); its probability weighs the forecast; an open deal in it left untouched longer
    than ``rotting_days`` is stale (``Deal.is_stale``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=6, choices=StageType.choices, default=StageType.ACTIVE)
    probability = models.PositiveSmallIntegerField(default=0)  # 0 to 100
    rotting_days = models.PositiveIntegerField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["pipeline", "position"], name="stage_order")]

    def __str__(self) -> str:
        return self.name


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Deal(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=300)
    # PROTECT/RESTRICT: a pipeline, stage or contact with deals cannot vanish under them
    # (the settings page moves the deals first; a merge moves them to the kept contact).
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    contact = models.ForeignKey(Contact, on_delete=models.RESTRICT, related_name="deals")
    lead = models.OneToOneField(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="deal"
    )
    status = models.CharField(max_length=4, choices=DealStatus.choices, default=DealStatus.OPEN)
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR")
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.MEDIUM)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=50, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    expected_close_date = models.DateField(null=True, blank=True)
    lost_reason = models.CharField(max_length=300, blank=True, default="")
    stage_entered_at = models.DateTimeField(default=timezone.now)  # since when in its stage
    closed_at = models.DateTimeField(null=True, blank=True)  # when it was won or lost
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When it was last touched: an edit, a move, a note on it, a follow-up on it done
    # (``crm.actions.activity.touch_deal``). How stale is measured.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The board's cards per stage, and the stale filter (a range on it per stage).
            models.Index(fields=["stage", "-updated_at", "-id"], name="deal_stage_recent"),
            models.Index(fields=["workspace", "pipeline", "status"], name="deal_pipeline_status"),
            # The board's count and value per stage and the forecast's open value per stage
            # and currency, read from the index alone.
            models.Index(
                fields=["workspace", "pipeline", "stage", "status", "currency", "value"],
                name="deal_board_sums",
            ),
            models.Index(fields=["workspace", "-created_at", "-id"], name="deal_ws_created"),
            models.Index(fields=["workspace", "-updated_at", "-id"], name="deal_ws_updated"),
            models.Index(fields=["contact"], name="deal_contact"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_stale(self, now: datetime | None = None) -> bool:
        """Open and idle longer than its stage's rotting days (needs ``stage``): not edited,
        moved, noted or a follow-up on it done since (``updated_at``), as Pipedrive's
        rotting deals. A deal long in its stage but worked on is not stale."""
        days = self.stage.rotting_days
        if self.status != DealStatus.OPEN or days is None:
            return False
        return (now or timezone.now()) - self.updated_at > timedelta(days=days)


class ActivityKind(models.TextChoices):
    NOTE = "note", "Note"
    LEAD = "lead", "Lead"
    DEAL = "deal", "Deal"
    FOLLOWUP = "followup", "Follow-up"


class Activity(models.Model):
    """One line of a contact's timeline that is not a message: a note (maybe pinned), a
    lead or deal change, a follow-up. Messages join it when the timeline is read
    (``crm.queries.timeline``), so one timeline tells everything about a person.

    Each line belongs to a contact, and to the lead or deal it is about, if any: the lead's
    and the deal's pages show their own lines only (a deal's page, its lead's too).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    text = models.TextField()
    pinned = models.BooleanField(default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    # What changed, for a program to read: {"from": "new", "to": "contacted"} ...
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-at", "-id"], name="activity_contact_recent"),
            models.Index(fields=["lead", "-at", "-id"], name="activity_lead_recent"),
            models.Index(fields=["deal", "-at", "-id"], name="activity_deal_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.text[:40]}"


class FollowUp(models.Model):
    """Something to do for a client at a set time: call back, send the offer. It is about a
    contact, and maybe one of its leads or deals or a conversation with it; its assignee
    is told once when it falls due (``notified_at`` records that; moving ``due_at`` clears
    it, so a rescheduled one is told again at its new time)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="followups")
    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="followups"
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="followups"
    )
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True, default="")
    due_at = models.DateTimeField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # A member's list (open ones by due time) and the sidebar's count.
            models.Index(
                fields=["workspace", "assignee", "done_at", "due_at"], name="followup_mine"
            ),
            # The reminder round: open, not yet told, by due time.
            models.Index(
                fields=["due_at"],
                condition=Q(done_at__isnull=True, notified_at__isnull=True),
                name="followup_to_remind",
            ),
            models.Index(fields=["contact", "done_at", "due_at"], name="followup_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.note[:40]} at {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def done(self) -> bool:
        return self.done_at is not None


class ContactImport(models.Model):
    """A CSV file of contacts on its way in: uploaded, its columns mapped, previewed, then
    imported all at once (``crm.actions.contact_import``). The file's text is kept only
    until it is imported; a draft left behind is dropped after a day."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        DONE = "done", "Imported"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    file_name = models.CharField(max_length=255, blank=True, default="")
    text = models.TextField(blank=True, default="")  # the file, decoded
    # One target per column of the file ("" = not imported), in the file's order.
    mapping = models.JSONField(default=list, blank=True)
    on_duplicate = models.CharField(max_length=6, default="update")  # "update" or "skip"
    # Phones of the file without a "+" are this country's (ISO 3166 code; "": none may lack it).
    default_country = models.CharField(max_length=2, blank=True, default="")
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.DRAFT)
    result = models.JSONField(default=dict, blank=True)  # {"created", "updated", "skipped"}
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "created_at"], name="contact_import_ws")]

    def __str__(self) -> str:
        return self.file_name or f"Import {self.pk}"
