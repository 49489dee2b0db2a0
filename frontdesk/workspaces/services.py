"""Creating workspaces and members, and the one rule for changing them (used by the CLI,
the demo and the settings pages)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify

from frontdesk.workspaces.models import Membership, Role, User, Workspace


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class MemberChangeRefused(ValueError):
    """A role change or deactivation the workspace's rules do not allow."""


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
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"{email!r} is not a valid email address") from None
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
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
    name: str, owner_email: str, owner_password: str, slug: str = ""
) -> tuple[Workspace, Membership]:
    name = name.strip()
    if not name:
        raise ValueError("a workspace needs a name")
    with transaction.atomic():
        if slug and Workspace.objects.filter(slug=slug).exists():
            raise ValueError(f"the slug {slug!r} is taken")
        workspace = Workspace.objects.create(name=name, slug=slug or _unique_slug(name))
        membership = add_member(workspace, owner_email, owner_password, role=Role.OWNER)
    return workspace, membership


def active_member(workspace_id: int, user_id: int | None) -> User | None:
    """The user, if they may be given work in this workspace (a member, not deactivated)."""
    if user_id is None:
        return None
    return User.objects.filter(
        pk=user_id, is_active=True, memberships__workspace_id=workspace_id
    ).first()
