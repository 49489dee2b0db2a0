"""The mailbox connect page's adapter steps (the app's ``web/views/connect.py`` drives them).

``/connectors/email/<provider>/connect/``: for Gmail/Outlook/Zoho with an OAuth client
configured, "Connect" sends the admin to the provider's consent page (authorization code
+ PKCE, the state of the app's pending connection); otherwise the form takes hosts (Other)
or an app password (the presets), and "Test connection" logs in to IMAP and SMTP and says
exactly what failed. ``?channel=<id>`` reconnects an existing mailbox and keeps its sync
position. Values in, values out: nothing here reads or writes the inbox's rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from frontdesk.connectors.base import (
    ChannelSetup,
    ConfigError,
    ConnectionTried,
    ConnectPending,
    ConnectRedirect,
    ConnectRefused,
    PendingValues,
)
from frontdesk.connectors.email import oauth
from frontdesk.connectors.email.client import MailboxError
from frontdesk.connectors.email.providers import ZOHO_REGIONS, client_credentials, preset

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort
    from frontdesk.connectors.email.connector import EmailConnector

FIELDS = (
    "name",
    "address",
    "imap_host",
    "imap_port",
    "imap_security",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "username",
    "backfill_days",
    "region",
)
SECURITIES = ("tls", "starttls", "none")


def oauth_ready(provider: str) -> bool:
    """Whether "Connect" can send the admin to the provider's consent page."""
    return preset(provider).oauth and bool(client_credentials(provider)[0])


def form(existing: ChannelPort | None, posted: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": existing.name if existing else "",
        "address": existing.config.get("address", "") if existing else "",
        "imap_port": 993,
        "imap_security": "tls",
        "smtp_port": 465,
        "smtp_security": "tls",
        "backfill_days": 30,
        "region": "com",
        **({k: v for k, v in existing.config.items() if k in FIELDS} if existing else {}),
    }
    values.update({k: posted[k] for k in FIELDS if k in posted})
    return values


def page_context(connector: EmailConnector, values: Mapping[str, Any]) -> dict[str, Any]:
    p = preset(connector.provider, str(values.get("region") or ""))
    return {
        "preset": p,
        "oauth_ready": oauth_ready(connector.provider),
        "custom_hosts": not p.imap_host,
        "zoho_regions": list(getattr(connector, "regions", ())),
        "securities": SECURITIES,
    }


def consent_pages(provider: str) -> list[str]:
    """Where "Connect" may send the browser: the provider's consent page (each data
    centre's, for Zoho), and nowhere else; none when OAuth is not set up here."""
    if not oauth_ready(provider):
        return []
    regions = list(ZOHO_REGIONS) if provider == "zoho" else [""]
    return sorted({preset(provider, r).authorize_url for r in regions} - {""})


def setup_from_form(
    connector: EmailConnector,
    values: Mapping[str, Any],
    posted: Mapping[str, str],
    existing: ChannelPort | None,
) -> ChannelSetup:
    config = {**values, "password": posted.get("password", "")}
    if not config["password"] and existing and existing.config.get("auth") == "password":
        config["password"] = existing.credentials.get("password", "")
    if connector.provider != "zoho":
        config.pop("region", None)
    return connector.setup(config)


def try_login(connector: EmailConnector, channel: ChannelPort) -> ConnectionTried:
    try:
        folders = connector.test_connection(channel)
    except MailboxError as exc:
        raise ConfigError(in_words(exc)) from None
    except oauth.OAuthError as exc:
        raise ConfigError(str(exc)) from None
    return ConnectionTried(f"IMAP login works (folders: {', '.join(folders)}); SMTP login works.")


# What to check next, by the step that failed (MailboxError.stage).
HINTS = {
    "dns": "Check the server's host name.",
    "tls": "Check the security setting and the port (TLS: usually 993 for IMAP and 465 for "
    "SMTP; STARTTLS: 143 and 587).",
    "connect": "Check the host and the port, and that the mail server accepts connections "
    "from this server.",
    "auth": "Check the user name and the password (an app password for Gmail, Outlook and "
    "Zoho when signing in with them is not set up).",
    "folder": "The mailbox has no inbox Frontdesk can open.",
}


def in_words(exc: MailboxError) -> str:
    """The failure as a person reads it: no Python byte strings or errno codes, and what to
    check next."""
    text = re.sub(r"\[Errno -?\d+\]\s*", "", str(exc))
    text = re.sub(r"\bb'([^']*)'", r"\1", text).strip().rstrip(".")
    return f"{text}. {HINTS.get(exc.stage, '')}".strip()


# --- OAuth: leave for the consent page, come back with a code --------------------------------
def pending(connector: EmailConnector, values: Mapping[str, Any]) -> ConnectPending:
    if not oauth_ready(connector.provider):
        raise ConfigError(f"no OAuth client is configured for {connector.label}")
    address = str(values.get("address") or "").strip()
    if not address:
        raise ConfigError("Give the mailbox's email address.")
    region = str(values.get("region") or "") if getattr(connector, "regions", ()) else ""
    return ConnectPending(
        name=str(values.get("name") or ""),
        config={
            "address": address,
            "region": region,
            "backfill_days": values.get("backfill_days", 30),
        },
    )


def begin(provider: str, kept: PendingValues, callback_url: str) -> ConnectRedirect:
    auth = oauth.authorization_request(
        provider,
        callback_url,
        str(kept.config.get("region") or ""),
        login_hint=str(kept.config.get("address") or ""),
        state=kept.state,
    )
    return ConnectRedirect(auth.url, keep={"verifier": auth.code_verifier})


def refusal(params: Mapping[str, str], label: str) -> ConnectRefused | None:
    """The provider sent the browser back with an error (cancelled, refused)."""
    error = str(params.get("error", ""))[:100]
    if not error:
        return None
    if error == "access_denied":
        return ConnectRefused(f"You cancelled at {label}: nothing was connected.", cancelled=True)
    detail = str(params.get("error_description", ""))[:300] or error.replace("_", " ")
    return ConnectRefused(f"{label} did not connect the mailbox: {detail}.")


def complete(
    connector: EmailConnector, params: Mapping[str, str], kept: PendingValues, callback_url: str
) -> ChannelSetup:
    region = str(kept.config.get("region") or "")
    try:
        tokens = oauth.exchange_code(
            connector.provider,
            str(params.get("code", "")),
            str(kept.credentials.get("verifier", "")),
            callback_url,
            region,
        )
        return connector.setup(
            {
                "address": kept.config.get("address", ""),
                "region": region,
                "backfill_days": kept.config.get("backfill_days", 30),
                **tokens,
            }
        )
    except (oauth.OAuthError, ConfigError) as exc:
        raise ConnectRefused(f"Could not connect {connector.label}: {exc}") from None
