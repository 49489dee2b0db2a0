"""Follow-ups: scheduled on a lead, a deal, a contact or a conversation; a member's list
split into overdue, today and upcoming in their own time zone; done, rescheduled and
reassigned; the reminder that tells the assignee once at the due time (a controlled clock),
again after a reschedule, never twice; the API; each inside its workspace only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from frontdesk.crm.actions import followups as actions
from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.actions.leads import create_lead
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import Activity, FollowUp
from frontdesk.crm.queries import followups as queries
from frontdesk.crm.tasks import remind_due_followups
from frontdesk.inbox.models import Notification
from tests.fixtures import send, token_client
from tests.fixtures import session_client as login

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon UTC


@pytest.fixture
def ana(owner):
    return create_contact(owner.workspace_id, owner.user, name="Ana Lima", company="Lisbon Bikes")


@pytest.fixture
def lead(owner, ana):
    return create_lead(owner.workspace_id, owner.user, contact_id=ana.pk, title="Ten bikes")


def due_notes(membership) -> list[str]:
    return list(
        Notification.objects.filter(
            workspace_id=membership.workspace_id, user=membership.user, kind="followup_due"
        ).values_list("text", flat=True)
    )


def test_reminder_fires_once_at_the_due_time_and_again_after_a_reschedule(owner, agent, lead):
    followup = actions.create_followup(
        owner.workspace_id,
        owner.user,
        NOW + timedelta(hours=1),
        "Call about the offer",
        assignee_id=agent.user_id,
        lead_id=lead.pk,
    )
    assert actions.remind_due(NOW + timedelta(minutes=59)) == 0
    assert due_notes(agent) == []
    assert actions.remind_due(NOW + timedelta(hours=1)) == 1
    assert due_notes(agent) == ["Follow-up due with Ana Lima: Call about the offer"]
    row = Notification.objects.get(user=agent.user, kind="followup_due")
    assert (row.lead_id, row.followup_id) == (lead.pk, followup.pk)
    # A restart runs the round again: nothing new.
    assert actions.remind_due(NOW + timedelta(hours=2)) == 0
    assert len(due_notes(agent)) == 1
    # Moved to tomorrow: told again then, not before.
    actions.update_followup(
        owner.workspace_id, followup.pk, owner.user, due_at=NOW + timedelta(days=1)
    )
    assert actions.remind_due(NOW + timedelta(hours=3)) == 0
    assert actions.remind_due(NOW + timedelta(days=1, seconds=1)) == 1
    assert len(due_notes(agent)) == 2


def test_the_reminder_is_mailed_to_the_assignee_once(owner, agent, lead, mail, smtp):
    """Besides the in-app notification, the assignee gets it by email (a follow-up falling
    due is one of the kinds mailed unless the member unticks it), with a link to the lead."""
    from frontdesk.inbox.actions.notification_mail import mail_digests

    soon = timezone.now() + timedelta(hours=1)
    actions.create_followup(
        owner.workspace_id,
        owner.user,
        soon,
        "Call about the offer",
        assignee_id=agent.user_id,
        lead_id=lead.pk,
    )
    assert "followup_due" in agent.email_notifications
    assert mail_digests(soon + timedelta(minutes=10)) == 0  # not due yet: nothing to mail
    assert actions.remind_due(soon) == 1
    assert mail_digests(soon + timedelta(minutes=10)) == 1
    [received] = smtp.received
    assert received.rcpt_tos == ["agent@acme.test"]
    assert received.message["Subject"] == "Follow-up due with Ana Lima: Call about the offer · Acme"
    assert f"/leads/{lead.pk}/" in received.message.get_content()
    assert actions.remind_due(soon + timedelta(hours=1)) == 0
    assert mail_digests(soon + timedelta(hours=2)) == 0
    assert len(smtp.received) == 1


def test_a_reminder_is_mailed_with_the_next_round_not_a_digest_delay_later(
    owner, agent, lead, mail, smtp
):
    """A reminder is about a time: the round of digests that runs each minute mails it at
    once, while a mention waits the delay (it may be read in the app first)."""
    from frontdesk.inbox.actions.notification_mail import mail_digests

    actions.create_followup(
        owner.workspace_id,
        owner.user,
        timezone.now() - timedelta(seconds=1),
        "Call about the offer",
        assignee_id=agent.user_id,
        lead_id=lead.pk,
    )
    assert actions.remind_due(timezone.now()) == 1
    assert mail_digests(timezone.now()) == 1
    [received] = smtp.received
    assert received.message["Subject"] == "Follow-up due with Ana Lima: Call about the offer · Acme"


def test_rescheduled_before_it_fell_due_fires_only_at_the_new_time(owner, lead):
    followup = actions.create_followup(
        owner.workspace_id, owner.user, NOW + timedelta(hours=1), "", lead_id=lead.pk
    )
    actions.update_followup(
        owner.workspace_id, followup.pk, owner.user, due_at=NOW + timedelta(hours=5)
    )
    assert actions.remind_due(NOW + timedelta(hours=2)) == 0
    assert actions.remind_due(NOW + timedelta(hours=5)) == 1
    assert due_notes(owner) == ["Follow-up due with Ana Lima"]


def test_a_done_follow_up_is_not_reminded_and_the_periodic_task_runs_the_round(owner, ana):
    done = actions.create_followup(
        owner.workspace_id,
        owner.user,
        timezone.now() - timedelta(minutes=1),
        "a",
        contact_id=ana.pk,
    )
    actions.update_followup(owner.workspace_id, done.pk, owner.user, done=True)
    actions.create_followup(
        owner.workspace_id,
        owner.user,
        timezone.now() - timedelta(minutes=1),
        "b",
        contact_id=ana.pk,
    )
    assert remind_due_followups.call_local() == 1
    assert due_notes(owner) == ["Follow-up due with Ana Lima: b"]


def test_the_timeline_tells_scheduled_and_done(owner, lead):
    followup = actions.create_followup(
        owner.workspace_id, owner.user, NOW, "Send the offer", lead_id=lead.pk
    )
    actions.update_followup(owner.workspace_id, followup.pk, owner.user, done=True)
    lines = list(
        Activity.objects.filter(lead=lead, kind="followup")
        .order_by("id")
        .values_list("text", "extra")
    )
    assert [t for t, _ in lines] == [
        "Follow-up scheduled: Send the offer",
        "Follow-up done: Send the offer",
    ]
    assert all(e["followup_id"] == followup.pk for _, e in lines)
    assert FollowUp.objects.get(pk=followup.pk).contact_id == lead.contact_id


def test_my_follow_ups_split_at_midnight_in_the_members_zone(owner, ana):
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 19:00 Monday in Tokyo
    ws, me = owner.workspace_id, owner.user
    late = actions.create_followup(ws, me, now - timedelta(hours=1), "late", contact_id=ana.pk)
    tonight = actions.create_followup(
        ws, me, now + timedelta(hours=4), "tonight", contact_id=ana.pk
    )
    # 16:00 UTC is 01:00 Tuesday in Tokyo: upcoming there, though still Monday in UTC.
    after = actions.create_followup(ws, me, now + timedelta(hours=6), "after", contact_id=ana.pk)
    mine = queries.my_followups(ws, me.pk, tokyo, now)
    assert [f.pk for f in mine.overdue] == [late.pk]
    assert [f.pk for f in mine.today] == [tonight.pk]
    assert [f.pk for f in mine.upcoming] == [after.pk]
    in_utc = queries.my_followups(ws, me.pk, ZoneInfo("UTC"), now)
    assert [f.pk for f in in_utc.today] == [tonight.pk, after.pk]
    assert queries.due_count(ws, me.pk, now) == 1


def test_bad_input_is_refused_in_words(owner, rival, ana):
    ws, me = owner.workspace_id, owner.user
    with pytest.raises(CrmError, match="time zone offset"):
        actions.create_followup(ws, me, datetime(2026, 3, 2, 9, 0), "x", contact_id=ana.pk)  # noqa: DTZ001
    with pytest.raises(CrmError, match="one lead, deal, contact or conversation"):
        actions.create_followup(ws, me, NOW, "x")
    with pytest.raises(CrmError, match="assignee must be a member"):
        actions.create_followup(ws, me, NOW, "x", contact_id=ana.pk, assignee_id=rival.user_id)
    with pytest.raises(actions.FollowUpNotFound):
        actions.create_followup(rival.workspace_id, rival.user, NOW, "x", contact_id=ana.pk)
    assert not FollowUp.objects.exists()


def test_api_schedule_list_patch_and_tenancy(owner, agent, rival, lead):
    api, other = token_client(owner), token_client(rival)
    made = send(
        api,
        "post",
        "/api/v1/followups",
        {"due_at": "2026-03-03T09:00:00+01:00", "note": "Call", "lead_id": lead.pk},
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["due_at"].startswith("2026-03-03T08:00:00")
    assert body["assignee_id"] == owner.user_id and body["done"] is False
    assert (body["lead_id"], body["contact_id"], body["deal_id"]) == (
        lead.pk,
        lead.contact_id,
        None,
    )
    fid = body["id"]

    listed = api.get("/api/v1/followups?assignee=me&state=open").json()
    assert [i["id"] for i in listed["items"]] == [fid] and listed["next_cursor"] is None
    overdue = api.get("/api/v1/followups?state=overdue").json()["items"]  # March is past
    assert [i["id"] for i in overdue] == [fid]

    patched = send(api, "patch", f"/api/v1/followups/{fid}", {"assignee_id": agent.user_id})
    assert patched.status_code == 200 and patched.json()["assignee_id"] == agent.user_id
    assert api.get("/api/v1/followups?assignee=me").json()["items"] == []
    assert len(api.get(f"/api/v1/followups?assignee={agent.user_id}").json()["items"]) == 1
    done = send(api, "patch", f"/api/v1/followups/{fid}", {"done": True})
    assert done.json()["done"] is True
    assert api.get("/api/v1/followups?assignee=any&state=done").json()["items"][0]["id"] == fid

    bad = send(
        api, "post", "/api/v1/followups", {"due_at": "2026-03-03T09:00:00", "lead_id": lead.pk}
    )
    assert bad.status_code == 400 and "offset" in bad.json()["detail"]
    assert send(api, "patch", f"/api/v1/followups/{fid}", {"done": None}).status_code == 400
    assert api.get("/api/v1/followups?assignee=nobody").status_code == 400
    # Another workspace sees nothing and can touch nothing.
    assert other.get(f"/api/v1/followups/{fid}").status_code == 404
    assert send(other, "patch", f"/api/v1/followups/{fid}", {"done": False}).status_code == 404
    assert other.get("/api/v1/followups?assignee=any&state=done").json()["items"] == []
    theirs = send(
        other, "post", "/api/v1/followups", {"due_at": "2026-03-03T09:00:00Z", "lead_id": lead.pk}
    )
    assert theirs.status_code == 404
    assert FollowUp.objects.count() == 1


# --- pages ---------------------------------------------------------------------------------


def test_due_from_reads_the_form_in_the_members_zone():
    from frontdesk.web.views.followups import due_from

    berlin = ZoneInfo("Europe/Berlin")
    sunday_night = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # already Monday 00:30 in Berlin
    tomorrow = due_from("tomorrow", "", "", berlin, sunday_night)
    assert tomorrow == datetime(2026, 3, 3, 9, 0, tzinfo=berlin)
    assert due_from("monday", "", "", berlin, sunday_night) == datetime(
        2026, 3, 9, 9, 0, tzinfo=berlin
    )
    assert due_from("hour", "", "", berlin, sunday_night) == sunday_night + timedelta(hours=1)
    custom = due_from("custom", "2026-07-01", "14:30", berlin, sunday_night)
    assert custom.astimezone(UTC) == datetime(2026, 7, 1, 12, 30, tzinfo=UTC)  # summer time
    with pytest.raises(CrmError, match="calendar"):
        due_from("custom", "", "", berlin, sunday_night)
    with pytest.raises(CrmError, match="hours and minutes"):
        due_from("custom", "2026-07-01", "25:99", berlin, sunday_night)


def test_schedule_from_a_lead_page_then_finish_it_on_my_follow_ups(owner, agent, rival, lead):
    owner.user.time_zone = "America/New_York"
    owner.user.save()
    client = login(owner)
    page = client.get(f"/leads/{lead.pk}/")
    assert page.status_code == 200 and b"Schedule a follow-up" in page.content
    made = client.post(
        f"/leads/{lead.pk}/followups",
        {"when": "custom", "date": "2026-03-02", "time": "08:00", "note": "Call Ana"},
    )
    assert made.status_code == 302
    followup = FollowUp.objects.get()
    assert followup.due_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 8:00 in New York
    assert (followup.lead_id, followup.assignee_id) == (lead.pk, owner.user_id)
    # Shown in the member's zone, overdue, and counted in the sidebar.
    mine = client.get("/followups/").content.decode()
    assert "Mon 2 Mar, 08:00" in mine and "Call Ana" in mine
    assert 'data-count="followups" title="due now">1<' in mine
    bad = client.post(
        f"/leads/{lead.pk}/followups", {"when": "custom", "date": ""}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 422 and bad["HX-Retarget"] == "#crm-fu-error"
    block = client.post(
        f"/contacts/{lead.contact_id}/followups", {"when": "tomorrow"}, HTTP_HX_REQUEST="true"
    )
    assert block.status_code == 200 and b'id="crm-followups"' in block.content
    assert FollowUp.objects.count() == 2
    # Another workspace can neither schedule on this lead nor touch this follow-up.
    theirs = login(rival)
    assert theirs.post(f"/leads/{lead.pk}/followups", {"when": "tomorrow"}).status_code == 404
    assert theirs.post(f"/followups/{followup.pk}", {"action": "done"}).status_code == 404
    assert "Call Ana" not in theirs.get("/followups/").content.decode()
    # Reassign, then done.
    client.post(f"/followups/{followup.pk}", {"action": "reassign", "assignee": agent.user_id})
    assert FollowUp.objects.get(pk=followup.pk).assignee_id == agent.user_id
    done = client.post(f"/followups/{followup.pk}", {"action": "done", "next": "/followups/"})
    assert done.status_code == 302 and done["Location"] == "/followups/"
    assert FollowUp.objects.get(pk=followup.pk).done
    snoozed = client.post(
        f"/followups/{followup.pk}",
        {"action": "snooze", "when": "hour", "next": "https://evil.test/"},
    )
    assert snoozed["Location"] == "/followups/"
    assert not FollowUp.objects.get(pk=followup.pk).done  # a new time reopens it


def test_reschedule_on_my_follow_ups_reads_the_date_and_time_in_the_members_zone(
    owner, rival, lead
):
    """ "Move" on My follow-ups takes a typed day and time in the member's own zone (Tokyo,
    UTC+9 here), shows the follow-up's present time there to start from, re-arms its
    reminder, and refuses a bad value beside its form without changing anything."""
    owner.user.time_zone = "Asia/Tokyo"
    owner.user.save()
    followup = actions.create_followup(
        owner.workspace_id, owner.user, NOW, "Call Ana", lead_id=lead.pk
    )
    assert actions.remind_due(NOW) == 1  # told once already
    client = login(owner)
    page = client.get("/followups/").content.decode()
    form = page[page.index('value="reschedule"') :]
    assert 'name="date" value="2026-03-02"' in form  # 12:00 UTC is 21:00 in Tokyo
    assert 'name="time" value="21:00"' in form
    moved = client.post(
        f"/followups/{followup.pk}",
        {"action": "reschedule", "date": "2030-07-01", "time": "08:30", "next": "/followups/"},
    )
    assert moved.status_code == 302 and moved["Location"] == "/followups/"
    row = FollowUp.objects.get(pk=followup.pk)
    assert row.due_at == datetime(2030, 6, 30, 23, 30, tzinfo=UTC)  # 08:30 in Tokyo
    assert row.notified_at is None  # to be told again at the new time
    assert "Mon 1 Jul, 08:30" in client.get("/followups/").content.decode()
    assert Activity.objects.filter(text="Follow-up rescheduled: Call Ana").count() == 1
    # No time typed: 9:00 that day, in Tokyo.
    client.post(f"/followups/{followup.pk}", {"action": "reschedule", "date": "2030-07-02"})
    assert FollowUp.objects.get(pk=followup.pk).due_at == datetime(2030, 7, 2, 0, 0, tzinfo=UTC)
    # Bad values are refused beside the form; the time stays.
    for bad, message in (
        ({"date": "2030-07-03", "time": "8h"}, "type the time as hours and minutes"),
        ({"date": "", "time": "08:00"}, "pick the day from the calendar"),
        ({"date": "2030-02-30", "time": "08:00"}, "pick the day from the calendar"),
    ):
        r = client.post(
            f"/followups/{followup.pk}",
            {"action": "reschedule", **bad},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 422 and message in r.content.decode()
        assert r["HX-Retarget"] == f"#crm-fu-{followup.pk}-error"
    assert FollowUp.objects.get(pk=followup.pk).due_at == datetime(2030, 7, 2, 0, 0, tzinfo=UTC)
    # Another workspace cannot move it.
    r = login(rival).post(
        f"/followups/{followup.pk}", {"action": "reschedule", "date": "2031-01-01", "time": "09:00"}
    )
    assert r.status_code == 404
    assert FollowUp.objects.get(pk=followup.pk).due_at == datetime(2030, 7, 2, 0, 0, tzinfo=UTC)


def test_schedule_from_a_deal_page_and_a_contact_page(owner, agent, rival, ana):
    """The same small form on a deal's page and a contact's: the follow-up belongs to the
    deal (and its person) or to the person, shows in that page's block, for whom it was meant."""
    from frontdesk.crm.actions.deals import create_deal

    deal = create_deal(owner.workspace_id, owner.user, contact_id=ana.pk, title="Forty bikes")
    client = login(owner)
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Schedule a follow-up" in page and 'id="crm-followups"' in page
    block = client.post(
        f"/deals/{deal.pk}/followups",
        {"when": "tomorrow", "note": "Send the contract", "assignee": agent.user_id},
        HTTP_HX_REQUEST="true",
    )
    assert block.status_code == 200 and "Send the contract" in block.content.decode()
    made = FollowUp.objects.get()
    assert (made.deal_id, made.contact_id, made.assignee_id) == (deal.pk, ana.pk, agent.user_id)
    assert "Send the contract" in client.get(f"/deals/{deal.pk}/").content.decode()
    answer = client.post(f"/contacts/{ana.pk}/followups", {"when": "monday", "note": "Say hi"})
    assert answer.status_code == 302 and answer["Location"] == f"/contacts/{ana.pk}/"
    said = FollowUp.objects.get(note="Say hi")
    assert (said.contact_id, said.deal_id, said.lead_id) == (ana.pk, None, None)
    assert "Say hi" in client.get(f"/contacts/{ana.pk}/").content.decode()
    theirs = login(rival)
    assert theirs.post(f"/deals/{deal.pk}/followups", {"when": "tomorrow"}).status_code == 404
    assert FollowUp.objects.count() == 2


