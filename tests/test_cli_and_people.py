"""The `frontdesk` command's people commands, login, and the settings that keep secrets."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from frontdesk.workspaces.models import ApiToken, Membership, User, Workspace, hash_token


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createworkspace_createuser_and_token(db):
    out = run(
        "createworkspace",
        "Blue Bakery",
        "--owner-email",
        "Ann@Bakery.test",
        "--owner-password",
        "croissant-42",
    )
    assert "blue-bakery" in out
    ws = Workspace.objects.get(slug="blue-bakery")
    owner = Membership.objects.get(workspace=ws)
    assert (owner.user.email, owner.role) == ("ann@bakery.test", "owner")
    assert owner.user.check_password("croissant-42")

    run(
        "createuser",
        "--workspace",
        "blue-bakery",
        "--email",
        "bo@bakery.test",
        "--password",
        "baguette-42",
        "--role",
        "agent",
    )
    assert Membership.objects.get(user__email="bo@bakery.test").role == "agent"

    token = run("token", "create", "--email", "bo@bakery.test").strip().splitlines()[-1]
    row = ApiToken.objects.get()
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    me = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/me").json()
    assert (me["user"]["email"], me["role"]) == ("bo@bakery.test", "agent")


def test_same_name_gets_a_distinct_slug(db):
    run("createworkspace", "Acme", "--owner-email", "a@a.test", "--owner-password", "password-123")
    run("createworkspace", "Acme", "--owner-email", "b@b.test", "--owner-password", "password-123")
    assert sorted(Workspace.objects.values_list("slug", flat=True)) == ["acme", "acme-2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (
                "createworkspace",
                "X",
                "--owner-email",
                "not-an-email",
                "--owner-password",
                "password-123",
            ),
            "not a valid email",
        ),
        (
            ("createworkspace", "X", "--owner-email", "a@a.test", "--owner-password", "short"),
            "too short",
        ),
        (
            (
                "createuser",
                "--workspace",
                "nope",
                "--email",
                "a@a.test",
                "--password",
                "password-123",
            ),
            "no workspace",
        ),
        (("token", "create", "--email", "ghost@a.test"), "not a member"),
    ],
)
def test_cli_errors_are_clear(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not User.objects.exists()


def test_passwords_are_hashed_with_argon2_in_production(settings, db):
    from django.contrib.auth.hashers import get_hasher

    from frontdesk import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = User.objects.create_user("x@x.test", "password-123")
    assert user.password.startswith("argon2$")
    assert get_hasher("default").algorithm == "argon2"


def test_login_and_logout(owner):
    client = Client()
    assert client.get("/").status_code == 302
    bad = client.post("/login/", {"username": "owner@acme.test", "password": "wrong"})
    assert bad.status_code == 200 and b"did not match" in bad.content
    ok = client.post(
        "/login/", {"username": "owner@acme.test", "password": "correct-horse-battery"}
    )
    assert ok.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_every_page_sends_a_csp_without_inline_script(owner):
    response = Client().get("/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_credentials_are_encrypted_at_rest(channel):
    from frontdesk.inbox.models import ChannelAccount

    raw = ChannelAccount.objects.values_list("credentials_encrypted", flat=True).get(pk=channel.pk)
    assert channel.credentials["secret"] not in raw
    assert ChannelAccount.objects.get(pk=channel.pk).credentials == channel.credentials


def test_the_admin_lists_inbox_rows_for_staff(channel, inbound, db):
    from frontdesk.workspaces.models import User

    inbound("hello admin")
    staff = User.objects.create_superuser("staff@frontdesk.test", "password-123")
    client = Client()
    client.force_login(staff)
    for path in ("conversation", "message", "contact", "channelaccount"):
        response = client.get(f"/admin/inbox/{path}/")
        assert response.status_code == 200, path
    page = client.get(f"/admin/inbox/channelaccount/{channel.pk}/change/").content.decode()
    assert channel.credentials["secret"] not in page


def test_static_files_are_served_without_a_collect_step(db):
    response = Client().get("/static/frontdesk/app.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
