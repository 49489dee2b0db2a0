"""core/rows.py: the hand-built statements of the inbound path read and write rows exactly
as the ORM does, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import gc
import threading
import weakref
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connections
from django.db.models import Model
from django.utils.translation import gettext_lazy

from frontdesk.core.rows import insert_row, select_models
from frontdesk.inbox.models import (
    ChannelAccount,
    ChannelStatus,
    Contact,
    ContactHandle,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
)

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


def _stored(model: type[Model], pk: int, unlike: set[str]) -> dict[str, object]:
    """The row as the database driver gives it back (SQLite's text for a datetime, JSON
    text), but for the primary key and the columns the two copies must differ in."""
    table = model._meta.db_table
    with connections["default"].cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        names = [column[0] for column in cursor.description]
        row = cursor.fetchone()
    return {k: v for k, v in zip(names, row, strict=True) if k != "id" and k not in unlike}


def _same_as_save(make, unlike: set[str]) -> Model:
    """``make(n)`` builds a new object; the n=1 copy is saved by the ORM, the n=2 copy by
    ``insert_row``: both rows must be stored alike, column for column."""
    saved, inserted = make(1), make(2)
    saved.save(force_insert=True)
    assert insert_row(inserted) is True
    assert inserted.pk is not None and inserted._state.adding is False
    model = type(saved)
    assert _stored(model, inserted.pk, unlike) == _stored(model, saved.pk, unlike)
    return inserted


def test_insert_row_stores_each_value_type_as_save_does(owner):
    channel = _channel(owner)
    workspace = owner.workspace
    contact = _same_as_save(
        lambda n: Contact(
            workspace=workspace,
            name=gettext_lazy("Client"),  # a lazy string goes through the field
            company="Café ☕",
            owner=owner.user,
            tags=["vip", "ünï"],
            custom_fields={"linkedin_url": "https://x.test", "n": 1.5, "none": None},
            archived_at=datetime(2026, 10, 25, 1, 59, 59, 999999, tzinfo=PARIS),
            created_at=datetime(2026, 10, 24, tzinfo=UTC),
        ),
        unlike={"updated_at"},  # auto_now: the time of each save
    )
    conversation = _same_as_save(
        lambda n: Conversation(
            workspace=workspace,
            channel=channel,
            contact=contact,
            thread_key=f"phone:+4477009001{n}",
            status=ConversationStatus.SNOOZED,
            snoozed_until=datetime(2026, 12, 31, 23, 0, tzinfo=PARIS),
            last_message_at=datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC),
            last_inbound_at=None,
            preview="hello",
            preview_outbound=True,
            preview_author=owner.user,
            created_at=datetime(2026, 12, 7, tzinfo=UTC),
        ),
        unlike={"thread_key"},
    )
    _same_as_save(
        lambda n: ContactHandle(
            workspace=workspace,
            contact=contact,
            kind="phone",
            value=f"+4477009001{n}",
            created_at=datetime(2026, 10, 24, tzinfo=PARIS),
        ),
        unlike={"value"},
    )
    _same_as_save(
        lambda n: Message(
            workspace_id=workspace.pk,
            conversation=conversation,
            channel=channel,
            direction=Direction.OUTBOUND,  # a str enum: stored as its value
            author_user=owner.user,
            text="Ça va? 👍",
            provider_id=f"wamid.{n}",
            status=DeliveryStatus.SENT,
            extra={"nested": {"list": [1, None, "é"]}, "ok": True},
            attempts=True,  # a bool for an integer: 1, as save() stores it
            next_attempt_at=datetime(2026, 12, 7, 9, 0, tzinfo=PARIS),
            sent_at=None,
            created_at=datetime(2026, 12, 7, 8, 0, 0, 1, tzinfo=UTC),
        ),
        unlike={"provider_id"},
    )
    _same_as_save(
        lambda n: Message(
            workspace_id=workspace.pk,
            conversation=conversation,
            channel=channel,
            direction="inbound",
            provider_id=None,
            extra=[],  # JSON that is not an object
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        unlike=set(),
    )


def test_insert_row_takes_a_naive_datetime_as_save_does(owner, settings):
    """A naive datetime is read in the default zone, with the ORM's warning, by both."""
    settings.TIME_ZONE = "Europe/Paris"
    naive = datetime(2026, 6, 1, 12, 0)  # noqa: DTZ001 (the case under test)
    saved = Contact(workspace=owner.workspace, created_at=naive)
    inserted = Contact(workspace=owner.workspace, created_at=naive)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        saved.save(force_insert=True)
    with pytest.warns(RuntimeWarning, match="naive datetime"):
        insert_row(inserted)
    unlike = {"updated_at"}
    assert _stored(Contact, inserted.pk, unlike) == _stored(Contact, saved.pk, unlike)
    stored = Contact.objects.get(pk=inserted.pk).created_at
    assert stored == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # noon in Paris, summer time


def test_insert_row_if_absent_writes_nothing_over_a_unique_row(owner):
    contact = Contact.objects.create(workspace=owner.workspace)
    first = ContactHandle(workspace=owner.workspace, contact=contact, kind="phone", value="+1")
    again = ContactHandle(workspace=owner.workspace, contact=contact, kind="phone", value="+1")
    assert insert_row(first, if_absent=True) is True
    assert insert_row(again, if_absent=True) is False
    assert again.pk is None and again._state.adding is True
    assert list(ContactHandle.objects.values_list("pk", flat=True)) == [first.pk]
