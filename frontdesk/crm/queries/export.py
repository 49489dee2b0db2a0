"""The workspace's contacts as CSV rows, read in id order a chunk at a time so an export of
100,000 contacts streams without holding them all."""

from __future__ import annotations

from collections.abc import Iterator

from frontdesk.crm.models import CustomField
from frontdesk.inbox.models import Contact, HandleKind

CHUNK = 2000
BASE_COLUMNS = ["id", "name", "company", "job_title", "email", "phone", "linkedin", "owner", "tags"]


def _cell(value: object) -> str:
    """A spreadsheet must not run a cell as a formula: one starting with = + - @ is quoted."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def contact_rows(workspace_id: int) -> Iterator[list[str]]:
    """A header, then one row per contact that is not archived (several addresses of a
    kind joined by "; ")."""
    keys = list(
        CustomField.objects.filter(workspace_id=workspace_id)
        .order_by("position", "id")
        .values_list("key", flat=True)
    )
    yield [*BASE_COLUMNS, *keys]
    last = 0
    while True:
        chunk = list(
            Contact.objects.filter(workspace_id=workspace_id, archived_at__isnull=True, pk__gt=last)
            .select_related("owner")
            .prefetch_related("handles")
            .order_by("pk")[:CHUNK]
        )
        if not chunk:
            return
        for c in chunk:
            by_kind: dict[str, list[str]] = {}
            for h in c.handles.all():
                by_kind.setdefault(h.kind, []).append(h.value)
            row = [
                c.pk,
                c.name,
                c.company,
                c.job_title,
                "; ".join(by_kind.get(HandleKind.EMAIL, [])),
                "; ".join(by_kind.get(HandleKind.PHONE, [])),
                "; ".join(by_kind.get(HandleKind.LINKEDIN, [])),
                c.owner.email if c.owner else "",
                ", ".join(c.tags or []),
                *[(c.custom_fields or {}).get(k, "") for k in keys],
            ]
            yield [_cell(v) for v in row]
        last = chunk[-1].pk
