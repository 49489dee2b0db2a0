"""Attach the member's workspace to each request (``request.membership``), and show times in
the member's time zone and dates in their locale for the rest of the request.

Both sync and async capable, so that under ASGI the whole middleware chain stays async
and a sync view costs one thread hop, not a round trip per middleware. Requests without
a session cookie (API bearer calls, webhooks) never touch the database here.
"""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.decorators import sync_and_async_middleware

from frontdesk.core import l10n
from frontdesk.workspaces.models import Membership

SESSION_KEY = "workspace_id"


def membership_for(request: HttpRequest) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("workspace", "user").filter(user=user)
    wanted = request.session.get(SESSION_KEY)
    if wanted:
        chosen = memberships.filter(workspace_id=wanted).first()
        if chosen:
            return chosen
    return memberships.order_by("created_at", "id").first()


def localize(membership: Membership | None) -> None:
    """Times in the member's zone, dates and numbers in their locale (UTC and "en" else)."""
    if membership is None:
        timezone.deactivate()
        l10n.deactivate()
        return
    timezone.activate(membership.user.zone)
    l10n.activate(membership.user.locale)


@sync_and_async_middleware
def workspace_middleware(get_response):
    if iscoroutinefunction(get_response):
        async_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = get_response

        async def middleware(request: HttpRequest) -> HttpResponse:
            request.membership = None  # type: ignore[attr-defined]
            if settings.SESSION_COOKIE_NAME in request.COOKIES:
                request.membership = await sync_to_async(membership_for)(request)  # type: ignore[attr-defined]
            localize(request.membership)  # type: ignore[attr-defined]
            return await async_response(request)

        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            request.membership = membership_for(request)  # type: ignore[attr-defined]
        localize(request.membership)  # type: ignore[attr-defined]
        return get_response(request)

    return sync_middleware
