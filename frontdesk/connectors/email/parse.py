"""One raw RFC 5322 message -> plain values (stdlib ``email``, ``policy=default``).

Everything here is defensive: broken boundaries, unknown charsets, 8-bit headers,
missing Message-IDs and hostile HTML must never stop a sync. The HTML is sanitized with
nh3 (no scripts, iframes, styles, event handlers or ``javascript:`` links) and remote
images are kept but counted (``remote_images``): the inbox frame's CSP blocks them until
someone allows them, so "show images" works without re-parsing.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import TYPE_CHECKING

import nh3

MAX_RECIPIENTS_KEPT = 100

_MSGID = re.compile(r"<([^<>\s]{1,490})>")


if TYPE_CHECKING:
    _EmailPolicy = EmailPolicy[EmailMessage]
else:
    _EmailPolicy = EmailPolicy


class _ReusingPolicy(_EmailPolicy):
    """``policy.default`` that reuses the header objects it parsed.

    The parser and ``get_content_type()`` & co. read the same few headers many times per
    message, and ``policy.default`` parses a structured header anew on every read: that
    was a fifth of an initial sync. Header objects are immutable, and the same value
    gives the same object, so short values are parsed once per process (a bounded cache).
    """

    _cache: dict[tuple[str, str], object] = {}  # one cache, shared by all uses

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or len(value) > 300:
            return super().header_fetch_parse(name, value)
        key = (name, value)
        found = self._cache.get(key)
        if found is None:
            found = super().header_fetch_parse(name, value)
            if len(self._cache) >= 1024:
                self._cache.clear()
            self._cache[key] = found
        return found


POLICY = _ReusingPolicy()


@dataclass
class ParsedAttachment:
    name: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False
    spooled: str = ""  # the data was decoded to a file beforehand (see spool.py)


@dataclass
class Bounce:
    original_message_id: str
    reason: str


@dataclass
class ParsedEmail:
    message_id: str
    message_id_missing: bool
    subject: str
    from_address: str
    from_name: str
    to: list[str]
    cc: list[str]
    recipients_total: int
    date: datetime | None
    in_reply_to: str
    references: list[str]
    text: str  # the new part (quoted history and signature removed)
    full_text: str
    html: str  # sanitized
    # Where the quoted history starts in ``html`` (0: none found): the thread folds it.
    html_quoted_at: int = 0
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_reply: str = ""  # why this is an automatic message ("" when written by a person)
    list_id: str = ""
    bounce: Bounce | None = None
    remote_images: int = 0
    defects: list[str] = field(default_factory=list)
    body_hash: str = ""
    from_header: str = ""  # the From header as written (shown when it has no usable address)


def _repair(value: str) -> str:
    """8-bit header bytes arrive as surrogate escapes: decode them as UTF-8 (or Latin-1)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def decode_words(value: str) -> str:
    """RFC 2047 encoded words to text; unknown charsets fall back instead of failing."""
    if "=?" not in value or not value.isascii():
        return value  # (8-bit text was repaired already; decode_header would mangle it)
    out = []
    try:
        parts = decode_header(value)
    except Exception:
        return value
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        for candidate in (charset or "", "utf-8"):
            if not candidate:
                continue
            try:
                out.append(chunk.decode(candidate))
                break
            except (LookupError, UnicodeDecodeError):
                continue
        else:
            out.append(chunk.decode("cp1252", "replace"))
    return "".join(out)


def header(msg: Message, name: str) -> str:
    """One header's text. Read from the raw value (the policy's header objects re-parse
    every structured header on each access, which dominated the sync profile)."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            raw = _repair(str(value))
            return " ".join(decode_words(" ".join(raw.split())).split())
    return ""


def message_ids(value: str) -> list[str]:
    return _MSGID.findall(value or "")


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    wanted = name.lower()
    values = [" ".join(_repair(str(v)).split()) for k, v in msg.raw_items() if k.lower() == wanted]
    out = []
    for display, addr in getaddresses(values):
        addr = addr.strip().lower()
        if "@" in addr and len(addr) <= 320 and not any(c in addr for c in "\r\n\x00 "):
            out.append((decode_words(display).strip(), addr))
    return out


def decode_text_part(part: Message) -> str:
    """A text part as str, whatever its charset claims (unknown charsets fall back)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return str(payload)
    charset = (part.get_content_charset() or "").strip().lower()
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", "replace")


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        ctype = part.get_content_type()
        ext = {"message/rfc822": ".eml", "text/calendar": ".ics"}.get(ctype, "")
        if ctype.startswith("image/"):
            ext = "." + ctype.split("/", 1)[1].split("+")[0]
        name = "attachment" + ext
    return _repair(str(name))


