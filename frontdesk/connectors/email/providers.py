"""Provider presets: where each mailbox service keeps IMAP, SMTP and its OAuth endpoints.

Every URL and host is a setting (``FRONTDESK_<PROVIDER>_<NAME>``, read from Django
settings first, then the environment) so tests and the demo can point them at local
peers. Zoho runs separate data centres; the channel's ``region`` picks one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from django.conf import settings

ZOHO_REGIONS = {
    "com": ("zoho.com", "zoho.com"),
    "eu": ("zoho.eu", "zoho.eu"),
    "in": ("zoho.in", "zoho.in"),
    "com.au": ("zoho.com.au", "zoho.com.au"),
    "jp": ("zoho.jp", "zoho.jp"),
    "ca": ("zohocloud.ca", "zohocloud.ca"),
    "sa": ("zoho.sa", "zoho.sa"),
}


@dataclass(frozen=True)
class Preset:
    provider: str
    label: str
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = "tls"
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_security: str = "tls"
    authorize_url: str = ""
    token_url: str = ""
    # Where a grant is revoked when its channel is removed ("": the provider documents none),
    # and whether the token goes in the query string (Zoho) or the form body (Google).
    revoke_url: str = ""
    revoke_in_query: bool = False
    scopes: tuple[str, ...] = ()
    scope_separator: str = " "  # RFC 6749; Zoho wants commas
    extra_authorize_params: dict[str, str] = field(default_factory=dict)
    # Gmail files what its SMTP sends into the Sent folder itself: no APPEND.
    smtp_saves_sent: bool = False

    @property
    def oauth(self) -> bool:
        return bool(self.token_url)


def setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value in (None, ""):
        value = os.environ.get(name, default)
    return str(value or default)


def preset(provider: str, region: str = "") -> Preset:
    if provider == "imap":
        return Preset("imap", "Other (IMAP/SMTP)")
    key = provider.upper()
    if provider == "gmail":
        base = Preset(
            "gmail",
            "Gmail",
            imap_host="imap.gmail.com",
            smtp_host="smtp.gmail.com",
            authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
            token_url="https://oauth2.googleapis.com/token",
            # "Revoking a token": POST the token, form-encoded (access or refresh token;
            # revoking a refresh token ends the whole grant):
            # https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
            revoke_url="https://oauth2.googleapis.com/revoke",
            scopes=("https://mail.google.com/",),
            extra_authorize_params={"access_type": "offline", "prompt": "consent"},
            smtp_saves_sent=True,
        )
    elif provider == "outlook":
        tenant = setting("FRONTDESK_OUTLOOK_TENANT", "common")
        root = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
        base = Preset(
            "outlook",
            "Outlook / Microsoft 365",
            imap_host="outlook.office365.com",
            smtp_host="smtp.office365.com",
            smtp_port=587,
            smtp_security="starttls",
            authorize_url=f"{root}/authorize",
            token_url=f"{root}/token",
            # No revoke_url: the Microsoft identity platform documents no endpoint that
            # revokes one app's refresh token (Graph's revokeSignInSessions signs the user
            # out of every app), so removing an Outlook channel only erases the token here.
            scopes=(
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "https://outlook.office.com/SMTP.Send",
                "offline_access",
                "email",
                "openid",
            ),
        )
    elif provider == "zoho":
        accounts, mail = ZOHO_REGIONS.get(region or "com", ZOHO_REGIONS["com"])
        base = Preset(
            "zoho",
            "Zoho Mail",
            imap_host=f"imap.{mail}",
            smtp_host=f"smtp.{mail}",
            # {accounts server of the data centre}/oauth/v2/auth and /oauth/v2/token:
            # https://www.zoho.com/accounts/protocol/oauth/web-apps/authorization.html
            # https://www.zoho.com/accounts/protocol/oauth/web-apps/access-token.html
            authorize_url=f"https://accounts.{accounts}/oauth/v2/auth",
            token_url=f"https://accounts.{accounts}/oauth/v2/token",
            # POST {accounts server}/oauth/v2/token/revoke?token=<refresh token>; every
            # access token made from it goes too:
            # https://www.zoho.com/accounts/protocol/oauth/revoke-refresh-token.html
            revoke_url=f"https://accounts.{accounts}/oauth/v2/token/revoke",
            revoke_in_query=True,
            # IMAP/SMTP with SASL XOAUTH2 take the protocol scopes ZOHOMAIL.PROTOCOL.<protocol>
            # (the REST API's ZohoMail.messages.* scopes do not open IMAP):
            # https://www.zoho.com/mail/help/sasl-xoauth2-smtp-imap-pop-protocol-exchange.html
            # That page lists IMAP (and POP); SMTP follows its pattern. Override the list with
            # FRONTDESK_ZOHO_SCOPES (comma-separated) if Zoho asks for others.
            scopes=("ZOHOMAIL.PROTOCOL.IMAP", "ZOHOMAIL.PROTOCOL.SMTP"),
            # "Multiple scopes ... separated by comma": https://www.zoho.com/invoice/api/v3/oauth/
            scope_separator=",",
            extra_authorize_params={"access_type": "offline", "prompt": "consent"},
        )
    else:
        raise KeyError(provider)
    # Settings override every endpoint (local peers in tests and the demo).
    return Preset(
        provider=base.provider,
        label=base.label,
        imap_host=setting(f"FRONTDESK_{key}_IMAP_HOST", base.imap_host),
        imap_port=int(setting(f"FRONTDESK_{key}_IMAP_PORT", str(base.imap_port))),
        imap_security=setting(f"FRONTDESK_{key}_IMAP_SECURITY", base.imap_security),
        smtp_host=setting(f"FRONTDESK_{key}_SMTP_HOST", base.smtp_host),
        smtp_port=int(setting(f"FRONTDESK_{key}_SMTP_PORT", str(base.smtp_port))),
        smtp_security=setting(f"FRONTDESK_{key}_SMTP_SECURITY", base.smtp_security),
        authorize_url=setting(f"FRONTDESK_{key}_AUTHORIZE_URL", base.authorize_url),
        token_url=setting(f"FRONTDESK_{key}_TOKEN_URL", base.token_url),
        revoke_url=setting(f"FRONTDESK_{key}_REVOKE_URL", base.revoke_url),
        revoke_in_query=base.revoke_in_query,
        scopes=tuple(s.strip() for s in setting(f"FRONTDESK_{key}_SCOPES").split(",") if s.strip())
        or base.scopes,
        scope_separator=base.scope_separator,
        extra_authorize_params=base.extra_authorize_params,
        smtp_saves_sent=base.smtp_saves_sent,
    )


def client_credentials(provider: str) -> tuple[str, str]:
    """The OAuth client id and secret configured for a provider ("" when none)."""
    key = provider.upper()
    return setting(f"FRONTDESK_{key}_CLIENT_ID"), setting(f"FRONTDESK_{key}_CLIENT_SECRET")
