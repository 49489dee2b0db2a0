"""Contacts from a CSV file: read it, guess which column holds what (the member can change
it), preview what would happen row by row, then import every row in one transaction.

Choices a member would otherwise have to guess:

- **All or nothing.** One bad row and nothing is saved: the preview lists every bad row by
  its number (the header is row 1, as in a spreadsheet) and why, and the member fixes the
  file and uploads it again. Importing "the good rows only" would leave a half-imported
  list whose missing people are easy to forget.
- **Duplicates.** A row is the same person as an existing contact when its Frontdesk id
  (a column of our export) or one of its email addresses, phone numbers (E.164) or LinkedIn
  addresses is that contact's. The member picks: *update* it (the row's non-empty cells
  replace the fields, its addresses and tags are added; an archived contact comes back) or
  *skip* it. Two rows of the file that share an address, or one row whose addresses belong
  to two different contacts, are errors: the file has to say which person is meant.
- **Formulas.** A cell is text, never evaluated. Our export writes ``'=…`` for a cell that
  starts with ``=``, ``+``, ``-`` or ``@``; that quote is taken off again on the way in,
  so an export imports back unchanged (and is quoted again on the next export).
- Only this workspace: ids, addresses and owners are looked up in it alone; an id of
  another workspace's contact is "no such contact".
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from frontdesk.crm import events
from frontdesk.crm.actions.contact_fields import _field_value, contact_fields
from frontdesk.crm.actions.contacts import Handle, clean_handle
from frontdesk.crm.actions.phones import CALLING_CODES
from frontdesk.crm.actions.values import CrmError, clean_tags, clean_text
from frontdesk.crm.models import ContactImport, CustomField
from frontdesk.inbox.models import Contact, ContactHandle, HandleKind
from frontdesk.workspaces.models import User

MAX_COLUMNS = 100
MAX_ERRORS_SHOWN = 200
DRAFT_LIFETIME = timedelta(days=1)
UPDATE, SKIP = "update", "skip"

# What a column may be imported as, and the headers that suggest it (compared lower-case,
# without spaces, dashes or underscores).
BASE_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "id": ("Frontdesk id", ("id", "contactid", "frontdeskid")),
    "name": ("Name", ("name", "fullname", "contact", "contactname", "displayname", "person")),
    "first_name": ("First name", ("firstname", "givenname", "first", "forename", "vorname")),
    "last_name": ("Last name", ("lastname", "surname", "familyname", "last", "nachname")),
    "company": (
        "Company",
        ("company", "companyname", "organization", "organisation", "org", "account", "firma"),
    ),
    "job_title": ("Job title", ("jobtitle", "title", "position", "role", "job")),
    "email": ("Email", ("email", "emailaddress", "mail", "workemail", "emails")),
    "phone": (
        "Phone",
        ("phone", "phonenumber", "mobile", "mobilephone", "cell", "tel", "telephone", "whatsapp"),
    ),
    "linkedin": ("LinkedIn", ("linkedin", "linkedinurl", "linkedinprofile", "linkedinid")),
    "owner": ("Owner (a member's email)", ("owner", "contactowner", "accountowner")),
    "tags": ("Tags", ("tags", "tag", "labels", "label")),
}
# Several columns may feed these (a work and a home email; tags from two columns).
MULTI_TARGETS = {"email", "phone", "linkedin", "tags"}
HANDLE_TARGETS = {
    "email": HandleKind.EMAIL,
    "phone": HandleKind.PHONE,
    "linkedin": HandleKind.LINKEDIN,
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def max_import_bytes() -> int:
    return int(settings.FRONTDESK_MAX_IMPORT_BYTES)


def max_import_rows() -> int:
    return int(settings.FRONTDESK_MAX_IMPORT_ROWS)


# --- reading the file ------------------------------------------------------------------------


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]  # each as long as the header


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise CrmError("This is not a CSV file (it holds binary data). Save it as CSV and retry.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save "CSV" in the system's code page.
        return data.decode("cp1252", errors="replace")


def read_table(text: str) -> Table:
    """The header and the rows of a CSV text (comma, semicolon or tab separated); blank rows
    are dropped, short rows padded, long ones refused."""
    sample = text[:8192]
    try:  # the separator only, from the header; quotes are a spreadsheet's ("" inside "…")
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0] or sample, ",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise CrmError("The file is empty: its first row should name the columns.")
        header = [clean_text(h, 100) for h in header]
        if len(header) > MAX_COLUMNS:
            raise CrmError(f"The file has {len(header)} columns; at most {MAX_COLUMNS} are read.")
        rows: list[list[str]] = []
        limit = max_import_rows()
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                rows.append([])  # kept so that row numbers stay those of the spreadsheet
                continue
            if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
                raise CrmError(
                    f"Row {number} has {len(row)} cells but the header names {len(header)} "
                    "columns. Check the file's separator and quotes."
                )
            if len(rows) >= limit:
                raise CrmError(
                    f"The file has more than {limit:,} rows; import it in parts of at most "
                    f"{limit:,}."
                )
            rows.append((row + [""] * len(header))[: len(header)])
    except csv.Error as exc:
        raise CrmError(f"This file cannot be read as CSV: {exc}.") from None
    if not any(rows):
        raise CrmError("The file has a header but no rows of contacts.")
    return Table(header, rows)


def targets(fields: list[CustomField]) -> list[tuple[str, str]]:
    """Every target a column may be mapped to, as (key, label), in the order offered."""
    return [
        *((key, label) for key, (label, _) in BASE_TARGETS.items()),
        *((f"cf:{f.key}", f.label) for f in fields),
    ]


def _squash(text: str) -> str:
    return re.sub(r"[\s_\-.:]+", "", text.lower())


def guess_mapping(header: list[str], fields: list[CustomField]) -> list[str]:
    """A target for each column, by its header; a target is guessed for one column only
    (except addresses and tags), the rest are left out."""
    hints: dict[str, str] = {}
    for key, (_, words) in BASE_TARGETS.items():
        for word in words:
            hints.setdefault(word, key)
    for f in fields:
        hints.setdefault(_squash(f.key), f"cf:{f.key}")
        hints.setdefault(_squash(f.label), f"cf:{f.key}")
    taken: set[str] = set()
    mapping = []
    for title in header:
        squashed = _squash(title)
        key = hints.get(squashed, "")
        if not key:  # "Work email", "Mobile phone 2"
            key = next(
                (
                    k
                    for k in ("email", "phone", "linkedin")
                    if any(w in squashed for w in BASE_TARGETS[k][1] if len(w) > 3)
                ),
                "",
            )
        if key and key in taken and key not in MULTI_TARGETS:
            key = ""
        taken.add(key)
        mapping.append(key)
    return mapping


def check_mapping(mapping: list[str], header: list[str], fields: list[CustomField]) -> list[str]:
    """The mapping as given, checked: one per column, known targets, single ones once."""
    known = {key for key, _ in targets(fields)}
    if len(mapping) != len(header):
        raise CrmError("Pick what each column holds.")
    seen: dict[str, str] = {}
    for title, key in zip(header, mapping, strict=True):
        if not key:
            continue
        if key not in known:
            raise CrmError(f"Column {title!r}: {key!r} is not something a contact has.")
        if key in seen and key not in MULTI_TARGETS:
            raise CrmError(
                f"Columns {seen[key]!r} and {title!r} are both mapped to "
                f"{dict(targets(fields))[key]}; pick one."
            )
        seen[key] = title
    if not any(mapping):
        raise CrmError("No column is imported: pick what at least one column holds.")
    if not {"name", "first_name", "last_name", "id", "email", "phone", "linkedin"} & set(seen):
        raise CrmError("Pick the column that holds the name (or an email or phone to match).")
    return mapping


# --- the plan: what each row would do ----------------------------------------------------------


@dataclass
class RowPlan:
    number: int  # as in the spreadsheet: the header is row 1
    action: str = "create"  # create, update, skip
    contact: Contact | None = None  # the existing one (update, skip)
    name: str = ""
    company: str = ""
    job_title: str = ""
    owner: User | None = None
    tags: list[str] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)
    handles: list[Handle] = field(default_factory=list)
    given: set[str] = field(default_factory=set)  # the targets with a value in this row
    raw_id: str = ""


@dataclass
class RowError:
    number: int
    reason: str

    def __str__(self) -> str:
        return f"Row {self.number}: {self.reason}"


@dataclass
class Plan:
    rows: list[RowPlan]
    errors: list[RowError]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def updated(self) -> int:
        return self.count("update")

    @property
    def skipped(self) -> int:
        return self.count("skip")


def _cell(raw: str) -> str:
    """A cell as text: our export's quote before a formula-looking cell is taken off."""
    text = raw.strip()
    if text[:1] == "'" and text[1:2] in FORMULA_START:
        return text[1:]
    return text