# --- HTML --------------------------------------------------------------------------------

_TAGS = nh3.ALLOWED_TAGS | {"font", "center", "img"}
_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "img": {"src", "alt", "width", "height", "title"},
    "a": {"href", "title"},
    "td": {"colspan", "rowspan", "align", "valign", "width"},
    "th": {"colspan", "rowspan", "align", "valign", "width"},
    "table": {"width", "align", "border", "cellpadding", "cellspacing"},
    "font": {"color", "size"},
}
_REMOTE_IMG = re.compile(r'(<img\b[^>]*?)\ssrc="((?:https?:)?//[^"]*)"', re.IGNORECASE)


def sanitize_html(raw: str) -> tuple[str, int]:
    """Safe HTML, and how many remote images (tracking pixels too) it would load."""
    clean = nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid", "tel"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    # nh3 serializes attributes with double quotes, so this count is exact on its output.
    return clean, len(_REMOTE_IMG.findall(clean))


# Where mail programs start the quoted history of a reply: Gmail, Thunderbird, Apple Mail
# (``type=cite``), Outlook (web and desktop), Yahoo and Zoho Mail. Markup is matched before
# sanitizing (which drops these classes and ids).
_QUOTE_START = re.compile(
    r"""<(?:div|blockquote)\b[^>]*?\bclass=["']?[^"'>]*\b"""
    r"""(?:gmail_quote|moz-cite-prefix|yahoo_quoted|zmail_extra)\b"""
    r"""|<(?:div|blockquote)\b[^>]*?\bid=["']?(?:divRplyFwdMsg|appendonsend)\b"""
    r"""|<blockquote\b[^>]*?\btype=["']?cite\b"""
    r"""|<hr\b[^>]*?\bid=["']?stopSpelling\b""",
    re.IGNORECASE,
)
# Joins the two sanitized parts until cid images are inlined; then its offset is the fold.
_QUOTE_MARK = "\x00fd-quoted\x00"


def sanitize_with_quote(raw: str) -> tuple[str, int, int]:
    """Safe HTML split where its quoted history starts: (html with ``_QUOTE_MARK`` at the
    fold, 1 if folded else 0, remote images). Each part is sanitized on its own, so each is
    well-formed; a message that is only quote (nothing new above it) is not folded."""
    found = _QUOTE_START.search(raw)
    if found is None or not html_to_text(raw[: found.start()]).strip():
        html, remote = sanitize_html(raw)
        return html, 0, remote
    new, new_remote = sanitize_html(raw[: found.start()])
    quoted, quoted_remote = sanitize_html(raw[found.start() :])
    if not quoted.strip():
        return new, 0, new_remote
    return new + _QUOTE_MARK + quoted, 1, new_remote + quoted_remote


_INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
INLINE_IMAGE_MAX = 200 * 1024
INLINE_TOTAL_MAX = 1024 * 1024


def inline_cid_images(html: str, attachments: list[ParsedAttachment]) -> str:
    """``cid:`` images become ``data:`` URIs (small raster images only), so they show in a
    frame that loads nothing remote; the images stay stored as attachments too."""
    total = 0
    for item in attachments:
        if not item.content_id or item.content_type not in _INLINE_TYPES or not item.data:
            continue
        if len(item.data) > INLINE_IMAGE_MAX or total + len(item.data) > INLINE_TOTAL_MAX:
            continue
        needle = f'src="cid:{html_lib.escape(item.content_id)}"'
        if needle not in html:
            continue
        total += len(item.data)
        encoded = base64.b64encode(item.data).decode()
        html = html.replace(needle, f'src="data:{item.content_type};base64,{encoded}"')
    return html


