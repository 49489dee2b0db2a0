"""Unipile's objects read into values: v1 webhook bodies and listed messages, v2 Message
and Chat objects, account statuses and profiles. Nothing here calls Unipile or reads the
inbox: what an object does not say (who a message the account sent went to, when a pushed
event names nobody) is left empty for the inbox to find (``InboundMessage.handle``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from frontdesk.connectors.base import ChannelStateChange, InboundMessage, ProfileUpdate

if TYPE_CHECKING:
    from frontdesk.connectors.unipile.connector import UnipileConnector


class MalformedEvent(ValueError):
    """A webhook body that cannot be understood (answered with 400)."""


# v2 account events (https://developer.unipile.com/v2.0/reference/event-types-1 and
# /v2.0/docs/migration-webhooks) in the v1 vocabulary of ACCOUNT_STATES.
V2_STATUS = {
    "account.status.running": "OK",
    "account.status.disconnected": "CREDENTIALS",
    "account.status.errored": "ERROR",
    "account.status.paused": "PAUSED",
    "account.remove": "DELETED",
}


# Unipile's account statuses (v1 vocabulary) as the channel's state and the error shown.
ACCOUNT_STATES = {
    "OK": ("connected", ""),
    "SYNC_SUCCESS": ("connected", ""),
    "RECONNECTED": ("connected", ""),
    "CREATION_SUCCESS": ("connected", ""),
    "CREDENTIALS": ("needs_reconnect", "Unipile lost the account's session: reconnect it"),
    "ERROR": ("error", "Unipile stopped syncing the account after an error"),
    "STOPPED": ("error", "Unipile stopped syncing the account"),
    "PAUSED": ("error", "Unipile paused the account: no active Unipile subscription"),
    "PERMISSIONS": (
        "needs_reconnect",
        "Unipile lacks a permission it needs on the account: reconnect it",
    ),
    "CREATION_FAIL": ("error", "Unipile could not add the account"),
    "CONNECTING": ("connecting", ""),
    "DELETED": ("disconnected", "the account was deleted in Unipile"),
}


def iso_ms(value: datetime) -> str:
    """Unipile's datetime filter format: ``YYYY-MM-DDTHH:MM:SS.sssZ``."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def trimmed(value: Any, limit: int = 500) -> str:
    """A string field stripped and cut to ``limit`` ("" when it is not a string)."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def attachment_refs(value: Any, v2: bool = False) -> list[dict[str, Any]]:
    """Attachment descriptors from a v1 webhook (one object or a list, flags as strings) or
    listed message (``file_name``, ``unavailable``), or from a v2 Message (``filename``,
    ``is_unavailable``)."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    name_key, unavailable_key = (
        ("filename", "is_unavailable") if v2 else ("file_name", "unavailable")
    )
    refs: list[dict[str, Any]] = []
    for item in items[:20]:
        if not isinstance(item, dict) or not trimmed(item.get("id")):
            continue
        if str(item.get(unavailable_key)).lower() == "true":
            continue
        att_id = trimmed(item["id"])
        mimetype = trimmed(item.get("mimetype"), 200) or "application/octet-stream"
        name = trimmed(item.get(name_key), 200)
        if not name:
            ext = mimetype.split("/")[-1].split(";")[0] if "/" in mimetype else "bin"
            name = f"{trimmed(item.get('type'), 20) or 'file'}-{len(refs) + 1}.{ext}"
        size = item.get("file_size")
        refs.append(
            {
                "id": att_id,
                "name": name,
                "mimetype": mimetype,
                "size": int(size) if isinstance(size, int | float) else None,
            }
        )
    return refs


def chat_activity(chat: dict[str, Any]) -> datetime | None:
    """When a listed chat was last active: v1 ``timestamp``, v2 ``last_message_timestamp``
    (else ``updated_at``; v2 chats have no ``timestamp``)."""
    for key in ("timestamp", "last_message_timestamp", "updated_at"):
        found = parse_time(chat.get(key))
        if found:
            return found
    return None


def v2_person(user: Any) -> tuple[str, str, dict[str, str]]:
    """A v2 User object's id, display name and profile links."""
    if not isinstance(user, dict):
        return "", "", {}
    profile = {
        "profile_url": trimmed(user.get("profile_url"), 1000),
        "picture_url": trimmed(user.get("public_picture_url"), 1000),
    }
    return (
        trimmed(user.get("id"), 320),
        trimmed(user.get("display_name"), 300),
        {k: v for k, v in profile.items() if v},
    )


