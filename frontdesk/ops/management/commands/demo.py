import os

from django.conf import settings
from django.core.management.base import BaseCommand

from frontdesk.inbox.models import ChannelAccount
from frontdesk.ops.demo.receiver import start_receiver
from frontdesk.ops.demo.seed import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    point_demo_channels,
    reset_demo,
    seed_demo,
)
from frontdesk.ops.management.commands._serve import (
    check_port_free,
    migrate,
    serve,
    start_consumer,
)


class Command(BaseCommand):
    help = "Seed a demo workspace with conversations and serve it, with a local stand-in receiving replies."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed-only", action="store_true", help="seed the data and exit")
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo workspace and seed it anew"
        )

    def handle(self, *args, host, port, seed_only, reset, **options):
        if not seed_only:
            check_port_free(host, port)
        migrate()
        if reset:
            reset_demo()
        workspace = seed_demo()
        self.stdout.write(
            f"Demo workspace {workspace.name!r}: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}"
        )
        if seed_only:
            return
        channel = ChannelAccount.objects.filter(workspace=workspace, provider="api").first()
        receiver = None
        if channel is not None:
            # The stand-in receiving replies is on loopback: a demo is a closed network.
            settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES = True
            receiver, url = start_receiver(channel.credentials["secret"])
            point_demo_channels(workspace, url)
        settings.FRONTDESK_DEMO = True  # the sidebar says the clients are simulated
        os.environ["FRONTDESK_DEMO"] = "1"  # (and in any web process started from here)
        consumer = start_consumer()
        self.stdout.write(f"Frontdesk demo at http://{host}:{port}/  (data in {settings.DATA_DIR})")
        self.stdout.flush()
        try:
            serve(host, port)
        finally:
            consumer.stop(graceful=True)
            if receiver is not None:
                receiver.shutdown()
