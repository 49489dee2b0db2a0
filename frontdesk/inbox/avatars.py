"""A contact's picture, copied from the provider into our storage by the worker.

Provider picture links (LinkedIn's CDN) expire after a while, and the pages only load images
from Frontdesk itself (CSP ``img-src 'self'``), which also keeps the team's browsers from
telling a third party who looks at which contact. So a connector that learns a picture URL
sets ``Contact.avatar_url`` and calls ``tasks.copy_later``; the worker fetches it once
(:func:`copy_avatar`).
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from frontdesk.connectors import http as outbound
from frontdesk.connectors.http import transport
from frontdesk.inbox import events
from frontdesk.inbox.attachments import sniff_content_type
from frontdesk.inbox.models import Contact

log = logging.getLogger(__name__)

MAX_AVATAR_BYTES = 2 * 1024 * 1024
_IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
_MAX_REDIRECTS = 3


class AvatarUnavailable(Exception):
    """The picture cannot be had (gone, not an image, too large): trying again will not help."""


def fetch_image(url: str) -> tuple[bytes, str]:
    """GET an https image (redirects followed only to https), at most ``MAX_AVATAR_BYTES``.

    Raises ``AvatarUnavailable`` for answers that will not change, ``httpx.HTTPError`` for
    ones worth retrying (timeouts, 5xx, 429).
    """
    seconds = settings.FRONTDESK_HTTP_TIMEOUT
    with outbound.deadline(seconds), httpx.Client(transport=transport(), timeout=seconds) as client:
        for _ in range(_MAX_REDIRECTS + 1):
            if not url.startswith("https://"):
                raise AvatarUnavailable(f"not an https link: {url[:200]}")
            _refuse_private(url)  # and the transport checks what it connects to (DNS rebinding)
            with client.stream("GET", url, headers={"Accept": "image/*"}) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code == 429 or response.status_code >= 500:
                    response.raise_for_status()
                if response.status_code != 200:
                    raise AvatarUnavailable(f"HTTP {response.status_code}")
                data = bytearray()
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_AVATAR_BYTES:
                        raise AvatarUnavailable(f"over {MAX_AVATAR_BYTES} bytes")
                content_type = sniff_content_type(bytes(data[:64]), "", "")
                if content_type not in _IMAGE_TYPES:
                    raise AvatarUnavailable("not a JPEG, PNG, GIF or WebP image")
                return bytes(data), content_type
        raise AvatarUnavailable("too many redirects")


def _refuse_private(url: str) -> None:
    """A picture link is the provider's (or a sender's) word: it must not make the worker
    reach into the network it runs in (loopback, private ranges, cloud metadata)."""
    parts = urlsplit(url)
    try:
        addresses = outbound.resolve(parts.hostname or "", parts.port or 443)
    except OSError as exc:
        raise httpx.ConnectError(f"cannot resolve {parts.hostname}: {exc}") from exc
    for address in addresses:
        if refused := outbound.not_public(address):
            raise AvatarUnavailable(refused)


def content_type(contact: Contact) -> str:
    """The stored picture's type, known from the extension it was saved with."""
    return stored_type(contact.avatar.name)


def stored_type(name: str | None) -> str:
    """A stored picture's type, from the extension ``picture_name`` gave it."""
    ext = (name or "").rsplit(".", 1)[-1].lower()
    return next((t for t, e in _IMAGE_TYPES.items() if e == ext), "application/octet-stream")


def picture_name(prefix: object, data: bytes) -> str:
    """A file name for a picture: a new picture is a new name (and URL); ValueError, in words,
    unless the bytes are a JPEG, PNG, GIF or WebP image of at most ``MAX_AVATAR_BYTES``."""
    if len(data) > MAX_AVATAR_BYTES:
        raise ValueError(f"A picture is at most {MAX_AVATAR_BYTES // (1024 * 1024)} MB.")
    found = sniff_content_type(data[:64], "", "")
    if found not in _IMAGE_TYPES:
        raise ValueError("That file is not a picture: choose a JPEG, PNG, GIF or WebP image.")
    return f"{prefix}-{hashlib.sha256(data).hexdigest()[:16]}.{_IMAGE_TYPES[found]}"


def copy_avatar(contact_id: int, url: str) -> str:
    """Store the picture at ``url`` as the contact's avatar, unless the contact has moved on
    to another picture (or is gone) meanwhile."""
    try:
        data, _ = fetch_image(url)
    except AvatarUnavailable as exc:
        log.info("no picture for contact %s: %s", contact_id, exc)
        return "unavailable"
    name = picture_name(contact_id, data)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(pk=contact_id).first()
        if contact is None or contact.avatar_url != url:
            return "stale"
        old = contact.avatar.name
        contact.avatar.save(name, ContentFile(data), save=False)
        contact.save(update_fields=["avatar", "updated_at"])
        if old and old != contact.avatar.name:
            transaction.on_commit(lambda: contact.avatar.storage.delete(old))
        events.contact_updated(contact.workspace_id, contact.pk)
    return "stored"