def _split(value: str, kind: str) -> list[str]:
    # Phones keep their spaces (+351 912 345 678); several per cell by ";" or ",".
    pattern = r"[;,]" if kind == "phone" else r"[;,\s]+"
    return [v for v in (p.strip() for p in re.split(pattern, value)) if v]


def _members(workspace_id: int) -> dict[str, User]:
    found: dict[str, User] = {}
    for user in User.objects.filter(is_active=True, memberships__workspace_id=workspace_id):
        found[user.email.lower()] = user
    return found


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_handles(workspace_id: int, handles: set[Handle]) -> dict[Handle, int]:
    """Which of these addresses a contact of this workspace already has: handle -> contact id."""
    found: dict[Handle, int] = {}
    by_kind: dict[str, list[str]] = {}
    for h in handles:
        by_kind.setdefault(h.kind, []).append(h.value)
    for kind, values in by_kind.items():
        for part in _chunks(sorted(values)):
            for value, contact_id in ContactHandle.objects.filter(
                workspace_id=workspace_id, kind=kind, value__in=part
            ).values_list("value", "contact_id"):
                found[Handle(kind, value)] = contact_id
    return found


def _contacts(workspace_id: int, ids: set[int], lock: bool = False) -> dict[int, Contact]:
    found: dict[int, Contact] = {}
    for part in _chunks(sorted(ids)):
        qs = Contact.objects.filter(workspace_id=workspace_id, pk__in=part)
        if lock:
            qs = qs.select_for_update()
        found.update({c.pk: c for c in qs})
    return found


