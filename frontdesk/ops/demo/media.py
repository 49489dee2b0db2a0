"""The demo's files, made on the spot (no binary in the repository): a photo (PNG), a
quote (PDF) and a voice note (Ogg Opus, as WhatsApp records them; its sound is silence)."""

from __future__ import annotations

import math
import struct
import zlib


def png(width: int = 480, height: int = 320, hue: int = 0) -> bytes:
    """A picture: a sky-to-sand gradient with a sun, tinted by ``hue`` (0-2)."""
    rows = bytearray()
    sun = (width * 0.7, height * 0.35, height * 0.14)
    for y in range(height):
        rows.append(0)
        t = y / height
        for x in range(width):
            if math.hypot(x - sun[0], y - sun[1]) < sun[2]:
                rgb = (255, 214, 102)
            elif t < 0.62:
                rgb = (int(90 + 120 * t), int(150 + 90 * t), 235)
            else:
                rgb = (int(222 - 40 * (t - 0.62)), int(196 - 50 * (t - 0.62)), 150)
            rows += bytes(rgb[hue:] + rgb[:hue])

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF with a title and lines of text."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = [f"BT /F1 20 Tf 72 760 Td ({esc(title)}) Tj ET"]
    for n, line in enumerate(lines):
        text.append(f"BT /F1 12 Tf 72 {720 - 20 * n} Td ({esc(line)}) Tj ET")
    stream = "\n".join(text).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(serial: int, sequence: int, granule: int, flags: int, packets: list[bytes]) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + lacing + b"".join(packets))
    page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
    return bytes(page)


def voice_note(seconds: float = 4.0) -> bytes:
    """An Ogg Opus file of ``seconds`` of silence (20 ms frames), as a voice note."""
    serial = 0x5EED
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"frontdesk demo"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_ogg_page(serial, 0, 0, 2, [head]), _ogg_page(serial, 1, 0, 0, [tags])]
    frames = int(seconds * 50)
    silence = b"\xf8\xff\xfe"  # an Opus CELT frame of silence, 20 ms
    sequence, granule, done = 2, 312, 0
    while done < frames:
        batch = min(50, frames - done)
        done += batch
        granule += batch * 960
        flags = 4 if done == frames else 0
        pages.append(_ogg_page(serial, sequence, granule, flags, [silence] * batch))
        sequence += 1
    return b"".join(pages)
