from django.core.management.base import BaseCommand, CommandError

from frontdesk.workspaces.models import ApiToken, Membership


class Command(BaseCommand):
    help = "Create an API bearer token for a member. The token is the last line printed."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create"])
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--workspace", default="", help="workspace slug (default: the member's first)"
        )
        parser.add_argument("--name", default="cli")

    def handle(self, *args, action, email, workspace, name, **options):
        memberships = Membership.objects.filter(user__email=email.lower()).order_by(
            "created_at", "id"
        )
        if workspace:
            memberships = memberships.filter(workspace__slug=workspace)
        membership = memberships.select_related("workspace").first()
        if membership is None:
            raise CommandError(f"{email} is not a member of {workspace or 'any workspace'}")
        _, token = ApiToken.issue(membership, name=name)
        self.stdout.write(f"API token for {email} in {membership.workspace.slug} (shown once):")
        self.stdout.write(token)
