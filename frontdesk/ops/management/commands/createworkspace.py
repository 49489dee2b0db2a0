from django.core.management.base import BaseCommand, CommandError

from frontdesk.workspaces.services import create_workspace


class Command(BaseCommand):
    help = "Create a workspace and its owner."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-password", required=True)
        parser.add_argument("--slug", default="")

    def handle(self, *args, name, owner_email, owner_password, slug, **options):
        try:
            workspace, _ = create_workspace(name, owner_email, owner_password, slug=slug)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Created workspace {workspace.name!r} (slug {workspace.slug}) owned by {owner_email}"
        )
