"""The inbox's periodic rounds (Huey). Each is thin: the work lives in ``inbox.actions``.
They sit above the actions, whose jobs (``inbox/tasks.py``) they may queue; nothing imports
this module but the app's ``ready``."""

import os
from datetime import timedelta

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from frontdesk.inbox.actions.conversation import wake_snoozed
from frontdesk.inbox.actions.delivery import purge_pending_statuses
from frontdesk.inbox.actions.notification_mail import mail_digests


@db_periodic_task(crontab(minute="*"))
def wake_snoozed_conversations() -> int:
    return wake_snoozed()


@db_periodic_task(crontab(minute="*"))
def mail_notification_digests() -> int:
    """Each member with a notification due by email gets one digest of what waits for them."""
    with lock_task("notification-digests"):
        return mail_digests()


def pending_status_retention() -> timedelta:
    """How long a status for a message we do not know is kept (``FRONTDESK_PENDING_STATUS_DAYS``,
    default 7, at least 1: a reply may wait hours in the outbox before its id is known)."""
    days = getattr(settings, "FRONTDESK_PENDING_STATUS_DAYS", None)
    if days is None:
        days = os.environ.get("FRONTDESK_PENDING_STATUS_DAYS") or 7
    return timedelta(days=max(float(days), 1.0))


@db_periodic_task(crontab(minute="*/15"))
def forget_stale_pending_statuses() -> int:
    return purge_pending_statuses(pending_status_retention())
