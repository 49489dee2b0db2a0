"""Contacts in the CRM: created by hand, edited, their addresses, the workspace's own fields,
the Contacts list (search, filters, sorts, keyset pages), bulk tag and delete/archive;
through the actions, the REST API and the web pages, each inside its workspace only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from frontdesk.crm.actions import contact_fields as fields
from frontdesk.crm.actions import contacts as actions
from frontdesk.crm.actions.leads import change_stage, convert_to_lead
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.queries import contacts as queries
from frontdesk.inbox.models import Contact, ContactHandle
from tests.fixtures import make_api_channel, token_client
from tests.fixtures import session_client as login

HX = {"HX-Request": "true"}


def names(page) -> list[str]:
    return [c.name for c in page.items]


def every_page(workspace_id, user_id, sort, flt=None, limit=2) -> list[int]:
    seen, cursor = [], None
    while True:
        page = queries.contact_list(
            workspace_id, user_id, flt or queries.ContactFilter(), sort, cursor, limit
        )
        seen += [c.pk for c in page.items]
        cursor = page.next_cursor
        if not cursor:
            return seen


# --- actions -------------------------------------------------------------------------------


def test_create_a_contact_by_hand(owner, agent):
    fields.add_contact_field(owner.workspace_id, "Industry", "choice", "Retail, Wholesale")
    fields.add_contact_field(owner.workspace_id, "Employees", "number")
    fields.add_contact_field(owner.workspace_id, "Client since", "date")
    contact = actions.create_contact(
        owner.workspace_id,
        owner.user,
        name="  Ana   Lima ",
        company="Lisbon Bikes",
        job_title="Head of Purchasing",
        handles=[
            {"kind": "email", "value": "Ana@Lisbon-Bikes.PT"},
            {"kind": "phone", "value": "00351 912-345 678"},
            {"kind": "linkedin", "value": "https://www.linkedin.com/in/ana-lima/"},
        ],
        owner_id=agent.user_id,
        tags=["vip", " wholesale ", "vip"],
        custom_fields={"industry": "retail", "employees": "40", "client_since": "2024-03-01"},
    )
    contact.refresh_from_db()
    assert contact.name == "Ana Lima"
    assert contact.owner_id == agent.user_id
    assert contact.tags == ["vip", "wholesale"]
    assert contact.custom_fields == {
        "industry": "Retail",
        "employees": "40",
        "client_since": "2024-03-01",
    }
    assert sorted(contact.handles.values_list("kind", "value")) == [
        ("email", "ana@lisbon-bikes.pt"),
        ("linkedin", "https://www.linkedin.com/in/ana-lima/"),
        ("phone", "+351912345678"),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "  "}, "a name is required"),
        ({"handles": [{"kind": "email", "value": "not-an-address"}]}, "is not an email address"),
        ({"handles": [{"kind": "phone", "value": "912 345 678"}]}, "with its country code"),
        ({"handles": [{"kind": "external", "value": "x"}]}, "kind must be one of"),
        ({"custom_fields": {"shoe_size": "42"}}, "not one of this workspace's contact fields"),
        ({"custom_fields": {"employees": "forty"}}, "Employees must be a number"),
        ({"owner_id": 10**9}, "owner must be a member"),
    ],
)
def test_a_contact_refuses_bad_input(owner, change, message):
    fields.add_contact_field(owner.workspace_id, "Employees", "number")
    with pytest.raises(CrmError, match=message):
        actions.create_contact(owner.workspace_id, owner.user, **{"name": "Ana", **change})
    assert not Contact.objects.exists()


@pytest.mark.parametrize("bad", ["31/12/2026", "2026-02-30", "next spring", "2026-12-31 or so"])
def test_a_bad_date_in_a_date_field_is_refused_in_words(owner, bad):
    """A date field takes an ISO date; anything else is refused with the field's name and
    an example, on a new contact, an edit, the page's form and the API, and nothing is
    changed."""
    fields.add_contact_field(owner.workspace_id, "Client since", "date")
    message = "Client since must be a date such as 2026-12-31"
    ana = actions.create_contact(
        owner.workspace_id, owner.user, name="Ana", custom_fields={"client_since": "2024-03-01"}
    )
    with pytest.raises(CrmError, match=message):
        actions.create_contact(
            owner.workspace_id, owner.user, name="Rui", custom_fields={"client_since": bad}
        )
    with pytest.raises(CrmError, match=message):
        actions.update_contact(
            owner.workspace_id, ana.pk, owner.user, custom_fields={"client_since": bad}
        )
    r = login(owner).post(
        f"/contacts/{ana.pk}/edit", {"name": "Ana", "cf_client_since": bad}, headers=HX
    )
    assert r.status_code == 422 and message in r.content.decode()
    assert r["HX-Retarget"] == "#contact-form-error"
    r = patch(
        token_client(owner), f"/api/v1/contacts/{ana.pk}", {"custom_fields": {"client_since": bad}}
    )
    assert r.status_code == 400 and message in r.json()["detail"]
    assert list(Contact.objects.values_list("name", flat=True)) == ["Ana"]
    ana.refresh_from_db()
    assert ana.custom_fields == {"client_since": "2024-03-01"}


@pytest.mark.parametrize(
    ("given", "kept"), [("2026-12-31", "2026-12-31"), ("2026-12-31T10:30:00", "2026-12-31")]
)
def test_a_date_field_keeps_the_day(owner, given, kept):
    """A day, or a date and time as a spreadsheet exports it: the day is kept."""
    fields.add_contact_field(owner.workspace_id, "Client since", "date")
    ana = actions.create_contact(
        owner.workspace_id, owner.user, name="Ana", custom_fields={"client_since": given}
    )
    assert ana.custom_fields == {"client_since": kept}


def test_an_address_belongs_to_one_contact(owner):
    ana = actions.create_contact(
        owner.workspace_id, owner.user, name="Ana", handles=[("phone", "+351912345678")]
    )
    with pytest.raises(actions.HandleTaken) as taken:
        actions.create_contact(
            owner.workspace_id,
            owner.user,
            name="Ana again",
            handles=[{"kind": "phone", "value": "+351 912 345 678"}],
        )
    assert taken.value.owner == ana
    assert Contact.objects.count() == 1


def test_update_replaces_typed_addresses_and_keeps_channel_ids(owner, inbound):
    contact = inbound(handle="api-ana").conversation.contact
    actions.add_handle(owner.workspace_id, contact.pk, owner.user, "email", "ana@x.com")
    actions.update_contact(
        owner.workspace_id,
        contact.pk,
        owner.user,
        name="Ana Lima",
        handles=[{"kind": "phone", "value": "+351912345678"}],
    )
    assert sorted(contact.handles.values_list("kind", "value")) == [
        ("external", "api-ana"),  # the API channel's id for her stays
        ("phone", "+351912345678"),
    ]
    handle = contact.handles.get(kind="phone")
    actions.remove_handle(owner.workspace_id, contact.pk, owner.user, handle.pk)
    assert list(contact.handles.values_list("value", flat=True)) == ["api-ana"]


def test_custom_field_definitions(owner):
    industry = fields.add_contact_field(owner.workspace_id, "Industry", "choice", "Retail\nB2B")
    assert (industry.key, industry.choices) == ("industry", ["Retail", "B2B"])
    with pytest.raises(CrmError, match="already is a field"):
        fields.add_contact_field(owner.workspace_id, "industry", "text")
    with pytest.raises(CrmError, match="cannot start with"):
        fields.add_contact_field(owner.workspace_id, "LinkedIn headline", "text")
    with pytest.raises(CrmError, match="at least one option"):
        fields.add_contact_field(owner.workspace_id, "Size", "choice", " , ")
    contact = actions.create_contact(
        owner.workspace_id, owner.user, name="Ana", custom_fields={"industry": "b2b"}
    )
    fields.change_contact_field(owner.workspace_id, industry.pk, "Sector", "Retail, B2B, Public")
    fields.remove_contact_field(owner.workspace_id, industry.pk)
    contact.refresh_from_db()
    assert contact.custom_fields == {"industry": "B2B"}  # kept, though no longer shown


def test_bulk_tag_and_delete_or_archive(owner, rival, inbound):
    talked = inbound(handle="talked").conversation.contact
    lead_only = actions.create_contact(owner.workspace_id, owner.user, name="Lead only")
    quiet = actions.create_contact(owner.workspace_id, owner.user, name="Quiet")
    theirs = actions.create_contact(rival.workspace_id, rival.user, name="Theirs")
    conversation = inbound(handle="lead-only").conversation
    from frontdesk.inbox.actions.contacts import merge_contacts

    merge_contacts(owner.workspace_id, lead_only.pk, conversation.contact_id)
    lead = convert_to_lead(owner.workspace_id, conversation.pk, owner.user).lead
    change_stage(owner.workspace_id, lead.pk, "junk", owner.user)
    from frontdesk.inbox.models import Conversation

    Conversation.objects.filter(pk=conversation.pk).delete()  # only the lead keeps it

    ids = [talked.pk, lead_only.pk, quiet.pk, theirs.pk]
    assert actions.tag_contacts(owner.workspace_id, ids, " Fair 2026 ", owner.user) == 3
    assert Contact.objects.get(pk=theirs.pk).tags == []
    assert actions.tag_contacts(owner.workspace_id, ids, "Fair 2026", owner.user) == 0

    removal = actions.delete_contacts(owner.workspace_id, ids, owner.user)
    assert removal.deleted == [quiet.pk]
    assert sorted(removal.archived) == sorted([talked.pk, lead_only.pk])
    assert not Contact.objects.filter(pk=quiet.pk).exists()
    assert Contact.objects.get(pk=talked.pk).archived_at is not None
    assert Contact.objects.filter(pk=theirs.pk, archived_at__isnull=True).exists()
    listed = queries.contact_list(owner.workspace_id, owner.user_id, queries.ContactFilter())
    assert listed.items == []
    archived = queries.contact_list(
        owner.workspace_id, owner.user_id, queries.ContactFilter(archived=True)
    )
    assert {c.pk for c in archived.items} == {talked.pk, lead_only.pk}
    actions.restore_contact(owner.workspace_id, talked.pk, owner.user)
    assert Contact.objects.get(pk=talked.pk).archived_at is None


# --- the list ------------------------------------------------------------------------------


@pytest.fixture
def people(owner, agent, inbound, channel, callback):
    mail = make_api_channel(owner, callback.url, name="Mailbox")
    made = {}
    for name, company, owner_id, tags, via in [
        ("Ana Lima", "Lisbon Bikes", agent.user_id, ["vip"], channel),
        ("Bruno Costa", "Porto Cargo", owner.user_id, ["vip", "fleet"], mail),
        ("Chen Wei", "Lisbon Bikes", None, [], None),
        ("Dora Nagy", "", owner.user_id, ["fleet"], None),
        ("Emil Berg", "Acme", None, ["vipish"], channel),
    ]:
        if via is not None:
            contact = inbound(handle=f"h-{name}", contact_name=name, via=via).conversation.contact
        else:
            contact = actions.create_contact(owner.workspace_id, owner.user, name=name)
        actions.update_contact(
            owner.workspace_id,
            contact.pk,
            owner.user,
            company=company,
            owner_id=owner_id,
            tags=tags,
        )
        made[name] = contact
    conversation = made["Ana Lima"].conversations.get()
    convert_to_lead(owner.workspace_id, conversation.pk, owner.user)
    return {"mail": mail, **made}


def test_the_list_filters(owner, agent, people):
    ws, me = owner.workspace_id, owner.user_id

    def find(**kw) -> list[str]:
        page = queries.contact_list(ws, me, queries.ContactFilter(**kw), "name")
        return names(page)

    assert find() == ["Ana Lima", "Bruno Costa", "Chen Wei", "Dora Nagy", "Emil Berg"]
    assert find(q="lisbon") == ["Ana Lima", "Chen Wei"]
    assert find(q="h-bruno") == ["Bruno Costa"]  # an address
    assert find(owner="me") == ["Bruno Costa", "Dora Nagy"]
    assert find(owner=str(agent.user_id)) == ["Ana Lima"]
    assert find(owner="none") == ["Chen Wei", "Emil Berg"]
    assert find(tag="vip") == ["Ana Lima", "Bruno Costa"]  # not "vipish"
    assert find(tag="fleet") == ["Bruno Costa", "Dora Nagy"]
    assert find(company="porto") == ["Bruno Costa"]
    assert find(channel_id=people["mail"].pk) == ["Bruno Costa"]
    assert find(open_lead=True) == ["Ana Lima"]
    assert "Ana Lima" not in find(open_lead=False)


def test_the_list_marks_who_has_an_open_lead(owner, people):
    ws, me = owner.workspace_id, owner.user_id

    def marked() -> list[str]:
        page = queries.contact_list(ws, me, queries.ContactFilter(), "name")
        return [c.name for c in page.items if c.has_open_lead]

    assert marked() == ["Ana Lima"]
    html = login(owner).get("/contacts/").content.decode()
    assert html.count('title="Has an open lead"') == 1
    lead = people["Ana Lima"].leads.get()
    change_stage(ws, lead.pk, "unqualified", owner.user)
    assert marked() == []


@pytest.mark.parametrize("sort", list(queries.CONTACT_SORTS))
def test_every_sort_pages_through_every_contact_once(owner, sort):
    for i in range(7):  # equal names and companies: the id breaks the ties
        actions.create_contact(
            owner.workspace_id, owner.user, name=f"Twin {i % 2}", company=["", "B", "A"][i % 3]
        )
    ids = every_page(owner.workspace_id, owner.user_id, sort)
    assert sorted(ids) == sorted(Contact.objects.values_list("pk", flat=True))
    assert len(ids) == len(set(ids)) == 7
    one_go = queries.contact_list(
        owner.workspace_id, owner.user_id, queries.ContactFilter(), sort, limit=50
    )
    assert [c.pk for c in one_go.items] == ids


def test_a_bad_cursor_is_refused(owner):
    from frontdesk.inbox.queries import BadCursor

    with pytest.raises(BadCursor):
        queries.contact_list(
            owner.workspace_id, owner.user_id, queries.ContactFilter(), "name", "x"
        )


# --- the REST API --------------------------------------------------------------------------


def post(client: Client, url: str, body: dict):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client: Client, url: str, body: dict):
    return client.patch(url, json.dumps(body), content_type="application/json")


def test_api_create_get_patch_list(api, owner, agent):
    fields.add_contact_field(owner.workspace_id, "Industry", "text")
    r = post(
        api,
        "/api/v1/contacts",
        {
            "name": "Ana Lima",
            "company": "Lisbon Bikes",
            "job_title": "Buyer",
            "handles": [{"kind": "email", "value": "ANA@x.com"}],
            "owner_id": agent.user_id,
            "tags": ["vip"],
            "custom_fields": {"industry": "Bikes"},
        },
    )
    assert r.status_code == 201, r.content
    ana = r.json()
    assert ana["handles"] == [{"kind": "email", "value": "ana@x.com"}]
    assert (ana["owner_id"], ana["tags"], ana["custom_fields"]) == (
        agent.user_id,
        ["vip"],
        {"industry": "Bikes"},
    )
    url = f"/api/v1/contacts/{ana['id']}"
    r = patch(api, url, {"job_title": "Head of Purchasing", "custom_fields": {"industry": None}})
    assert r.status_code == 200, r.content
    assert r.json()["job_title"] == "Head of Purchasing"
    assert r.json()["custom_fields"] == {}
    assert r.json()["company"] == "Lisbon Bikes"  # not sent, not changed
    assert api.get(url).json()["job_title"] == "Head of Purchasing"
    # The same address for a second contact is refused, with the reason.
    r = post(
        api, "/api/v1/contacts", {"name": "B", "handles": [{"kind": "email", "value": "ana@x.com"}]}
    )
    assert r.status_code == 400 and "already belongs to Ana Lima" in r.json()["detail"]
    assert patch(api, url, {"name": None}).status_code == 400
    assert patch(api, url, {"owner_id": 10**9}).status_code == 400
    listed = api.get("/api/v1/contacts?tag=vip&sort=name").json()
    assert [c["name"] for c in listed["items"]] == ["Ana Lima"]
    assert api.get("/api/v1/contacts?owner=nobody").status_code == 400
    assert api.get("/api/v1/contacts?cursor=zzz").status_code == 400


def test_api_pages_through_contacts(api, owner):
    for i in range(5):
        actions.create_contact(owner.workspace_id, owner.user, name=f"P{i}")
    seen, url = [], "/api/v1/contacts?sort=name&limit=2"
    while url:
        body = api.get(url).json()
        seen += [c["name"] for c in body["items"]]
        url = (
            f"/api/v1/contacts?sort=name&limit=2&cursor={body['next_cursor']}"
            if body["next_cursor"]
            else ""
        )
    assert seen == ["P0", "P1", "P2", "P3", "P4"]


def test_api_contacts_of_another_workspace_are_not_found(api, owner, rival):
    theirs = actions.create_contact(rival.workspace_id, rival.user, name="Theirs")
    url = f"/api/v1/contacts/{theirs.pk}"
    assert api.get(url).status_code == 404
    assert patch(api, url, {"name": "Mine now"}).status_code == 404
    assert post(api, f"{url}/merge", {"other_id": theirs.pk}).status_code == 404
    assert api.get("/api/v1/contacts").json()["items"] == []
    rival_api = token_client(rival)
    mine = actions.create_contact(owner.workspace_id, owner.user, name="Mine")
    assert rival_api.get(f"/api/v1/contacts/{mine.pk}").status_code == 404
    assert Contact.objects.get(pk=theirs.pk).name == "Theirs"


# --- the web pages -------------------------------------------------------------------------


def test_contacts_page_lists_filters_and_pages(owner, people):
    client = login(owner)
    page = client.get("/contacts/")
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("Ana Lima", "Bruno Costa", "Emil Berg"):
        assert name in html
    assert 'class="nav-link current" href="/contacts/"' in html
    table = client.get(
        "/contacts/?tag=fleet&sort=name", headers={**HX, "HX-Target": "contact-table"}
    )
    assert table.status_code == 200
    assert "Bruno Costa" in table.content.decode() and "Ana Lima" not in table.content.decode()
    assert "<main" not in table.content.decode()
    # Pages of rows, each with a link to the next.
    from frontdesk.web.views import crm_contacts

    crm_contacts.PAGE_SIZE = 2
    try:
        first = client.get("/contacts/?sort=name").content.decode()
        assert "Chen Wei" not in first and "Show more contacts" in first
        more = first.split('hx-get="')[-1].split('"')[0].replace("&amp;", "&")
        rows = client.get(more, headers=HX).content.decode()
        assert "Chen Wei" in rows and "Dora Nagy" in rows and "Ana Lima" not in rows
    finally:
        crm_contacts.PAGE_SIZE = 50
    assert client.get("/contacts/?cursor=garbage").status_code == 302


def test_the_list_names_an_address_that_is_not_an_email_or_a_phone(owner):
    """A LinkedIn member's id reads as a LinkedIn address, not as an email or a phone."""
    nina = actions.create_contact(owner.workspace_id, owner.user, name="Nina Hoffmann")
    for kind, value in (("linkedin", "li-nina-hoffmann"), ("email", "nina@hoffmann.example")):
        ContactHandle.objects.create(
            workspace_id=owner.workspace_id, contact=nina, kind=kind, value=value
        )
    html = login(owner).get("/contacts/").content.decode()
    row = html.split(f'id="contact-{nina.pk}"')[1].split("</tr>")[0]
    assert '<span class="addr-kind">LinkedIn</span> li-nina-hoffmann' in row
    assert '<span class="addr">nina@hoffmann.example</span>' in row
    assert ">Addresses</th>" in html


