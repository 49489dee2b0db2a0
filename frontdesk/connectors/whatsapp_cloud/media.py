"""Fetching inbound media: id -> URL (Graph API) -> bytes (bearer token), checked and stored.

Runs in the worker. The URL must be on the configured Graph host or one of Meta's media
hosts (``media_hosts`` in the channel config); anything else is never fetched. The size is
checked before and while downloading, and the sha256 Meta announced must match.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from frontdesk.connectors import http as outbound
from frontdesk.connectors.base import InboundAttachment
from frontdesk.connectors.whatsapp_cloud import effects
from frontdesk.connectors.whatsapp_cloud.graph import GraphError, GraphUnreachable
from frontdesk.inbox.models import Message

log = logging.getLogger("frontdesk.whatsapp")

DEFAULT_MEDIA_HOSTS = ("lookaside.fbsbx.com",)
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/aac": ".aac",
    "audio/mp4": ".m4a",
    "audio/amr": ".amr",
    "application/pdf": ".pdf",
}


class MediaRefused(Exception):
    """Fetching this media can never work (off-host URL, too big, checksum mismatch)."""


class MediaRetry(Exception):
    """Worth another try later."""


def _sha_matches(expected: str, digest: bytes) -> bool:
    expected = expected.strip()
    if not expected:
        return True
    return expected.lower() == digest.hex() or expected == base64.b64encode(digest).decode()


def allowed_host(channel, url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    graph_host = urlsplit(channel.config.get("graph_url") or "").netloc.lower()
    hosts = {
        graph_host,
        *[h.lower() for h in channel.config.get("media_hosts", DEFAULT_MEDIA_HOSTS)],
    }
    if parts.netloc.lower() not in hosts:
        return False
    # Real Meta hosts are only ever fetched over https.
    return parts.scheme == "https" or parts.netloc.lower() == graph_host


def fetch(message: Message) -> str:
    """Fetch and store one message's media. Returns the new media state."""
    from frontdesk.connectors.whatsapp_cloud.connector import graph_for

    channel = message.channel
    media = message.extra.get("media") or {}
    if media.get("state") == "stored":
        return "stored"
    limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
    graph = graph_for(channel)
    try:
        info = graph.get(str(media.get("id", "")))
    except GraphUnreachable as exc:
        raise MediaRetry(str(exc)) from None
    except GraphError as exc:
        if exc.transient:
            raise MediaRetry(exc.reason) from None
        if exc.needs_reconnect:
            effects.needs_reconnect(channel, exc.reason)
        raise MediaRefused(exc.reason) from None
    url = str(info.get("url") or "")
    if not allowed_host(channel, url):
        raise MediaRefused(f"media URL is not on an allowed Meta host: {urlsplit(url).netloc!r}")
    try:
        announced = int(info.get("file_size") or 0)
    except (TypeError, ValueError):
        announced = 0
    if announced > limit:
        raise MediaRefused(f"media is {announced} bytes, over the {limit}-byte limit")
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    size = 0
    try:
        with outbound.stream(
            "GET",
            url,
            headers=graph.headers,
            timeout=graph.timeout,
            whole=settings.FRONTDESK_HTTP_TRANSFER_TIMEOUT,
        ) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise MediaRetry(f"media download answered HTTP {response.status_code}")
            if response.status_code >= 400:
                raise MediaRefused(f"media download answered HTTP {response.status_code}")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > limit:
                raise MediaRefused(f"media is {declared} bytes, over the {limit}-byte limit")
            for chunk in response.iter_bytes(65536):
                size += len(chunk)
                if size > limit:
                    raise MediaRefused(f"media is over the {limit}-byte limit")
                digest.update(chunk)
                chunks.append(chunk)
            content_type = response.headers.get("Content-Type", "")
    except httpx.HTTPError as exc:
        raise MediaRetry(f"media download failed: {exc.__class__.__name__}") from None
    expected = str(media.get("sha256") or info.get("sha256") or "")
    if not _sha_matches(expected, digest.digest()):
        raise MediaRetry("media checksum does not match what WhatsApp announced")
    mime = str(media.get("mime_type") or info.get("mime_type") or content_type)
    name = str(media.get("filename") or "") or (
        f"{media.get('kind', 'media')}-{media.get('id', '')}"
        + _EXTENSIONS.get(mime.split(";")[0].strip(), "")
    )
    effects.attach_media(
        message, InboundAttachment(name=name, content_type=mime, data=b"".join(chunks))
    )
    return "stored"
