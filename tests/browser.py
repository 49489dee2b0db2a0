"""Browser tests: Debian's Chromium driven by Playwright against a running ``frontdesk run``.

How to write one::

    import pytest
    from tests.browser import AGENT, OWNER, login

    pytestmark = pytest.mark.browser  # a browser module holds browser tests only (see below)

    def test_reply(app, browser):
        page = login(browser, app, OWNER[0], app.owner_password)
        page.click("#rows .row >> text=Ana Lima")
        ...

Fixtures (registered for the whole suite by the root ``conftest.py``):

- ``browser``: the test's window on Chromium. Every context it makes (``browser.new_context``,
  ``login``) records console errors, uncaught page errors and CSP violations; **any of them
  fails the test** once it has run. An error the test provokes on purpose is allowed by name,
  narrowly, with a marker whose patterns (regular expressions) must each match at least one
  error (an allowance that never fires fails too)::

      @pytest.mark.browser_allows(r"status of 400")  # the refused form answers 400

- ``app``: ``frontdesk run`` on a fresh data dir for the module (``running_app``), with the
  owner, an agent (``AGENT``) and, on first use, an API channel whose callback is a local peer
  (``app.inbound(...)`` brings a client's message in). Subclass ``App`` and pass it to
  ``running_app`` for a module's own helpers.
- ``shots``: a folder for screenshots ($FRONTDESK_SCREENSHOTS, else the test's tmp dir); look
  at what you build.

One Chromium runs per test process (xdist worker); each browser module connects to it over
the DevTools protocol. Playwright's synchronous API keeps an asyncio loop running in the main
thread while connected, under which Django refuses ``async_to_sync``: keep non-browser tests
out of browser modules.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import OWNER_PASSWORD, base_env, cli, create_token, embedded, scale_mode
from tests.peers.callback import CallbackServer

# How long a browser action or a test's own wait may take. Generous: on 2 cores with four
# test workers, each with a server and a browser, a heavy page (the API docs' 1.5 MB
# Swagger bundle) once took over 10 s to render, and a page's live socket once took over
# 10 s to open and fetch its counts.
ACTION_TIMEOUT_S = 20

CHROMIUM = "/usr/bin/chromium"
# Playwright's own launch flags that matter here: no sandbox or GPU in CI, no network of its
# own, and pages in the background (a second member's window) keep their timers running.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",
    "--hide-scrollbars",
    "--mute-audio",
]
OWNER = ("owner@example.com", "")  # the password is the app's: app.owner_password
AGENT = ("agnes@example.com", "agent-password-1")

# Reports every CSP violation of the page (and its frames) to the test, with where it was.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__frontdeskCspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  );
}, true);
"""


# The one error the harness itself causes: its listener cannot run in a frame sandboxed
# without scripts (an email body), and Chromium says so for every such frame.
OWN_NOISE = re.compile(
    r"^console: Blocked script execution in '[^']*' because the document's frame is sandboxed"
    r" and the 'allow-scripts' permission is not set\."
)


class BrowserErrors:
    """Everything the browser reported as an error during one test."""

    def __init__(self, allowed: list[str]):
        self.seen: list[str] = []
        self.allowed = [re.compile(pattern) for pattern in allowed]

    def record(self, what: str) -> None:
        if not OWN_NOISE.search(what):
            self.seen.append(what)

    def problems(self) -> list[str]:
        unexpected = [e for e in self.seen if not any(p.search(e) for p in self.allowed)]
        unused = [
            f"allowed by browser_allows but never seen: {p.pattern!r}"
            for p in self.allowed
            if not any(p.search(e) for e in self.seen)
        ]
        return unexpected + unused


class RecordingBrowser:
    """The Playwright ``Browser`` a test uses: every page it opens reports its errors."""

    def __init__(self, browser: Any, errors: BrowserErrors):
        self._browser = browser
        self.errors = errors
        self._contexts: list[Any] = []

    def new_context(self, **options: Any) -> Any:
        options.setdefault("viewport", {"width": 1440, "height": 900})
        context = self._browser.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_S * 1000)
        context.expose_binding(
            "__frontdeskCspViolation", lambda _source, text: self.errors.record(f"CSP: {text}")
        )
        context.add_init_script(CSP_LISTENER)
        context.on("page", self._watch)
        self._contexts.append(context)
        return context

    def new_page(self, **options: Any) -> Any:
        return self.new_context(**options).new_page()

    def _watch(self, page: Any) -> None:
        def console(message: Any) -> None:
            if message.type == "error":
                where = message.location.get("url", "")
                self.errors.record(f"console: {message.text} ({where})")

        page.on("console", console)
        page.on("pageerror", lambda error: self.errors.record(f"page error: {error}"))

    def settle(self) -> None:
        """Let events already sent by open pages reach the test (one round trip each)."""
        for context in self._contexts:
            for page in context.pages:
                with contextlib.suppress(Exception):  # closed, or navigating away
                    page.evaluate("0")

    def close(self) -> None:
        for context in self._contexts:
            with contextlib.suppress(Exception):  # the test closed it already
                context.close()