def html_to_text(value: str) -> str:
    value = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</h\d>|</li>", "\n", value)
    text = html_lib.unescape(nh3.clean(value, tags=set(), clean_content_tags={"script", "style"}))
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- quoted history ----------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"^(On .{3,200}wrote:|Le .{3,200}a écrit ?:|Am .{3,200}schrieb .{0,80}:|El .{3,200}escribió:"
    r"|-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Forwarded message\s*-{2,}|From: .+)\s*$",
    re.IGNORECASE,
)


def split_quoted(text: str) -> str:
    """The new part of a plain-text reply: drops the quoted history and the signature."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if line.rstrip("\n") == "-- " or stripped == "--":
            cut = i
            break
        if _ATTRIBUTION.match(stripped):
            # an attribution line counts when quoted text (or a header block) follows it
            following = [ln for ln in lines[i + 1 : i + 4] if ln.strip()]
            if stripped.lower().startswith("from:") and not any(
                ln.lower().startswith(("sent:", "to:", "date:", "subject:")) for ln in following
            ):
                continue
            cut = i
            break
        if stripped.startswith(">"):
            rest = [ln for ln in lines[i:] if ln.strip()]
            if all(ln.lstrip().startswith(">") for ln in rest):
                cut = i
                break
    new = "\n".join(lines[:cut]).strip()
    return new or text.strip()


# --- the message -------------------------------------------------------------------------


def _walk_bodies(msg: Message) -> tuple[str, str, list[ParsedAttachment]]:
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[ParsedAttachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):  # a multipart that could not be split
            payload = part.get_payload()
            text_parts.append(payload if isinstance(payload, str) else "")
            continue
        try:
            disposition = (part.get_content_disposition() or "").lower()
        except Exception:
            disposition = ""
        content_id = header(part, "Content-ID").strip("<> ")
        spooled = header(part, "X-Frontdesk-Spooled")
        if spooled:
            attachments.append(
                ParsedAttachment(
                    name=_filename(part),
                    content_type=ctype,
                    data=b"",
                    content_id=content_id,
                    inline=bool(content_id) and disposition != "attachment",
                    spooled=spooled,
                )
            )
            continue
        is_body_text = ctype in ("text/plain", "text/html") and disposition != "attachment"
        if is_body_text and not (ctype == "text/plain" and part.get_filename()):
            (text_parts if ctype == "text/plain" else html_parts).append(decode_text_part(part))
            continue
        if ctype in ("message/delivery-status", "text/rfc822-headers"):
            continue
        data: bytes = b""
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                data = inner[0].as_bytes(policy=policy.compat32)
        else:
            try:
                decoded = part.get_payload(decode=True)
            except Exception:
                decoded = None
            data = decoded if isinstance(decoded, bytes) else b""
        attachments.append(
            ParsedAttachment(
                name=_filename(part),
                content_type=ctype,
                data=data,
                content_id=content_id,
                inline=bool(content_id) and disposition != "attachment",
            )
        )
    return "\n".join(text_parts), "\n".join(html_parts), attachments


def _bounce(msg: Message) -> Bounce | None:
    if msg.get_content_type() != "multipart/report":
        return None
    if str(msg.get_param("report-type") or "").lower() != "delivery-status":
        return None
    original = ""
    reason = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            for block in blocks if isinstance(blocks, list) else []:
                if not isinstance(block, Message):
                    continue
                for name in ("Diagnostic-Code", "Status", "Action"):
                    value = header(block, name)
                    if value and not reason and name != "Action":
                        reason = value.split(";", 1)[-1].strip()
        elif ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original = original or (message_ids(header(inner[0], "Message-ID")) or [""])[0]
        elif ctype == "text/rfc822-headers":
            found = re.search(
                r"^Message-ID:\s*(<[^>]+>)", decode_text_part(part), re.IGNORECASE | re.MULTILINE
            )
            if found:
                original = original or message_ids(found.group(1))[0]
    if not original:
        return None
    return Bounce(original, reason or "the message could not be delivered")


def _auto_reply(msg: Message) -> str:
    auto = header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if value := header(msg, name):
            return f"{name}: {value}"
    return ""


def _repair_boundary(msg: EmailMessage) -> EmailMessage:
    """A multipart whose declared boundary never occurs: retry with the one the body uses."""
    if msg.get_content_maintype() != "multipart" or msg.is_multipart():
        return msg
    payload = msg.get_payload()
    if not isinstance(payload, str):
        return msg
    found = re.search(r"^--([^\s]{1,200})\s*$", payload, re.MULTILINE)
    if not found:
        return msg
    try:
        msg.set_boundary(found.group(1).removesuffix("--"))
        repaired: EmailMessage = BytesParser(policy=POLICY).parsebytes(msg.as_bytes())
    except Exception:
        return msg
    return repaired if repaired.is_multipart() else msg


def body_hash(raw: bytes) -> str:
    """Same body (and date/sender) -> same hash: tells a true duplicate from an id clash."""
    split = raw.find(b"\r\n\r\n")
    if split < 0:
        split = raw.find(b"\n\n")
    body = raw[split:] if split >= 0 else raw
    return hashlib.sha256(body).hexdigest()


def parse(raw: bytes) -> ParsedEmail:
    msg: EmailMessage = BytesParser(policy=POLICY).parsebytes(raw)
    msg = _repair_boundary(msg)
    digest = body_hash(raw)
    ids = message_ids(header(msg, "Message-ID"))
    missing = not ids
    message_id = ids[0] if ids else f"missing-{digest[:32]}@frontdesk.invalid"

    text, html_raw, attachments = _walk_bodies(msg)
    defects = [type(d).__name__ for d in getattr(msg, "defects", [])]
    if not text and not html_raw and not attachments:
        # a broken boundary can leave the whole body unparsed: show it as text
        payload = msg.get_payload()
        if isinstance(payload, str):
            text = payload
    html = ""
    remote = 0
    quoted_at = 0
    if html_raw.strip():
        html, quoted_at, remote = sanitize_with_quote(html_raw)
        html = inline_cid_images(html, attachments)
        if quoted_at:
            quoted_at = html.index(_QUOTE_MARK)
            html = html.replace(_QUOTE_MARK, "", 1)
    full_text = text.strip() or (html_to_text(html_raw) if html_raw else "")
    new_text = split_quoted(full_text) if full_text else ""

    from_name, from_address = "", ""
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    if senders:
        from_name, from_address = senders[0]
    else:
        from_name, from_address = parseaddr(header(msg, "From"))
        from_address = from_address.strip().lower()
        if "@" not in from_address or any(c in from_address for c in " \r\n\x00<>"):
            from_address = ""  # not an address ("Bob", "@@@"): the sender is unknown
    to = [a for _, a in _addresses(msg, "To")]
    cc = [a for _, a in _addresses(msg, "Cc")]
    try:
        date = parsedate_to_datetime(header(msg, "Date")) if header(msg, "Date") else None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        date = None
    in_reply_to = (message_ids(header(msg, "In-Reply-To")) or [""])[0]
    references = message_ids(header(msg, "References"))
    if in_reply_to and in_reply_to not in references:
        references.append(in_reply_to)
    references = [r for r in references if r != message_id][-50:]

    return ParsedEmail(
        message_id=message_id,
        message_id_missing=missing,
        subject=header(msg, "Subject")[:500],
        from_address=from_address,
        from_name=from_name[:300],
        from_header=header(msg, "From")[:300],
        to=to[:MAX_RECIPIENTS_KEPT],
        cc=cc[:MAX_RECIPIENTS_KEPT],
        recipients_total=len(to) + len(cc),
        date=date,
        in_reply_to=in_reply_to,
        references=references,
        text=new_text,
        full_text=full_text,
        html=html,
        html_quoted_at=quoted_at,
        attachments=attachments,
        auto_reply=_auto_reply(msg),
        list_id=header(msg, "List-Id")[:300],
        bounce=_bounce(msg),
        remote_images=remote,
        defects=defects[:20],
        body_hash=digest,
    )
