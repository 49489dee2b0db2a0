from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "frontdesk.inbox"
    label = "inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers their Huey tasks; imported here, as they import the models, which Django
        # loads only after every app's module (app-loading order).
        from frontdesk.inbox import outbox, periodic, pipeline, sync, tasks  # noqa: F401
