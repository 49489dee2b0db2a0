"""One rule for every role change and deactivation (``workspaces.services.change_member``):
only an owner changes an owner or makes someone an owner, and the last active owner can never
be demoted or deactivated; the members page, ``add_member`` and the CLI all go through it."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from frontdesk.workspaces.models import Membership, Role
from frontdesk.workspaces.services import MemberChangeRefused, add_member, change_member
from tests.fixtures import PASSWORD
from tests.fixtures import session_client as web


@pytest.fixture
def admin(owner) -> Membership:
    return add_member(owner.workspace, "admin@acme.test", PASSWORD, role=Role.ADMIN)


def set_role(client: Client, target: Membership, role: str):
    return client.post("/settings/members/", {"action": "role", "member": target.pk, "role": role})


def role_of(membership: Membership) -> str:
    membership.refresh_from_db()
    return membership.role


def test_an_admin_cannot_demote_the_owner(owner, admin):
    answer = set_role(web(admin), owner, "agent")
    assert answer.status_code == 403
    assert b"Only an owner can change an owner" in answer.content
    again = web(admin).post(
        "/settings/members/", {"action": "invite", "email": owner.user.email, "role": "agent"}
    )
    assert again.status_code == 400 and b"already a member" in again.content
    assert role_of(owner) == Role.OWNER


def test_an_admin_cannot_make_an_owner_nor_promote_a_member_to_owner(owner, admin, agent):
    new = web(admin).post(
        "/settings/members/", {"action": "invite", "email": "new@acme.test", "role": "owner"}
    )
    assert new.status_code == 403
    assert not Membership.objects.filter(user__email="new@acme.test").exists()
    assert set_role(web(admin), agent, "owner").status_code == 403
    assert role_of(agent) == Role.AGENT
    # an admin still changes agents and admins
    assert set_role(web(admin), agent, "admin").status_code == 302
    assert role_of(agent) == Role.ADMIN


def test_the_last_owner_cannot_demote_themselves(owner):
    answer = set_role(web(owner), owner, "admin")
    assert answer.status_code == 403
    assert b"last owner" in answer.content
    assert role_of(owner) == Role.OWNER


def test_an_owner_changes_another_owner_while_one_remains(owner, agent):
    second = change_member(agent, by=owner, role=Role.OWNER)
    assert second.role == Role.OWNER
    assert change_member(owner, by=second, role=Role.AGENT).role == Role.AGENT
    with pytest.raises(MemberChangeRefused, match="last owner"):
        change_member(second, by=second, role=Role.ADMIN)
    with pytest.raises(MemberChangeRefused, match="last owner"):
        change_member(second, by=second, active=False)
    assert role_of(second) == Role.OWNER


def test_deactivation_follows_the_same_rule(owner, admin, agent):
    with pytest.raises(MemberChangeRefused, match="Only an owner"):
        change_member(owner, by=admin, active=False)
    change_member(agent, by=admin, active=False)
    agent.user.refresh_from_db()
    assert agent.user.is_active is False
    # a deactivated owner does not count as the one that remains
    other = change_member(admin, by=owner, role=Role.OWNER)
    change_member(other, by=owner, active=False)
    with pytest.raises(MemberChangeRefused, match="last owner"):
        change_member(owner, by=owner, role=Role.AGENT)


def test_an_agent_changes_nobody(owner, agent, admin):
    with pytest.raises(MemberChangeRefused, match="Only owners and admins"):
        change_member(admin, by=agent, role=Role.AGENT)


def test_a_member_of_another_workspace_changes_nobody_here(owner, agent, rival):
    with pytest.raises(MemberChangeRefused):
        change_member(agent, by=rival, role=Role.ADMIN)
    assert role_of(agent) == Role.AGENT


def test_the_command_line_cannot_demote_the_last_owner(owner):
    with pytest.raises(CommandError, match="last owner"):
        call_command(
            "createuser",
            "--workspace",
            owner.workspace.slug,
            "--email",
            owner.user.email,
            "--password",
            PASSWORD,
            "--role",
            "agent",
        )
    assert role_of(owner) == Role.OWNER


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(owner, agent, monkeypatch):
    """The workspace row is locked for the change: the second demotion sees the first. Each
    change is held a moment between its last-owner check and its write, so that without the
    lock both would pass that check before either writes (the race, made certain)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time (every transaction begins IMMEDIATE)")
    second = change_member(agent, by=owner, role=Role.OWNER)
    save = Membership.save

    def slow_save(self, *args, **kwargs):
        time.sleep(0.5)
        save(self, *args, **kwargs)

    monkeypatch.setattr(Membership, "save", slow_save)
    barrier = threading.Barrier(2)
    refused: list[Exception] = []

    def demote(target: Membership, by: Membership) -> None:
        barrier.wait()
        try:
            change_member(target, by=by, role=Role.AGENT)
        except MemberChangeRefused as exc:
            refused.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(owner, second)),
        threading.Thread(target=demote, args=(second, owner)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(refused) == 1
    assert Membership.objects.filter(workspace=owner.workspace, role=Role.OWNER).count() == 1