def _read_row(
    number: int,
    cells: list[str],
    mapping: list[str],
    defined: dict[str, CustomField],
    members: dict[str, User],
    country: str = "",
) -> tuple[RowPlan | None, list[str]]:
    """One row's values, checked on their own (matching comes later): the plan and what is
    wrong with it; no plan for a row without anything this import reads."""
    plan = RowPlan(number)
    problems: list[str] = []
    values: dict[str, list[str]] = {}
    for key, raw in zip(mapping, cells, strict=True):
        text = _cell(raw)
        if key and text:
            values.setdefault(key, []).append(text)
    if not values:
        return None, []

    def one(key: str) -> str:
        return values.get(key, [""])[0]

    plan.given = set(values)
    plan.raw_id = one("id")
    if plan.raw_id and not plan.raw_id.isdigit():
        problems.append(f"the id {plan.raw_id!r} is not a number")
    name = one("name") or " ".join(v for v in (one("first_name"), one("last_name")) if v)
    plan.name = clean_text(name, 300)
    plan.company = clean_text(one("company"), 300)
    plan.job_title = clean_text(one("job_title"), 200)
    if plan.name:
        plan.given.add("name")
    if "owner" in values:
        plan.owner = members.get(one("owner").lower())
        if plan.owner is None:
            problems.append(f"the owner {one('owner')!r} is not a member of this workspace")
    plan.tags = clean_tags([t for cell in values.get("tags", []) for t in cell.split(",")])
    problems += _read_custom(plan, values, defined)
    problems += _read_handles(plan, values, country)
    return plan, problems


