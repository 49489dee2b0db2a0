"""The CRM's pieces in other apps' templates (the inbox's contact panel) and its money format."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from frontdesk.connectors.registry import handle_kind_label
from frontdesk.core import l10n
from frontdesk.crm.queries.leads import lead_of_conversation
from frontdesk.web.templatetags.frontdesk_ui import initials, kind_glyph, reltime, tint

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
    return handle_kind_label(str(kind))


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


# --- board cards ---------------------------------------------------------------------------
# A board renders a card per lead or deal shown; through the template language one cost
# about 0.25 ms (some 40 variable lookups, an include for the avatar), most of a board's
# time. These build the same markup in Python, every value escaped by _html.

# html.escape's (and so Django's escape's) five replacements, as one str.translate.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def _html(markup: str, *values: Any) -> SafeString:
    """``format_html`` for the markup built once per card or timeline line: the same
    result (a value with ``__html__`` kept, any other escaped as Django escapes it), at two
    calls a value rather than some fourteen (a board's cards made 20,000 calls escaping)."""
    return SafeString(
        markup.format(
            *[v if hasattr(v, "__html__") else str(v).translate(_ESCAPES) for v in values]
        )
    )


@register.simple_tag
def contact_avatar(contact: Any, size: str = "") -> SafeString:
    """``web/_avatar.html`` without a channel badge: a board's cards and a list's rows show
    one each (included there, it cost some 150 Python calls a row)."""
    inner: SafeString | str
    if contact.avatar:
        version = quote(contact.avatar.name, safe="")
        inner = _html(
            '<img src="{}?v={}" alt="" loading="lazy">', path(contact.pk, "contact_avatar"), version
        )
    else:
        inner = initials(contact.display_name)
    return _html(
        '<span class="avatar{} {}" aria-hidden="true">{}</span>',
        f" {size}" if size else "",
        tint(contact.pk),
        inner,
    )


def _card_body(record: Any, url: str, extra_foot: SafeString | str = "") -> SafeString:
    """The link of a card: title, contact, value, flags, last update, owner."""
    contact = record.contact
    company = _html(" · {}", contact.company) if contact.company else ""
    if record.value is not None:
        value = money(record.value, record.currency)
    else:
        value = mark_safe('<span class="muted">No value</span>')
    if record.owner_id and record.owner:
        name = record.owner.display_name
        owner = _html(
            '<span class="avatar xs {}" title="Owner: {}">{}</span>'
            '<span class="sr">Owner: {}</span>',
            tint(record.owner_id),
            name,
            initials(name),
            name,
        )
    else:
        owner = mark_safe('<span class="avatar xs none" title="No owner">\u2013</span>')
    return _html(
        '<a href="{}" draggable="false">\n'
        '<span class="lead-card-title">{}</span>\n'
        '<span class="lead-card-contact">{}<span class="lead-card-name">{}{}</span></span>\n'
        '<span class="lead-card-foot">\n<span class="lead-value">{}</span>\n{}'
        '<time datetime="{}" title="Last update">{}</time>\n{}\n</span>\n</a>',
        url,
        record.title,
        contact_avatar(contact, "xs"),
        contact.display_name,
        company,
        value,
        extra_foot,
        timezone.localtime(record.updated_at).isoformat(),
        reltime(record.updated_at),
        owner,
    )


def _card_menu(title: str, move_url: str, form_head: Any, buttons: Any) -> SafeString:
    """A card's Move menu (the form head and the stage's buttons are rendered once a board)."""
    return _html(
        '<details class="card-move">\n'
        '<summary aria-label="Move {} to another stage" title="Move to another stage">⋯</summary>\n'
        '<form method="post" action="{}" hx-post="{}" hx-swap="none">{}\n{}\n</form>\n</details>',
        title,
        move_url,
        move_url,
        form_head,
        buttons,
    )


@register.simple_tag(takes_context=True)
def lead_cards(context: template.Context, leads: list[Any]) -> SafeString:
    """A column's cards on the leads board (``card_form_head`` and ``move_buttons`` in the
    context): one tag a column, not a loop of tags."""
    head, buttons = context.get("card_form_head", ""), context.get("move_buttons") or {}
    return SafeString("".join([lead_card(lead, head, buttons) for lead in leads]))


def lead_card(lead: Any, form_head: Any, move_buttons: dict) -> SafeString:
    """One card of the leads board."""
    move_url = path(lead.pk, "lead_stage")
    return _html(
        '<li class="lead-card" id="lead-{}" data-id="{}" draggable="true" data-move-url="{}"'
        ' aria-describedby="board-help">{}\n{}</li>\n',
        lead.pk,
        lead.pk,
        move_url,
        _card_body(lead, path(lead.pk, "lead")),
        _card_menu(lead.title, move_url, form_head, lookup(move_buttons, lead.stage)),
    )


@register.simple_tag(takes_context=True)
def deal_cards(context: template.Context, deals: list[Any]) -> SafeString:
    """A column's cards on the deals board (``now``, ``card_form_head`` and
    ``move_buttons`` in the context): one tag a column, not a loop of tags."""
    now, head = context.get("now"), context.get("card_form_head", "")
    buttons = context.get("move_buttons") or {}
    return SafeString("".join([deal_card(deal, now, head, buttons) for deal in deals]))


def deal_card(deal: Any, now: datetime | None, form_head: Any, move_buttons: dict) -> SafeString:
    """One card of the deals board: stale and high priority flagged."""
    stale = deal.is_stale(now)
    flags = SafeString("")
    if stale:
        flags += _html(
            '<span class="stale-tag" title="Not worked on (moved, edited, a note, a follow-up done) for more than {} days">'
            "Stale</span>\n",
            deal.stage.rotting_days,
        )
    if deal.priority == "high":
        flags += mark_safe('<span class="prio-high" title="High priority">High</span>\n')
    move_url = path(deal.pk, "deal_stage")
    return _html(
        '<li class="lead-card deal-card{}" id="deal-{}" data-id="{}" draggable="true"'
        ' data-move-url="{}" aria-describedby="deal-board-help">{}\n{}</li>\n',
        " stale" if stale else "",
        deal.pk,
        deal.pk,
        move_url,
        _card_body(deal, path(deal.pk, "deal"), flags),
        _card_menu(deal.title, move_url, form_head, lookup(move_buttons, deal.stage_id)),
    )


# --- timeline lines ------------------------------------------------------------------------
# A record page shows 50 lines of its timeline; through the template language one cost
# about 0.25 ms. Same markup as before, built here, every value escaped by _html.

_QUIET_KINDS = {"event", "lead", "deal", "followup"}
_TEXT_LIMIT = 600


def _shown_text(text: str) -> str:
    """``Truncator(text).chars(_TEXT_LIMIT)``, which walks every character of the text
    (a call each): a text no longer than that once NFC-normalised, as Truncator returns
    it, is whole."""
    whole = unicodedata.normalize("NFC", str(text))
    return whole if len(whole) <= _TEXT_LIMIT else Truncator(text).chars(_TEXT_LIMIT)


def _line_meta(entry: Any) -> SafeString:
    row = entry.row
    if entry.is_message:
        if entry.kind == "message":
            if row.direction == "inbound":
                return _html("<strong>{}</strong> wrote", row.author_name or "Client")
            by = row.author_user.display_name if row.author_user else ""
            return _html("<strong>{}</strong> replied", by or row.author_name or "Your team")
        if entry.kind == "note":
            by = row.author_user.display_name if row.author_user else ""
            return _html("<strong>{}</strong> · internal note", by or row.author_name)
        return SafeString("")
    if entry.kind == "note":
        by = row.actor.display_name if row.actor else ""
        pinned = mark_safe(' · <span class="pin-tag">pinned</span>') if row.pinned else ""
        return _html("<strong>{}</strong> · note{}", by or "Someone", pinned)
    return _html('<span class="tl-kind">{}</span>', row.get_kind_display())


def _note_actions(context: template.Context, entry: Any) -> SafeString:
    """Pin or unpin, and delete for its author or an admin, on a CRM note."""
    row, request = entry.row, context["request"]
    url = f"{context['record'].base}/notes/{row.pk}"
    delete = ""
    membership = getattr(request, "membership", None)
    if row.actor_id == request.user.pk or (membership is not None and membership.is_admin):
        delete = mark_safe(
            '<button class="link small" name="action" value="delete"'
            ' hx-confirm="Delete this note?">Delete</button>'
        )
    token = context.get("csrf_token")
    csrf = (  # as {% csrf_token %} renders it
        _html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
        if token and token != "NOTPROVIDED"
        else ""
    )
    return _html(
        '<form class="tl-actions" method="post" action="{}" hx-post="{}" hx-target="#notes"'
        ' hx-swap="outerHTML">{}\n'
        '<button class="link small" name="action" value="{}">{}</button>\n{}</form>',
        url,
        url,
        csrf,
        "unpin" if row.pinned else "pin",
        "Unpin" if row.pinned else "Pin",
        delete,
    )


def timeline_line(context: template.Context, entry: Any) -> SafeString:
    """One line of a record's timeline (``record``, ``request`` and ``csrf_token`` in the
    context)."""
    direction = f" tl-{entry.row.direction}" if entry.is_message else ""
    if entry.kind in _QUIET_KINDS:
        text = _html('<p class="tl-text tl-quiet">{}</p>', entry.text)
    else:
        text = _html('<p class="tl-text">{}</p>', _shown_text(entry.text))
    actions = _note_actions(context, entry) if entry.kind == "note" and not entry.is_message else ""
    at = l10n.stamp(entry.at)
    return _html(
        '<li class="tl-line tl-{}{}">\n<span class="tl-mark" aria-hidden="true"></span>\n'
        '<div class="tl-body">\n<p class="tl-meta">{}\n'
        '<time datetime="{}" title="{}">{}, {}</time></p>\n{}\n{}\n</div>\n</li>',
        entry.kind,
        direction,
        _line_meta(entry),
        at.local.isoformat(),
        at.moment,
        at.day,
        at.clock,
        text,
        actions,
    )


def _group_head(conversation: Any) -> SafeString:
    """A conversation's lines' heading: its channel's mark, its subject (or channel)."""
    channel = conversation.channel
    in_channel = (
        _html(' <span class="muted">· {}</span>', channel.name) if conversation.subject else ""
    )
    return _html(
        '<a class="tl-head" href="{}"><span class="glyph k-{}" aria-hidden="true">{}</span>'
        ' <span class="tl-head-title">{}</span>{}</a>',
        path(conversation.pk, "conversation"),
        channel.kind,
        kind_glyph(channel.kind),
        conversation.subject or channel.name,
        in_channel,
    )


@register.simple_tag(takes_context=True)
def timeline_groups(context: template.Context, groups: list[Any]) -> SafeString:
    """A timeline's groups of lines (a conversation's, under its heading, or CRM lines),
    one ``timeline_line`` a line: one tag, not loops of tags."""
    return SafeString(
        "".join(
            [
                _html(
                    '\n<li class="tl-group{}">\n  {}\n  <ol class="tl-lines">{}</ol>\n</li>',
                    " tl-conversation" if group.conversation else "",
                    _group_head(group.conversation) if group.conversation else "",
                    SafeString("".join([timeline_line(context, e) for e in group.entries])),
                )
                for group in groups
            ]
        )
    )
