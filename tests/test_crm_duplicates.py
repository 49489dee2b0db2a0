"""Duplicate suggestions on a contact's page (same email in any case, same phone once both
are E.164, same name at the same company) and the one-click merge, inside one workspace."""

from __future__ import annotations

from django.test import Client

from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.queries.duplicates import duplicates_of
from frontdesk.inbox.models import Contact, ContactHandle
from tests.fixtures import PASSWORD


def test_suggestions_and_one_click_merge(owner, rival):
    ws, me = owner.workspace_id, owner.user
    ana = create_contact(
        ws,
        me,
        name="Ana Lima",
        company="Lisbon Bikes",
        handles=[
            {"kind": "email", "value": "ana@bikes.pt"},
            {"kind": "phone", "value": "+351 912 345 678"},
        ],
    )
    # As a WhatsApp channel and an old mail import would have stored them.
    wa = Contact.objects.create(workspace_id=ws, name="Ana")
    ContactHandle.objects.create(workspace_id=ws, contact=wa, kind="phone", value="351912345678")
    mail = Contact.objects.create(workspace_id=ws, name="A. Lima")
    ContactHandle.objects.create(workspace_id=ws, contact=mail, kind="email", value="Ana@Bikes.PT")
    twin = create_contact(ws, me, name="ana lima", company="LISBON BIKES")
    create_contact(ws, me, name="Ana Lima", company="Porto Bikes")  # another company: no
    create_contact(rival.workspace_id, rival.user, name="Ana Lima", company="Lisbon Bikes")

    found = {s.contact.pk: s.reasons for s in duplicates_of(ana)}
    assert found == {
        wa.pk: ["same phone 351912345678"],
        mail.pk: ["same email Ana@Bikes.PT"],
        twin.pk: ["same name and company"],
    }

    client = Client()
    assert client.login(username=me.email, password=PASSWORD)
    page = client.get(f"/contacts/{ana.pk}/").content.decode()
    assert "Possible duplicates" in page and "same phone 351912345678" in page
    assert f'<a class="crm-dup-name" href="/contacts/{wa.pk}/">' in page
    merged = client.post(f"/contacts/{ana.pk}/merge", {"other_id": wa.pk})
    assert merged.status_code == 302 and merged["Location"] == f"/contacts/{ana.pk}/"
    assert not Contact.objects.filter(pk=wa.pk).exists()
    assert ana.handles.filter(value="351912345678").exists()
    assert wa.pk not in {s.contact.pk for s in duplicates_of(ana)}

    # Another workspace can neither merge into nor out of this one.
    theirs = Client()
    assert theirs.login(username=rival.user.email, password=PASSWORD)
    assert theirs.post(f"/contacts/{ana.pk}/merge", {"other_id": twin.pk}).status_code == 404
    rival_ana = Contact.objects.get(workspace_id=rival.workspace_id)
    refused = client.post(f"/contacts/{ana.pk}/merge", {"other_id": rival_ana.pk}, follow=True)
    assert "no longer exists" in refused.content.decode()
    assert Contact.objects.filter(pk=rival_ana.pk).exists()
    assert client.post(f"/contacts/{ana.pk}/merge", {"other_id": "x"}).status_code == 400


def test_export_csv_streams_the_workspaces_contacts_only(owner, rival):
    import csv
    import io

    ws, me = owner.workspace_id, owner.user
    create_contact(
        ws,
        me,
        name="Ana Lima",
        company="=HYPERLINK(1)",
        handles=[
            {"kind": "email", "value": "ana@bikes.pt"},
            {"kind": "phone", "value": "+351912345678"},
        ],
        tags=["vip"],
    )
    create_contact(rival.workspace_id, rival.user, name="Secret Person")
    client = Client()
    assert client.login(username=me.email, password=PASSWORD)
    answer = client.get("/contacts/export.csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert rows[0][:9] == [
        "id",
        "name",
        "company",
        "job_title",
        "email",
        "phone",
        "linkedin",
        "owner",
        "tags",
    ]
    assert [r[1] for r in rows[1:]] == ["Ana Lima"]
    assert rows[1][2] == "'=HYPERLINK(1)"  # never run as a formula
    assert rows[1][4:6] == ["ana@bikes.pt", "'+351912345678"]
    assert Client().get("/contacts/export.csv").status_code == 302