def test_new_contact_page(owner):
    client = login(owner)
    assert client.get("/contacts/new").status_code == 200
    r = client.post(
        "/contacts/new",
        {"name": "Ana Lima", "email": "ana@x.com", "phone": "+351 912 345 678", "tags": "vip"},
    )
    contact = Contact.objects.get(name="Ana Lima")
    assert r.status_code == 302 and r["Location"] == f"/contacts/{contact.pk}/"
    r = client.post("/contacts/new", {"name": "Ana Two", "email": "ANA@x.com"})
    assert r.status_code == 400
    assert "ana@x.com already belongs to Ana Lima" in r.content.decode()
    assert f'href="/contacts/{contact.pk}/"' in r.content.decode()
    assert 'value="Ana Two"' in r.content.decode()  # what was typed stays


def test_contact_page_edit_and_addresses(owner, agent, inbound):
    fields.add_contact_field(owner.workspace_id, "Industry", "choice", "Retail, B2B")
    contact = inbound("Hello", handle="h-ana", contact_name="Ana").conversation.contact
    client = login(owner)
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Hello" in page  # the conversation's preview
    assert 'name="cf_industry"' in page
    r = client.post(
        f"/contacts/{contact.pk}/edit",
        {
            "name": "Ana Lima",
            "company": "Lisbon Bikes",
            "job_title": "Buyer",
            "owner": str(agent.user_id),
            "tags": "vip, fleet",
            "cf_industry": "B2B",
        },
        headers=HX,
    )
    assert r.status_code == 200 and "Saved" in r.content.decode()
    assert 'id="contact-head" hx-swap-oob="true"' in r.content.decode()
    contact.refresh_from_db()
    assert (contact.job_title, contact.owner_id, contact.tags) == (
        "Buyer",
        agent.user_id,
        ["fleet", "vip"],
    )
    assert contact.custom_fields["industry"] == "B2B"
    r = client.post(f"/contacts/{contact.pk}/edit", {"name": "", "cf_industry": "B2B"}, headers=HX)
    assert r.status_code == 422 and r["HX-Retarget"] == "#contact-form-error"
    r = client.post(
        f"/contacts/{contact.pk}/handles", {"kind": "email", "value": "Ana@X.com"}, headers=HX
    )
    assert r.status_code == 200 and "ana@x.com" in r.content.decode()
    handle = ContactHandle.objects.get(value="ana@x.com")
    r = client.post(f"/contacts/{contact.pk}/handles/{handle.pk}/remove", headers=HX)
    assert r.status_code == 200 and "ana@x.com" not in r.content.decode()
    r = client.post(
        f"/contacts/{contact.pk}/handles", {"kind": "phone", "value": "123"}, headers=HX
    )
    assert r.status_code == 422 and r["HX-Retarget"] == "#handle-error"


