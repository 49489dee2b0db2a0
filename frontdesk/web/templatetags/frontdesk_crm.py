"""The CRM's pieces in other apps' templates (the inbox's contact panel) and its money format."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django import template
from django.urls import reverse

from frontdesk.crm.queries.leads import lead_of_conversation
from frontdesk.inbox.models import HandleKind

register = template.Library()

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "BRL": "R$"}


@register.filter
def money(value: Decimal | None, currency: str = "") -> str:
    """12000 EUR -> €12,000; 99.5 CHF -> CHF 99.50 (cents only when there are some)."""
    if value is None:
        return ""
    amount = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{currency} {amount}".strip()


# A converted lead's source is its channel's kind; a lead made by hand has what was typed.
_SOURCE_LABELS = {"whatsapp": "WhatsApp", "linkedin": "LinkedIn", "email": "Email", "api": "API"}


@register.filter
def source_label(source: str) -> str:
    return _SOURCE_LABELS.get(source, source)


@register.filter
def handle_label(kind: str) -> str:
    return HandleKind(kind).label if kind in HandleKind.values else str(kind).capitalize()


@register.filter
def get_count(counts: dict[int, int], key: int) -> int:
    return counts.get(key, 0)


_MARK = 987654321


@cache
def _pattern(name: str) -> str:
    return reverse(name, args=[_MARK])


@register.filter
def path(pk: int, name: str) -> str:
    """``{{ lead.pk|path:"lead" }}`` is ``{% url "lead" lead.pk %}``, reversed once per name
    (a board reverses a few URLs for each of its hundreds of cards)."""
    return _pattern(name).replace(str(_MARK), str(int(pk)))


@register.filter
def lookup(mapping: dict, key: Any) -> Any:
    return mapping.get(key, "")


@register.filter
def is_stale(deal: Any, now: datetime) -> bool:
    return bool(deal.is_stale(now))


@register.inclusion_tag("web/crm/_lead_actions.html", takes_context=True)
def lead_actions(context: template.Context, conversation: Any) -> dict[str, Any]:
    """The contact panel's lead line: "Convert to lead", or the lead it became."""
    return {
        "conversation": conversation,
        "lead": lead_of_conversation(conversation.workspace_id, conversation.pk),
        "already": context.get("already", False),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("web/crm/_followups.html", takes_context=True)
def followups_block(context: template.Context, record: Any) -> dict[str, Any]:
    """A record page's follow-ups: its open ones and the form to schedule another."""
    from frontdesk.web.views.followups import block_context  # noqa: PLC0415 (views import tags)

    request = context["request"]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        **block_context(request, record),
    }


@register.inclusion_tag("web/crm/_followups.html", takes_context=True)
def conversation_followups(context: template.Context, conversation: Any) -> dict[str, Any]:
    """The contact panel's follow-ups: the contact's open ones and the form (new ones are
    tied to this conversation)."""
    from frontdesk.web.views.crm_timeline import conversation_record  # noqa: PLC0415

    return followups_block(context, conversation_record(conversation))
