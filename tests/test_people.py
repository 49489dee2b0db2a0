"""People: invitations accepted through a link (by email through a real SMTP server, or
shown to copy), the members page (roles, deactivation with reassignment), the outgoing
mail server, forgotten passwords and the profile."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from frontdesk.inbox.actions.conversation import assign
from frontdesk.workspaces.mail import MailNotSent, send_app_mail
from frontdesk.workspaces.models import Invitation, MailServer, Membership, Role, User
from frontdesk.workspaces.services import add_member
from tests.fixtures import PASSWORD
from tests.fixtures import session_client as web

LINK = re.compile(r"http://testserver(/invite/[^/\s]+/)")
RESET = re.compile(r"http://testserver(/password/reset/[^/\s]+/[^/\s]+/)")


def invite(client: Client, email: str, role: str = "agent"):
    return client.post("/settings/members/", {"action": "invite", "email": email, "role": role})


# --- invitations ----------------------------------------------------------------------------


def test_without_a_mail_server_the_invitation_link_is_shown_and_works_once(owner):
    page = invite(web(owner), "newt@acme.test").content.decode()
    assert "No outgoing mail server is set" in page
    path = LINK.search(page).group(1)
    assert not User.objects.filter(email="newt@acme.test").exists()  # nobody joins unasked

    newt = Client()
    form = newt.get(path).content.decode()
    assert "Acme" in form and "newt@acme.test" in form
    weak = newt.post(path, {"name": "Newt Scamander", "password": "12345678"})
    assert weak.status_code == 400
    assert b"too common" in weak.content and b'value="Newt Scamander"' in weak.content
    joined = newt.post(path, {"name": "Newt Scamander", "password": "salamander-fire-9"})
    assert joined.status_code == 302 and joined["Location"] == "/"
    assert b"Newt Scamander" in newt.get("/").content  # logged in, in the workspace
    membership = Membership.objects.get(user__email="newt@acme.test")
    assert (membership.workspace_id, membership.role) == (owner.workspace_id, Role.AGENT)

    assert Client().get(path).status_code == 404  # single use
    again = Client().post(path, {"name": "Eve", "password": "salamander-fire-9"})
    assert again.status_code == 404
    assert Client().login(username="newt@acme.test", password="salamander-fire-9")


def test_an_invitation_goes_out_by_email_through_the_workspace_smtp_server(owner, mail, smtp):
    answer = invite(web(owner), "Bo@Acme.test", "admin")
    assert answer.status_code == 302
    [received] = smtp.received
    assert received.rcpt_tos == ["bo@acme.test"] and received.login == "app@acme.test"
    message = received.message
    assert message["Subject"] == "Join Acme on Frontdesk"
    assert "team@acme.test" in message["From"]
    path = LINK.search(message.get_content()).group(1)
    assert Client().post(path, {"name": "Bo", "password": "baguette-oven-7"}).status_code == 302
    assert Membership.objects.get(user__email="bo@acme.test").role == Role.ADMIN


def test_a_refused_mail_still_gives_the_link(owner, mail, smtp):
    smtp.fail_next.append((550, "no such mailbox"))
    page = invite(web(owner), "x@acme.test").content.decode()
    assert "could not be sent" in page and "550" in page
    assert LINK.search(page)


def test_someone_with_an_account_elsewhere_joins_only_by_accepting(owner, rival):
    page = invite(web(owner), rival.user.email).content.decode()
    # the answer is the same as for an unknown address: it reveals no account
    assert "Invitation for boss@rival.test" in page
    assert not Membership.objects.filter(workspace=owner.workspace, user=rival.user).exists()
    path = LINK.search(page).group(1)
    anonymous = Client().get(path).content.decode()
    # the link's page does not tell either (without a mail server, the inviter holds it)
    other = LINK.search(invite(web(owner), "nobody@else.test").content.decode()).group(1)
    assert _neutral(anonymous, rival.user.email) == _neutral(
        Client().get(other).content.decode(), "nobody@else.test"
    )
    assert "Already have a Frontdesk account for boss@rival.test? " in anonymous
    assert Client().post(path, {"name": "x", "password": "another-pass-7"}).status_code == 400
    boss = web(rival)
    assert boss.post(path).status_code == 302
    assert Membership.objects.filter(workspace=owner.workspace, user=rival.user).exists()
    rival.user.refresh_from_db()
    assert rival.user.check_password(PASSWORD)  # nothing about the account changed


def _neutral(page: str, email: str) -> str:
    """The page without what differs by design: the address typed, the link's token, the
    form's CSRF token."""
    page = page.replace(email, "EMAIL")
    page = re.sub(r"/invite/[^/\s]+/", "/invite/TOKEN/", page)
    page = re.sub(r'name="invitation" value="\d+"', "INVITATION", page)
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "CSRF", page)


