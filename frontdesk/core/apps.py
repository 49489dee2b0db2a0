from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "frontdesk.core"
    label = "core"
