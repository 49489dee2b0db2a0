"""Importing contacts from a CSV file: the columns guessed from the headers, a preview that
names every bad row and why, all or nothing, duplicates updated or skipped, cells that look
like formulas kept as text, size limits told in words, another workspace never touched;
through the action and the four pages (upload, map, preview, import)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from frontdesk.crm.actions import contact_fields as fields
from frontdesk.crm.actions import contact_import as imports
from frontdesk.crm.actions.contacts import create_contact
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import ContactImport
from frontdesk.inbox.models import Contact, ContactHandle
from tests.fixtures import session_client as login


def csv_bytes(rows: list[list[str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode()


def start(owner, rows, **kw) -> ContactImport:
    return imports.start_import(owner.workspace_id, owner.user, "people.csv", csv_bytes(rows, **kw))


def run(
    owner, job: ContactImport, mapping=None, on_duplicate="update", country=""
) -> ContactImport:
    imports.set_mapping(
        owner.workspace_id, owner.user, job.pk, mapping or job.mapping, on_duplicate, country
    )
    return imports.run_import(owner.workspace_id, owner.user, job.pk)


def handles(contact: Contact) -> list[tuple[str, str]]:
    return sorted(contact.handles.values_list("kind", "value"))


# --- reading and guessing --------------------------------------------------------------------


def test_columns_are_guessed_from_the_headers(owner):
    fields.add_contact_field(owner.workspace_id, "Industry", "choice", "Retail, Wholesale")
    header = [
        "First Name",
        "Last Name",
        "E-mail Address",
        "Mobile",
        "Organisation",
        "Job Title",
        "Industry",
        "Work email",
        "Notes",
    ]
    mapping = imports.guess_mapping(header, fields.contact_fields(owner.workspace_id))
    assert mapping == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "job_title",
        "cf:industry",
        "email",
        "",
    ]


def test_semicolons_a_bom_and_windows_encoding_are_read(owner):
    text = "Name;Email;Company\r\nJosé Núñez;jose@example.es;Café Sol\r\n"
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("cp1252")):
        job = imports.start_import(owner.workspace_id, owner.user, "x.csv", data)
        table = imports.read_table(job.text)
        assert table.header == ["Name", "Email", "Company"]
        assert table.rows == [["José Núñez", "jose@example.es", "Café Sol"]]
        assert job.mapping == ["name", "email", "company"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"Name,Email\n", "no rows of contacts"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a CSV file"),
        (b"Name,Email\nAna,ana@x.pt,extra,cells\n", "Row 2 has 4 cells"),
    ],
)
def test_a_file_that_is_not_a_contact_list_is_refused_in_words(owner, data, message):
    with pytest.raises(CrmError, match=message):
        imports.start_import(owner.workspace_id, owner.user, "x.csv", data)
    assert not ContactImport.objects.exists()


@override_settings(FRONTDESK_MAX_IMPORT_BYTES=2048, FRONTDESK_MAX_IMPORT_ROWS=5)
def test_size_and_row_limits(owner):
    with pytest.raises(
        CrmError, match=r"This file is 4 KB; an import takes at most 2 KB\. Split it"
    ):
        imports.start_import(owner.workspace_id, owner.user, "x.csv", b"Name\n" + b"a" * 4000)
    rows = [["Name"]] + [[f"P{i}"] for i in range(6)]
    with pytest.raises(CrmError, match="more than 5 rows"):
        start(owner, rows)


# --- the plan and the import -----------------------------------------------------------------


def test_import_creates_contacts_with_every_field(owner, agent):
    fields.add_contact_field(owner.workspace_id, "Industry", "choice", "Retail, Wholesale")
    fields.add_contact_field(owner.workspace_id, "Employees", "number")
    job = start(
        owner,
        [
            [
                "Name",
                "Email",
                "Phone",
                "Company",
                "Title",
                "Owner",
                "Tags",
                "Industry",
                "Employees",
            ],
            [
                "Ana Lima",
                "Ana@Bikes.PT; ana.lima@gmail.com",
                "+351 912 345 678",
                "Lisbon Bikes",
                "Buyer",
                "AGENT@acme.test",
                "vip, wholesale",
                "retail",
                "40",
            ],
            ["", "", "", "", "", "", "", "", ""],  # a blank line is no contact
            ["Bruno Costa", "bruno@porto.pt", "", "Porto Cycles", "", "", "", "", ""],
        ],
    )
    assert job.mapping == [
        "name",
        "email",
        "phone",
        "company",
        "job_title",
        "owner",
        "tags",
        "cf:industry",
        "cf:employees",
    ]
    _, plan = imports.preview(job)
    assert (plan.created, plan.updated, plan.skipped, plan.errors) == (2, 0, 0, [])
    assert not Contact.objects.exists()  # a preview saves nothing
    done = run(owner, job)
    assert done.result == {"created": 2, "updated": 0, "skipped": 0}
    assert done.text == ""  # the file is not kept once imported
    ana = Contact.objects.get(name="Ana Lima")
    assert (ana.company, ana.job_title, ana.owner_id) == ("Lisbon Bikes", "Buyer", agent.user_id)
    assert ana.tags == ["vip", "wholesale"]
    assert ana.custom_fields == {"industry": "Retail", "employees": "40"}
    assert handles(ana) == [
        ("email", "ana.lima@gmail.com"),
        ("email", "ana@bikes.pt"),
        ("phone", "+351912345678"),
    ]
    assert Contact.objects.get(name="Bruno Costa").company == "Porto Cycles"
    with pytest.raises(CrmError, match="imported already"):
        imports.run_import(owner.workspace_id, owner.user, job.pk)
    assert Contact.objects.count() == 2


def test_bad_rows_are_named_and_nothing_is_imported(owner):
    fields.add_contact_field(owner.workspace_id, "Employees", "number")
    create_contact(owner.workspace_id, owner.user, name="Old Ana", handles=[("email", "a@x.pt")])
    create_contact(
        owner.workspace_id, owner.user, name="Old Rui", handles=[("phone", "+351911000222")]
    )
    job = start(
        owner,
        [
            ["Name", "Email", "Phone", "Employees", "Owner", "Id"],
            ["Good Person", "good@x.pt", "", "3", "", ""],
            ["Bad Mail", "not-an-address", "", "", "", ""],
            ["Bad Phone", "", "912 345 678", "", "", ""],
            ["Bad Number", "", "", "forty", "", ""],
            ["", "nobody@x.pt", "", "", "", ""],
            ["Twice", "good@x.pt", "", "", "", ""],
            ["Stranger Owner", "", "", "", "ghost@elsewhere.test", ""],
            ["Two People", "a@x.pt", "+351911000222", "", "", ""],
            ["Wrong Id", "", "", "", "", "999999"],
            ["Word Id", "", "", "", "", "seven"],
        ],
    )
    _, plan = imports.preview(job)
    assert [str(e) for e in plan.errors] == [
        "Row 3: 'not-an-address' is not an email address",
        "Row 4: '912 345 678' is not a phone number with its country code, such as "
        "+351 912 345 678, or pick the file's default country",
        "Row 5: Employees ('forty') must be a number",
        "Row 6: the name is empty (a new contact needs one)",
        "Row 7: good@x.pt is also on row 2",
        "Row 8: the owner 'ghost@elsewhere.test' is not a member of this workspace",
        "Row 9: its addresses belong to two different contacts (Old Ana and Old Rui)",
        "Row 10: there is no contact with id 999999 here",
        "Row 11: the id 'seven' is not a number",
    ]
    imports.set_mapping(owner.workspace_id, owner.user, job.pk, job.mapping, "update")
    with pytest.raises(imports.ImportRefused) as refused:
        imports.run_import(owner.workspace_id, owner.user, job.pk)
    assert len(refused.value.plan.errors) == 9
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["Old Ana", "Old Rui"]
    assert ContactHandle.objects.count() == 2
    job.refresh_from_db()
    assert job.status == "draft"  # fix nothing, try again: still refused, still nothing


def test_duplicates_are_updated_or_skipped(owner, agent):
    ana = create_contact(
        owner.workspace_id,
        owner.user,
        name="Ana",
        company="Old Co",
        handles=[("email", "ana@bikes.pt")],
        tags=["old"],
    )
    rui = create_contact(
        owner.workspace_id, owner.user, name="Rui", handles=[("phone", "+351911000222")]
    )
    rows = [
        ["Name", "Email", "Phone", "Company", "Tags"],
        ["Ana Lima", "ANA@bikes.pt", "+351 911 111 111", "", "vip"],  # matched by email
        ["Rui Costa", "rui@porto.pt", "+351 911 000 222", "Porto", ""],  # matched by phone (E.164)
        ["Eva New", "eva@new.pt", "", "", ""],
    ]
    skipped = run(owner, start(owner, rows), on_duplicate="skip")
    assert skipped.result == {"created": 1, "updated": 0, "skipped": 2}
    ana.refresh_from_db()
    assert (ana.name, ana.company, ana.tags) == ("Ana", "Old Co", ["old"])

    Contact.objects.filter(name="Eva New").delete()
    ana.archived_at = rui.created_at
    ana.save()
    updated = run(owner, start(owner, rows), on_duplicate="update")
    assert updated.result == {"created": 1, "updated": 2, "skipped": 0}
    ana.refresh_from_db()
    rui.refresh_from_db()
    # Filled cells replace, an empty one leaves the field; tags and addresses are added.
    assert (ana.name, ana.company, ana.tags) == ("Ana Lima", "Old Co", ["old", "vip"])
    assert ana.archived_at is None  # back in the list
    assert handles(ana) == [("email", "ana@bikes.pt"), ("phone", "+351911111111")]
    assert (rui.name, rui.company) == ("Rui Costa", "Porto")
    assert handles(rui) == [("email", "rui@porto.pt"), ("phone", "+351911000222")]
    assert Contact.objects.count() == 3


@pytest.mark.parametrize(
    ("country", "written", "e164"),
    [
        ("PT", "912 345 678", "+351912345678"),
        ("PT", "351912345678", "+351912345678"),  # written with its code: not doubled
        ("PT", "351 912 345 678", "+351912345678"),
        ("PT", "0911 000 222", "+351911000222"),  # a 0 typed out of habit goes
        ("GB", "07700 900123", "+447700900123"),  # the trunk 0 goes
        ("DE", "(030) 1234-567", "+49301234567"),
        ("US", "(415) 555-0134", "+14155550134"),
        ("US", "1 415 555 0134", "+14155550134"),  # the NANP's trunk 1
        ("IT", "06 6988 1234", "+390669881234"),  # Italy keeps its 0
        ("RU", "8 912 345-67-89", "+79123456789"),
        ("RU", "800 555 35 35", "+78005553535"),  # ten digits: no trunk 8 to take off
        ("HU", "06 30 123 4567", "+36301234567"),
        ("BR", "(11) 98765-4321", "+5511987654321"),
        ("PT", "12", ""),  # too short
        ("PT", "call me", ""),
        ("GB", "0" + "7" * 20, ""),  # too long
        ("ZZ", "912 345 678", ""),  # no such country
    ],
)
def test_a_phone_without_its_country_code_gets_the_countrys(country, written, e164):
    from frontdesk.crm.actions.phones import with_country

    assert with_country(written, country) == e164


def test_the_default_country_normalises_phones_and_bad_ones_are_named(owner):
    """Phones without a "+" are the picked country's, in E.164 (matched against the
    contacts' numbers as such); one that still is no number is a bad row, and nothing is
    imported; a number with its own country code keeps it."""
    rui = create_contact(
        owner.workspace_id, owner.user, name="Rui", handles=[("phone", "+351911000222")]
    )
    rows = [
        ["Name", "Phone", "Mobile"],
        ["Ana Lima", "912 345 678", ""],
        ["Rui Costa", "0911 000 222", ""],  # Rui's number, written the national way (trunk 0)
        ["Tom Hill", "+44 20 7946 0958", "00351 913 000 111"],
        ["Bad Short", "12", ""],
        ["Bad Words", "ring the shop", ""],
    ]
    job = start(owner, rows)
    assert job.mapping == ["name", "phone", "phone"]
    _, plan = imports.preview(job)  # no default country: every number needs its code
    assert [str(e) for e in plan.errors][:2] == [
        "Row 2: '912 345 678' is not a phone number with its country code, such as "
        "+351 912 345 678, or pick the file's default country",
        "Row 3: '0911 000 222' is not a phone number with its country code, such as "
        "+351 912 345 678, or pick the file's default country",
    ]
    assert len(plan.errors) == 4

    imports.set_mapping(owner.workspace_id, owner.user, job.pk, job.mapping, "update", "pt")
    job.refresh_from_db()
    assert job.default_country == "PT"
    _, plan = imports.preview(job)
    assert [str(e) for e in plan.errors] == [
        "Row 5: '12' is not a phone number of Portugal (+351) (nor one with its country code, "
        "such as +351 912 345 678)",
        "Row 6: 'ring the shop' is not a phone number of Portugal (+351) (nor one with its "
        "country code, such as +351 912 345 678)",
    ]
    with pytest.raises(imports.ImportRefused):
        imports.run_import(owner.workspace_id, owner.user, job.pk)
    assert list(Contact.objects.values_list("name", flat=True)) == ["Rui"]

    fixed = start(owner, rows[:4])
    done = run(owner, fixed, mapping=fixed.mapping, country="PT")
    assert done.result == {"created": 2, "updated": 1, "skipped": 0}
    assert handles(Contact.objects.get(name="Ana Lima")) == [("phone", "+351912345678")]
    assert handles(Contact.objects.get(name="Tom Hill")) == [
        ("phone", "+351913000111"),
        ("phone", "+442079460958"),
    ]
    rui.refresh_from_db()
    assert (rui.name, handles(rui)) == ("Rui Costa", [("phone", "+351911000222")])

    with pytest.raises(CrmError, match="'ZZ' is not a country this import knows"):
        imports.set_mapping(owner.workspace_id, owner.user, job.pk, job.mapping, "update", "ZZ")


def test_an_export_imports_back_unchanged_formulas_stay_text(owner):
    """Our export quotes formula-looking cells ('=…); the import takes the quote off again,
    stores the cell as plain text, and the next export quotes it again."""
    from frontdesk.crm.queries.export import contact_rows

    fields.add_contact_field(owner.workspace_id, "Note", "text")
    ana = create_contact(
        owner.workspace_id,
        owner.user,
        name="Ana Lima",
        company='=HYPERLINK("http://evil.test","click")',
        handles=[("email", "ana@bikes.pt"), ("phone", "+351912345678")],
        custom_fields={"note": "@SUM(A1:A9)"},
    )
    exported = list(contact_rows(owner.workspace_id))
    assert exported[1][2] == '\'=HYPERLINK("http://evil.test","click")'
    exported[1][3] = "-Buyer"  # edited in a spreadsheet
    exported.append(["", "+Eve", "=1+2", "", "eve@x.pt", "", "", "", "", "=cmd|' /C calc'!A0"])
    job = start(owner, exported)
    assert job.mapping[0] == "id"
    assert run(owner, job).result == {"created": 1, "updated": 1, "skipped": 0}
    ana.refresh_from_db()
    assert ana.company == '=HYPERLINK("http://evil.test","click")'
    assert ana.job_title == "-Buyer"
    assert ana.custom_fields == {"note": "@SUM(A1:A9)"}
    assert handles(ana) == [("email", "ana@bikes.pt"), ("phone", "+351912345678")]
    eve = Contact.objects.get(name="+Eve")
    assert (eve.company, eve.custom_fields) == ("=1+2", {"note": "=cmd|' /C calc'!A0"})
    again = {row[1]: row for row in contact_rows(owner.workspace_id)}
    assert again["'+Eve"][2] == "'=1+2"
    assert again["'+Eve"][9] == "'=cmd|' /C calc'!A0"


def test_another_workspace_is_never_touched(owner, rival):
    theirs = create_contact(
        rival.workspace_id,
        rival.user,
        name="Their Ana",
        company="Rival Co",
        handles=[("email", "ana@bikes.pt")],
    )
    # The same address and their contact's id: a new contact here, and "no such contact".
    job = start(owner, [["Name", "Email"], ["Ana Lima", "ana@bikes.pt"]])
    assert run(owner, job).result == {"created": 1, "updated": 0, "skipped": 0}
    by_id = start(owner, [["Id", "Name"], [str(theirs.pk), "Taken Over"]])
    imports.set_mapping(owner.workspace_id, owner.user, by_id.pk, by_id.mapping, "update")
    with pytest.raises(imports.ImportRefused) as refused:
        imports.run_import(owner.workspace_id, owner.user, by_id.pk)
    assert [str(e) for e in refused.value.plan.errors] == [
        f"Row 2: there is no contact with id {theirs.pk} here"
    ]
    # An owner from their workspace is not a member here.
    by_owner = start(owner, [["Name", "Owner"], ["Bea", rival.user.email]])
    _, plan = imports.preview(by_owner)
    assert "is not a member of this workspace" in str(plan.errors[0])
    theirs.refresh_from_db()
    assert (theirs.name, theirs.company) == ("Their Ana", "Rival Co")
    assert handles(theirs) == [("email", "ana@bikes.pt")]
    assert Contact.objects.filter(workspace_id=rival.workspace_id).count() == 1
    # Nor is one member's draft another's.
    with pytest.raises(ContactImport.DoesNotExist):
        imports.draft(rival.workspace_id, rival.user, job.pk)


def test_a_mapping_is_checked(owner):
    job = start(owner, [["A", "B"], ["x", "y"]])
    assert job.mapping == ["", ""]
    for mapping, message in [
        (["", ""], "No column is imported"),
        (["name", "name"], "both mapped to Name"),
        (["name", "shoe_size"], "not something a contact has"),
        (["company", ""], "Pick the column that holds the name"),
    ]:
        with pytest.raises(CrmError, match=message):
            imports.set_mapping(owner.workspace_id, owner.user, job.pk, mapping, "update")
    # Two email columns are fine (work and home).
    imports.set_mapping(owner.workspace_id, owner.user, job.pk, ["email", "email"], "skip")


# --- the pages ---------------------------------------------------------------------------------


def upload(client: Client, data: bytes, name: str = "people.csv"):
    return client.post("/contacts/import", {"file": SimpleUploadedFile(name, data, "text/csv")})


def test_upload_map_preview_import_pages(owner, rival):
    client = login(owner)
    assert b"Import CSV" in client.get("/contacts/").content
    assert client.get("/contacts/import").status_code == 200
    answer = upload(
        client,
        csv_bytes(
            [
                ["Full name", "Email", "Organization", "Remarks"],
                ["Ana Lima", "ana@bikes.pt", "<b>Lisbon</b> Bikes", "x"],
                ["Bruno", "bruno@porto.pt", "=1+2", ""],
            ]
        ),
    )
    assert answer.status_code == 302
    job = ContactImport.objects.get()
    assert answer["Location"] == f"/contacts/import/{job.pk}/"
    page = client.get(answer["Location"]).content.decode()
    assert re.search(r'<option value="name" selected>Name</option>', page)
    assert re.search(r'<option value="company" selected>Company</option>', page)
    # The member leaves "Remarks" out and keeps the guesses; then the preview.
    answer = client.post(
        f"/contacts/import/{job.pk}/",
        {
            "col_0": "name",
            "col_1": "email",
            "col_2": "company",
            "col_3": "",
            "on_duplicate": "skip",
        },
    )
    assert answer["Location"] == f"/contacts/import/{job.pk}/preview"
    preview = client.get(answer["Location"]).content.decode()
    assert "2</strong> new contacts" in preview
    assert "&lt;b&gt;Lisbon&lt;/b&gt; Bikes" in preview  # shown as typed, never as markup
    assert "Import 2 rows" in preview
    assert not Contact.objects.exists()
    # Another workspace's member finds none of it.
    other = login(rival)
    for path in ("/", "/preview", "/done"):
        assert other.get(f"/contacts/import/{job.pk}{path}").status_code == 404
    assert other.post(f"/contacts/import/{job.pk}/run").status_code == 404
    assert not Contact.objects.exists()

    answer = client.post(f"/contacts/import/{job.pk}/run")
    assert answer["Location"] == f"/contacts/import/{job.pk}/done"
    assert "<strong>2</strong> new contacts" in client.get(answer["Location"]).content.decode()
    assert sorted(Contact.objects.values_list("company", flat=True)) == [
        "<b>Lisbon</b> Bikes",
        "=1+2",
    ]
    assert client.get(f"/contacts/import/{job.pk}/preview")["Location"].endswith("/done")


def test_bad_rows_page_and_refused_import(owner):
    client = login(owner)
    upload(client, csv_bytes([["Name", "Email"], ["Ana", "ana@x.pt"], ["Bad", "nope"]]))
    job = ContactImport.objects.get()
    client.post(f"/contacts/import/{job.pk}/", {"col_0": "name", "col_1": "email"})
    job.refresh_from_db()
    assert job.on_duplicate == "update"  # refused: nothing was changed
    client.post(
        f"/contacts/import/{job.pk}/", {"col_0": "name", "col_1": "email", "on_duplicate": "update"}
    )
    preview = client.get(f"/contacts/import/{job.pk}/preview").content.decode()
    assert "1 row cannot be imported" in preview
    assert "<strong>Row 3</strong>: &#x27;nope&#x27; is not an email address" in preview
    assert "Upload the fixed file" in preview and "Import 2 rows" not in preview
    answer = client.post(f"/contacts/import/{job.pk}/run")
    assert answer.status_code == 400
    assert "Nothing was imported" in answer.content.decode()
    assert not Contact.objects.exists()


def test_the_mapping_page_asks_for_the_default_country(owner):
    client = login(owner)
    upload(client, csv_bytes([["Name", "Phone"], ["Ana", "912 345 678"]]))
    job = ContactImport.objects.get()
    page = client.get(f"/contacts/import/{job.pk}/").content.decode()
    assert '<label for="import-country">Default country</label>' in page
    assert '<option value="" selected>' not in page  # none picked: the first option
    assert '<option value="PT">Portugal (+351)</option>' in page
    form = {"col_0": "name", "col_1": "phone", "on_duplicate": "update"}
    answer = client.post(f"/contacts/import/{job.pk}/", {**form, "default_country": "XX"})
    assert answer.status_code == 400
    assert "&#x27;XX&#x27; is not a country this import knows" in answer.content.decode()
    answer = client.post(f"/contacts/import/{job.pk}/", {**form, "default_country": "PT"})
    assert answer["Location"] == f"/contacts/import/{job.pk}/preview"
    preview = client.get(answer["Location"]).content.decode()
    assert "+351912345678" in preview and "cannot be imported" not in preview
    page = client.get(f"/contacts/import/{job.pk}/").content.decode()
    assert '<option value="PT" selected>Portugal (+351)</option>' in page  # kept
    client.post(f"/contacts/import/{job.pk}/run")
    assert handles(Contact.objects.get()) == [("phone", "+351912345678")]


@override_settings(FRONTDESK_MAX_IMPORT_BYTES=2048)
def test_too_large_a_file_is_told_in_words(owner):
    client = login(owner)
    answer = upload(client, b"Name\n" + b"Ana Lima\n" * 600)
    assert answer.status_code == 400
    assert "This file is 6 KB; an import takes at most 2 KB." in answer.content.decode()
    assert not ContactImport.objects.exists()
    answer = client.post("/contacts/import", {})
    assert "Choose a CSV file" in answer.content.decode()