def _read_custom(plan: RowPlan, values: dict[str, list[str]], defined: dict) -> list[str]:
    problems = []
    for key, f in defined.items():
        if key not in values:
            continue
        raw = values[key][0]
        try:
            value = _field_value(f, raw)
        except CrmError as exc:
            problems.append(str(exc).replace(f.label, f"{f.label} ({raw!r})", 1))
        else:
            if value is not None:
                plan.custom[f.key] = value
    return problems


def _read_handles(plan: RowPlan, values: dict[str, list[str]], country: str) -> list[str]:
    problems = []
    for key, kind in HANDLE_TARGETS.items():
        for part in (p for cell in values.get(key, []) for p in _split(cell, key)):
            try:
                handle = clean_handle(kind, part, country)
            except CrmError as exc:
                hint = kind == HandleKind.PHONE and not country and part[:1] != "+"
                hint = hint and not part.startswith("00")
                problems.append(f"{exc}, or pick the file's default country" if hint else str(exc))
                continue
            if handle not in plan.handles:
                plan.handles.append(handle)
    return problems


def _match(workspace_id: int, rows: list[RowPlan], on_duplicate: str, lock: bool) -> list[RowError]:
    """Each row against the others and the workspace's contacts: by id, else by address."""
    errors: list[RowError] = []
    first_row: dict[Handle, int] = {}
    for plan in rows:
        for handle in plan.handles:
            earlier = first_row.setdefault(handle, plan.number)
            if earlier != plan.number:
                errors.append(RowError(plan.number, f"{handle.value} is also on row {earlier}"))
    ids = {int(p.raw_id) for p in rows if p.raw_id.isdigit()}
    existing = _existing_handles(workspace_id, set(first_row))
    by_id = _contacts(workspace_id, {*existing.values(), *ids}, lock=lock)
    id_rows: dict[int, int] = {}
    for plan in rows:
        matched: Contact | None = None
        owners = {existing[h] for h in plan.handles if h in existing}
        if plan.raw_id.isdigit():
            matched, reasons = _by_id(plan, by_id, owners, id_rows)
            errors += [RowError(plan.number, reason) for reason in reasons]
        elif len(owners) > 1:
            names = " and ".join(sorted(by_id[i].display_name for i in owners))
            reason = f"its addresses belong to two different contacts ({names})"
            errors.append(RowError(plan.number, reason))
        elif owners:
            matched = by_id[owners.pop()]
        if matched is not None:
            plan.contact = matched
            plan.action = UPDATE if on_duplicate == UPDATE else SKIP
        elif not plan.name and not plan.raw_id:
            errors.append(RowError(plan.number, "the name is empty (a new contact needs one)"))
    return errors


def _by_id(
    plan: RowPlan, by_id: dict[int, Contact], owners: set[int], id_rows: dict[int, int]
) -> tuple[Contact | None, list[str]]:
    """The contact a row names by its Frontdesk id, and what is wrong with that."""
    matched = by_id.get(int(plan.raw_id))
    if matched is None:
        return None, [f"there is no contact with id {plan.raw_id} here"]
    earlier = id_rows.setdefault(matched.pk, plan.number)
    if earlier != plan.number:
        return matched, [f"the id {plan.raw_id} is also on row {earlier}"]
    return matched, [
        f"an address on it belongs to {by_id[other].display_name}"
        for other in sorted(owners - {matched.pk})
    ]


