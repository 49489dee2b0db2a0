"""The contract every connector passes (``connectors/base.py``): the ones this install ships
(``FRONTDESK_CONNECTORS``) and the test-only echo channel, which proves a channel needs no
line outside its folder. Provider-specific behaviour is in each provider's own tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

from frontdesk.connectors.base import ConfigError, Connector, WebhookAnswer, WebhookRequest
from frontdesk.connectors.connect_flows import (
    ConnectFlow,
    ConnectPage,
    HostedAuthFlow,
    PopupFlow,
    RedirectFlow,
)
from frontdesk.connectors.registry import DEFAULT_CONNECTORS, load
from frontdesk.inbox.models import ChannelAccount

ECHO = "tests.echo_channel"
PATHS = [*DEFAULT_CONNECTORS, ECHO]
EVERY = [(path, c) for path in PATHS for c in load([path]).values()]
IDS = [c.provider for _, c in EVERY]
# What a connector module may import of Frontdesk (DESIGN.md section 7).
ALLOWED = (
    "frontdesk.connectors.base",
    "frontdesk.connectors.connect_flows",
    "frontdesk.connectors.http",
)


def test_the_shipped_setting_lists_the_shipped_connectors():
    assert tuple(settings.FRONTDESK_CONNECTORS) == DEFAULT_CONNECTORS
    assert ECHO not in settings.FRONTDESK_CONNECTORS  # the echo channel is for tests only


@pytest.mark.parametrize(("path", "connector"), EVERY, ids=IDS)
def test_it_declares_who_it_is(path, connector: Connector):
    assert connector.provider and connector.label and connector.kind
    assert connector.kind in connector.kinds
    for kind in connector.kinds:
        variant = connector.for_kind(kind)
        assert variant.kind == kind and variant.provider == connector.provider
        # The kind of address it knows clients by is one it declares, with a label.
        assert connector.handle_kinds.get(variant.handle_kind)


@pytest.mark.parametrize(("path", "connector"), EVERY, ids=IDS)
def test_an_empty_setup_is_refused_in_words(path, connector: Connector):
    with pytest.raises(ConfigError) as refused:
        connector.setup({})
    assert str(refused.value)


@pytest.mark.parametrize(("path", "connector"), EVERY, ids=IDS)
def test_it_is_connected_somewhere(path, connector: Connector, db):
    """Through its own page, the app's form (connect_fields), or the REST API (whatever
    ``setup`` takes): the Apps page offers what it can."""
    if connector.connect_fields:
        assert not connector.connect_url_name  # one or the other
        assert len({f.name for f in connector.connect_fields}) == len(connector.connect_fields)
    if connector.connect_url_name:
        assert isinstance(connector, ConnectPage)


# The routes (``ConnectRoute.step``) and templates each kind of connect flow serves.
FLOW_STEPS = {
    ConnectPage: {"page"},
    RedirectFlow: {"callback"},
    HostedAuthFlow: {"continue", "notify", "return", "status", "reconnect"},
    PopupFlow: {"popup"},
}
FLOW_TEMPLATES = {
    ConnectPage: ("connect_template",),
    HostedAuthFlow: ("continue_template", "waiting_template", "status_template"),
}
FLOWS = [(path, c.for_kind(k)) for path, c in EVERY if isinstance(c, ConnectFlow) for k in c.kinds]


def flow_lacks(connector: ConnectFlow) -> list[str]:
    """What the connect flows a connector offers lack: a route or a template of a kind it
    offers, or a route of a kind it does not (never served). A step of a kind it offers left
    unimplemented stops the connector from being made at all (the kinds' abstract methods)."""
    offered = [kind for kind in FLOW_STEPS if isinstance(connector, kind)]
    served = set().union(*(FLOW_STEPS[kind] for kind in offered))
    needed = served - ({"callback"} if HostedAuthFlow in offered else set())  # back to "return"
    steps = {route.step for route in connector.connect_routes()}
    lacks = [f"no {step!r} route" for step in sorted(needed - steps)]
    lacks += [f"a {step!r} route of a kind it does not offer" for step in sorted(steps - served)]
    templates = [name for kind in offered for name in FLOW_TEMPLATES.get(kind, ())]
    return lacks + [f"no {name}" for name in templates if not getattr(connector, name, "")]


@pytest.mark.parametrize(
    ("path", "connector"), FLOWS, ids=[f"{c.provider}-{c.kind}" for _, c in FLOWS]
)
def test_each_connect_flow_it_offers_is_whole(path, connector: ConnectFlow):
    """A connector offering a kind of flow (``connectors/connect_flows.py``) implements its
    steps (else it cannot be made) and declares its routes and templates: the app's views
    serve nothing else."""
    assert flow_lacks(connector) == []


def test_a_flow_missing_a_step_route_or_template_is_found():
    whatsapp = type(next(c for _, c in FLOWS if isinstance(c, PopupFlow)))

    class Forgetful(whatsapp):
        popup_complete = PopupFlow.popup_complete  # the kind's step, left unimplemented

    with pytest.raises(TypeError, match="abstract method 'popup_complete'"):
        Forgetful()

    class Careless(whatsapp):
        connect_template = ""

        def connect_routes(self):
            return [r for r in super().connect_routes() if r.step != "popup"]

    assert flow_lacks(Careless()) == ["no 'popup' route", "no connect_template"]


WEBHOOKS = [(p, c) for p, c in EVERY if c.webhook_path]


@pytest.mark.parametrize(("path", "connector"), WEBHOOKS, ids=[c.provider for _, c in WEBHOOKS])
def test_the_door_can_serve_its_webhooks(path, connector: Connector, db):
    assert connector.webhook_path.startswith("webhooks/") and connector.webhook_path.endswith("/")
    assert connector.webhook_name and connector.webhook_route_field
    unsigned = WebhookRequest(method="POST", headers={}, query={}, body=b"\xff not json")
    # Garbage is answered by the door's policy (400; 401 when the signature is checked
    # first; 200 "ignored"), never a crash ...
    with pytest.raises(WebhookAnswer) as answer:
        connector.webhook_split(unsigned)
    assert answer.value.status in (400, 401, 200)
    # ... and a channel with no secret never accepts a delivery as signed.
    blank = ChannelAccount(provider=connector.provider, kind=connector.kind, config={})
    blank.credentials = {}
    assert connector.webhook_signed_by(blank, unsigned) is False


def test_webhook_paths_do_not_collide():
    paths = [c.webhook_path for _, c in EVERY if c.webhook_path]
    assert len(paths) == len(set(paths))


def _frontdesk_imports(folder: Path) -> set[str]:
    found = set()
    for source in folder.glob("*.py"):
        if source.name.startswith("test_") or source.name in {"conftest.py", "peer.py"}:
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("frontdesk"):
                if node.module == "frontdesk.connectors":  # from frontdesk.connectors import http
                    found |= {f"{node.module}.{a.name}" for a in node.names}
                else:
                    found.add(node.module or "")
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("frontdesk")}
    return found


def test_the_echo_channel_imports_only_the_contract():
    """The proof: a whole channel written against connectors.base and connectors.http only
    (the shipped providers are held to it by lint-imports)."""
    folder = Path(__file__).parent / "echo_channel"
    imports = _frontdesk_imports(folder)
    assert imports and all(m in ALLOWED for m in imports), imports


@pytest.mark.parametrize(("path", "connector"), EVERY, ids=IDS)
def test_a_sync_is_a_generator_of_pages(path, connector: Connector):
    """A connector that syncs yields ``SyncPage``s for the inbox to store (``inbox/sync.py``,
    docs/adding-a-channel.md section 6), for every kind it serves."""
    for kind in connector.kinds:
        variant = connector.for_kind(kind)
        if not variant.capabilities.sync:
            continue
        assert type(variant).sync_pages is not Connector.sync_pages, (
            f"{connector.provider}: a connector that syncs implements sync_pages"
        )
