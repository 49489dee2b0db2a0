"""The mailbox connect page (Apps & integrations links here) and the OAuth callback.

``/connectors/email/<provider>/connect/``: for Gmail/Outlook/Zoho with an OAuth client
configured, "Connect" sends the admin to the provider's consent page (authorization code
+ PKCE + state kept in the session); otherwise the form takes hosts (Other) or an app
password (the presets), and "Test connection" logs in to IMAP and SMTP and says exactly
what failed. ``?channel=<id>`` reconnects an existing mailbox and keeps its sync position.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from frontdesk.connectors.base import ConfigError
from frontdesk.connectors.email import oauth
from frontdesk.connectors.email.imap import MailboxError
from frontdesk.connectors.email.providers import ZOHO_REGIONS, client_credentials, preset
from frontdesk.core import csp
from frontdesk.inbox.actions.channel import save_connection
from frontdesk.inbox.actions.connections import (
    claim_pending,
    remember,
    start_pending,
)
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import ChannelAccount, Message

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


def urlpatterns_for(provider: str) -> list:
    routes = [
        path(
            f"connectors/email/{provider}/connect/",
            connect,
            {"provider": provider},
            name=f"email_connect_{provider}",
        )
    ]
    if provider == "imap":
        routes += [
            path("connectors/email/oauth/callback/", callback, name="email_oauth_callback"),
            path("connectors/email/raw/<int:message_id>/", raw_message, name="email_raw"),
        ]
    return routes


def _admin(request: HttpRequest):
    member = getattr(request, "membership", None)
    return member if member is not None and member.is_admin else None


def _connector(provider: str):
    from frontdesk.connectors.registry import get_connector

    return get_connector(provider)


def _redirect_uri() -> str:
    return settings.BASE_URL + reverse("email_oauth_callback")


def _existing(request: HttpRequest, member, provider: str) -> ChannelAccount | None:
    channel_id = request.GET.get("channel") or request.POST.get("channel")
    if not channel_id or not str(channel_id).isdigit():
        return None
    return ChannelAccount.objects.filter(
        pk=int(channel_id), workspace_id=member.workspace_id, provider=provider
    ).first()


def _regions(connector) -> tuple[str, ...]:
    """The data centres to choose from (Zoho's), or none."""
    return getattr(connector, "regions", ())


def _save(member, connector, name: str, setup, existing: ChannelAccount | None) -> ChannelAccount:
    channel = existing or ChannelAccount(
        workspace_id=member.workspace_id, kind=connector.kind, provider=connector.provider
    )
    return save_connection(  # which also starts the first sync at once
        channel,
        name=name or setup.config["address"],
        config=setup.config,
        credentials=setup.credentials,
    )


def _start_oauth(request: HttpRequest, member, connector, form: dict[str, Any], existing):
    """Keep a pending connection (reused on a retry) and send the browser to consent."""
    provider = connector.provider
    if not (preset(provider).oauth and client_credentials(provider)[0]):
        raise ConfigError(f"no OAuth client is configured for {connector.label}")
    address = str(form.get("address") or "").strip()
    if not address:
        raise ConfigError("Give the mailbox's email address.")
    region = str(form.get("region") or "") if _regions(connector) else ""
    pending = start_pending(
        workspace_id=member.workspace_id,
        user_id=request.user.pk,
        provider=provider,
        kind=connector.kind,
        channel=existing,
        name=str(form.get("name") or ""),
        config={
            "address": address,
            "region": region,
            "backfill_days": form.get("backfill_days", 30),
        },
    )
    auth = oauth.authorization_request(
        provider, _redirect_uri(), region, login_hint=address, state=pending.state
    )
    remember(pending, verifier=auth.code_verifier)
    return redirect(auth.url)


def connect(request: HttpRequest, provider: str) -> HttpResponse:
    member = _admin(request)
    if member is None:
        if not request.user.is_authenticated:
            return redirect(f"{settings.LOGIN_URL}?next={request.path}")
        return HttpResponse("Only owners and admins can connect mailboxes.", status=403)
    connector = _connector(provider)
    existing = _existing(request, member, provider)
    p = preset(provider, request.POST.get("region", ""))
    oauth_ready = p.oauth and bool(client_credentials(provider)[0])
    form: dict[str, Any] = {
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
    form.update({k: request.POST[k] for k in FIELDS if k in request.POST})
    error = ""
    result = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "save")
        try:
            if action == "oauth":
                return _start_oauth(request, member, connector, form, existing)
            config = {**form, "password": request.POST.get("password", "")}
            if not config["password"] and existing and existing.config.get("auth") == "password":
                config["password"] = existing.credentials.get("password", "")
            if provider != "zoho":
                config.pop("region", None)
            setup = connector.setup(config)
            probe = ChannelAccount(provider=provider, kind=connector.kind, config=setup.config)
            probe.credentials = setup.credentials
            folders = connector.test_connection(probe)
            result = f"IMAP login works (folders: {', '.join(folders)}); SMTP login works."
            if action == "save":
                channel = _save(member, connector, str(form.get("name") or ""), setup, existing)
                messages.success(
                    request, f"{channel.name} is connected; its mail is being imported."
                )
                return redirect("apps")
        except ConfigError as exc:
            error, status = str(exc), 400
        except MailboxError as exc:
            error, status = in_words(exc), 400
        except oauth.OAuthError as exc:
            error, status = str(exc), 400
    response = render(
        request,
        "connectors/email/connect.html",
        {
            "connector": connector,
            "preset": p,
            "form": form,
            "error": error,
            "result": result,
            "oauth_ready": oauth_ready,
            "custom_hosts": not p.imap_host,
            "zoho_regions": list(_regions(connector)),
            "existing": existing,
            "securities": ("tls", "starttls", "none"),
        },
        status=status,
    )
    if oauth_ready:  # the form's POST is answered with a redirect to the consent page
        csp.allow(response, form_action=_consent_origins(provider))
    return response


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


def _consent_origins(provider: str) -> list[str]:
    """Where "Connect" may send the browser: the provider's consent page (each data
    centre's, for Zoho), and nowhere else."""
    regions = list(ZOHO_REGIONS) if provider == "zoho" else [""]
    return sorted({csp.origin(preset(provider, r).authorize_url) for r in regions} - {""})


def callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the browser back here: with a code (approved), or an error
    (cancelled, refused). The state names the pending connection, usable once."""
    member = _admin(request)
    if member is None:
        if not request.user.is_authenticated:
            return redirect(f"{settings.LOGIN_URL}?next={request.get_full_path()}")
        return HttpResponse("Only owners and admins can connect mailboxes.", status=403)
    state = request.GET.get("state", "")
    error = str(request.GET.get("error", ""))[:100]
    try:  # used once, whatever the answer: a cancelled attempt is forgotten too
        pending = claim_pending(member.workspace_id, state)
    except ActionRefused as exc:
        if not error:
            return _problem(request, str(exc))
        pending = None
    label = _connector(pending.provider).label if pending else "The provider"
    if error:
        if error == "access_denied":
            messages.info(request, f"You cancelled at {label}: nothing was connected.")
        else:
            detail = str(request.GET.get("error_description", ""))[:300] or error.replace("_", " ")
            messages.error(request, f"{label} did not connect the mailbox: {detail}.")
        return redirect("apps")
    assert pending is not None
    provider = pending.provider
    connector = _connector(provider)
    region = str(pending.config.get("region") or "")
    try:
        tokens = oauth.exchange_code(
            provider,
            request.GET.get("code", ""),
            pending.credentials.get("verifier", ""),
            _redirect_uri(),
            region,
        )
        setup = connector.setup(
            {
                "address": pending.config.get("address", ""),
                "region": region,
                "backfill_days": pending.config.get("backfill_days", 30),
                **tokens,
            }
        )
    except (oauth.OAuthError, ConfigError) as exc:
        messages.error(request, f"Could not connect {connector.label}: {exc}")
        return redirect("apps")
    channel = _save(member, connector, pending.name, setup, pending.channel)
    messages.success(request, f"{channel.name} is connected; its mail is being imported.")
    return redirect("apps")


def _problem(request: HttpRequest, text: str) -> HttpResponse:
    return render(request, "connectors/problem.html", {"problem": text}, status=400)


def raw_message(request: HttpRequest, message_id: int) -> HttpResponseBase:
    """The original message as received (``.eml``), for any member of its workspace."""
    member = getattr(request, "membership", None)
    if member is None:
        return HttpResponse("Sign in first.", status=403)
    message = get_object_or_404(Message, pk=message_id, workspace_id=member.workspace_id)
    key = (message.extra or {}).get("raw_key")
    if not key or not default_storage.exists(key):
        raise Http404("no original message is stored for this message")
    response = FileResponse(
        default_storage.open(key, "rb"),
        as_attachment=True,
        filename=f"message-{message.pk}.eml",
        content_type="message/rfc822",
    )
    response["Cache-Control"] = "private, no-store"
    return response
