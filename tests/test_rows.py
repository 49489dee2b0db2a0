"""core/rows.py: the hand-built statements of the inbound path read and write rows exactly
as the ORM does, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import gc
import threading
import weakref
from datetime import UTC, datetime, timedelta, timezone

from django.db import connections

from frontdesk.core.rows import select_models
from frontdesk.inbox.models import ChannelAccount, ChannelStatus

PARIS = timezone(timedelta(hours=1))


def _channel(owner, **over) -> ChannelAccount:
    channel = ChannelAccount(
        workspace=owner.workspace,
        kind="whatsapp",
        provider="whatsapp_cloud",
        name="Shop ☎",
        config={"phone_number_id": "1065", "nested": {"list": [1, 2.5, None, "é"]}},
        status=ChannelStatus.ERROR,
        last_error="token expired",
        sync_state={"cursor": "abc", "pages": 3},
        last_synced_at=datetime(2026, 3, 29, 2, 30, 15, 123456, tzinfo=PARIS),
        auto_assign={"mode": "round_robin", "cap": None, "member_ids": [1, 2]},
        import_progress={"done": 12, "total": None},
        **over,
    )
    channel.credentials = {"app_secret": "s3cret", "access_token": "t"}
    channel.save()
    return channel


def test_select_models_reads_each_field_as_a_queryset_does(owner):
    stored = _channel(owner)
    empty = _channel(owner, removed_at=datetime(2026, 1, 1, tzinfo=UTC))
    ChannelAccount.objects.filter(pk=empty.pk).update(
        config={}, sync_state={}, auto_assign={}, import_progress=None, last_synced_at=None
    )

    read = select_models(ChannelAccount, "workspace_id = %s ORDER BY id", [owner.workspace_id])

    expected = list(ChannelAccount.objects.filter(workspace=owner.workspace).order_by("id"))
    assert [c.pk for c in read] == [stored.pk, empty.pk]
    for ours, orm in zip(read, expected, strict=True):
        for field in ChannelAccount._meta.concrete_fields:
            mine, theirs = getattr(ours, field.attname), getattr(orm, field.attname)
            assert (mine, type(mine)) == (theirs, type(theirs)), field.name
        assert ours.credentials == {"app_secret": "s3cret", "access_token": "t"}
        assert (ours._state.adding, ours._state.db) == (False, "default")
    assert read[0].last_synced_at == datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    assert read[1].import_progress is None

    read[0].name = "Renamed"
    read[0].save()  # a loaded row: saved in place, not inserted again
    assert ChannelAccount.objects.get(pk=stored.pk).name == "Renamed"
    assert ChannelAccount.objects.count() == 2


def test_select_models_with_no_match_is_empty(owner):
    _channel(owner)
    assert select_models(ChannelAccount, "provider = %s", ["nobody"]) == []


def test_what_select_models_works_out_goes_with_its_connection(owner):
    """A server thread's connection is dropped with the thread: nothing kept for it here
    (its statements, converters bound to its backend) may hold it."""
    held = []

    def in_a_thread() -> None:
        assert select_models(ChannelAccount, "provider = %s", ["nobody"]) == []
        held.append(weakref.ref(connections["default"]))
        connections["default"].close()

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    gc.collect()
    assert held and held[0]() is None