@pytest.fixture(scope="session")
def chromium(tmp_path_factory) -> Iterator[str]:
    """One headless Chromium for this test process; yields its DevTools address."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    profile = tmp_path_factory.mktemp("chromium")
    port_file = profile / "DevToolsActivePort"
    with open(profile / "chromium.log", "w") as log:
        process = subprocess.Popen(
            [
                CHROMIUM,
                *CHROMIUM_ARGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) == 2):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start: {(profile / 'chromium.log').read_text()}")
            time.sleep(0.05)
        port = port_file.read_text().splitlines()[0]
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def _connected_chromium(chromium) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's loop runs in this thread; the tests' own ORM calls are still synchronous.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        connection = playwright.chromium.connect_over_cdp(chromium)
        yield connection
        connection.close()


@pytest.fixture
def browser(_connected_chromium, request) -> Iterator[RecordingBrowser]:
    allowed = [p for mark in request.node.iter_markers("browser_allows") for p in mark.args]
    recording = RecordingBrowser(_connected_chromium, BrowserErrors(allowed))
    request.node.stash[_recording] = recording
    yield recording
    recording.close()


_recording = pytest.StashKey[RecordingBrowser]()


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "browser_allows(*patterns): browser errors this test provokes on purpose"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail a browser test that saw an error it did not allow; show them beside any failure."""
    recording = item.stash.get(_recording, None)
    try:
        return (yield)
    finally:
        if recording is not None:
            recording.settle()
            if recording.errors.seen:
                item.add_report_section("call", "browser errors", "\n".join(recording.errors.seen))
            if problems := recording.errors.problems():
                pytest.fail("the browser reported errors:\n" + "\n".join(problems), pytrace=False)


class App:
    """The running app as a test drives it: the owner's password and API, an API channel."""

    channel_name = "Website chat"

    def __init__(self, base: str, env: dict[str, str]):
        self.base = base
        self.env = env
        self.owner_password = OWNER_PASSWORD
        self._n = 0

    @cached_property
    def api(self) -> httpx.Client:
        """The owner's REST API."""
        token = create_token(self.env, OWNER[0])
        return httpx.Client(
            base_url=f"{self.base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    @cached_property
    def callback(self) -> CallbackServer:
        """The API channel's callback receiver: what replies leave through."""
        return CallbackServer()

    @cached_property
    def channel(self) -> dict:
        """An API channel (with its secret), made on first use."""
        created = self.api.post(
            "/channels",
            json={
                "kind": "api",
                "provider": "api",
                "name": self.channel_name,
                "config": {"callback_url": self.callback.url},
            },
        )
        assert created.status_code == 201, created.text
        return created.json()

    def inbound(self, handle: str, name: str, text: str) -> dict:
        """A client's message on the API channel."""
        self._n += 1
        response = httpx.post(
            f"{self.base}/api/v1/channels/{self.channel['id']}/messages",
            headers={"Authorization": f"Bearer {self.channel['secret']}"},
            json={
                "id": f"in-{self._n}-{time.time()}",
                "contact": {"handle": handle, "name": name},
                "text": text,
            },
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def conversation(self, conversation_id: int) -> dict:
        return self.api.get(f"/conversations/{conversation_id}").json()

    def close(self) -> None:
        if "callback" in self.__dict__:
            self.callback.close()


def on_postgres_when_configured() -> bool:
    """True when the suite runs on PostgreSQL + Redis (its second pass): a module that passes
    it to ``running_app`` runs its browser tests against scale mode there."""
    return bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))


@contextlib.contextmanager
def running_app(
    tmp: Path,
    app_class: type[App] = App,
    agent_name: str | None = None,
    on_postgres: bool = False,
    **env: str,
) -> Iterator[App]:
    """``frontdesk run`` on a fresh data dir (``env`` added to its environment), with the
    owner and an agent (``AGENT``). ``on_postgres``: ``frontdesk web`` and ``frontdesk
    worker`` on PostgreSQL + Redis instead (``DATABASE_URL``, ``REDIS_URL``), the same
    workspace ("My team") and people."""
    if on_postgres:
        extra = {"FRONTDESK_LOG_LEVEL": "WARNING"} | env
        owner = (OWNER[0], OWNER_PASSWORD)
        with scale_mode(tmp / "data", "My team", owner, extra) as (base, process_env, _):
            yield from _with_agent(base, process_env, app_class, agent_name)
        return
    process_env = base_env(tmp / "data") | {"FRONTDESK_LOG_LEVEL": "WARNING"} | env
    with embedded(process_env) as (base, _):
        yield from _with_agent(base, process_env, app_class, agent_name)


def _with_agent(
    base: str, process_env: dict[str, str], app_class: type[App], agent_name: str | None
) -> Iterator[App]:
    add_agent = ["--email", AGENT[0], "--password", AGENT[1], "--role", "agent"]
    if agent_name:
        add_agent += ["--name", agent_name]
    cli(process_env, "createuser", "--workspace", "my-team", *add_agent)
    app = app_class(base, process_env)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    with running_app(tmp_path_factory.mktemp("ui")) as running:
        yield running


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("FRONTDESK_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def login(browser: RecordingBrowser, app: App, email: str, password: str, **options: Any):
    """A page in a new browser context, logged in as ``email``, on the inbox."""
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(f"{app.base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{app.base}/")
    return page


def hold_htmx_gets(page, pattern: str):
    """Hold the page's htmx GETs of ``pattern`` (not its navigations) until handed over:
    returns ``next_request()`` and ``release()``, as a slow server answers them."""
    asked: list = []
    holding = [True]

    def route(r) -> None:
        if holding[0] and r.request.headers.get("hx-request") == "true":
            asked.append(r)
        else:
            r.continue_()

    page.route(pattern, route)

    def next_request():
        for _ in range(200):
            if asked:
                return asked.pop(0)
            page.wait_for_timeout(50)  # Playwright hands the routes over while the page waits
        raise AssertionError(f"the page did not fetch {pattern}")

    def release() -> None:
        holding[0] = False
        for later in asked:
            later.continue_()

    return next_request, release
