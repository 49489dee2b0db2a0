from django.conf import settings
from django.core.management.base import BaseCommand

from frontdesk.ops.management.commands._serve import (
    check_port_free,
    how_to_start,
    migrate,
    start_consumer,
    use_base_url,
)
from frontdesk.ops.web_processes import serve


class Command(BaseCommand):
    help = (
        "Embedded mode: migrate, then serve the web app (FRONTDESK_WEB_PROCESSES processes,"
        " one per core by default) with the worker running beside them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        check_port_free(host, port)
        base_url = use_base_url(host, port)
        migrate()
        how = how_to_start(base_url)
        consumer = start_consumer()
        self.stdout.write(f"Frontdesk is running at {base_url}/  (data in {settings.DATA_DIR})")
        self.stdout.write(how)
        self.stdout.flush()
        try:
            serve(host, port, workers=max(1, settings.FRONTDESK_WEB_PROCESSES))
        finally:
            consumer.stop(graceful=True)
