"""The CRM's background tasks (Huey finds this module in every installed app)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from frontdesk.crm.actions.followups import remind_due


@db_periodic_task(crontab(minute="*"))
def remind_due_followups() -> int:
    """Each minute: tell the assignees of follow-ups that fell due (each once)."""
    return remind_due()