def plan_import(
    workspace_id: int,
    table: Table,
    mapping: list[str],
    on_duplicate: str = UPDATE,
    fields: list[CustomField] | None = None,
    lock: bool = False,
    country: str = "",
) -> Plan:
    """What importing ``table`` with ``mapping`` would do, row by row, and every bad row;
    phones without a country code are read as ``country``'s (none: they are bad rows)."""
    fields = contact_fields(workspace_id) if fields is None else fields
    mapping = check_mapping(mapping, table.header, fields)
    if on_duplicate not in (UPDATE, SKIP):
        raise CrmError("Pick what to do with contacts that already exist.")
    country = check_country(country)
    defined = {f"cf:{f.key}": f for f in fields}
    members = _members(workspace_id) if "owner" in mapping else {}
    rows: list[RowPlan] = []
    errors: list[RowError] = []
    for number, cells in enumerate(table.rows, start=2):
        if not cells:
            continue
        plan, problems = _read_row(number, cells, mapping, defined, members, country)
        if plan is None:
            continue
        if problems:
            errors.append(RowError(number, "; ".join(problems)))
        rows.append(plan)
    errors += _match(workspace_id, rows, on_duplicate, lock)
    errors.sort(key=lambda e: e.number)
    return Plan(rows, errors)


# --- the import --------------------------------------------------------------------------------


class ImportRefused(CrmError):
    """Some rows are bad: nothing was imported (``plan.errors`` says which and why)."""

    def __init__(self, plan: Plan):
        super().__init__(f"{len(plan.errors)} rows cannot be imported; nothing was imported")
        self.plan = plan


def start_import(workspace_id: int, by_user: User, file_name: str, data: bytes) -> ContactImport:
    """Read an uploaded file and keep it as a draft with a guessed mapping."""
    limit = max_import_bytes()
    if len(data) > limit:
        raise CrmError(file_too_large(len(data), limit))
    text = _decode(data)
    table = read_table(text)
    mapping = guess_mapping(table.header, contact_fields(workspace_id))
    ContactImport.objects.filter(
        workspace_id=workspace_id, created_at__lt=timezone.now() - DRAFT_LIFETIME
    ).exclude(status=ContactImport.Status.DONE).delete()
    return ContactImport.objects.create(
        workspace_id=workspace_id,
        created_by=by_user,
        file_name=clean_text(file_name, 255),
        text=text,
        mapping=mapping,
    )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    return f"{-(-n // 1024)} KB"


def file_too_large(size: int, limit: int) -> str:
    return (
        f"This file is {_size(size)}; an import takes at most {_size(limit)}. Split it into parts."
    )


def draft(workspace_id: int, by_user: User, import_id: int) -> ContactImport:
    """The member's own import draft in this workspace (another's is not found)."""
    found = ContactImport.objects.filter(
        workspace_id=workspace_id, created_by=by_user, pk=import_id
    ).first()
    if found is None:
        raise ContactImport.DoesNotExist("no such import")
    return found


def check_country(country: str) -> str:
    country = (country or "").strip().upper()
    if country and country not in CALLING_CODES:
        raise CrmError(f"{country!r} is not a country this import knows; pick one from the list.")
    return country


def set_mapping(
    workspace_id: int,
    by_user: User,
    import_id: int,
    mapping: list[str],
    on_duplicate: str,
    default_country: str = "",
) -> ContactImport:
    """The member's choices for a draft: what each column holds, what to do with a row of
    a contact that exists, and the country of phone numbers written without a "+"."""
    job = draft(workspace_id, by_user, import_id)
    if job.status != ContactImport.Status.DRAFT:
        raise CrmError("This file was imported already.")
    table = read_table(job.text)
    job.mapping = check_mapping(mapping, table.header, contact_fields(workspace_id))
    if on_duplicate not in (UPDATE, SKIP):
        raise CrmError("Pick what to do with contacts that already exist.")
    job.on_duplicate = on_duplicate
    job.default_country = check_country(default_country)
    job.save(update_fields=["mapping", "on_duplicate", "default_country"])
    return job


