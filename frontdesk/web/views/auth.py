from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from frontdesk.workspaces import throttle


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
        throttle.cleared(email)
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


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
