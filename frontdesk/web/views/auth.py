from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from frontdesk.workspaces import throttle
from frontdesk.workspaces.setup import SetupRefused, complete_setup, needs_setup, setup_token_valid


class ThrottledLogin(AuthenticationForm):
    """Sign-in refused, in words, after too many failures for the account or the address
    (``workspaces/throttle.py``), before the password is checked."""

    throttled = ""

    def clean(self) -> dict[str, Any]:
        email = str(self.cleaned_data.get("username") or "")
        address = throttle.client_address(self.request)
        self.throttled = throttle.refusal(email, address)
        if self.throttled:
            raise ValidationError(self.throttled, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            throttle.failed(email, address)
            raise
        throttle.cleared(email, address)
        return cleaned


class AdminLoginForm(ThrottledLogin, AdminAuthenticationForm):
    """The admin site's sign-in, under the same throttle."""


class EmailAuthenticationForm(ThrottledLogin):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response

    def get(self, request, *args, **kwargs):
        if needs_setup():  # a fresh install: nobody to log in yet
            return redirect("setup")
        return super().get(request, *args, **kwargs)


SETUP_FIELDS = ("workspace", "name", "email")


def setup(request: HttpRequest, token: str = "") -> HttpResponse:
    """First run: the setup link's form makes the workspace and its owner, then logs them in.
    Without the link (or with a used one) the page says where to find it."""
    if not token and not needs_setup():
        return redirect("login")
    form = {k: request.POST.get(k, "").strip() for k in SETUP_FIELDS}
    ctx: dict[str, object] = {"form": form, "error": "", "token": token}
    if not token or not setup_token_valid(token):
        ctx["refused"] = bool(token)
        return render(request, "web/setup.html", ctx, status=404 if token else 200)
    if request.method != "POST":
        return render(request, "web/setup.html", ctx)
    try:
        membership = complete_setup(
            token, form["workspace"], form["name"], form["email"], request.POST.get("password", "")
        )
    except SetupRefused as exc:
        ctx["error"] = str(exc)
        return render(request, "web/setup.html", ctx, status=400)
    login(request, membership.user, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session["workspace_id"] = membership.workspace_id
    return redirect("inbox")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
