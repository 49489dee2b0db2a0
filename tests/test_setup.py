"""First run: with no workspace, the login page leads to setup, which only the one-time link
printed by ``frontdesk run`` opens; the link makes the workspace and its owner, once."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.workspaces.models import Membership, Workspace
from frontdesk.workspaces.setup import new_setup_token


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def form(**changes: str) -> dict[str, str]:
    return {
        "workspace": "Northwind Studio",
        "name": "Dana Reyes",
        "email": "Dana@Northwind.test",
        "password": "a-long-password-9",
    } | changes


def test_the_setup_link_makes_the_workspace_and_its_owner_once(db, data_dir):
    client = Client()
    assert client.get("/login/").url == "/setup/"
    assert "open the setup link" in client.get("/setup/").text
    assert client.get("/setup/guessed-token/").status_code == 404

    token = new_setup_token()
    assert token and (data_dir / "setup-token").stat().st_mode & 0o077 == 0
    link = f"/setup/{token}/"
    assert "Create workspace" in client.get(link).text

    refused = client.post(link, form(password="short"))  # nothing made, nothing lost
    assert refused.status_code == 400 and "too short" in refused.text
    assert 'value="Northwind Studio"' in refused.text and 'value="Dana Reyes"' in refused.text
    assert not Workspace.objects.exists()

    done = client.post(link, form())
    assert done.status_code == 302 and done.url == "/"
    inbox = client.get("/")
    assert inbox.status_code == 200 and "Northwind Studio" in inbox.text  # logged in
    owner = Membership.objects.get()
    assert (owner.role, owner.user.email, owner.user.name) == (
        "owner",
        "dana@northwind.test",
        "Dana Reyes",
    )

    again = Client().post(link, form(workspace="Claimed", email="eve@evil.test"))
    assert again.status_code == 404 and "already used" in again.text
    assert list(Workspace.objects.values_list("name", flat=True)) == ["Northwind Studio"]
    assert Client().get("/setup/").url == "/login/"
    assert Client().get("/login/").status_code == 200
    assert new_setup_token() is None  # a restart prints no link any more


def test_a_restart_replaces_the_link(db, data_dir):
    old = new_setup_token()
    new = new_setup_token()
    assert old != new
    assert Client().get(f"/setup/{old}/").status_code == 404
    assert Client().post(f"/setup/{new}/", form()).status_code == 302
