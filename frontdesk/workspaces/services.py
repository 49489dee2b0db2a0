"""Creating workspaces and members (used by the CLI, the demo and the settings pages)."""

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


def add_member(
    workspace: Workspace, email: str, password: str, role: str = Role.AGENT, name: str = ""
) -> Membership:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"{email!r} is not a valid email address") from None
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
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
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


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
