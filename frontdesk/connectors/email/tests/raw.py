"""One raw message through the email sync's reader and the inbox's page store, as a sync
stores it: what became of it ("created", "duplicate", "bounce", "auto-reply", ...)."""

from __future__ import annotations

from frontdesk.connectors.base import SyncPage
from frontdesk.connectors.email import sync
from frontdesk.inbox.models import ChannelAccount, Message
from frontdesk.inbox.sync import store_page, sync_run


def ingest_raw(channel: ChannelAccount, data: bytes, outbound: bool = False) -> str:
    reader = sync.Reader(channel, sync_run(channel), {})
    events = reader.read([sync.Raw(uid=1, data=data, outbound=outbound)])
    [outcome] = reader.outcomes
    before = set(Message.objects.filter(channel=channel).values_list("pk", flat=True))
    store_page(channel, SyncPage(events=events, skip_unstorable=True))
    if outcome != "new":
        return outcome
    [item] = events.messages
    stored = Message.objects.filter(channel=channel, provider_id=item.provider_id).first()
    return "created" if stored is not None and stored.pk not in before else "not stored"
