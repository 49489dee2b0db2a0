"""CRM pages show dates and times in the member's time zone and locale format (their
profile), like the inbox: a lead's closing date, its note and its timeline."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.test import Client

from frontdesk.crm.actions.activity import add_note
from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.actions.leads import create_lead
from frontdesk.crm.models import Activity
from tests.fixtures import PASSWORD


def test_a_lead_page_reads_in_the_members_zone_and_locale(owner):
    user = owner.user
    contact = create_contact(owner.workspace_id, user, name="Ana Lima")
    lead = create_lead(
        owner.workspace_id,
        user,
        contact_id=contact.pk,
        title="40 cargo bikes",
        expected_close_date=date(2026, 3, 3),
    )
    add_note(owner.workspace_id, user, "Call back Monday", lead_id=lead.pk)
    # 23:30 UTC on Dec 31 is already New Year's Day, 08:30, in Tokyo
    Activity.objects.filter(lead=lead).update(
        at=datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC"))
    )
    user.time_zone, user.locale = "Asia/Tokyo", "de"
    user.save()
    client = Client()
    client.login(username=user.email, password=PASSWORD)

    page = client.get(f"/leads/{lead.pk}/").text
    assert "closing 3. März 2026" in page
    timeline = client.get(f"/leads/{lead.pk}/timeline").text
    assert "1. Jan. 2027, 08:30" in timeline
    assert "31. Dez." not in timeline
