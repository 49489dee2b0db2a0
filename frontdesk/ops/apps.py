from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "frontdesk.ops"
    label = "ops"
