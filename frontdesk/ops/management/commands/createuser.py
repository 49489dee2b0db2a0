from django.core.management.base import BaseCommand, CommandError

from frontdesk.workspaces.models import Role, Workspace
from frontdesk.workspaces.services import add_member


class Command(BaseCommand):
    help = "Create a user (or reuse one by email) and add them to a workspace."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--role", choices=Role.values, default=Role.AGENT)

    def handle(self, *args, workspace, email, password, name, role, **options):
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"no workspace with slug {workspace!r}")
        try:
            add_member(ws, email, password, role=role, name=name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{email} is now {role} of {ws.slug}")
