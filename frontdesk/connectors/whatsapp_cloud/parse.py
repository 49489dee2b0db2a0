"""Meta's webhook payloads (``field == "messages"``) turned into plain values.

Every message type becomes a message (text, media with a caption, location with a map
link, contacts as a card, interactive and template button replies, unsupported ones as a
visible placeholder); reactions, statuses and number changes come out separately.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from frontdesk.connectors.base import (
    HandleChange,
    InboundEvents,
    InboundMessage,
    Reaction,
    StatusUpdate,
)

MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
_STATUSES = {"sent", "delivered", "read", "failed"}
# The callback data the connector puts on each part of a reply sent in several parts.


def e164(wa_id: Any) -> str:
    digits = "".join(ch for ch in str(wa_id or "") if ch.isdigit())
    return f"+{digits}" if digits else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any, limit: int = 4096) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)[:limit]


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _error_text(errors: Any) -> str:
    parts = []
    for err in _list(errors):
        err = _dict(err)
        title = _str(err.get("title") or err.get("message"), 300)
        details = _str(_dict(err.get("error_data")).get("details"), 500)
        code = _str(err.get("code"), 20)
        text = f"{title} (error {code})" if code else title
        if details and details != title:
            text += f": {details}"
        if text:
            parts.append(text)
    return "; ".join(parts)


def parse_value(value: dict[str, Any]) -> InboundEvents:
    out = InboundEvents()
    names = {}
    for c in _list(value.get("contacts")):
        c = _dict(c)
        names[_str(c.get("wa_id"), 40)] = _str(_dict(c.get("profile")).get("name"), 300)
    for raw in _list(value.get("messages")):
        raw = _dict(raw)
        if raw:
            _message(raw, names, out)
    for raw in _list(value.get("statuses")):
        raw = _dict(raw)
        status = _str(raw.get("status"), 20)
        provider_id = _str(raw.get("id"), 500)
        if status in _STATUSES and provider_id:
            out.statuses.append(
                StatusUpdate(
                    provider_id=provider_id,
                    status=status,
                    error=_error_text(raw.get("errors")) if status == "failed" else "",
                )
            )
    if value.get("errors"):
        out.problems.append(_error_text(value.get("errors")))
    return out


def _message(raw: dict[str, Any], names: dict[str, str], out: InboundEvents) -> None:
    kind = _str(raw.get("type"), 40) or "unknown"
    sender = _str(raw.get("from"), 40)
    provider_id = _str(raw.get("id"), 500)
    at = _when(raw.get("timestamp"))
    name = names.get(sender, "")
    if kind == "reaction":
        body = _dict(raw.get("reaction"))
        out.reactions.append(
            Reaction(
                message_id=_str(body.get("message_id"), 500),
                by=e164(sender),
                emoji=_str(body.get("emoji"), 32),
                at=at,
                name=name,
            )
        )
        return
    extra: dict[str, Any] = {"whatsapp_type": kind}
    text, media = _content(kind, raw, extra)
    context = _dict(raw.get("context"))
    reply_to = _str(context.get("id"), 500)
    if context.get("forwarded") or context.get("frequently_forwarded"):
        extra["forwarded"] = True
    referral = _dict(raw.get("referral"))
    if referral:
        extra["referral"] = {
            k: _str(referral.get(k), 2000)
            for k in (
                "source_url",
                "source_id",
                "source_type",
                "headline",
                "body",
                "media_type",
                "ctwa_clid",
            )
            if referral.get(k)
        }
    if kind == "system":
        system = _dict(raw.get("system"))
        new = e164(system.get("wa_id") or system.get("new_wa_id"))
        if new and sender and new != e164(sender):
            out.handle_changes.append(HandleChange(kind="phone", old=e164(sender), new=new))
    if media is not None:
        extra["media"] = {**media, "state": "pending"}
    out.messages.append(
        InboundMessage(
            provider_id=provider_id,
            handle=e164(sender),
            text=text,
            contact_name=name,
            reply_to_provider_id=reply_to,
            sent_at=at,
            extra=extra,
            contact_facts={"whatsapp_referral": extra["referral"]} if extra.get("referral") else {},
            fetch_later=media is not None,
        )
    )


def _content(
    kind: str, raw: dict[str, Any], extra: dict[str, Any]
) -> tuple[str, dict[str, Any] | None]:
    """The message's text as shown in the thread, and the media to fetch (if any)."""
    body = _dict(raw.get(kind))
    if kind == "text":
        return _str(body.get("body"), 65536), None
    if kind in MEDIA_TYPES:
        media = {
            "id": _str(body.get("id"), 200),
            "mime_type": _str(body.get("mime_type"), 200),
            "sha256": _str(body.get("sha256"), 200),
            "filename": _str(body.get("filename"), 255),
            "kind": kind,
        }
        if kind == "audio" and body.get("voice"):
            extra["voice"] = True
        if kind == "sticker" and body.get("animated"):
            extra["animated"] = True
        # Without a caption the text names the media, so the thread and the conversation
        # list show something while the worker fetches the file (and if it never arrives).
        label = {
            "image": "📷 Photo",
            "video": "🎬 Video",
            "audio": "🎤 Voice message" if body.get("voice") else "🎵 Audio",
            "document": "📄 " + (media["filename"] or "Document"),
            "sticker": "Sticker",
        }[kind]
        return _str(body.get("caption"), 4096) or label, media if media["id"] else None
    if kind == "location":
        lat, lng = body.get("latitude"), body.get("longitude")
        try:
            lat_f, lng_f = float(lat), float(lng)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return "📍 Location (no coordinates)", None
        label = " — ".join(
            p for p in (_str(body.get("name"), 300), _str(body.get("address"), 500)) if p
        )
        link = maps_link(lat_f, lng_f)
        extra["location"] = {
            "latitude": lat_f,
            "longitude": lng_f,
            "name": _str(body.get("name"), 300),
            "address": _str(body.get("address"), 500),
            "url": link,
        }
        return f"📍 {label + ' ' if label else ''}{link}".strip(), None
    if kind == "contacts":
        cards = [_card(_dict(c)) for c in _list(raw.get("contacts"))[:20]]
        extra["contacts"] = cards
        lines = []
        for card in cards:
            bits = [card["name"]] + card["phones"] + card["emails"]
            if card.get("company"):
                bits.append(card["company"])
            lines.append("👤 " + " · ".join(b for b in bits if b))
        return "\n".join(lines) or "👤 Contact card", None
    if kind == "interactive":
        kind2 = _str(body.get("type"), 40)
        reply = _dict(body.get(kind2))
        extra["interactive"] = {
            "type": kind2,
            "id": _str(reply.get("id"), 200),
            "title": _str(reply.get("title"), 300),
        }
        if kind2 == "nfm_reply":
            return _str(reply.get("body"), 4096) or "Form reply", None
        title = _str(reply.get("title"), 300)
        description = _str(reply.get("description"), 300)
        return (f"{title}\n{description}" if description else title) or "Interactive reply", None
    if kind == "button":
        extra["button"] = {"payload": _str(body.get("payload"), 1000)}
        return _str(body.get("text"), 1000) or _str(body.get("payload"), 1000), None
    if kind == "system":
        return "⚙️ " + (_str(body.get("body"), 2000) or "System message"), None
    if kind == "order":
        items = _list(body.get("product_items"))
        extra["order"] = {"catalog_id": _str(body.get("catalog_id"), 100), "items": items[:100]}
        return f"🛒 Order of {len(items)} item(s) {_str(body.get('text'), 2000)}".strip(), None
    # unsupported, or a type this version does not know: a visible placeholder, never dropped
    reason = _error_text(raw.get("errors"))
    extra["unsupported"] = reason or kind
    return f"⚠️ Unsupported WhatsApp message ({reason or kind})", None


def _card(c: dict[str, Any]) -> dict[str, Any]:
    name = _dict(c.get("name"))
    formatted = _str(name.get("formatted_name"), 300) or " ".join(
        p for p in (_str(name.get("first_name"), 100), _str(name.get("last_name"), 100)) if p
    )
    return {
        "name": formatted,
        "phones": [_str(_dict(p).get("phone"), 60) for p in _list(c.get("phones"))[:10]],
        "wa_ids": [
            e164(_dict(p).get("wa_id"))
            for p in _list(c.get("phones"))[:10]
            if _dict(p).get("wa_id")
        ],
        "emails": [_str(_dict(e).get("email"), 320) for e in _list(c.get("emails"))[:10]],
        "company": _str(_dict(c.get("org")).get("company"), 300),
        "urls": [_str(_dict(u).get("url"), 1000) for u in _list(c.get("urls"))[:10]],
    }


def maps_link(lat: float, lng: float) -> str:
    return f"https://www.google.com/maps/search/?api=1&query={quote(f'{lat},{lng}')}"
