"""Django's request handling without the middleware, for URLs that use none of it.

A provider's webhook carries no cookie, no session, no CSRF token and reads no page
headers: the middleware chain (a dozen layers on every page) only costs it time, and the
webhook door is the hot path (issue 11). Requests to these URLs still get Django's request,
URL resolving, exception handling (a bug is a logged 500) and the request signals (database
connections are reused and checked as usual); the Host header is still checked against
ALLOWED_HOSTS.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def strip_middleware(handler: BaseHandler) -> None:
    """Make ``handler`` (its middleware loaded) answer with the view alone."""
    inner: Any = handler  # the chain's attributes are Django's private ones (no stubs)

    def bare(request: HttpRequest) -> HttpResponseBase:
        request.get_host()  # DisallowedHost (a 400) for a Host not in ALLOWED_HOSTS
        return inner._get_response(request)

    inner._view_middleware = []
    inner._template_response_middleware = []
    inner._exception_middleware = []
    inner._middleware_chain = convert_exception_to_response(bare)


class BareHandler(WSGIHandler):
    """``WSGIHandler`` with no middleware."""

    def __init__(self) -> None:
        super().__init__()
        strip_middleware(self)


def by_path(paths: Callable[[], Collection[str]], bare: WSGIApp, full: WSGIApp) -> WSGIApp:
    """``bare`` for a request to one of ``paths()`` exactly, ``full`` for any other."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        chosen = bare if environ.get("PATH_INFO") in paths() else full
        return chosen(environ, start_response)

    return app
