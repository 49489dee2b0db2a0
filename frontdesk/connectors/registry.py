"""Every connector, by provider name, loaded from ``settings.FRONTDESK_CONNECTORS``: one
dotted path per channel package (or module). The module named, or else its ``connector``
submodule, exposes ``CONNECTORS``: the ``Connector`` instances it serves. A new channel is
one folder plus one line in that setting (``docs/adding-a-channel.md``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.urls import clear_url_caches

from frontdesk.connectors.base import ChannelDirectory, Connector, Glyph

DEFAULT_CONNECTORS = (
    "frontdesk.connectors.api",
    "frontdesk.connectors.whatsapp_cloud",
    "frontdesk.connectors.unipile",
    "frontdesk.connectors.email",
)


class UnknownProvider(LookupError):
    pass


class ConnectorPathError(ImportError):
    """A ``FRONTDESK_CONNECTORS`` line that names no connectors."""


def connector_paths() -> tuple[str, ...]:
    return tuple(getattr(settings, "FRONTDESK_CONNECTORS", DEFAULT_CONNECTORS))


def _declared(path: str) -> Iterable[Connector]:
    module = importlib.import_module(path)
    found = getattr(module, "CONNECTORS", None)
    if found is None and hasattr(module, "__path__"):
        found = getattr(importlib.import_module(f"{path}.connector"), "CONNECTORS", None)
    if not found or not all(isinstance(c, Connector) for c in found):
        raise ConnectorPathError(
            f"FRONTDESK_CONNECTORS: {path} (or {path}.connector) has no CONNECTORS list of "
            "Connector instances"
        )
    return tuple(found)


def load(paths: Sequence[str]) -> dict[str, Connector]:
    connectors: dict[str, Connector] = {}
    for path in paths:
        for connector in _declared(path):
            if connector.provider in connectors:
                raise ConnectorPathError(f"provider {connector.provider!r} declared twice ({path})")
            connectors[connector.provider] = connector
    return connectors


# Filled in place, so that a module holding ``CONNECTORS`` sees a change of the setting.
CONNECTORS: dict[str, Connector] = load(connector_paths())


def get_connector(provider: str) -> Connector:
    try:
        return CONNECTORS[provider]
    except KeyError:
        raise UnknownProvider(f"unknown provider {provider!r}") from None


def serves_view(module: str) -> bool:
    """Whether a view of this module belongs to a registered connector (its connect pages
    get the app's sidebar)."""
    return any(module == p or module.startswith(f"{p}.") for p in _packages())


def _packages() -> set[str]:
    return {
        type(c).__module__.rpartition(".")[0] or type(c).__module__ for c in CONNECTORS.values()
    }


def glyphs() -> dict[str, Glyph]:
    """Each channel kind's mark, as the first connector serving it declares it."""
    found: dict[str, Glyph] = {}
    for connector in CONNECTORS.values():
        for kind, glyph in connector.glyphs.items():
            found.setdefault(kind, glyph)
    return found


def handle_kinds() -> dict[str, str]:
    """Every kind of contact address the registered connectors bring, with its label (as
    the first connector declaring it names it)."""
    found: dict[str, str] = {}
    for connector in CONNECTORS.values():
        for kind, label in connector.handle_kinds.items():
            found.setdefault(kind, label)
    return found


def handle_kind_label(kind: str) -> str:
    """What the app calls an address of this kind ("Phone"); an undeclared one (left by a
    connector no longer registered) by its name."""
    return handle_kinds().get(kind) or kind.capitalize()


def package_dirs(sub: str) -> list[Path]:
    """The ``sub`` folder (templates, static) of each registered connector's package (of
    the module's folder, for a connector registered as a module), where there is one."""
    found = []
    for path in connector_paths():
        origin = importlib.import_module(path).__file__
        folder = Path(origin).parent / sub if origin else None
        if folder is not None and folder.is_dir() and folder not in found:
            found.append(folder)
    return found


def worker_services() -> list[Callable[[ChannelDirectory], Any]]:
    """What the worker starts beside itself: each connector's ``worker_service``, once."""
    starts = (c.worker_service() for c in CONNECTORS.values())
    return list(dict.fromkeys(s for s in starts if s is not None))


def _reload(*, setting: str, **kwargs: Any) -> None:
    """Tests change ``FRONTDESK_CONNECTORS`` (a test-only channel): load the connectors again
    and rebuild the URLs they serve (never happens in a running server)."""
    if setting != "FRONTDESK_CONNECTORS":
        return
    fresh = load(connector_paths())
    CONNECTORS.clear()
    CONNECTORS.update(fresh)
    clear_url_caches()
    urlconf = importlib.import_module(settings.ROOT_URLCONF)
    importlib.reload(urlconf)


setting_changed.connect(_reload)