def test_the_invite_answer_is_the_same_whether_or_not_the_address_has_an_account(
    owner, rival, mail, smtp
):
    """With a mail server (the link goes to the invitee only) and without one (the link is
    shown to copy), inviting an address with an account elsewhere answers exactly like
    inviting one that has none; neither joins before accepting."""
    client = web(owner)
    mailed = []
    for email in ("boss@rival.test", "nobody@else.test"):
        answer = invite(client, email)
        assert answer.status_code == 302
        mailed.append(_neutral(client.get(answer["Location"]).content.decode(), email))
        Invitation.objects.all().delete()  # each page lists only its own invitation
    assert mailed[0] == mailed[1] and "Invitation sent to EMAIL" in mailed[0]
    assert [m.rcpt_tos for m in smtp.received] == [["boss@rival.test"], ["nobody@else.test"]]
    MailServer.objects.all().delete()
    shown = []
    for email in ("boss@rival.test", "nobody2@else.test"):
        answer = invite(client, email)
        assert answer.status_code == 200
        shown.append(_neutral(answer.content.decode(), email))
        Invitation.objects.all().delete()
    assert shown[0] == shown[1] and "Invitation for EMAIL" in shown[0]
    assert not Membership.objects.filter(workspace=owner.workspace, user=rival.user).exists()


def test_an_invitation_for_someone_else_is_refused_to_the_signed_in_member(owner, agent):
    path = LINK.search(invite(web(owner), "newt@acme.test").content.decode()).group(1)
    answer = web(agent).post(path)
    assert answer.status_code == 400 and b"This invitation is for newt@acme.test" in answer.content
    assert not User.objects.filter(email="newt@acme.test").exists()


def test_expired_withdrawn_and_replaced_invitations_stop_working(owner):
    client = web(owner)
    first = LINK.search(invite(client, "a@acme.test").content.decode()).group(1)
    second = LINK.search(invite(client, "a@acme.test").content.decode()).group(1)
    assert Client().get(first).status_code == 404  # replaced by the second
    assert Client().get(second).status_code == 200
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert Client().get(second).status_code == 404
    third = LINK.search(invite(client, "b@acme.test").content.decode()).group(1)
    row = Invitation.objects.get(email="b@acme.test")
    assert "b@acme.test" in client.get("/settings/members/").content.decode()
    client.post("/settings/members/", {"action": "revoke", "invitation": row.pk})
    assert Client().get(third).status_code == 404


def test_invitation_errors_keep_what_was_typed(owner, agent):
    client = web(owner)
    bad = invite(client, "not-an-address")
    assert bad.status_code == 400 and b"not a valid email" in bad.content
    assert b'value="not-an-address"' in bad.content
    member = invite(client, agent.user.email)
    assert member.status_code == 400 and b"already a member" in member.content


def test_an_admin_cannot_invite_an_owner_and_an_agent_cannot_invite(owner, agent):
    admin = add_member(owner.workspace, "admin@acme.test", PASSWORD, role=Role.ADMIN)
    assert invite(web(admin), "o@acme.test", "owner").status_code == 403
    assert invite(web(agent), "o@acme.test", "agent").status_code == 403
    assert not Invitation.objects.exists()
    assert b"Invite a teammate" not in web(agent).get("/settings/members/").content


# --- roles and deactivation -----------------------------------------------------------------


def test_a_role_change_takes_effect_at_once(owner, agent):
    agent_client = web(agent)
    assert agent_client.get("/settings/mail/").status_code == 403
    answer = web(owner).post(
        "/settings/members/", {"action": "role", "member": agent.pk, "role": "admin"}
    )
    assert answer.status_code == 302
    assert agent_client.get("/settings/mail/").status_code == 200  # the same session
    assert (
        agent_client.post(
            "/settings/members/", {"action": "role", "member": owner.pk, "role": "agent"}
        ).status_code
        == 403
    )  # an admin cannot demote the owner
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_the_last_owner_cannot_demote_themselves_on_the_members_page(owner):
    answer = web(owner).post(
        "/settings/members/", {"action": "role", "member": owner.pk, "role": "admin"}
    )
    assert answer.status_code == 403 and b"last owner" in answer.content


