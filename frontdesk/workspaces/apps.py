from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "frontdesk.workspaces"
    label = "workspaces"
