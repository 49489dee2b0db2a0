"""People: the members page (invite by link, roles, deactivation), accepting an
invitation, the workspace's outgoing mail server, forgotten passwords and your profile."""

from __future__ import annotations

import logging
import zoneinfo
from functools import cache

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from frontdesk.core.crypto import decrypt_json, encrypt_json
from frontdesk.inbox import avatars
from frontdesk.inbox.actions.conversation import assign
from frontdesk.inbox.models import Conversation, ConversationStatus, NotificationKind
from frontdesk.web.access import current_member, member_required
from frontdesk.web.views.shell import shell_context
from frontdesk.workspaces import throttle
from frontdesk.workspaces.mail import MailNotSent, mail_configured, send_app_mail
from frontdesk.workspaces.models import (
    Invitation,
    MailSecurity,
    MailServer,
    Membership,
    Role,
    User,
)
from frontdesk.workspaces.services import (
    InvitationRefused,
    MemberChangeRefused,
    accept_invitation,
    active_member,
    change_member,
    invite,
    open_invitation,
    revoke_invitation,
    set_email_notifications,
)

log = logging.getLogger(__name__)

THEMES = [("", "Follow the system"), ("light", "Light"), ("dark", "Dark")]
LOCALES = [
    ("en", "English (US)"),
    ("en_GB", "English (UK)"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("it", "Italiano"),
    ("nl", "Nederlands"),
    ("pt_BR", "Português (Brasil)"),
]


@cache
def time_zones() -> list[str]:
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")


# --- members --------------------------------------------------------------------------------


def _members_context(request: HttpRequest, member: Membership, **extra: object) -> dict:
    members = list(
        Membership.objects.filter(workspace_id=member.workspace_id)
        .select_related("user")
        .order_by("created_at", "id")
    )
    open_counts = {
        m.user_id: Conversation.objects.filter(
            workspace_id=member.workspace_id,
            assignee_id=m.user_id,
            status__in=[ConversationStatus.OPEN, ConversationStatus.PENDING],
        ).count()
        for m in members
    }
    invitations = Invitation.objects.filter(
        workspace_id=member.workspace_id,
        accepted_at=None,
        revoked_at=None,
        expires_at__gt=timezone.now(),
    ).order_by("-created_at")
    roles = [
        (v, label) for v, label in Role.choices if v != Role.OWNER or member.role == Role.OWNER
    ]
    return {
        **shell_context(request),
        "members": [(m, open_counts[m.user_id]) for m in members],
        "active_members": [m for m in members if m.user.is_active],
        "invitations": invitations,
        "roles": roles,
        "mail_configured": mail_configured(member.workspace_id),
        "form": {"email": "", "role": Role.AGENT},
        **extra,
    }


def _invite(request: HttpRequest, member: Membership) -> HttpResponse:
    form = {"email": request.POST.get("email", ""), "role": request.POST.get("role", Role.AGENT)}
    try:
        invitation, token = invite(member.workspace, form["email"], form["role"], by=member)
    except (InvitationRefused, MemberChangeRefused) as exc:
        status = 403 if isinstance(exc, MemberChangeRefused) else 400
        ctx = _members_context(request, member, error=str(exc), form=form)
        return render(request, "web/people/members.html", ctx, status=status)
    link = request.build_absolute_uri(reverse("invitation", args=[token]))
    text = (
        f"{member.user.display_name} invited you to {member.workspace.name} on Frontdesk.\n\n"
        f"Open this link to set your name and password and join (it works once, for "
        f"7 days):\n\n{link}\n"
    )
    try:
        sent = send_app_mail(
            member.workspace_id,
            invitation.email,
            f"Join {member.workspace.name} on Frontdesk",
            text,
            sender_name=member.user.display_name,
        )
    except MailNotSent as exc:
        sent, note = False, f"The invitation email could not be sent: {exc}"
    else:
        note = "" if sent else "No outgoing mail server is set."
    if sent:
        messages.success(request, f"Invitation sent to {invitation.email}.")
        return redirect("members")
    ctx = _members_context(request, member, invite_link=link, invite_note=note)
    ctx["invited_email"] = invitation.email
    return render(request, "web/people/members.html", ctx)


def _target(member: Membership, raw: str | None) -> Membership | None:
    if not (raw or "").isdigit():
        return None
    return (
        Membership.objects.select_related("user")
        .filter(pk=int(raw or 0), workspace_id=member.workspace_id)
        .first()
    )


def _reassign_open(member: Membership, target: Membership, raw_to: str) -> int:
    """Hand the deactivated member's open conversations to ``raw_to`` (a user id, or none)."""
    to = active_member(member.workspace_id, int(raw_to)) if raw_to.isdigit() else None
    moved = 0
    for conversation in Conversation.objects.filter(
        workspace_id=member.workspace_id,
        assignee_id=target.user_id,
        status__in=[ConversationStatus.OPEN, ConversationStatus.PENDING],
    ):
        assign(member.user, conversation, to)
        moved += 1
    return moved


def _change(request: HttpRequest, member: Membership, action: str) -> HttpResponse | None:
    target = _target(member, request.POST.get("member"))
    if target is None:
        return render(
            request,
            "web/people/members.html",
            _members_context(request, member, error="That member is not in this workspace."),
            status=404,
        )
    try:
        if action == "role":
            changed = change_member(target, by=member, role=request.POST.get("role", ""))
            messages.success(request, f"{target.user.display_name} is now {changed.role}.")
        elif action == "deactivate":
            change_member(target, by=member, active=False)
            moved = _reassign_open(member, target, request.POST.get("reassign_to", ""))
            messages.success(
                request,
                f"{target.user.display_name} can no longer log in; "
                f"{moved} open conversation(s) reassigned. Their history stays.",
            )
        else:
            change_member(target, by=member, active=True)
            messages.success(request, f"{target.user.display_name} can log in again.")
    except (MemberChangeRefused, ValueError) as exc:
        status = 403 if isinstance(exc, MemberChangeRefused) else 400
        ctx = _members_context(request, member, error=str(exc))
        return render(request, "web/people/members.html", ctx, status=status)
    return None


@member_required
def members(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    if request.method == "POST":
        if not member.is_admin:
            return HttpResponseForbidden("Only owners and admins can change members.")
        action = request.POST.get("action", "")
        if action == "invite":
            return _invite(request, member)
        if action in ("role", "deactivate", "reactivate"):
            refused = _change(request, member, action)
            return refused or redirect("members")
        if action == "revoke":
            for invitation in Invitation.objects.filter(
                pk=request.POST.get("invitation") or 0, workspace_id=member.workspace_id
            ):
                revoke_invitation(invitation, by=member)
                messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
            return redirect("members")
        return render(
            request,
            "web/people/members.html",
            _members_context(request, member, error="Unknown action."),
            status=400,
        )
    return render(request, "web/people/members.html", _members_context(request, member))


# --- invitations ----------------------------------------------------------------------------


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitee's page: set a name and password (or, with an account, log in) and join."""
    found = open_invitation(token)
    user = request.user if request.user.is_authenticated else None
    ctx: dict[str, object] = {"invitation": found, "name": "", "error": ""}
    if found is None:
        return render(request, "web/people/invitation.html", ctx, status=404)
    # The page is the same whether or not the address has an account (the one who holds
    # the link may be the inviter, when no mail server is set).
    if request.method != "POST":
        return render(request, "web/people/invitation.html", ctx)
    name = request.POST.get("name", "")
    try:
        membership = accept_invitation(
            token,
            user=user,
            name=name,
            password=request.POST.get("password", ""),
        )
    except InvitationRefused as exc:
        ctx.update(name=name, error=str(exc))
        return render(request, "web/people/invitation.html", ctx, status=400)
    if user is None:
        login(request, membership.user, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session["workspace_id"] = membership.workspace_id
    messages.success(request, f"Welcome to {membership.workspace.name}.")
    return redirect("inbox")


# --- outgoing mail --------------------------------------------------------------------------

MAIL_FIELDS = ("host", "port", "security", "username", "from_address")


def _mail_form(request: HttpRequest, row: MailServer | None) -> dict[str, str]:
    if request.method == "POST":
        return {k: request.POST.get(k, "").strip() for k in MAIL_FIELDS}
    if row is None:
        return {
            "host": "",
            "port": "587",
            "security": "starttls",
            "username": "",
            "from_address": "",
        }
    return {k: str(getattr(row, k)) for k in MAIL_FIELDS}


def _save_mail(member: Membership, form: dict[str, str], password: str) -> str:
    """Save the form; an error message, or "" when saved."""
    if not form["host"]:
        return "Enter the mail server's host name."
    if not form["port"].isdigit() or not 0 < int(form["port"]) < 65536:
        return "The port is a number between 1 and 65535."
    if form["security"] not in MailSecurity.values:
        return "Pick how the connection is secured."
    try:
        MailServer(from_address=form["from_address"]).clean_fields(
            exclude=["workspace", "host", "port", "security", "username", "secret", "updated_at"]
        )
    except ValidationError:
        return "Enter the address the mail comes from (for example team@example.com)."
    row = MailServer.objects.filter(workspace_id=member.workspace_id).first()
    secret = (decrypt_json(row.secret) if row else {}).get("password", "")
    MailServer.objects.update_or_create(
        workspace_id=member.workspace_id,
        defaults={
            "host": form["host"],
            "port": int(form["port"]),
            "security": form["security"],
            "username": form["username"],
            "from_address": form["from_address"],
            "secret": encrypt_json({"password": password or secret}),
            "updated_at": timezone.now(),
        },
    )
    return ""


@member_required
def mail_settings(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    if not member.is_admin:
        return HttpResponseForbidden("Only owners and admins can set the outgoing mail server.")
    row = MailServer.objects.filter(workspace_id=member.workspace_id).first()
    form, error, status = _mail_form(request, row), "", 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "remove":
            MailServer.objects.filter(workspace_id=member.workspace_id).delete()
            messages.success(request, "The outgoing mail server was removed.")
            return redirect("mail_settings")
        error = _save_mail(member, form, request.POST.get("password", ""))
        if not error and action == "test":
            try:
                send_app_mail(
                    member.workspace_id,
                    member.user.email,
                    "Frontdesk test mail",
                    "Your workspace's outgoing mail works.",
                )
            except MailNotSent as exc:
                error = str(exc)
            else:
                messages.success(request, f"Saved; a test mail was sent to {member.user.email}.")
                return redirect("mail_settings")
        elif not error:
            messages.success(request, "The outgoing mail server is saved.")
            return redirect("mail_settings")
        status = 400
    ctx = {
        **shell_context(request),
        "form": form,
        "error": error,
        "securities": MailSecurity.choices,
        "has_password": bool(row and decrypt_json(row.secret).get("password")),
    }
    return render(request, "web/people/mail.html", ctx, status=status)


# --- passwords ------------------------------------------------------------------------------


def password_forgot(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link by email. The answer is the same whether or not the address has
    an account (no enumeration)."""
    if request.method != "POST":
        return render(request, "web/people/password_forgot.html", {})
    email = request.POST.get("email", "").strip().lower()
    user = User.objects.filter(email=email, is_active=True).first() if email else None
    if user is not None:
        membership = Membership.objects.filter(user=user).order_by("created_at", "id").first()
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = request.build_absolute_uri(reverse("password_reset", args=[uid, token]))
        try:
            send_app_mail(
                membership.workspace_id if membership else None,
                user.email,
                "Reset your Frontdesk password",
                "Someone asked to reset the password of your Frontdesk account. If it was "
                f"you, open this link within a day to choose a new one:\n\n{link}\n\n"
                "If it was not you, ignore this mail: your password stays as it is.\n",
            )
        except MailNotSent as exc:  # the same answer: never reveal whether an account exists
            log.warning("password reset mail to user %s not sent: %s", user.pk, exc)
    return render(request, "web/people/password_forgot.html", {"sent_to": email})


def password_reset(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        user = User.objects.filter(pk=int(urlsafe_base64_decode(uidb64)), is_active=True).first()
    except (ValueError, TypeError, OverflowError):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        return render(request, "web/people/password_reset.html", {"invalid": True}, status=404)
    if request.method != "POST":
        return render(request, "web/people/password_reset.html", {})
    error = _new_password_error(user, request.POST)
    if error:
        return render(request, "web/people/password_reset.html", {"error": error}, status=400)
    user.save()
    throttle.cleared(user.email)  # a reset by email ends a lock of the login throttle
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    messages.success(request, "Your new password is set.")
    return redirect("inbox")


def _new_password_error(user: User, data: object) -> str:
    """Set ``user``'s password from the form's two fields (not saved): an error or ""."""
    password = data.get("new_password", "")  # type: ignore[attr-defined]
    if password != data.get("new_password2", ""):  # type: ignore[attr-defined]
        return "The two passwords are not the same."
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return " ".join(exc.messages)
    user.set_password(password)
    return ""


# --- your profile ---------------------------------------------------------------------------


def _save_profile(request: HttpRequest, user: User) -> str:
    name = request.POST.get("name", "").strip()[:200]
    zone = request.POST.get("time_zone", "UTC")
    locale = request.POST.get("locale", "en")
    theme = request.POST.get("theme", "")
    if zone not in time_zones():
        return "Pick a time zone from the list."
    if locale not in dict(LOCALES):
        return "Pick a language and region from the list."
    if theme not in dict(THEMES):
        return "Pick a theme from the list."
    user.name, user.time_zone, user.locale, user.theme = name, zone, locale, theme
    user.save(update_fields=["name", "time_zone", "locale", "theme"])
    return ""


def _save_picture(request: HttpRequest, user: User) -> str:
    """Set or remove the member's picture; an error message, or "" when done."""
    old = user.avatar.name
    if request.POST.get("action") == "remove_picture":
        user.avatar = ""
        done = "Your picture is removed."
    else:
        upload = request.FILES.get("picture")
        if upload is None:
            return "Choose a picture first."
        data = upload.read(avatars.MAX_AVATAR_BYTES + 1)
        try:
            name = avatars.picture_name(user.pk, data)
        except ValueError as exc:
            return str(exc)
        user.avatar.save(name, ContentFile(data), save=False)
        done = "Your picture is saved."
    user.save(update_fields=["avatar"])
    if old and old != user.avatar.name:
        user.avatar.storage.delete(old)
    messages.success(request, done)
    return ""


@member_required
def member_picture(request: HttpRequest, user_id: int) -> HttpResponseBase:
    """A member's picture, for the members of a workspace they belong to (anyone else: 404).
    The page links it with the file's name, so a new picture is a new URL."""
    member = current_member(request)
    person = User.objects.filter(pk=user_id, memberships__workspace_id=member.workspace_id).first()
    if person is None or not person.avatar:
        raise Http404("no picture")
    response = FileResponse(
        person.avatar.open("rb"), content_type=avatars.stored_type(person.avatar.name)
    )
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@member_required
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    error, status = "", 200
    if request.method == "POST":
        if request.POST.get("action") in ("picture", "remove_picture"):
            error = _save_picture(request, user)
            if not error:
                return redirect("profile")
        elif request.POST.get("action") == "notifications":
            member = current_member(request)
            kinds = [k for k in request.POST.getlist("email_kinds") if k in NotificationKind.values]
            set_email_notifications(member, kinds)
            messages.success(
                request,
                "You get these notifications by email too."
                if kinds
                else "You get no notifications by email.",
            )
            return redirect("profile")
        elif request.POST.get("action") == "password":
            if not user.check_password(request.POST.get("old_password", "")):
                error = "Your current password is not right."
            else:
                error = _new_password_error(user, request.POST)
            if not error:
                user.save()
                update_session_auth_hash(request, user)
                messages.success(request, "Your password is changed.")
                return redirect("profile")
        else:
            error = _save_profile(request, user)
            if not error:
                messages.success(request, "Your profile is saved.")
                return redirect("profile")
        user.refresh_from_db()
        status = 400
    ctx = {
        **shell_context(request),
        "error": error,
        "time_zones": time_zones(),
        "locales": LOCALES,
        "themes": THEMES,
        "posted": request.POST if request.method == "POST" else {},
        "email_kinds": NotificationKind.choices,
        "email_chosen": set(current_member(request).email_notifications or []),
        "mail_ready": mail_configured(current_member(request).workspace_id),
    }
    return render(request, "web/people/profile.html", ctx, status=status)