def test_bulk_tag_and_delete_pages(owner, inbound):
    talked = inbound(handle="talked", contact_name="Talked").conversation.contact
    quiet = actions.create_contact(owner.workspace_id, owner.user, name="Quiet")
    client = login(owner)
    ids = [str(talked.pk), str(quiet.pk)]
    r = client.post("/contacts/bulk", {"action": "tag", "tag": "fair", "ids": ids}, follow=True)
    assert "Tagged 2 contacts." in r.content.decode()
    r = client.post("/contacts/bulk", {"action": "delete", "ids": ids})
    html = r.content.decode()
    assert r.status_code == 200 and "Delete 2 contacts?" in html
    assert "1</strong> will be deleted" in html and "will be <strong>archived</strong>" in html
    assert Contact.objects.count() == 2  # nothing yet: this only asked
    r = client.post("/contacts/bulk", {"action": "delete_confirmed", "ids": ids}, follow=True)
    assert "1 deleted, 1 archived" in r.content.decode()
    assert list(Contact.objects.values_list("name", flat=True)) == ["Talked"]
    assert "Talked" in client.get("/contacts/?archived=1").content.decode()
    r = client.post(f"/contacts/{talked.pk}/restore", follow=True)
    assert "is back in the contacts list" in r.content.decode()


