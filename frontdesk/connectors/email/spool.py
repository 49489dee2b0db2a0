"""Large messages without holding them in memory at once.

A message over ``FRONTDESK_EMAIL_LARGE_BYTES`` is fetched in slices
(``BODY.PEEK[]<offset.length>``) into a temporary file. ``spool_large_parts`` then reads
that file line by line, follows the MIME boundaries, and decodes every large base64 leaf
straight into its own temporary file; the "reduced" message it returns keeps all headers
and small parts, and marks each spooled leaf with ``X-Frontdesk-Spooled: <n>`` and an
empty body, so the usual parser reads it in a few kilobytes.
"""

from __future__ import annotations

import binascii
import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from typing import BinaryIO

SPOOL_HEADER = "X-Frontdesk-Spooled"
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")


@dataclass
class Spooled:
    reduced: bytes
    files: dict[str, str] = field(default_factory=dict)  # marker -> path of the decoded data


class _Base64Sink:
    def __init__(self, directory: str) -> None:
        fd, self.path = tempfile.mkstemp(dir=directory, suffix=".part")
        self.fh = os.fdopen(fd, "wb")
        self.rest = b""

    def write(self, line: bytes) -> None:
        data = self.rest + line.translate(None, b" \t\r\n")
        if not data.isalnum() and _B64_JUNK.search(data):
            data = _B64_JUNK.sub(b"", data)  # rare: characters outside the alphabet
        cut = len(data) - len(data) % 4
        if cut:
            with contextlib.suppress(binascii.Error):  # a damaged chunk: keep what decodes
                self.fh.write(binascii.a2b_base64(data[:cut]))
        self.rest = data[cut:]

    def close(self) -> None:
        if self.rest:
            with contextlib.suppress(binascii.Error):
                self.fh.write(binascii.a2b_base64(self.rest + b"=" * (-len(self.rest) % 4)))
        self.fh.close()


def _entity(header_block: bytes) -> tuple[str, str, str]:
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(header_block)
    ctype = headers.get_content_type()
    boundary = headers.get_boundary() or "" if ctype.startswith("multipart/") else ""
    encoding = str(headers.get("Content-Transfer-Encoding", "")).strip().lower()
    return ctype, boundary, encoding


def spool_large_parts(src: BinaryIO, directory: str, threshold: int = 256 * 1024) -> Spooled:
    """Split ``src`` (a raw message file) into a small message and decoded large parts."""
    out: list[bytes] = []
    files: dict[str, str] = {}
    boundaries: list[bytes] = []
    state = "headers"
    header_lines: list[bytes] = []
    leaf_lines: list[bytes] = []
    leaf_size = 0
    sink: _Base64Sink | None = None
    leaf_headers = b""

    def end_leaf() -> None:
        nonlocal sink, leaf_lines, leaf_size
        if sink is not None:
            sink.close()
            marker = str(len(files) + 1)
            files[marker] = sink.path
            out.append(f"{SPOOL_HEADER}: {marker}\r\n".encode() + leaf_headers + b"\r\n")
        else:
            out.append(leaf_headers + b"".join(leaf_lines))
        sink, leaf_lines, leaf_size = None, [], 0

    for line in src:
        stripped = line.rstrip(b"\r\n")
        hit = None
        if stripped.startswith(b"--") and boundaries:
            for depth in range(len(boundaries) - 1, -1, -1):
                b = boundaries[depth]
                if stripped == b"--" + b or stripped == b"--" + b + b"--":
                    hit = depth
                    break
        if hit is not None:
            if state == "leaf":
                end_leaf()
            elif state == "headers" and header_lines:
                out.append(b"".join(header_lines))
                header_lines = []
            del boundaries[hit + 1 :]
            out.append(line)
            if stripped.endswith(b"--") and stripped == b"--" + boundaries[hit] + b"--":
                boundaries.pop()
                state = "text"  # the epilogue: copied as is
            else:
                state = "headers"
            continue
        if state == "headers":
            header_lines.append(line)
            if stripped == b"":
                block = b"".join(header_lines)
                header_lines = []
                _, boundary, encoding = _entity(block)
                if boundary:
                    boundaries.append(boundary.encode("latin-1", "replace"))
                    out.append(block)
                    state = "text"  # the preamble
                else:
                    leaf_headers = block
                    state = "leaf" if encoding == "base64" else "text-leaf"
                    if state == "text-leaf":
                        out.append(block)
            continue
        if state == "leaf":
            if sink is not None:
                sink.write(line)
                continue
            leaf_lines.append(line)
            leaf_size += len(line)
            if leaf_size > threshold:
                sink = _Base64Sink(directory)
                for buffered in leaf_lines:
                    sink.write(buffered)
                leaf_lines = []
            continue
        out.append(line)  # preamble, epilogue, a non-base64 leaf
    if state == "leaf":
        end_leaf()
    elif header_lines:
        out.append(b"".join(header_lines))
    return Spooled(b"".join(out), files)
