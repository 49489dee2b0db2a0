from django.core.management.base import BaseCommand

from frontdesk.ops.management.commands._serve import use_base_url
from frontdesk.ops.web_processes import serve


class Command(BaseCommand):
    help = "Scale mode: serve the web app only (run `frontdesk worker` separately)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, host, port, workers, **options):
        self.stdout.write(
            f"Frontdesk web on http://{host}:{port}/ (links: {use_base_url(host, port)}/)"
        )
        self.stdout.flush()
        serve(host, port, workers=workers)
