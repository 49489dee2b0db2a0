"""Storing attachment files (safe names, a size limit, content type sniffed from the bytes)
and the originals of messages as the provider delivered them."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import unicodedata

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from frontdesk.connectors.base import (
    ORIGINAL_KEY,
    InboundAttachment,
    InboundMessage,
    InboundOriginal,
)
from frontdesk.inbox.models import Attachment, Message

_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
]


def sniff_content_type(data: bytes, name: str, declared: str) -> str:
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    declared = (declared or "").split(";")[0].strip().lower()
    # Never trust a declared type that a browser would render as a page.
    if declared and declared not in {"text/html", "application/xhtml+xml", "image/svg+xml"}:
        return declared
    guessed = mimetypes.guess_type(name)[0]
    if guessed and guessed not in {"text/html", "application/xhtml+xml", "image/svg+xml"}:
        return guessed
    return "application/octet-stream"


_UNSAFE = re.compile(r"[^\w.\- ()\[\]+@,]")


def safe_filename(name: str) -> str:
    """Keep the last path part, drop control characters and anything odd."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\x00", "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:140] + dot + ext[:9]) if dot else name[:150]
    return name or "attachment"


class AttachmentTooLarge(ValueError):
    pass


def _store_file(message: Message, item: InboundAttachment, limit: int) -> Attachment:
    """An attachment whose data is in a file: hashed and copied in chunks, never read whole."""
    size = os.path.getsize(item.path)
    if size > limit:
        raise AttachmentTooLarge(f"{item.name}: {size} bytes is over the {limit}-byte limit")
    name = safe_filename(item.name)
    digest = hashlib.sha256()
    with open(item.path, "rb") as fh:
        head = fh.read(64)
        digest.update(head)
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
        fh.seek(0)
        attachment = Attachment(
            workspace_id=message.workspace_id,
            message=message,
            name=name,
            content_type=sniff_content_type(head, name, item.content_type),
            size=size,
            sha256=digest.hexdigest(),
        )
        attachment.file.save(name, File(fh), save=False)
    attachment.save()
    return attachment


def store_attachment(message: Message, item: InboundAttachment) -> Attachment:
    limit = settings.FRONTDESK_MAX_ATTACHMENT_BYTES
    if item.path:
        return _store_file(message, item, limit)
    if len(item.data) > limit:
        raise AttachmentTooLarge(
            f"{item.name}: {len(item.data)} bytes is over the {limit}-byte limit"
        )
    name = safe_filename(item.name)
    attachment = Attachment(
        workspace_id=message.workspace_id,
        message=message,
        name=name,
        content_type=sniff_content_type(item.data[:64], name, item.content_type),
        size=len(item.data),
        sha256=hashlib.sha256(item.data).hexdigest(),
    )
    attachment.file.save(name, ContentFile(item.data), save=False)
    attachment.save()
    return attachment


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_original(channel_id: int, original: InboundOriginal) -> str:
    """Keep a message's original (``InboundMessage.original``) in the file storage, once per
    content: its key, ``<folder>/<channel id>/<sha256[:2]>/<sha256><suffix>``. A file is
    read in chunks, never whole; one already kept is not written again (a resync)."""
    if original.path:
        digest = _file_digest(original.path)
    else:
        digest = hashlib.sha256(original.data).hexdigest()
    key = f"{original.folder}/{channel_id}/{digest[:2]}/{digest}{original.suffix}"
    if default_storage.exists(key):
        return key
    if original.path:
        with open(original.path, "rb") as fh:
            return default_storage.save(key, File(fh))
    return default_storage.save(key, ContentFile(original.data))


def keep_original(channel_id: int, item: InboundMessage) -> None:
    """Store a message's original (``InboundMessage.original``) and name it in its
    ``extra[ORIGINAL_KEY]``; the item then has no original left to store. Done before the
    message's transaction where it can be (``inbox/sync.py``: a large file written inside
    one would hold SQLite's one writer, ADR 0003), else by ``ingest`` before the row."""
    if item.original is None:
        return
    item.extra = {**item.extra, ORIGINAL_KEY: store_original(channel_id, item.original)}
    item.original = None
