"""The email channel: any IMAP/SMTP mailbox, and Gmail/Outlook/Zoho as OAuth presets of it.

Config (``POST /api/v1/channels``), provider ``imap``::

    {"address", "imap_host", "imap_port", "imap_security": "tls"|"starttls"|"none",
     "smtp_host", "smtp_port", "smtp_security", "username", "password",
     "backfill_days"?: int (default 30), "from_name"?}

``gmail``/``outlook``/``zoho`` take ``{"address", "refresh_token"}`` (the connect page
fills it in after the OAuth consent) or ``{"address", "password"}`` (an app password),
plus ``"region"`` for Zoho; hosts and ports come from the provider preset. The password
and tokens go to the encrypted credentials and are never returned. ``security = none``
(no TLS) is accepted for loopback hosts only.
"""

from __future__ import annotations

import imaplib
import ipaddress
import logging
import re
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from frontdesk.connectors.base import (
    ORIGINAL_KEY,
    Capabilities,
    ChannelDirectory,
    ChannelSetup,
    ConfigError,
    ConnectionTried,
    ConnectPending,
    ConnectRedirect,
    ConnectRefused,
    ConnectRoute,
    Glyph,
    InputRefused,
    OriginalMessage,
    OutboundMessage,
    PartsSent,
    PendingValues,
    PermanentSendError,
    ProviderCallError,
    SendResult,
    SyncPage,
    SyncRun,
    require,
)
from frontdesk.connectors.connect_flows import RedirectFlow, SavingPage
from frontdesk.connectors.email import connect, oauth, smtp, sync
from frontdesk.connectors.email.client import LoginRefused, MailboxError, test_login
from frontdesk.connectors.email.idle import start_supervisor
from frontdesk.connectors.email.providers import ZOHO_REGIONS, preset

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort

log = logging.getLogger("frontdesk.email")

SECURITY = ("tls", "starttls", "none")
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$|^[^@\s<>,;\"]+@localhost$")


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _port(config: dict[str, Any], name: str) -> int:
    try:
        value = int(config.get(name) or 0)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a port number") from None
    if not 0 < value < 65536:
        raise ConfigError(f"{name} must be between 1 and 65535")
    return value


def _security(config: dict[str, Any], name: str, host: str) -> str:
    value = str(config.get(name) or "").lower()
    if value not in SECURITY:
        raise ConfigError(f"{name} must be one of tls, starttls, none")
    if value == "none" and not is_loopback(host):
        raise ConfigError(f"{name} 'none' (no TLS) is only allowed for a loopback host")
    return value


def _address(config: dict[str, Any]) -> str:
    address = str(config.get("address") or "").strip().lower()
    if not _ADDRESS.match(address) or len(address) > 320:
        raise ConfigError("address must be an email address")
    return address


def _backfill(config: dict[str, Any]) -> int:
    try:
        days = int(config.get("backfill_days", 30))
    except (TypeError, ValueError):
        raise ConfigError("backfill_days must be a whole number of days") from None
    if not 0 <= days <= 3650:
        raise ConfigError("backfill_days must be between 0 and 3650")
    return days


def describe_failure(exc: BaseException) -> str:
    """What Apps & integrations says about a failed sync: the kind of failure in words, and
    the exception's type and text (a bare KeyError would show only ``'imap_host'``)."""
    if isinstance(exc, MailboxError):
        return str(exc)  # already says what failed
    kind = type(exc).__qualname__  # IMAP4.abort rather than abort
    detail = f"{kind}: {exc}" if str(exc) else kind
    if isinstance(exc, (IMAPClientAbortError, imaplib.IMAP4.abort, EOFError)):
        what = "the mail server closed the connection"
    elif isinstance(exc, (TimeoutError, socket.timeout)):
        what = "the mail server did not answer in time"
    elif isinstance(exc, (IMAPClientError, imaplib.IMAP4.error)):
        what = "the mail server answered with an error"
    elif isinstance(exc, OSError):
        what = "the connection to the mail server failed"
    elif isinstance(exc, KeyError):
        what = "unexpected error, a setting of this mailbox is missing (reconnect it)"
    else:
        what = "unexpected error"
    return f"{what} ({detail}); the next sync retries from the same point"


