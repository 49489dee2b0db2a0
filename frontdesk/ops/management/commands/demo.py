import os

from django.conf import settings
from django.core.management.base import BaseCommand

from frontdesk.inbox.models import ChannelAccount
from frontdesk.ops.management.commands._serve import (
    check_port_free,
    migrate,
    start_consumer,
    use_base_url,
)
from frontdesk.ops.web_processes import serve


class Command(BaseCommand):
    help = (
        "Seed a demo workspace and serve it, with local stand-ins for WhatsApp, Unipile and a"
        " mailbox, and simulated clients who answer and write in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed-only", action="store_true", help="seed the data and exit")
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo workspace and seed it anew"
        )
        parser.add_argument(
            "--new-client-every",
            type=float,
            default=60.0,
            help="seconds between new simulated clients (0: none)",
        )

    def handle(self, *args, host, port, seed_only, reset, new_client_every, **options):
        if not seed_only:
            check_port_free(host, port)
        base_url = use_base_url(host, port)
        # The stand-ins listen on loopback: a demo is a closed network (here and in any web
        # process started from here).
        settings.FRONTDESK_FETCH_PRIVATE_ADDRESSES = True
        os.environ["FRONTDESK_FETCH_PRIVATE_ADDRESSES"] = "1"
        migrate()
        # Only the demo loads the stand-ins (a normal run never imports them).
        from frontdesk.ops.demo.clients import Clients
        from frontdesk.ops.demo.receiver import start_receiver
        from frontdesk.ops.demo.seed import (
            DEMO_EMAIL,
            DEMO_PASSWORD,
            point_demo_channels,
            reset_demo,
            seed_channels,
            seed_crm_extras,
            seed_demo,
        )
        from frontdesk.ops.demo.world import World

        if reset:
            reset_demo()
        fresh = not ChannelAccount.objects.filter(
            workspace__slug="demo", provider="whatsapp_cloud"
        ).exists()
        world = World.start()
        workspace = seed_demo()
        if fresh:
            seed_channels(workspace, world)
            seed_crm_extras(workspace)
        else:
            world.restore(workspace)
        self.stdout.write(
            f"Demo workspace {workspace.name!r}: log in as {DEMO_EMAIL} / {DEMO_PASSWORD}"
        )
        if world.dovecot is None:
            self.stdout.write("(Dovecot is not installed: the demo has no mailbox)")
        if seed_only:
            world.close()
            return
        clients = Clients(world, every=new_client_every)
        channel = ChannelAccount.objects.filter(workspace=workspace, provider="api").first()
        receiver = None
        if channel is not None:  # the website chat: its widget's backend, and its visitors
            secret = channel.credentials["secret"]
            clients.website = (channel.pk, secret)
            receiver, url = start_receiver(secret, on_reply=clients.on_website_reply)
            point_demo_channels(workspace, url)
        settings.FRONTDESK_DEMO = True  # the sidebar says the clients are simulated
        os.environ["FRONTDESK_DEMO"] = "1"  # (and in any web process started from here)
        consumer = start_consumer()
        clients.start()
        self.stdout.write(f"Frontdesk demo at {base_url}/  (data in {settings.DATA_DIR})")
        self.stdout.flush()
        try:
            serve(host, port)
        finally:
            clients.stop()
            consumer.stop(graceful=True)
            if receiver is not None:
                receiver.shutdown()
            world.close()