# --- the sidebar's count, live -----------------------------------------------------------------


@pytest.fixture
def changes(monkeypatch, django_capture_on_commit_callbacks):
    """``changes(action, ...)`` runs the action and returns the ``followups.changed`` events
    it sent after its transaction committed (what open sidebars react to)."""
    from frontdesk import realtime
    from tests.test_events import Recorder

    recorder = Recorder()
    monkeypatch.setattr(realtime.publish, "get_channel_layer", lambda: recorder)
    monkeypatch.setattr(realtime.publish, "ProcessGroupLayer", Recorder)

    def run(action, *args, **kwargs) -> list[dict]:
        recorder.sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            action(*args, **kwargs)
            assert recorder.sent == []  # nothing before the commit
        return [e for _, e in recorder.sent if e["type"] == "followups.changed"]

    return run


def test_sidebar_count_events_when_one_is_made_falls_due_is_done_moved_or_given(
    owner, agent, lead, changes
):
    ws, me, agnes = owner.workspace_id, owner.user_id, agent.user_id
    made: list[FollowUp] = []

    def make():
        made.append(
            actions.create_followup(
                ws, owner.user, NOW + timedelta(hours=1), "Call", lead_id=lead.pk
            )
        )

    assert changes(make) == [{"type": "followups.changed", "user_ids": [me]}]
    followup = made[0]
    # It falls due: the reminder round tells the assignee's sidebar too.
    assert changes(actions.remind_due, NOW + timedelta(hours=2)) == [
        {"type": "followups.changed", "user_ids": [me]}
    ]
    assert changes(actions.remind_due, NOW + timedelta(hours=3)) == []  # once
    # Given to Agnes: both sidebars count again.
    assert changes(actions.update_followup, ws, followup.pk, owner.user, assignee_id=agnes) == [
        {"type": "followups.changed", "user_ids": sorted([me, agnes])}
    ]
    assert changes(
        actions.update_followup, ws, followup.pk, owner.user, due_at=NOW + timedelta(days=1)
    ) == [{"type": "followups.changed", "user_ids": [agnes]}]
    assert changes(actions.update_followup, ws, followup.pk, owner.user, done=True) == [
        {"type": "followups.changed", "user_ids": [agnes]}
    ]
    # Nothing changed, nothing sent; nobody's follow-up, nobody's sidebar.
    assert changes(actions.update_followup, ws, followup.pk, owner.user, done=True) == []
    assert (
        changes(
            actions.create_followup,
            ws,
            owner.user,
            NOW,
            "Nobody's",
            contact_id=lead.contact_id,
            assignee_id=None,
        )
        == []
    )


def test_sidebar_count_fragment_counts_the_members_due_ones_only(owner, agent, rival, lead):
    ws = owner.workspace_id
    past = timezone.now() - timedelta(minutes=5)
    actions.create_followup(ws, owner.user, past, "Due", lead_id=lead.pk)
    actions.create_followup(ws, owner.user, past, "Also due", lead_id=lead.pk)
    later = timezone.now() + timedelta(days=1)
    actions.create_followup(ws, owner.user, later, "Later", lead_id=lead.pk)
    actions.create_followup(
        ws, owner.user, past, "Agnes's", lead_id=lead.pk, assignee_id=agent.user_id
    )
    mine = login(owner).get("/followups/count")
    assert mine.status_code == 200
    assert mine.content.decode().strip() == "2"  # the number only: the sidebar's count stays
    assert login(agent).get("/followups/count").content.decode().strip() == "1"
    assert login(rival).get("/followups/count").content.decode().strip() == ""
    page = login(owner).get("/followups/").content.decode()
    assert 'hx-trigger="fd:followups from:body" hx-swap="innerHTML"' in page
    assert 'data-count="followups" title="due now">2</span>' in page
    assert Client().get("/followups/count").status_code == 302
