"""The sync contract (``Connector.sync_pages``, ``inbox/sync.py``): a connector's sync yields
pages of what it read plus a cursor; the inbox stores each page and its cursor in one
transaction and publishes after the commit. A failure in the middle of a page stores none of
it: the cursor stays where it was, the next run reads the page again, no message is lost and
none is stored twice.

The connector here is registered through ``FRONTDESK_CONNECTORS`` alone (this module's
``CONNECTORS``), like any channel folder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from frontdesk.connectors.base import (
    Capabilities,
    ChannelSetup,
    Connector,
    InboundEvents,
    InboundMessage,
    PermanentSendError,
    ProviderCallError,
    SyncPage,
    SyncRun,
    require,
)
from frontdesk.inbox import pipeline
from frontdesk.inbox.models import ChannelAccount, Message
from frontdesk.inbox.sync import run_sync
from frontdesk.realtime import publish as realtime

# The provider's history, page by page (message ids), and what it says after the last page.
HISTORY = [["m1", "m2"], ["m3", "m4", "m5"], ["m6"]]


class PagedConnector(Connector):
    provider = "paged"
    kind = "paged"
    label = "Paged history (test)"
    handle_kind = "external"
    capabilities = Capabilities(sync=True)
    fail_after_page: int | None = None  # raise a ProviderCallError once this page is yielded

    def setup(self, config: dict[str, Any]) -> ChannelSetup:
        require(config, "room")
        return ChannelSetup(config={"room": config["room"]}, credentials={})

    def send(self, channel, message, parts_sent):
        raise PermanentSendError("this channel only reads")

    def sync_pages(self, channel: Any, run: SyncRun) -> Iterator[SyncPage]:
        start = int(run.cursor.get("page", 0))
        for number in range(start, len(HISTORY)):
            items = [
                InboundMessage(provider_id=pid, handle="client-1", text=f"text of {pid}")
                for pid in HISTORY[number]
            ]
            yield SyncPage(
                events=InboundEvents(messages=items),
                cursor={"page": number + 1},
                progress=(number + 1, len(HISTORY)),
                synced=True,
            )
            if self.fail_after_page == number + 1:
                raise ProviderCallError("the provider refused the token", reconnect=True)


PAGED = PagedConnector()
CONNECTORS = [PAGED]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def broadcast(self, group: str, message: dict) -> None:
        self.sent.append(message["event"])


@pytest.fixture(autouse=True)
def paged_registered(settings):
    settings.FRONTDESK_CONNECTORS = [*django_settings.FRONTDESK_CONNECTORS, __name__]


@pytest.fixture
def published(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recorder)
    monkeypatch.setattr(realtime, "ProcessGroupLayer", Recorder)
    return recorder


@pytest.fixture
def paged(owner) -> ChannelAccount:
    channel = ChannelAccount(
        workspace=owner.workspace, kind="paged", provider="paged", name="History", config={}
    )
    channel.credentials = {}
    channel.save()
    return channel


def stored(channel: ChannelAccount) -> list[str]:
    return sorted(
        Message.objects.filter(channel=channel).values_list("provider_id", flat=True).iterator()
    )


def published_ids(recorder: Recorder) -> list[str]:
    """The provider ids of the messages whose creation the workspace was told about (a
    message told of and then rolled back would show as None)."""
    told = [e["message_id"] for e in recorder.sent if e.get("type") == "message.created"]
    found = Message.objects.in_bulk(told)
    return sorted(str(found[pk].provider_id) if pk in found else "None" for pk in told)


@pytest.mark.django_db(transaction=True)
def test_every_page_is_stored_with_its_cursor_then_published(owner, paged, published):
    assert run_sync(paged) == 3
    paged.refresh_from_db()
    assert stored(paged) == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert paged.sync_state == {"page": 3}
    assert paged.last_synced_at is not None and paged.import_progress is None
    assert published_ids(published) == ["m1", "m2", "m3", "m4", "m5", "m6"]
    # Nothing new: the next run starts at the cursor and stores nothing twice.
    assert run_sync(paged) == 0
    assert stored(paged) == ["m1", "m2", "m3", "m4", "m5", "m6"]


@pytest.mark.django_db(transaction=True)
def test_a_failure_mid_page_keeps_the_cursor_and_loses_no_message(
    owner, paged, published, monkeypatch
):
    real_ingest = pipeline.ingest

    def crash_on_m4(channel, item):
        if item.provider_id == "m4":
            raise RuntimeError("the worker died here")  # after m3 of the same page was written
        return real_ingest(channel, item)

    monkeypatch.setattr(pipeline, "ingest", crash_on_m4)
    with pytest.raises(RuntimeError):
        run_sync(paged)
    paged.refresh_from_db()
    assert stored(paged) == ["m1", "m2"]  # m3 went with its page
    assert paged.sync_state == {"page": 1}
    assert paged.import_progress == {"done": 1, "total": 3}
    assert published_ids(published) == ["m1", "m2"]  # nothing told of a page rolled back

    monkeypatch.setattr(pipeline, "ingest", real_ingest)
    assert run_sync(paged) == 2  # from the cursor: pages 2 and 3
    paged.refresh_from_db()
    assert stored(paged) == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert Message.objects.filter(channel=paged).count() == 6
    assert paged.sync_state == {"page": 3}


@pytest.mark.django_db(transaction=True)
def test_a_provider_error_keeps_the_pages_before_it_and_is_recorded(
    owner, paged, published, monkeypatch
):
    monkeypatch.setattr(PAGED, "fail_after_page", 1)
    assert run_sync(paged) == 1
    paged.refresh_from_db()
    assert stored(paged) == ["m1", "m2"]
    assert paged.sync_state == {"page": 1}
    assert paged.status == "needs_reconnect"
    assert paged.last_error == "the provider refused the token"