def chat_participant(chat: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """A v2 Chat's 1to1 participant (``user_id``, ``user``): id, display name, profile links."""
    handle, name, profile = v2_person(chat.get("user"))
    return trimmed(chat.get("user_id"), 320) or handle, name, profile


def profile_links(profile: dict[str, str]) -> ProfileUpdate | None:
    """A sender's picture and profile link as a message shows them (blanks filled)."""
    picture, url = profile.get("picture_url") or "", profile.get("profile_url") or ""
    return ProfileUpdate(picture=picture, url=url) if picture or url else None


def seen_status(message: dict[str, Any]) -> str:
    """A message the account sent, as Unipile lists it: "read" when the other side has seen
    it (v2 ``is_seen``; v1 ``seen``, which for a sent message means read by the recipient,
    where the network tells), "delivered" when v2 says ``is_delivered``, else "" (sent)."""
    if message.get("is_seen") is True or message.get("seen") in (True, 1, "1", "true"):
        return "read"
    return "delivered" if message.get("is_delivered") is True else ""


def message_ids(answer: dict[str, Any]) -> list[str]:
    """The sent message's id (v1), or ids (v2's ``message_id`` may be a list)."""
    found = answer.get("message_id")
    values = found if isinstance(found, list) else [found]
    return [str(v)[:500] for v in values if isinstance(v, str | int) and str(v)]


def profile_update(profile: dict[str, Any], v2: bool) -> ProfileUpdate:
    """What a profile says, whichever version answered. v1 (OAS1 ``GET /users/{id}``):
    ``profile_picture_url``, ``headline``, ``work_experience``; v2
    (``GetUserProfile200Response``): ``public_picture_url``, ``description`` (the headline
    LinkedIn shows under the name), no work history without sections."""
    jobs = [j for j in profile.get("work_experience") or [] if isinstance(j, dict)]
    current = next((j for j in jobs if j.get("current")), jobs[0] if jobs else None)
    public = trimmed(profile.get("public_identifier"), 200)
    names = (trimmed(profile.get("first_name"), 150), trimmed(profile.get("last_name"), 150))
    return ProfileUpdate(
        name=" ".join(p for p in names if p),
        picture=trimmed(profile.get("public_picture_url" if v2 else "profile_picture_url"), 1000),
        company=trimmed((current or {}).get("company"), 300),
        headline=trimmed(profile.get("description" if v2 else "headline"), 500),
        url=f"https://www.linkedin.com/in/{public}/" if public else "",
        location=trimmed(profile.get("location"), 200),
        complete=True,
    )


def account_state(status: str) -> ChannelStateChange:
    """An account status event (v1 ``AccountStatus.message``, v2 event type) as a value."""
    status = V2_STATUS.get(status, status).upper()
    if status not in ACCOUNT_STATES:
        raise MalformedEvent(f"unknown account status {status!r}")
    return ChannelStateChange(*ACCOUNT_STATES[status])


def v1_message(connector: UnipileConnector, event: dict[str, Any]) -> InboundMessage:
    """A ``message_received`` webhook as an ``InboundMessage`` (attachments not yet fetched)."""
    message_id = trimmed(event.get("message_id"))
    chat_id = trimmed(event.get("chat_id"))
    if not message_id or not chat_id:
        raise MalformedEvent("message_id and chat_id are required")
    sender = event.get("sender")
    if not isinstance(sender, dict):
        raise MalformedEvent("sender must be an object")
    sender_id = trimmed(sender.get("attendee_provider_id"), 320)
    if not sender_id:
        raise MalformedEvent("sender.attendee_provider_id is required")
    text = event.get("message")
    if text is not None and not isinstance(text, str):
        raise MalformedEvent("message must be a string")
    info = event.get("account_info") if isinstance(event.get("account_info"), dict) else {}
    owner = trimmed((info or {}).get("user_id"), 320)
    outbound = event.get("is_sender") in (True, 1, "true", "1") or (
        bool(owner) and sender_id == owner
    )
    name = trimmed(sender.get("attendee_name"), 300)
    profile = {
        "profile_url": trimmed(sender.get("attendee_profile_url"), 1000),
        "picture_url": trimmed(sender.get("attendee_picture_url"), 1000),
    }
    if outbound:
        other = None
        attendees = event.get("attendees")
        for attendee in attendees if isinstance(attendees, list) else []:
            if not isinstance(attendee, dict):
                continue
            pid = trimmed(attendee.get("attendee_provider_id"), 320)
            if pid and pid not in (sender_id, owner):
                other = attendee
                break
        if other is not None:
            handle = trimmed(other.get("attendee_provider_id"), 320)
            name = trimmed(other.get("attendee_name"), 300)
            profile = {"profile_url": trimmed(other.get("attendee_profile_url"), 1000)}
        else:  # no other attendee named: the inbox knows the chat's (webhook_recipient)
            handle, name, profile = "", "", {}
    else:
        handle = sender_id
    if handle and not connector.handle_for_attendee(handle):
        raise MalformedEvent(f"{handle[:40]!r} is not a valid {connector.handle_kind} handle")
    return _inbound(
        connector,
        event,
        message_id=message_id,
        chat_id=chat_id,
        handle=handle,
        name=name,
        text=text,
        outbound=outbound,
        profile=profile,
        kept={k: v for k, v in profile.items() if v},
    )


def v2_event_message(connector: UnipileConnector, event: dict[str, Any]) -> InboundMessage:
    """A v2 ``message.new`` Event (its payload is the Message object: V2EV, V2MIG)."""
    payload = event.get("payload")
    if not isinstance(payload, dict):
        raise MalformedEvent("payload must be an object")
    return v2_message(connector, payload)


def v2_message(
    connector: UnipileConnector, message: dict[str, Any], chat: dict[str, Any] | None = None
) -> InboundMessage:
    """A v2 Message object (webhook payload or listed message) as an ``InboundMessage``.

    Fields (unipile-python ``GetMessagesList200ResponseDataInner``): ``id``, ``chat_id``,
    ``sender_id``, ``text``, ``timestamp``, ``is_sender``, ``sender`` (a User:
    ``display_name``, ``profile_url``, ``public_picture_url``), ``attachments``
    (``filename``, ``is_unavailable``), ``quoted``. A message the account sent goes to
    the chat's 1to1 participant: the listed ``chat``'s ``user_id`` and ``user``; a pushed
    one names nobody, the inbox finds out (the chat's conversation, else
    ``webhook_recipient``).
    """
    message_id = trimmed(message.get("id"))
    chat_id = trimmed(message.get("chat_id")) or trimmed((chat or {}).get("id"))
    if not message_id or not chat_id:
        raise MalformedEvent("payload.id and payload.chat_id are required")
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        raise MalformedEvent("payload.text must be a string")
    sender_id, name, profile = v2_person(message.get("sender"))
    sender_id = trimmed(message.get("sender_id"), 320) or sender_id
    outbound = message.get("is_sender") is True
    if outbound:
        handle, name, profile = "", "", {}
        if chat is not None:
            handle, name, profile = chat_participant(chat)
            if not handle:
                raise MalformedEvent("no recipient known for a sent message")
    else:
        handle = sender_id
        if not handle:
            raise MalformedEvent("payload.sender_id is required")
    if handle and not connector.handle_for_attendee(handle):
        raise MalformedEvent(f"{handle[:40]!r} is not a valid {connector.handle_kind} handle")
    return _inbound(
        connector,
        message,
        message_id=message_id,
        chat_id=chat_id,
        handle=handle,
        name=name,
        text=text,
        outbound=outbound,
        delivery=seen_status(message) if outbound else "",
        profile=profile,
        kept=profile,
        v2=True,
    )


def listed_v1_message(
    connector: UnipileConnector,
    chat: dict[str, Any],
    message: dict[str, Any],
    people: dict[str, dict[str, Any]],
) -> InboundMessage | None:
    """A v1 listed message (``GET /chats/{id}/messages``) of a v1 listed chat."""
    message_id = trimmed(message.get("id"))
    sender_id = trimmed(message.get("sender_id"), 320)
    if not message_id:
        return None
    outbound = message.get("is_sender") in (True, 1, "true", "1")
    if outbound:
        others = [p for p, a in people.items() if not a.get("is_self")]
        handle = others[0] if others else trimmed(chat.get("attendee_provider_id"), 320)
    else:
        handle = sender_id
    if not handle:
        return None
    person = people.get(handle, {})
    profile = {k: trimmed(person.get(k), 1000) for k in ("profile_url", "picture_url")}
    return _inbound(
        connector,
        message,
        message_id=message_id,
        chat_id=trimmed(chat.get("id")),
        handle=handle,
        name=trimmed(
            person.get("name")
            or (
                chat.get("name") if handle == trimmed(chat.get("attendee_provider_id"), 320) else ""
            ),
            300,
        ),
        text=message.get("text"),
        outbound=outbound,
        delivery=seen_status(message) if outbound else "",
        profile=profile,
        # the contact's picture is kept for a message they sent, not one sent to them
        kept={
            k: v
            for k, v in profile.items()
            if person.get(k) and (k == "profile_url" or not outbound)
        },
    )


def _inbound(
    connector: UnipileConnector,
    message: dict[str, Any],
    *,
    message_id: str,
    chat_id: str,
    handle: str,
    name: str,
    text: Any,
    outbound: bool,
    profile: dict[str, str],
    kept: dict[str, str],
    delivery: str = "",
    v2: bool = False,
) -> InboundMessage:
    """The ``InboundMessage`` of a message pushed (webhook) or listed (sync), v1 or v2, once
    its fields are read: ``message`` is the object holding its ``timestamp``, ``quoted`` and
    ``attachments`` (v2 names); ``profile`` the sender's links the message shows, ``kept``
    those stored in ``extra``."""
    quoted = message.get("quoted")
    return InboundMessage(
        provider_id=message_id,
        handle=connector.handle_for_attendee(handle),
        text=text if isinstance(text, str) else "",
        contact_name=name,
        thread_key=chat_id,
        reply_to_provider_id=trimmed(quoted.get("id")) if isinstance(quoted, dict) else "",
        sent_at=parse_time(message.get("timestamp")),
        outbound=outbound,
        delivery=delivery,
        profile=profile_links(profile),
        extra={
            "unipile": {
                "chat_id": chat_id,
                "attachments": attachment_refs(message.get("attachments"), v2=v2),
                **kept,
            }
        },
    )