class EmailConnector(SavingPage, RedirectFlow):
    provider = "imap"
    kind = "email"
    label = "Email (IMAP/SMTP)"
    kind_label = "Email"
    sent_outside_label = "sent from your mail program"
    handle_kind = "email"
    handle_kinds = {"email": "Email"}
    glyphs = {"email": Glyph("@", "#fef3c7", "#92400e")}
    capabilities = Capabilities(
        attachments=True, html=True, subject=True, sync=True, signatures=True
    )
    wants_reply_parent = True  # In-Reply-To, References, the quote and "Re:" subject

    @property
    def connect_url_name(self) -> str:  # type: ignore[override]
        return f"email_connect_{self.provider}"

    # --- the connect page and OAuth (``connect.py``; ``web/views/connect.py`` drives them) ---
    connect_template = "connectors/email/connect.html"
    connect_what = "mailboxes"
    connected_note = "its mail is being imported"

    def connect_routes(self) -> list[ConnectRoute]:
        return [
            ConnectRoute(
                "page", f"connectors/email/{self.provider}/connect/", self.connect_url_name
            ),
            # One callback for every mailbox provider (registered with each OAuth client).
            ConnectRoute("callback", "connectors/email/oauth/callback/", "email_oauth_callback"),
        ]

    def default_name(self, setup: ChannelSetup) -> str:
        return str(setup.config["address"])

    def connect_form(
        self, existing: ChannelPort | None, posted: Mapping[str, str]
    ) -> dict[str, Any]:
        return connect.form(existing, posted)

    def connect_page_context(
        self, form: Mapping[str, Any], existing: ChannelPort | None
    ) -> dict[str, Any]:
        return connect.page_context(self, form)

    def connect_origins(self) -> list[str]:
        return connect.consent_pages(self.provider)

    def page_setup(
        self, form: Mapping[str, Any], posted: Mapping[str, str], existing: ChannelPort | None
    ) -> ChannelSetup:
        return connect.setup_from_form(self, form, posted, existing)

    def try_connection(self, channel: ChannelPort) -> ConnectionTried:
        return connect.try_login(self, channel)

    def connect_pending(self, form: Mapping[str, Any], posted: Mapping[str, str]) -> ConnectPending:
        return connect.pending(self, form)

    def redirect_begin(self, pending: PendingValues, urls: Mapping[str, str]) -> ConnectRedirect:
        return connect.begin(self.provider, pending, urls["callback"])

    def redirect_refusal(
        self, params: Mapping[str, str], label: str, pending: PendingValues | None = None
    ) -> ConnectRefused | None:
        return connect.refusal(params, label)

    def redirect_complete(
        self, params: Mapping[str, str], pending: PendingValues, urls: Mapping[str, str]
    ) -> ChannelSetup:
        return connect.complete(self, params, pending, urls["callback"])

    def original(self, extra: Mapping[str, Any]) -> OriginalMessage | None:
        """The message as received (the sync hands it over whole, ``InboundMessage.original``,
        and the inbox keeps it), as an ``.eml`` file."""
        key = extra.get(ORIGINAL_KEY)
        return OriginalMessage(str(key), "message/rfc822", ".eml") if key else None

    def worker_service(self) -> Callable[[ChannelDirectory], Any]:
        """IMAP IDLE beside the worker: new mail within seconds (``idle.py``)."""
        return start_supervisor

    reply_form_template = "connectors/email/reply_extra.html"

    def reply_extra(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Subject, Cc, Bcc and "quote the history" from the reply box (checked here too)."""
        extra: dict[str, Any] = {}
        subject = str(form.get("x_subject") or "").strip()
        try:
            if subject:
                extra["subject"] = smtp.no_newlines("subject", subject)[:500]
            for name in ("cc", "bcc"):
                addresses = smtp.address_list(name, form.get(f"x_{name}"))
                if addresses:
                    extra[name] = addresses
        except PermanentSendError as exc:
            raise InputRefused(exc.reason) from None
        if form.get("x_quote"):
            extra["quote"] = True
        return extra

    def normalize_handle(self, value: str) -> str:
        return value.strip().lower()

    def _hosts(self, config: dict[str, Any]) -> dict[str, Any]:
        require(config, "imap_host", "imap_port", "smtp_host", "smtp_port")
        out: dict[str, Any] = {}
        for side in ("imap", "smtp"):
            host = str(config[f"{side}_host"]).strip()
            if not host or any(c in host for c in " /\r\n"):
                raise ConfigError(f"{side}_host must be a host name")
            out[f"{side}_host"] = host
            out[f"{side}_port"] = _port(config, f"{side}_port")
            out[f"{side}_security"] = _security(config, f"{side}_security", host)
        return out

    def setup(self, config: dict[str, Any]) -> ChannelSetup:
        require(config, "address", "password")
        address = _address(config)
        public = {
            "address": address,
            **self._hosts(config),
            "username": str(config.get("username") or address).strip(),
            "backfill_days": _backfill(config),
            "auth": "password",
        }
        if config.get("from_name"):
            public["from_name"] = str(config["from_name"]).replace("\r", "").replace("\n", "")
        return ChannelSetup(config=public, credentials={"password": str(config["password"])})

    def send(
        self, channel: ChannelPort, message: OutboundMessage, parts_sent: PartsSent
    ) -> SendResult:
        return smtp.send(channel, message, saves_sent=self.saves_sent(channel))

    def saves_sent(self, channel: ChannelPort) -> bool:
        return False

    def sync_pages(self, channel: ChannelPort, run: SyncRun) -> Iterator[SyncPage]:
        """The mailbox's sync (``sync.py``): a page per fetched batch, then one saying the
        sync worked (synced now, the last error cleared). A failure is a
        ``ProviderCallError`` the inbox records on the channel; the pages before it stay."""
        try:
            stats = yield from sync.sync_pages(channel, run)
        except LoginRefused as exc:
            # the sync position is kept: reconnecting resumes where it stopped
            raise ProviderCallError(str(exc), reconnect=True) from None
        except Exception as exc:  # MailboxError, a dropped connection, a server's odd answer
            log.warning("channel %s: sync failed", channel.pk, exc_info=exc)
            raise ProviderCallError(f"sync failed: {describe_failure(exc)}") from None
        log.info(
            "channel %s: %s new, %s seen, %s skipped, %s duplicates, %s bounces",
            channel.pk, stats.handed, stats.seen, stats.skipped, stats.duplicates, stats.bounces,
        )  # fmt: skip
        # the sync works again: the Apps page says so at once
        yield SyncPage(synced=True, recovered=True)

    def test_connection(self, channel: ChannelPort) -> list[str]:
        """Log in to IMAP and SMTP; raises ``MailboxError`` saying what failed."""
        folders = test_login(channel)
        smtp.test_login(channel)
        return folders


class OAuthEmailConnector(EmailConnector):
    """A provider preset: hosts come from ``providers.py``; login by OAuth or app password."""

    # The provider's data centres (the first is the default); none: one set of hosts.
    regions: ClassVar[tuple[str, ...]] = ()

    def setup(self, config: dict[str, Any]) -> ChannelSetup:
        address = _address(config)
        region = str(config.get("region") or "")
        if self.regions:
            region = region or self.regions[0]
            if region not in self.regions:
                raise ConfigError(f"region must be one of {', '.join(self.regions)}")
        p = preset(self.provider, region)
        hosts = self._hosts(
            {
                "imap_host": p.imap_host,
                "imap_port": p.imap_port,
                "imap_security": p.imap_security,
                "smtp_host": p.smtp_host,
                "smtp_port": p.smtp_port,
                "smtp_security": p.smtp_security,
            }
        )
        public: dict[str, Any] = {
            "address": address,
            **hosts,
            "username": str(config.get("username") or address).strip(),
            "backfill_days": _backfill(config),
        }
        if region:
            public["region"] = region
        if config.get("refresh_token"):
            public["auth"] = "oauth"
            credentials: dict[str, Any] = {"refresh_token": str(config["refresh_token"])}
            for key in ("access_token", "expires_at"):
                if config.get(key):
                    credentials[key] = config[key]
        elif config.get("password"):
            public["auth"] = "password"
            credentials = {"password": str(config["password"])}
        else:
            raise ConfigError("missing required config: refresh_token (OAuth) or password")
        return ChannelSetup(config=public, credentials=credentials)

    def saves_sent(self, channel: ChannelPort) -> bool:
        return preset(self.provider, channel.config.get("region", "")).smtp_saves_sent

    def revoke(self, channel: ChannelPort, others: Sequence[ChannelPort] = ()) -> str:
        """An OAuth grant is revoked where the provider documents how (Google, Zoho; see
        ``providers.py``); an app password stays the mailbox owner's to delete."""
        creds = channel.credentials
        token = str(creds.get("refresh_token") or creds.get("access_token") or "")
        if channel.config.get("auth") != "oauth" or not token:
            return ""
        if any(o.credentials.get("refresh_token") == token for o in others):
            return ""  # the same grant still serves another channel
        try:
            revoked = oauth.revoke(self.provider, channel.config.get("region", ""), token)
        except oauth.OAuthError as exc:
            raise ProviderCallError(str(exc), retry=True) from None
        return f"{self.label} revoked Frontdesk's access to the mailbox" if revoked else ""


class GmailConnector(OAuthEmailConnector):
    provider = "gmail"
    label = "Gmail"


class OutlookConnector(OAuthEmailConnector):
    provider = "outlook"
    label = "Outlook / Microsoft 365"


class ZohoConnector(OAuthEmailConnector):
    provider = "zoho"
    label = "Zoho Mail"
    regions = tuple(ZOHO_REGIONS)


# What FRONTDESK_CONNECTORS loads from this package (connectors/registry.py).
CONNECTORS = [EmailConnector(), GmailConnector(), OutlookConnector(), ZohoConnector()]
