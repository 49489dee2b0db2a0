from django.contrib import admin
from django.urls import include, path

from frontdesk.api.views import api
from frontdesk.connectors.registry import connector_urlpatterns
from frontdesk.inbox.webhooks import urlpatterns as webhook_urlpatterns
from frontdesk.web.views.auth import AdminLoginForm

admin.site.login_form = AdminLoginForm  # the login throttle holds on the admin site too

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    *webhook_urlpatterns(),
    *connector_urlpatterns(),
    path("", include("frontdesk.web.urls")),
]
