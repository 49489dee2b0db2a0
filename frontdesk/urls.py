from django.contrib import admin
from django.urls import include, path

from frontdesk.api.views import api
from frontdesk.connectors.registry import connector_urlpatterns
from frontdesk.inbox.webhooks import urlpatterns as webhook_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    *webhook_urlpatterns(),
    *connector_urlpatterns(),
    path("", include("frontdesk.web.urls")),
]
