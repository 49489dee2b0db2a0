"""The workspace's own contact fields (text, number, date, choice; managed in settings) and
the values a contact holds for them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from frontdesk.crm.actions.values import CrmError, clean_text
from frontdesk.crm.models import CustomField, FieldType

# Keys the connectors write into Contact.custom_fields (the LinkedIn profile): not the
# workspace's to define.
RESERVED_PREFIXES = ("linkedin_",)
MAX_CHOICES = 50


def contact_fields(workspace_id: int) -> list[CustomField]:
    return list(CustomField.objects.filter(workspace_id=workspace_id).order_by("position", "id"))


def _choices(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = raw.splitlines() if "\n" in raw else raw.split(",")
    options = list(dict.fromkeys(clean_text(c, 100) for c in raw or []))
    options = [o for o in options if o]
    if not options:
        raise CrmError("a choice field needs at least one option")
    if len(options) > MAX_CHOICES:
        raise CrmError(f"a choice field takes at most {MAX_CHOICES} options")
    return options


def add_contact_field(workspace_id: int, label: str, type: str, choices: Any = ()) -> CustomField:
    label = clean_text(label, 100, "a field's name", required=True)
    if type not in FieldType.values:
        raise CrmError(f"type must be one of {', '.join(FieldType.values)}")
    key = slugify(label).replace("-", "_")[:50] or "field"
    if key.startswith(RESERVED_PREFIXES):
        raise CrmError(f"a field's name cannot start with {RESERVED_PREFIXES[0]!r}")
    field = CustomField(
        workspace_id=workspace_id,
        key=key,
        label=label,
        type=type,
        choices=_choices(choices) if type == FieldType.CHOICE else [],
        position=CustomField.objects.filter(workspace_id=workspace_id).count(),
    )
    try:
        with transaction.atomic():
            field.save(force_insert=True)
    except IntegrityError:
        raise CrmError(f"there already is a field named {label!r}") from None
    return field


def change_contact_field(
    workspace_id: int, field_id: int, label: str, choices: Any = ()
) -> CustomField:
    """A new name (its key, and so the values contacts hold, stay) or new options."""
    field = CustomField.objects.filter(workspace_id=workspace_id, pk=field_id).first()
    if field is None:
        raise LookupError("no such field")
    field.label = clean_text(label, 100, "a field's name", required=True)
    if field.type == FieldType.CHOICE:
        field.choices = _choices(choices)
    field.save(update_fields=["label", "choices"])
    return field


def remove_contact_field(workspace_id: int, field_id: int) -> None:
    """The field leaves the forms; values contacts hold stay in their record (added back
    under the same name, the field shows them again)."""
    deleted, _ = CustomField.objects.filter(workspace_id=workspace_id, pk=field_id).delete()
    if not deleted:
        raise LookupError("no such field")


def clean_field_values(
    workspace_id: int, values: dict[str, Any], fields: list[CustomField] | None = None
) -> dict[str, Any]:
    """The workspace's fields' values as stored; ``None`` or "" marks a value to clear."""
    defined = {f.key: f for f in (fields if fields is not None else contact_fields(workspace_id))}
    cleaned: dict[str, Any] = {}
    for key, raw in (values or {}).items():
        field = defined.get(str(key))
        if field is None:
            raise CrmError(f"{key!r} is not one of this workspace's contact fields")
        cleaned[field.key] = _field_value(field, raw)
    return cleaned


def _date_value(field: CustomField, text: str) -> str:
    """A day, also given as a date and time (a spreadsheet's export): the day is kept.
    Anything else, such as "2026-12-31 or so", is refused rather than cut to its date."""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        raise CrmError(f"{field.label} must be a date such as 2026-12-31") from None


def _field_value(field: CustomField, raw: Any) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    if field.type == FieldType.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CrmError(f"{field.label} must be a number") from None
        if not number.is_finite():
            raise CrmError(f"{field.label} must be a number")
        return str(number.normalize()) if number != number.to_integral() else str(int(number))
    if field.type == FieldType.DATE:
        return _date_value(field, text)
    if field.type == FieldType.CHOICE:
        match = next((c for c in field.choices if c.lower() == text.lower()), None)
        if match is None:
            raise CrmError(f"{field.label} must be one of {', '.join(field.choices)}")
        return match
    return text[:1000]
