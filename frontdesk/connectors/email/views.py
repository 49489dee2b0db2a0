"""The mailbox connect page (Apps & integrations links here) and the OAuth callback.

``/connectors/email/<provider>/connect/``: for Gmail/Outlook/Zoho with an OAuth client
configured, "Connect" sends the admin to the provider's consent page (authorization code
+ PKCE + state kept in the session); otherwise the form takes hosts (Other) or an app
password (the presets), and "Test connection" logs in to IMAP and SMTP and says exactly
what failed. ``?channel=<id>`` reconnects an existing mailbox and keeps its sync position.
"""

from __future__ import annotations

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
from frontdesk.connectors.email.providers import client_credentials, preset
from frontdesk.inbox.actions.channel import save_connection
from frontdesk.inbox.models import ChannelAccount, Message

SESSION_KEY = "frontdesk.email.oauth"
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
                if not oauth_ready:
                    raise ConfigError(f"no OAuth client is configured for {connector.label}")
                address = str(form.get("address") or "").strip()
                auth = oauth.authorization_request(
                    provider, _redirect_uri(), str(form.get("region") or ""), login_hint=address
                )
                request.session[SESSION_KEY] = {
                    "state": auth.state,
                    "verifier": auth.code_verifier,
                    "provider": provider,
                    "address": address,
                    "name": form.get("name", ""),
                    "region": form.get("region", "") if _regions(connector) else "",
                    "backfill_days": form.get("backfill_days", 30),
                    "channel": existing.pk if existing else None,
                }
                return redirect(auth.url)
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
            error, status = f"{exc} ({exc.stage})", 400
        except oauth.OAuthError as exc:
            error, status = str(exc), 400
    return render(
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


def callback(request: HttpRequest) -> HttpResponse:
    member = _admin(request)
    if member is None:
        return HttpResponse("Only owners and admins can connect mailboxes.", status=403)
    pending = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state", "")
    if not pending or not state or state != pending.get("state"):
        return HttpResponse(
            "This sign-in link is not valid (state mismatch): start again.", status=400
        )
    if request.GET.get("error"):
        messages.error(request, f"The provider did not grant access: {request.GET['error']}")
        return redirect("apps")
    provider = pending["provider"]
    connector = _connector(provider)
    try:
        tokens = oauth.exchange_code(
            provider,
            request.GET.get("code", ""),
            pending["verifier"],
            _redirect_uri(),
            pending.get("region", ""),
        )
        setup = connector.setup(
            {
                "address": pending["address"],
                "region": pending.get("region", ""),
                "backfill_days": pending.get("backfill_days", 30),
                **tokens,
            }
        )
    except (oauth.OAuthError, ConfigError) as exc:
        messages.error(request, f"Could not connect {connector.label}: {exc}")
        return redirect("apps")
    existing = None
    if pending.get("channel"):
        existing = ChannelAccount.objects.filter(
            pk=pending["channel"], workspace_id=member.workspace_id, provider=provider
        ).first()
    channel = _save(member, connector, pending.get("name", ""), setup, existing)
    messages.success(request, f"{channel.name} is connected; its mail is being imported.")
    return redirect("apps")


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
