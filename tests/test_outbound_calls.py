"""Every outbound HTTP call the app makes (callbacks, Graph, Unipile, OAuth, contact pictures
and media) goes through ``connectors.http``: ``request``/``stream``, or an httpx client on its
``transport()`` under its ``deadline``. That is what holds each call to one deadline for the
whole call (the slow-drip fault, tests/test_send.py) and to public addresses at connect time
(tests/test_public_addresses.py). A call made any other way would escape both, so this test
reads the source and names any such call. The demo's provider stand-ins are not the app."""

from __future__ import annotations

import ast
from pathlib import Path

import frontdesk

ROOT = Path(frontdesk.__file__).parent
ALLOWED_FILES = {ROOT / "connectors" / "http.py"}
STAND_INS = ROOT / "ops" / "demo" / "peers"


def is_app_code(path: Path) -> bool:
    """Not the demo's stand-ins, nor a provider's tests/ (tests and stand-ins, never shipped)."""
    inside = path.relative_to(ROOT).parts
    in_tests = len(inside) > 2 and inside[0] == "connectors" and inside[2] == "tests"
    return STAND_INS not in path.parents and not in_tests


HTTPX_CALLS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"}
HTTPX_CLIENTS = {"Client", "AsyncClient"}
OTHER_MODULES = {"requests", "urllib3", "aiohttp", "http.client", "urllib.request"}


def _on_our_transport(call: ast.Call) -> bool:
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg == "transport" and isinstance(value, ast.Call):
            func = value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            return name == "transport"
    return False


def escaping_calls(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        shown = path.relative_to(ROOT.parent) if ROOT in path.parents else path.name
        where = f"{shown}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where} imports {a.name}" for a in node.names if a.name in OTHER_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module in OTHER_MODULES:
            found.append(f"{where} imports from {node.module}")
        elif isinstance(node, ast.ImportFrom) and node.module == "httpx":
            names = {a.name for a in node.names} & (HTTPX_CALLS | HTTPX_CLIENTS)
            found += [f"{where} imports httpx.{name}" for name in sorted(names)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if not (isinstance(owner, ast.Name) and owner.id == "httpx"):
                continue
            if node.func.attr in HTTPX_CALLS:
                found.append(f"{where} calls httpx.{node.func.attr}")
            elif node.func.attr in HTTPX_CLIENTS and not _on_our_transport(node):
                found.append(f"{where} makes an httpx.{node.func.attr} off connectors.http")
    return found


def test_every_outbound_call_goes_through_the_deadline_and_address_guard():
    files = [p for p in sorted(ROOT.rglob("*.py")) if p not in ALLOWED_FILES and is_app_code(p)]
    assert len(files) > 100  # the whole app was read
    found = [line for path in files for line in escaping_calls(path)]
    assert found == []


def test_the_check_sees_a_call_that_escapes(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import httpx\nimport urllib.request\n"
        "httpx.get('https://example.com')\n"
        "httpx.Client(timeout=3)\n"
        "httpx.Client(transport=transport(), timeout=3)\n"
    )
    found = escaping_calls(sample)
    assert [line.split(" ", 1)[1] for line in found] == [
        "imports urllib.request",
        "calls httpx.get",
        "makes an httpx.Client off connectors.http",
    ]
