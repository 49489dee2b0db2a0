"""Every answer under /api/ is JSON. An error that Django or Ninja answers before or around
a view (a path that matches no route, such as ``/conversations/-1`` or ``/conversations/abc``
whose id is not a number; a method the route does not have; an unexpected error) would
otherwise come back as an HTML page, which no API client can read and the OpenAPI document
does not describe. Such an answer is replaced by the API's error shape ``{"detail": ...}``
with the same status (and its ``Allow`` header for a 405)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

PREFIX = "/api/"
_KEPT_HEADERS = ("Allow", "Retry-After")


def _as_json(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    if not request.path.startswith(PREFIX) or response.status_code < 400:
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    try:
        detail = HTTPStatus(response.status_code).phrase
    except ValueError:
        detail = "Error"
    answer = HttpResponse(
        json.dumps({"detail": detail}),
        status=response.status_code,
        content_type="application/json; charset=utf-8",
    )
    for name in _KEPT_HEADERS:
        if name in response:
            answer[name] = response[name]
    return answer


@sync_and_async_middleware
def api_json_errors(get_response):
    if iscoroutinefunction(get_response):
        async_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = get_response

        async def middleware_async(request: HttpRequest) -> HttpResponseBase:
            return _as_json(request, await async_response(request))

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponseBase:
        return _as_json(request, get_response(request))

    return middleware
