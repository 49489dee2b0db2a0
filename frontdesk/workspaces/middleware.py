"""Attach the member's workspace to each request (``request.membership``)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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


class WorkspaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = membership_for(request)  # type: ignore[attr-defined]
        return self.get_response(request)
