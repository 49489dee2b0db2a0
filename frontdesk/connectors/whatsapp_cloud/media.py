"""Fetching inbound media: id -> URL (Graph API) -> bytes (bearer token), checked.

Called by the inbox's ``fetch_media`` job through ``Connector.download``, which stores it. The URL must be on the configured Graph host or one of Meta's media
hosts (``media_hosts`` in the channel config); anything else is never fetched. The size is
checked before and while downloading, and the sha256 Meta announced must match.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from frontdesk.connectors import http as outbound
from frontdesk.connectors.base import InboundAttachment, ProviderCallError
from frontdesk.connectors.whatsapp_cloud.client import Graph, GraphError, GraphUnreachable

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

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


def _refused(reason: str, reconnect: bool = False) -> ProviderCallError:
    """Fetching this media can never work (off-host URL, too big, a refused token)."""
    return ProviderCallError(reason, reconnect=reconnect)


def _retry(reason: str) -> ProviderCallError:
    """Worth another try later (Meta unreachable, a 5xx, a checksum that did not match)."""
    return ProviderCallError(reason, retry=True)


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


def fetch(channel: ChannelPort, graph: Graph, media: Mapping[str, Any]) -> InboundAttachment:
    """Fetch one message's media (its ``extra["media"]``: id, sha256, mime_type, filename)."""
    limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
    try:
        info = graph.get(str(media.get("id", "")))
    except GraphUnreachable as exc:
        raise _retry(str(exc)) from None
    except GraphError as exc:
        if exc.transient:
            raise _retry(exc.reason) from None
        raise _refused(exc.reason, reconnect=exc.needs_reconnect) from None
    url = str(info.get("url") or "")
    if not allowed_host(channel, url):
        raise _refused(f"media URL is not on an allowed Meta host: {urlsplit(url).netloc!r}")
    try:
        announced = int(info.get("file_size") or 0)
    except (TypeError, ValueError):
        announced = 0
    if announced > limit:
        raise _refused(f"media is {announced} bytes, over the {limit}-byte limit")
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
                raise _retry(f"media download answered HTTP {response.status_code}")
            if response.status_code >= 400:
                raise _refused(f"media download answered HTTP {response.status_code}")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > limit:
                raise _refused(f"media is {declared} bytes, over the {limit}-byte limit")
            for chunk in response.iter_bytes(65536):
                size += len(chunk)
                if size > limit:
                    raise _refused(f"media is over the {limit}-byte limit")
                digest.update(chunk)
                chunks.append(chunk)
            content_type = response.headers.get("Content-Type", "")
    except httpx.HTTPError as exc:
        raise _retry(f"media download failed: {exc.__class__.__name__}") from None
    expected = str(media.get("sha256") or info.get("sha256") or "")
    if not _sha_matches(expected, digest.digest()):
        raise _retry("media checksum does not match what WhatsApp announced")
    mime = str(media.get("mime_type") or info.get("mime_type") or content_type)
    name = str(media.get("filename") or "") or (
        f"{media.get('kind', 'media')}-{media.get('id', '')}"
        + _EXTENSIONS.get(mime.split(";")[0].strip(), "")
    )
    return InboundAttachment(name=name, content_type=mime, data=b"".join(chunks))