def preview(job: ContactImport) -> tuple[Table, Plan]:
    table = read_table(job.text)
    return table, plan_import(
        job.workspace_id, table, job.mapping, job.on_duplicate, country=job.default_country
    )


def run_import(workspace_id: int, by_user: User, import_id: int) -> ContactImport:
    """Import every row of the draft in one transaction, or none (``ImportRefused``)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            job = (
                ContactImport.objects.select_for_update()
                .filter(workspace_id=workspace_id, created_by=by_user, pk=import_id)
                .first()
            )
            if job is None:
                raise ContactImport.DoesNotExist("no such import")
            if job.status != ContactImport.Status.DRAFT:
                raise CrmError("This file was imported already.")
            table = read_table(job.text)
            plan = plan_import(
                workspace_id,
                table,
                job.mapping,
                job.on_duplicate,
                lock=True,
                country=job.default_country,
            )
            if plan.errors:
                raise ImportRefused(plan)
            _apply(workspace_id, plan, now)
            job.status = ContactImport.Status.DONE
            job.text = ""  # the contacts hold it now
            job.finished_at = now
            job.result = {"created": plan.created, "updated": plan.updated, "skipped": plan.skipped}
            job.save()
            events.contacts_imported(workspace_id, job.pk, job.result, by_user.pk)
    except IntegrityError:
        # Someone gave one of these addresses to a contact between the check and the insert.
        raise CrmError(
            "One of these addresses was just given to another contact; nothing was imported. "
            "Preview again."
        ) from None
    return job


def _apply(workspace_id: int, plan: Plan, now: Any) -> None:
    new: list[tuple[Contact, RowPlan]] = []
    changed: list[Contact] = []
    handles: list[ContactHandle] = []
    for row in plan.rows:
        if row.action == SKIP:
            continue
        if row.action == "create":
            fresh = Contact(
                workspace_id=workspace_id,
                name=row.name,
                company=row.company,
                job_title=row.job_title,
                owner=row.owner,
                tags=row.tags,
                custom_fields=row.custom,
                created_at=now,
            )
            new.append((fresh, row))
            continue
        contact = row.contact
        assert contact is not None
        if "name" in row.given:
            contact.name = row.name
        if "company" in row.given:
            contact.company = row.company
        if "job_title" in row.given:
            contact.job_title = row.job_title
        if "owner" in row.given:
            contact.owner = row.owner
        if row.tags:
            contact.tags = clean_tags([*(contact.tags or []), *row.tags])
        if row.custom:
            contact.custom_fields = {**(contact.custom_fields or {}), **row.custom}
        contact.archived_at = None  # in the list again: the file says this person matters
        contact.updated_at = now
        changed.append(contact)
        handles += [
            ContactHandle(workspace_id=workspace_id, contact=contact, kind=h.kind, value=h.value)
            for h in row.handles
        ]
    Contact.objects.bulk_create([c for c, _ in new], batch_size=500)
    for contact, row in new:
        handles += [
            ContactHandle(workspace_id=workspace_id, contact=contact, kind=h.kind, value=h.value)
            for h in row.handles
        ]
    Contact.objects.bulk_update(
        changed,
        [
            "name",
            "company",
            "job_title",
            "owner",
            "tags",
            "custom_fields",
            "archived_at",
            "updated_at",
        ],
        batch_size=500,
    )
    # Addresses a matched contact has already are left alone; any other clash is a fault.
    mine = {(h.contact_id, h.kind, h.value) for h in _existing_for(workspace_id, handles)}
    ContactHandle.objects.bulk_create(
        [h for h in handles if (h.contact_id, h.kind, h.value) not in mine], batch_size=500
    )


def _existing_for(workspace_id: int, handles: list[ContactHandle]) -> list[ContactHandle]:
    wanted = {Handle(h.kind, h.value) for h in handles}
    found = _existing_handles(workspace_id, wanted)
    return [
        ContactHandle(contact_id=contact_id, kind=h.kind, value=h.value)
        for h, contact_id in found.items()
    ]
