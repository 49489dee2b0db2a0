from django.core.management.base import BaseCommand
from huey.contrib.djhuey import HUEY


class Command(BaseCommand):
    help = "Scale mode: run the background worker (sending, sync, periodic tasks) alone."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=4)

    def handle(self, *args, workers, **options):
        consumer = HUEY.create_consumer(workers=workers, worker_type="thread", periodic=True)
        self.stdout.write(f"Frontdesk worker with {workers} threads")
        self.stdout.flush()
        consumer.run()
