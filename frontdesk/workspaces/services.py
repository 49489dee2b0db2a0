"""Creating workspaces and members, and the one rule for changing them (used by the CLI,
the demo and the settings pages)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from frontdesk.workspaces.models import (
    Invitation,
    Membership,
    Role,
    User,
    Workspace,
    hash_token,
)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class MemberChangeRefused(ValueError):
    """A role change or deactivation the workspace's rules do not allow."""


def checked_email_and_role(email: str, role: str, error: type[ValueError]) -> str:
    """The address, trimmed and lower-cased; ``error`` when it or the role is not valid."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise error(f"{email!r} is not a valid email address") from None
    if role not in Role.values:
        raise error(f"role must be one of {', '.join(Role.values)}")
    return email


def add_member(
    workspace: Workspace,
    email: str,
    password: str,
    role: str = Role.AGENT,
    name: str = "",
    by: Membership | None = None,
) -> Membership:
    """Add the person with this email (a new account, or an existing one) to the workspace.

    ``by`` is the member doing it (None: the operator, from the command line). Someone who is
    already a member keeps their membership; a different ``role`` is a role change, and goes
    through ``change_member``'s rule.
    """
    email = checked_email_and_role(email, role, ValueError)
    _check_member_change(by, workspace.pk, None, role)
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        if user is None:
            try:
                validate_password(password)
            except ValidationError as exc:
                raise ValueError(" ".join(exc.messages)) from None
            user = User.objects.create_user(email=email, password=password, name=name)
        membership, created = Membership.objects.get_or_create(
            workspace=workspace, user=user, defaults={"role": role}
        )
        if not created and membership.role != role:
            membership = change_member(membership, by=by, role=role)
    return membership


def change_member(
    membership: Membership,
    *,
    by: Membership | None,
    role: str | None = None,
    active: bool | None = None,
) -> Membership:
    """Change a member's role and/or (de)activate them: the only way either happens.

    The rule: owners and admins change members; only an owner changes an owner or makes
    someone an owner; the last active owner can never be demoted or deactivated. ``by`` is
    the member doing it, None for the operator at the command line (who is still held to
    the last-owner part). Changes to one workspace's members are serialised (a lock on the
    workspace row), so two owners demoting each other cannot leave it without one.
    Deactivating turns off the person's login (``User.is_active``).
    """
    if role is not None and role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
    with transaction.atomic():
        Workspace.objects.select_for_update().get(pk=membership.workspace_id)
        target = Membership.objects.select_related("user").get(pk=membership.pk)
        new_role = role if role is not None else target.role
        _check_member_change(by, target.workspace_id, target.role, new_role)
        stays_owner = new_role == Role.OWNER and active is not False
        if target.role == Role.OWNER and target.user.is_active and not stays_owner:
            others = Membership.objects.filter(
                workspace_id=target.workspace_id, role=Role.OWNER, user__is_active=True
            ).exclude(pk=target.pk)
            if not others.exists():
                raise MemberChangeRefused(
                    f"{target.user.email} is the workspace's last owner: make someone else "
                    "an owner first."
                )
        if new_role != target.role:
            target.role = new_role
            target.save(update_fields=["role"])
        if active is not None and active != target.user.is_active:
            target.user.is_active = active
            target.user.save(update_fields=["is_active"])
    return target


def _check_member_change(
    by: Membership | None, workspace_id: int, current_role: str | None, new_role: str
) -> None:
    """May ``by`` give a member of this role (None: someone new) that role, or (de)activate
    them? The operator (``by`` None) may."""
    if by is None:
        return
    if by.workspace_id != workspace_id or not by.is_admin:
        raise MemberChangeRefused("Only owners and admins can add or change members.")
    if Role.OWNER in (current_role, new_role) and by.role != Role.OWNER:
        raise MemberChangeRefused("Only an owner can change an owner or make someone an owner.")


def create_workspace(
    name: str, owner_email: str, owner_password: str, slug: str = "", owner_name: str = ""
) -> tuple[Workspace, Membership]:
    name = name.strip()
    if not name:
        raise ValueError("a workspace needs a name")
    with transaction.atomic():
        if slug and Workspace.objects.filter(slug=slug).exists():
            raise ValueError(f"the slug {slug!r} is taken")
        workspace = Workspace.objects.create(name=name, slug=slug or _unique_slug(name))
        membership = add_member(
            workspace, owner_email, owner_password, role=Role.OWNER, name=owner_name
        )
    return workspace, membership


def set_email_notifications(member: Membership, kinds: list[str]) -> None:
    """The notification kinds the member also wants by email (checked by the caller)."""
    member.email_notifications = sorted(set(kinds))
    member.save(update_fields=["email_notifications"])


def set_assign_on_reply(workspace_id: int, on: bool) -> None:
    """Whether replying to a conversation nobody owns makes the replier its assignee."""
    Workspace.objects.filter(pk=workspace_id).update(assign_on_reply=on)


def active_member(workspace_id: int, user_id: int | None) -> User | None:
    """The user, if they may be given work in this workspace (a member, not deactivated)."""
    if user_id is None:
        return None
    return User.objects.filter(
        pk=user_id, is_active=True, memberships__workspace_id=workspace_id
    ).first()


INVITATION_DAYS = 7


class InvitationRefused(ValueError):
    """An invitation that cannot be made or accepted (the message says why)."""


def invite(
    workspace: Workspace, email: str, role: str, *, by: Membership
) -> tuple[Invitation, str]:
    """An invitation for ``email`` to join as ``role`` and its secret token (for the link).

    Nobody joins without accepting: whether ``email`` has an account elsewhere is never
    looked at here, so the answer cannot reveal it. An earlier open invitation for the same
    address is replaced (its link stops working).
    """
    email = checked_email_and_role(email, role, InvitationRefused)
    _check_member_change(by, workspace.pk, None, role)
    if Membership.objects.filter(workspace=workspace, user__email=email).exists():
        raise InvitationRefused(f"{email} is already a member of this workspace.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            workspace=workspace, email=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            workspace=workspace,
            email=email,
            role=role,
            invited_by=by.user,
            token_hash=hash_token(token),
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
    return invitation, token


def open_invitation(token: str) -> Invitation | None:
    """The invitation this link's token opens, if it is still open."""
    if not token:
        return None
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(token_hash=hash_token(token))
        .first()
    )
    return invitation if invitation is not None and invitation.is_open else None