def test_a_member_of_another_workspace_cannot_be_changed(owner, rival):
    answer = web(owner).post(
        "/settings/members/", {"action": "role", "member": rival.pk, "role": "agent"}
    )
    assert answer.status_code == 404
    rival.refresh_from_db()
    assert rival.role == Role.OWNER


def test_deactivating_a_member_offers_their_open_conversations_and_keeps_history(
    owner, agent, inbound
):
    conversation = inbound("Hello", handle="ana").conversation
    assign(owner.user, conversation, agent.user)
    page = web(owner).get("/settings/members/").content.decode()
    assert "Give their 1 open conversation to" in page
    answer = web(owner).post(
        "/settings/members/",
        {"action": "deactivate", "member": agent.pk, "reassign_to": str(owner.user_id)},
    )
    assert answer.status_code == 302
    conversation.refresh_from_db()
    assert conversation.assignee_id == owner.user_id
    assert not Client().login(username=agent.user.email, password=PASSWORD)
    assert Membership.objects.filter(pk=agent.pk).exists()  # history stays
    assert "Deactivated" in web(owner).get("/settings/members/").content.decode()
    web(owner).post("/settings/members/", {"action": "reactivate", "member": agent.pk})
    assert Client().login(username=agent.user.email, password=PASSWORD)


# --- outgoing mail --------------------------------------------------------------------------


def test_mail_settings_keep_the_password_encrypted_and_send_a_test(owner, mail, smtp):
    assert "smtp-secret" not in mail.secret
    client = web(owner)
    page = client.get("/settings/mail/").content.decode()
    assert "smtp-secret" not in page and "kept; type to change" in page
    fields = {
        "host": smtp.host,
        "port": str(smtp.port),
        "security": "none",
        "username": "app@acme.test",
        "password": "",
        "from_address": "team@acme.test",
        "action": "test",
    }
    assert client.post("/settings/mail/", fields).status_code == 302  # password kept
    assert smtp.received[-1].rcpt_tos == ["owner@acme.test"]
    wrong = client.post("/settings/mail/", {**fields, "password": "wrong"})
    assert wrong.status_code == 400 and b"refused the login" in wrong.content
    assert f'value="{smtp.host}"'.encode() in wrong.content
    bad = client.post("/settings/mail/", {**fields, "port": "99999"})
    assert bad.status_code == 400 and b"between 1 and 65535" in bad.content


def test_send_app_mail_says_when_nothing_is_set_and_when_the_server_is_down(owner, smtp):
    assert send_app_mail(owner.workspace_id, "a@b.test", "s", "t") is False
    MailServer.objects.create(
        workspace=owner.workspace, host="127.0.0.1", port=1, security="none", from_address="a@b.c"
    )
    with pytest.raises(MailNotSent, match="could not be reached"):
        send_app_mail(owner.workspace_id, "a@b.test", "s", "t")


def test_the_instance_smtp_url_is_the_fallback(owner, smtp, settings):
    settings.FRONTDESK_SMTP_URL = f"smtp+plain://app%40acme.test:smtp-secret@127.0.0.1:{smtp.port}"
    settings.FRONTDESK_MAIL_FROM = "ops@acme.test"
    assert send_app_mail(owner.workspace_id, "a@b.test", "Hi", "text") is True
    assert smtp.received[-1].message["Subject"] == "Hi"


# --- passwords ------------------------------------------------------------------------------


def test_a_forgotten_password_is_reset_through_the_mailed_link_once(owner, mail, smtp):
    anon = Client()
    assert b"Forgot your password?" in anon.get("/login/").content
    answer = anon.post("/password/forgot/", {"email": "OWNER@acme.test"})
    assert b"a link to choose a new password is on its way" in answer.content
    path = RESET.search(smtp.received[-1].message.get_content()).group(1)
    mismatch = anon.post(path, {"new_password": "new-secret-42x", "new_password2": "other"})
    assert mismatch.status_code == 400 and b"not the same" in mismatch.content
    done = anon.post(path, {"new_password": "new-secret-42x", "new_password2": "new-secret-42x"})
    assert done.status_code == 302
    assert Client().login(username="owner@acme.test", password="new-secret-42x")
    assert Client().get(path).status_code == 404  # used


