"""The CRM's plain values, checked the same way everywhere: tags, text, money, currency,
the member given a piece of work."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from frontdesk.workspaces.models import User
from frontdesk.workspaces.services import active_member

MAX_VALUE = Decimal("999999999999.99")  # what a value column (14 digits, 2 decimals) holds
_CURRENCY = re.compile(r"^[A-Z]{3}$")


# A keyword argument left out (the field stays as it is), unlike None (the field is cleared).
UNSET: Any = object()


class CrmError(ValueError):
    """Input the CRM cannot take; the message says why (the caller answers 400 or shows it)."""


def clean_tags(tags: Any) -> list[str]:
    """Trimmed, at most 50 characters each, no repeats, sorted."""
    if isinstance(tags, str):
        tags = tags.split(",")
    return sorted({str(t).strip()[:50] for t in tags or [] if str(t).strip()})


def clean_text(value: Any, limit: int, what: str = "", required: bool = False) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise CrmError(f"{what} is required")
    return text[:limit]


def money(value: Decimal | str | float | None) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise CrmError("value must be a number such as 1200 or 1200.50") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_VALUE:
        raise CrmError("value must be a positive amount")
    return amount.quantize(Decimal("0.01"))


def currency(value: Any) -> str:
    code = str(value or "").strip().upper()
    if not _CURRENCY.match(code):
        raise CrmError("currency must be a three-letter code such as EUR or USD")
    return code


def member(workspace_id: int, user_id: int | None, role: str = "owner") -> User | None:
    """The member given this piece of work (None for nobody); anyone else is refused."""
    if user_id is None:
        return None
    user = active_member(workspace_id, user_id)
    if user is None:
        raise CrmError(f"the {role} must be a member of this workspace")
    return user
