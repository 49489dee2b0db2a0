"""Unipile's hosted-auth connect / reconnect steps (the app's ``web/views/connect.py``
drives them; its webhook is served by the inbox's webhook door from what ``webhook.py``
reads). Values in, values out: nothing here reads or writes the inbox's rows.

``/connectors/unipile/connect/``: an admin picks the network and the API version (v2
preselected) and gives the API key (and, for v1, the DSN). The app keeps a *pending
connection* (no channel yet), asks here for Unipile's hosted-auth link, whose callbacks
carry the pending row's single-use state, and answers with its own page (``continue/``)
that goes on to the link with a GET navigation: the link's origin is only known once
Unipile has answered, and the app's CSP keeps ``form-action 'self'``.

Coming back: v1 Unipile POSTs ``{status, account_id, name}`` to ``notify/`` (the channel is
made then) and sends the browser to ``return/`` (``failed=1`` on its failure URL), which
waits for the notify; v2 sends the browser to ``return/`` with ``account_id``, ``provider``
and ``state``, and the account is checked with Unipile before the channel is made.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.utils.crypto import salted_hmac

from frontdesk.connectors.base import (
    ChannelSetup,
    ConfigError,
    ConnectNotice,
    ConnectPending,
    ConnectRedirect,
    ConnectRefused,
    PendingValues,
)
from frontdesk.connectors.http import json_object
from frontdesk.connectors.unipile.client import (
    HostedLink,
    UnipileClient,
    UnipileError,
    UnipileUnreachable,
    client_for,
)
from frontdesk.connectors.unipile.parse import iso_ms

if TYPE_CHECKING:
    from frontdesk.connectors.base import ChannelPort
    from frontdesk.connectors.unipile.connector import UnipileConnector

log = logging.getLogger("frontdesk.unipile")

API_VERSIONS = ("v2", "v1")
NETWORKS = {"linkedin": "LINKEDIN", "whatsapp": "WHATSAPP"}
CREATED, RECONNECTED = "CREATION_SUCCESS", "RECONNECTED"


def form(posted: Mapping[str, str]) -> dict[str, Any]:
    """The connect page's values (never the API key)."""
    return {
        "network": posted.get("network", "linkedin"),
        "name": posted.get("name", ""),
        "dsn": posted.get("dsn", ""),
        "api_version": posted.get("api_version", "v2"),
    }


def page_context() -> dict[str, Any]:
    return {"networks": list(NETWORKS), "versions": API_VERSIONS}


def pending(
    connector: UnipileConnector, values: Mapping[str, Any], posted: Mapping[str, str]
) -> ConnectPending:
    """What the attempt keeps: the network chosen picks the channel kind."""
    network = str(values.get("network") or "")
    if network not in NETWORKS:
        raise ConfigError('network must be "linkedin" or "whatsapp"')
    variant = connector.for_kind(network)
    setup = variant.validate(
        {
            "dsn": values.get("dsn", ""),
            "api_key": posted.get("api_key", ""),
            "network": network,
            "api_version": values.get("api_version", "v2"),
        },
        need_account=False,
    )
    return ConnectPending(
        name=str(values.get("name") or "") or variant.label,
        config=setup.config,
        credentials=setup.credentials,
        kind=variant.kind,
    )


def reconnect_pending(channel: ChannelPort) -> ConnectPending:
    if not channel.config.get("account_id"):
        raise ConfigError("This account was never connected; connect it again.")
    return ConnectPending(name=channel.name, config={})


def version(kept: PendingValues) -> str:
    source = kept.channel.config if kept.channel is not None else kept.config
    return "v2" if (source or {}).get("api_version") == "v2" else "v1"


def _client(kept: PendingValues) -> UnipileClient:
    if kept.channel is not None:
        config, credentials = kept.channel.config, kept.channel.credentials
    else:
        config, credentials = dict(kept.config), dict(kept.credentials)
    return client_for(
        version(kept), str(config.get("dsn") or ""), str(credentials.get("api_key") or "")
    )


def notify_key(state: str) -> str:
    """The v1 ``notify_url``'s own secret: the browser sees the state (in the return URL),
    never this, so it cannot confirm an account in Unipile's place."""
    return salted_hmac("frontdesk.unipile.notify", state, algorithm="sha256").hexdigest()


