"""Notification emails, batched: one digest per member every few minutes at most.

``notify`` marks a notification of a kind the member wants by email with ``email_due_at``
(now + ``FRONTDESK_NOTIFY_EMAIL_DELAY_SECONDS``, 5 minutes by default; now for a follow-up
falling due, which is about a time); new messages of one
conversation fold into one notification that keeps its first due time. Every minute
``mail_digests`` takes each member with something due and mails them **one** message
listing everything still waiting for them (due or not), through their workspace's
outgoing mail server, so a busy conversation or a run of mentions is one mail, and the next
one can only come a delay later. Whatever the member read in the app by then (or no
longer wants by email) is left out; a server that refuses or cannot be reached gets the
same notifications again a delay later, for a day.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from frontdesk.inbox.models import Notification
from frontdesk.workspaces.mail import MailNotSent, send_app_mail
from frontdesk.workspaces.models import Membership

log = logging.getLogger("frontdesk.notifications")

GIVE_UP_AFTER = timedelta(days=1)
DIGEST_MAX_ITEMS = 50  # listed one by one; more are counted


def notification_path(row: Notification) -> str:
    """Where a notification leads: the message or conversation, else the deal, lead or
    follow-ups (the web app's pages, found by name)."""
    try:
        if row.conversation_id:
            url = reverse("conversation", args=[row.conversation_id])
            return f"{url}?m={row.message_id}" if row.message_id else url
        for name, pk in (("deal", row.deal_id), ("lead", row.lead_id)):
            if pk:
                return reverse(name, args=[pk])
        if row.followup_id:
            return reverse("followups")
        return reverse("notifications")
    except NoReverseMatch:  # a page this install does not have
        return "/"


def _delay() -> timedelta:
    return timedelta(seconds=settings.FRONTDESK_NOTIFY_EMAIL_DELAY_SECONDS)


def mail_digests(now: datetime | None = None) -> int:
    """Mail every member who has a notification due their digest; how many mails went."""
    now = now or timezone.now()
    due = (
        Notification.objects.filter(email_due_at__lte=now, read_at__isnull=True)
        .values_list("workspace_id", "user_id")
        .order_by()
        .distinct()
    )
    sent = 0
    for workspace_id, user_id in list(due):
        sent += _mail_member(workspace_id, user_id, now)
    return sent


def _mail_member(workspace_id: int, user_id: int, now: datetime) -> int:
    member = (
        Membership.objects.filter(workspace_id=workspace_id, user_id=user_id)
        .select_related("user", "workspace")
        .first()
    )
    waiting = Notification.objects.filter(
        workspace_id=workspace_id, user_id=user_id, email_due_at__isnull=False, read_at=None
    )
    wanted = set(member.email_notifications or []) if member and member.user.is_active else set()
    # Taken off the queue before the mail goes, so two workers never mail the same ones.
    with transaction.atomic():
        rows = list(
            waiting.select_for_update(of=("self",))
            .select_related("actor", "conversation__contact")
            .order_by("created_at", "id")
        )
        if not rows or min(r.email_due_at for r in rows if r.email_due_at) > now:
            return 0
        Notification.objects.filter(pk__in=[r.pk for r in rows]).update(email_due_at=None)
    rows = [r for r in rows if r.kind in wanted]
    if not rows or member is None:
        return 0
    subject, text = digest(member, rows)
    try:
        mailed = send_app_mail(
            workspace_id, member.user.email, subject, text, sender_name=member.workspace.name
        )
    except MailNotSent as exc:
        _retry(rows, now, exc)
        return 0
    if not mailed:
        log.info("no outgoing mail server in workspace %s: digest not sent", workspace_id)
        return 0
    Notification.objects.filter(pk__in=[r.pk for r in rows]).update(emailed_at=now)
    return 1


def _retry(rows: list[Notification], now: datetime, exc: MailNotSent) -> None:
    """The server refused or was not there: the same notifications again a delay later,
    for a day at most."""
    if now - min(r.created_at for r in rows) > GIVE_UP_AFTER:
        log.warning("notification digest given up: %s", exc)
        return
    log.warning("notification digest not sent, trying again later: %s", exc)
    Notification.objects.filter(pk__in=[r.pk for r in rows], read_at=None).update(
        email_due_at=now + _delay()
    )


def _url(name: str) -> str:
    try:
        return settings.BASE_URL + reverse(name)
    except NoReverseMatch:
        return settings.BASE_URL + "/"


def digest(member: Membership, rows: list[Notification]) -> tuple[str, str]:
    """The digest's subject and plain text: each notification with its link."""
    workspace = member.workspace.name
    base = settings.BASE_URL
    subject = (
        f"{rows[0].text} · {workspace}"
        if len(rows) == 1
        else f"{len(rows)} notifications in {workspace}"
    )
    lines = [f"Hello {member.user.display_name},", "", f"New in {workspace} on Frontdesk:", ""]
    for row in rows[:DIGEST_MAX_ITEMS]:
        count = f" ({row.count} messages)" if row.count > 1 else ""
        at = timezone.localtime(row.created_at, member.user.zone).strftime("%H:%M")
        lines += [f"- {row.text}{count}, {at}", f"  {base}{notification_path(row)}"]
    if len(rows) > DIGEST_MAX_ITEMS:
        lines.append(f"… and {len(rows) - DIGEST_MAX_ITEMS} more: {_url('notifications')}")
    lines += [
        "",
        "What you read in Frontdesk first is not mailed. Choose which notifications come by"
        f" email in your profile: {_url('profile')}",
    ]
    return subject[:200], "\n".join(lines) + "\n"