def revoke_invitation(invitation: Invitation, *, by: Membership) -> None:
    _check_member_change(by, invitation.workspace_id, None, invitation.role)
    Invitation.objects.filter(pk=invitation.pk, accepted_at=None).update(revoked_at=timezone.now())


def accept_invitation(
    token: str, *, user: User | None = None, name: str = "", password: str = ""
) -> Membership:
    """Join the invitation's workspace, once. ``user``: the signed-in account accepting
    (its email must be the invited one); otherwise a new account is made with ``name`` and
    ``password`` (Django's password validators apply)."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(token_hash=hash_token(token or ""))
            .first()
        )
        if invitation is None or not invitation.is_open:
            raise InvitationRefused(
                "This invitation link has expired or was already used: ask for a new one."
            )
        if user is None:
            if User.objects.filter(email=invitation.email).exists():
                raise InvitationRefused("You already have an account: log in to accept.")
            candidate = User(email=invitation.email, name=name.strip()[:200])
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                raise InvitationRefused(" ".join(exc.messages)) from None
            user = User.objects.create_user(
                email=invitation.email, password=password, name=candidate.name
            )
        elif user.email.lower() != invitation.email:
            raise InvitationRefused(
                f"This invitation is for {invitation.email}: log out and open the link again."
            )
        membership, _ = Membership.objects.get_or_create(
            workspace_id=invitation.workspace_id, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return membership