def begin(kept: PendingValues, urls: Mapping[str, str]) -> ConnectRedirect:
    """Ask Unipile for the hosted-auth link; the app's "continue" page goes on to it."""
    back, state = urls["return"], kept.state
    query = urlencode({"state": state})
    link = HostedLink(
        provider=NETWORKS[kept.kind],
        expires_on=iso_ms(kept.expires_at),
        # v2 adds account_id, provider and state itself; v1 comes back to what it is given.
        return_url=back if version(kept) == "v2" else f"{back}?{query}",
        failure_url=f"{back}?{query}&failed=1",
        notify_url=f"{urls['notify']}?{query}&key={notify_key(state)}",
        state=state,
        name=f"frontdesk-{kept.id}",
        account_id=str(kept.channel.config.get("account_id") or "") if kept.channel else "",
    )
    try:
        url = _client(kept).hosted_link(link)
    except UnipileError as exc:
        raise ConnectRefused(f"Unipile refused: {exc.message}") from None
    except UnipileUnreachable as exc:
        raise ConnectRefused(str(exc)) from None
    return ConnectRedirect(url, via_continue=True)


def account_id(value: Any) -> str:
    return value if isinstance(value, str) and 0 < len(value) <= 200 else ""


def refusal(
    params: Mapping[str, str], label: str, kept: PendingValues | None
) -> ConnectRefused | None:
    """The browser came back from a failure (v1: its failure URL; v2: without an account)."""
    if kept is None:
        return None
    v2 = version(kept) == "v2"
    if params.get("failed") != "1" and not (v2 and not account_id(params.get("account_id"))):
        return None
    detail = str(params.get("error_title") or params.get("error") or "")[:300]
    if detail:
        return ConnectRefused(f"Unipile did not connect the {label} account: {detail.rstrip('.')}.")
    return ConnectRefused(
        f"Unipile did not connect the {label} account (cancelled, or the login was "
        "refused): nothing was connected. Try again when you are ready."
    )


def _setup(kept: PendingValues, account: str, reconnected: bool) -> ChannelSetup:
    """The channel for the account Unipile connected: the channel being reconnected (the
    same account only, unchanged), or a new one."""
    if kept.channel is not None:
        if not reconnected or account != kept.channel.config.get("account_id"):
            raise ConnectRefused(
                f"Unipile reconnected another account than {kept.channel.name}'s: nothing was "
                "changed."
            )
        return ChannelSetup(dict(kept.channel.config), dict(kept.channel.credentials))
    if reconnected:
        raise ConnectRefused(f"Unipile answered {RECONNECTED!r} instead of a new account.")
    return ChannelSetup({**kept.config, "account_id": account}, dict(kept.credentials))


def complete(params: Mapping[str, str], kept: PendingValues, label: str) -> ChannelSetup:
    """v2: the browser brought the account id; Unipile must know it under this API key."""
    account = account_id(params.get("account_id"))
    try:
        found = _client(kept).get_account(account)
        if str(found.get("id") or account) != account:
            raise UnipileError(400, "another account was returned")
    except (UnipileError, UnipileUnreachable) as exc:
        log.info("v2 account %s not confirmed: %s", account, exc)
        raise ConnectRefused(
            f"Unipile does not confirm this {label} account, so nothing was connected. "
            "Start again to connect it."
        ) from None
    return _setup(kept, account, reconnected=kept.channel is not None)


def notice(params: Mapping[str, str], body: bytes) -> ConnectNotice:
    """v1: Unipile POSTs ``{"status", "account_id", "name"}`` to ``notify_url`` once the
    account is connected (https://developer.unipile.com/docs/hosted-auth)."""
    state = str(params.get("state", ""))
    if not hmac.compare_digest(str(params.get("key", "")).encode(), notify_key(state).encode()):
        return ConnectNotice(state="", account="")  # names no attempt: refused as such
    try:
        values = json_object(body)
    except ValueError as exc:
        raise ConnectRefused(str(exc)) from None
    account, status = account_id(values.get("account_id")), values.get("status")
    if not account:
        raise ConnectRefused("account_id is required")
    if status not in (CREATED, RECONNECTED):
        raise ConnectRefused(f"unexpected status {str(status)[:40]!r}")
    return ConnectNotice(state=state, account=account, reconnected=status == RECONNECTED)


def notice_complete(notice: ConnectNotice, kept: PendingValues) -> ChannelSetup:
    if version(kept) != "v1":
        raise ConnectRefused("a v2 account is confirmed by its redirect, not by notify_url")
    return _setup(kept, notice.account, notice.reconnected)
