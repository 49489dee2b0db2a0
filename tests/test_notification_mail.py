"""Notification emails are batched: one digest per member every few minutes at most, through
the workspace's outgoing mail server (a real local SMTP server here), of the kinds the member
chose in their profile, leaving out what they read in the app first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from frontdesk.inbox.actions.conversation import assign
from frontdesk.inbox.actions.notification_mail import mail_digests
from frontdesk.inbox.actions.notifications import mark_read
from frontdesk.inbox.actions.send import add_note
from frontdesk.inbox.models import Notification
from frontdesk.workspaces.models import Membership
from tests.fixtures import session_client as web

DELAY = timedelta(seconds=300)


@pytest.fixture
def conversation(inbound):
    return inbound("Where is my invoice?", handle="ana", contact_name="Ana Lima").conversation


def choose(member: Membership, *kinds: str) -> None:
    """The member ticks these kinds in their profile."""
    answer = web(member).post(
        "/settings/profile/", {"action": "notifications", "email_kinds": kinds}
    )
    assert answer.status_code == 302
    member.refresh_from_db()
    assert sorted(member.email_notifications) == sorted(kinds)


def later(minutes: float = 5.1):
    return timezone.now() + timedelta(minutes=minutes)


def test_a_busy_conversation_is_one_mail_not_fifty(owner, agent, mail, smtp, conversation, inbound):
    choose(agent, "new_message", "assigned")
    assign(owner.user, conversation, agent.user)
    for n in range(50):
        inbound(f"Message {n}", handle="ana")
    assert mail_digests(timezone.now()) == 0  # nothing is due yet: the digest waits
    assert smtp.received == []
    assert mail_digests(later()) == 1
    [received] = smtp.received
    assert received.rcpt_tos == ["agent@acme.test"]
    message = received.message
    assert message["Subject"] == "2 notifications in Acme"
    assert "Acme" in message["From"] and "team@acme.test" in message["From"]
    body = message.get_content()
    assert "owner assigned you Ana Lima" in body
    assert "Ana Lima: Message 49 (50 messages)" in body
    assert f"/c/{conversation.pk}/" in body
    # Mailed once: the next run has nothing, however late.
    assert mail_digests(later(60)) == 0
    assert len(smtp.received) == 1
    assert Notification.objects.filter(user=agent.user, emailed_at__isnull=False).count() == 2


def test_mentions_in_a_row_wait_for_one_digest_and_the_next_comes_a_delay_later(
    owner, agent, mail, smtp, conversation
):
    # "mention" is on by default.
    for n in range(3):
        add_note(owner.user, conversation, f"@Agnes Agent look at this ({n})")
    newest = Notification.objects.filter(user=agent.user).latest("created_at")
    Notification.objects.filter(pk=newest.pk).update(email_due_at=later(9))  # not due yet
    assert mail_digests(later()) == 1
    body = smtp.received[0].message.get_content()
    assert all(f"look at this ({n})" in body for n in range(3))  # the one not due rides along
    add_note(owner.user, conversation, "@Agnes Agent and this")
    assert mail_digests(timezone.now()) == 0  # due a delay after it was written
    assert mail_digests(later()) == 1
    second = smtp.received[1].message
    assert second["Subject"] == "owner mentioned you in Ana Lima: @Agnes Agent and this · Acme"
    assert "look at this" not in second.get_content()  # mailed already


def test_what_was_read_in_the_app_first_is_not_mailed(owner, agent, mail, smtp, conversation):
    add_note(owner.user, conversation, "@Agnes Agent quick one")
    web(agent).post(f"/c/{conversation.pk}/read")  # she opens the conversation
    mark_read(agent.workspace_id, agent.user_id)
    assert mail_digests(later()) == 0
    assert smtp.received == []


def test_kinds_not_chosen_are_never_mailed(owner, agent, mail, smtp, conversation, inbound):
    choose(agent)  # nothing by email
    assign(owner.user, conversation, agent.user)
    add_note(owner.user, conversation, "@Agnes Agent hi")
    inbound("More", handle="ana")
    assert Notification.objects.filter(user=agent.user).count() == 3  # the bell has them
    assert mail_digests(later()) == 0
    assert smtp.received == []


def test_a_refusing_server_gets_the_same_digest_again_later(owner, agent, mail, smtp, conversation):
    add_note(owner.user, conversation, "@Agnes Agent are you there?")
    smtp.fail_next.append((451, "try again later"))
    assert mail_digests(later()) == 0
    assert smtp.received == []
    assert mail_digests(later(6)) == 0  # not before a delay has passed
    assert mail_digests(later(10.3)) == 1
    assert "are you there?" in smtp.received[0].message.get_content()


def test_without_a_mail_server_nothing_is_sent_and_nothing_piles_up(owner, agent, conversation):
    add_note(owner.user, conversation, "@Agnes Agent hello")
    assert mail_digests(later()) == 0
    assert not Notification.objects.filter(email_due_at__isnull=False).exists()


def test_another_workspaces_member_never_goes_through_this_server(owner, rival, mail, smtp):
    from frontdesk.inbox.actions.notifications import notify

    notify(rival.workspace_id, rival.user_id, "followup_due", "Call Bo back")
    assert mail_digests(later()) == 0
    assert smtp.received == []


def test_the_profile_lists_the_kinds_and_ignores_unknown_ones(agent):
    page = web(agent).get("/settings/profile/").content.decode()
    assert "Notifications by email" in page
    assert 'name="email_kinds" value="mention" checked' in page
    assert 'name="email_kinds" value="new_message">' in page
    assert "No outgoing mail server is set" in page
    web(agent).post(
        "/settings/profile/", {"action": "notifications", "email_kinds": ["mention", "bogus"]}
    )
    agent.refresh_from_db()
    assert agent.email_notifications == ["mention"]
