from django.core.management.base import BaseCommand

from frontdesk.ops.management.commands._serve import make_consumer


class Command(BaseCommand):
    help = "Scale mode: run the background worker (sending, sync, periodic tasks) alone."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=4)

    def handle(self, *args, workers, **options):
        consumer = make_consumer(workers)
        self.stdout.write(f"Frontdesk worker with {workers} threads")
        self.stdout.flush()
        consumer.run()
