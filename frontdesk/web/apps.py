from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "frontdesk.web"
    label = "web"
