from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "frontdesk.inbox"
    label = "inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from frontdesk.inbox import outbox, periodic, pipeline, sync, tasks  # noqa: F401  (their Huey tasks)
