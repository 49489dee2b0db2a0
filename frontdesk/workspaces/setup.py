"""First run: while no workspace exists, whoever holds the one-time setup link creates the
workspace and its owner account.

``frontdesk run`` makes a new link on each start (the token lives in
``FRONTDESK_DATA_DIR/setup-token``, readable by the server's user only) and prints it; the
web page refuses any other token. Using it deletes the token, so a link works once, and once a
workspace exists no link works at all. Scripted installs use ``frontdesk createworkspace``.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from django.conf import settings

from frontdesk.workspaces.models import Membership, Workspace
from frontdesk.workspaces.services import create_workspace


class SetupRefused(ValueError):
    """The link is not (or no longer) valid, or the form's values are refused."""


def _token_file() -> Path:
    return settings.DATA_DIR / "setup-token"


def needs_setup() -> bool:
    return not Workspace.objects.exists()


def new_setup_token() -> str | None:
    """A fresh one-time token while there is no workspace (None once there is one)."""
    path = _token_file()
    if not needs_setup():
        path.unlink(missing_ok=True)
        return None
    token = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(token)
    return token


def setup_token_valid(token: str) -> bool:
    try:
        expected = _token_file().read_text().strip()
    except FileNotFoundError:
        return False
    return bool(expected) and hmac.compare_digest(expected, token) and needs_setup()


def complete_setup(
    token: str, workspace_name: str, name: str, email: str, password: str
) -> Membership:
    """Create the workspace and its owner with the link's token; the token is then spent."""
    if not setup_token_valid(token):
        raise SetupRefused("This setup link was already used or is not valid.")
    if not name.strip():
        raise SetupRefused("Enter your name.")
    claimed = _token_file().with_name(f"setup-token.{secrets.token_hex(8)}")
    try:
        _token_file().rename(claimed)  # only one request can take it
    except FileNotFoundError:
        raise SetupRefused("This setup link was already used or is not valid.") from None
    try:
        _, membership = create_workspace(workspace_name, email, password, owner_name=name.strip())
    except ValueError as exc:
        claimed.rename(_token_file())  # nothing was made: the link still works
        raise SetupRefused(_sentence(str(exc))) from None
    claimed.unlink()
    return membership


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
