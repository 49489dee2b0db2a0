from django.contrib import admin
from django.urls import include, path

from frontdesk.api.views import api
from frontdesk.inbox.webhooks import urlpatterns as webhook_urlpatterns
from frontdesk.web.views.auth import AdminLoginForm
from frontdesk.web.views.connect import connect_urlpatterns

admin.site.login_form = AdminLoginForm  # the login throttle holds on the admin site too

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    *webhook_urlpatterns(),
    *connect_urlpatterns(),
    path("", include("frontdesk.web.urls")),
]
