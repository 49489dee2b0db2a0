"""Tenants and the people in them."""

import hashlib
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # An IANA zone ("Europe/Berlin"): times are entered and shown in it; blank is UTC.
    time_zone = models.CharField(max_length=64, blank=True, default="")
    # Profile: dates and numbers in this locale's format; theme "" follows the system's
    # light or dark setting.
    locale = models.CharField(max_length=20, default="en")
    theme = models.CharField(max_length=5, blank=True, default="")
    # The member's picture (a JPEG, PNG, GIF or WebP checked by its bytes), shown to the
    # members of their workspaces only (web/views/people.py).
    avatar = models.FileField(upload_to="members/", max_length=500, blank=True, default="")

    objects = UserManager()
    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def zone(self) -> ZoneInfo:
        """The member's time zone (UTC when unset or unknown)."""
        try:
            return ZoneInfo(self.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class Workspace(models.Model):
    """A tenant: every other tenant row points at one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A reply to an unassigned conversation makes the replier its assignee.
    assign_on_reply = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"


def default_email_notifications() -> list[str]:
    return ["assigned", "mention", "followup_due"]


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(default=timezone.now)
    # Teamwork: away members get no new work from auto-assignment; the notification kinds
    # (inbox.models.NotificationKind values) this member also wants by email.
    available = models.BooleanField(default=True)
    email_notifications = models.JSONField(default=default_email_notifications, blank=True)
    # The member's own email signature (composer light markup); empty: the channel's team
    # signature, if it has one.
    signature = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the REST API, acting as one membership. Only its hash is kept."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, default="cli")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.membership})"

    @classmethod
    def issue(cls, membership: Membership, name: str = "cli") -> tuple["ApiToken", str]:
        token = "fd_" + secrets.token_urlsafe(32)
        row = cls.objects.create(
            membership=membership, name=name, token_hash=hash_token(token), prefix=token[:10]
        )
        return row, token


class MailSecurity(models.TextChoices):
    STARTTLS = "starttls", "STARTTLS (port 587)"
    SSL = "ssl", "TLS from the start (port 465)"
    NONE = "none", "None (a server on this machine only)"


class MailServer(models.Model):
    """The SMTP server a workspace's own mail goes out through (invitations, password
    resets, notification emails): not a channel. The password is kept encrypted."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="mail")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=587)
    security = models.CharField(
        max_length=10, choices=MailSecurity.choices, default=MailSecurity.STARTTLS
    )
    username = models.CharField(max_length=255, blank=True)
    secret = models.TextField(blank=True)  # core.crypto: {"password": ...}
    from_address = models.EmailField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.host}:{self.port} for {self.workspace}"


class Invitation(models.Model):
    """An invitation to join a workspace, accepted by the invitee through a link. Only the
    token's hash is kept; it works once, until ``expires_at``."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace} ({self.role})"

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class LoginFailure(models.Model):
    """A failed sign-in, counted per account (the email typed, whether or not it has an
    account) and per address, to throttle password guessing (``throttle.py``)."""

    email = models.CharField(max_length=254)
    address = models.CharField(max_length=45)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "at"], name="login_failure_email"),
            models.Index(fields=["address", "at"], name="login_failure_address"),
            models.Index(fields=["at"], name="login_failure_at"),
        ]

    def __str__(self) -> str:
        return f"{self.email} from {self.address} at {self.at}"