def test_contact_fields_settings(owner, agent):
    admin, member = login(owner), login(agent)
    r = admin.post(
        "/settings/contact-fields/",
        {"action": "add", "label": "Industry", "type": "choice", "choices": "Retail, B2B"},
    )
    assert r.status_code == 302
    field = fields.contact_fields(owner.workspace_id)[0]
    assert "Industry" in member.get("/settings/contact-fields/").content.decode()
    assert (
        member.post(
            "/settings/contact-fields/", {"action": "remove", "field": field.pk}
        ).status_code
        == 403
    )
    r = admin.post("/settings/contact-fields/", {"action": "add", "label": "", "type": "text"})
    assert r.status_code == 400 and "a field&#x27;s name is required" in r.content.decode()
    r = admin.post("/settings/contact-fields/", {"action": "remove", "field": field.pk})
    assert r.status_code == 302 and fields.contact_fields(owner.workspace_id) == []


def test_contact_pages_of_another_workspace_are_not_found(owner, rival):
    theirs = actions.create_contact(rival.workspace_id, rival.user, name="Theirs")
    handle = ContactHandle.objects.create(
        workspace_id=rival.workspace_id, contact=theirs, kind="email", value="t@rival.test"
    )
    field = fields.add_contact_field(rival.workspace_id, "Secret", "text")
    client = login(owner)
    base = f"/contacts/{theirs.pk}"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/edit", {"name": "x"}).status_code == 404
    assert client.post(f"{base}/handles", {"kind": "email", "value": "a@b.c"}).status_code == 404
    assert client.post(f"{base}/handles/{handle.pk}/remove").status_code == 404
    assert client.post(f"{base}/restore").status_code == 404
    assert "Theirs" not in client.get("/contacts/").content.decode()
    client.post("/contacts/bulk", {"action": "delete_confirmed", "ids": [theirs.pk]})
    client.post("/contacts/bulk", {"action": "tag", "tag": "mine", "ids": [theirs.pk]})
    r = client.post("/settings/contact-fields/", {"action": "remove", "field": field.pk})
    assert r.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.tags, theirs.archived_at) == ("Theirs", [], None)
    assert ContactHandle.objects.filter(pk=handle.pk).exists()


def test_archived_contacts_stay_reachable(owner, inbound):
    contact = inbound(handle="x", contact_name="Old client").conversation.contact
    Contact.objects.filter(pk=contact.pk).update(archived_at=timezone.now() - timedelta(days=1))
    page = login(owner).get(f"/contacts/{contact.pk}/").content.decode()
    assert "Archived" in page and "Restore" in page