@pytest.mark.parametrize(
    ("password", "said"),
    [
        ("password123", "too common"),
        ("81726354091", "entirely numeric"),
        ("owner.acme.test", "too similar to the email"),
        ("a-1", "too short"),
    ],
)
def test_a_weak_new_password_is_refused_in_words(owner, mail, smtp, password, said):
    anon = Client()
    anon.post("/password/forgot/", {"email": "owner@acme.test"})
    path = RESET.search(smtp.received[-1].message.get_content()).group(1)
    refused = anon.post(path, {"new_password": password, "new_password2": password})
    assert refused.status_code == 400 and said in refused.content.decode()
    assert Client().login(username="owner@acme.test", password=PASSWORD)  # unchanged


def test_forgot_password_reveals_no_account(owner, mail, smtp):
    answer = Client().post("/password/forgot/", {"email": "nobody@acme.test"})
    assert answer.status_code == 200
    assert b"If nobody@acme.test has an account" in answer.content
    assert smtp.received == []


# --- profile --------------------------------------------------------------------------------


def test_the_profile_changes_name_zone_locale_theme_and_password(owner):
    client = web(owner)
    fields = {"name": "Olive", "time_zone": "Europe/Paris", "locale": "fr", "theme": "dark"}
    assert client.post("/settings/profile/", fields).status_code == 302
    owner.user.refresh_from_db()
    assert (owner.user.name, owner.user.time_zone, owner.user.locale, owner.user.theme) == (
        "Olive",
        "Europe/Paris",
        "fr",
        "dark",
    )
    bad = client.post("/settings/profile/", {**fields, "name": "Kept", "time_zone": "Mars/Base"})
    assert bad.status_code == 400 and b'value="Kept"' in bad.content
    wrong = client.post(
        "/settings/profile/",
        {
            "action": "password",
            "old_password": "nope",
            "new_password": "fresh-pass-77",
            "new_password2": "fresh-pass-77",
        },
    )
    assert wrong.status_code == 400 and b"current password is not right" in wrong.content
    changed = client.post(
        "/settings/profile/",
        {
            "action": "password",
            "old_password": PASSWORD,
            "new_password": "fresh-pass-77",
            "new_password2": "fresh-pass-77",
        },
    )
    assert changed.status_code == 302
    assert client.get("/settings/profile/").status_code == 200  # still logged in
    assert Client().login(username="owner@acme.test", password="fresh-pass-77")


# --- times in the member's zone and locale -------------------------------------------------


def test_times_are_shown_in_the_members_zone_and_locale(owner, agent, inbound):
    from datetime import UTC, datetime

    from frontdesk.inbox.models import Message

    message = inbound("Bonjour", handle="ana").message
    at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # a Thursday
    Message.objects.filter(pk=message.pk).update(created_at=at)
    page_of = f"/c/{message.conversation_id}/"

    utc = web(owner).get(page_of).content.decode()
    assert ">12:00\u202fPM</time>" in utc and "Thursday, January 15, 2026" in utc
    assert "Jan 15, 2026, 12:00\u202fPM UTC" in utc

    agent.user.time_zone, agent.user.locale = "Europe/Berlin", "de"
    agent.user.save()
    berlin = web(agent).get(page_of).content.decode()
    assert ">13:00</time>" in berlin and "Donnerstag, 15. Januar 2026" in berlin
    assert "15. Jan. 2026, 13:00 CET" in berlin
    # the next request of another member is back in their own zone (nothing leaks)
    assert ">12:00\u202fPM</time>" in web(owner).get(page_of).content.decode()


def test_the_empty_inbox_points_to_apps_and_integrations_until_a_channel_exists(owner):
    client = web(owner)
    page = client.get("/").content.decode()
    assert "Next step: connect a channel" in page and 'href="/apps/"' in page


def test_the_first_step_hint_goes_once_a_channel_is_connected(owner, channel):
    assert "Next step: connect a channel" not in web(owner).get("/").content.decode()
