from django.apps import AppConfig

from frontdesk.core import queue


class CoreConfig(AppConfig):
    name = "frontdesk.core"
    label = "core"

    def ready(self) -> None:
        queue.retry_after_dropped_connections()
