from django.urls import path

from frontdesk.web import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("", views.inbox, name="inbox"),
    path("healthz", views.healthz, name="healthz"),
]
