from django.urls import path

from frontdesk.crm import views

urlpatterns = [
    path("leads/", views.leads, name="leads"),
    path("leads/<int:lead_id>/", views.lead_page, name="lead"),
    path("leads/<int:lead_id>/edit", views.lead_update, name="lead_update"),
    path("leads/<int:lead_id>/stage", views.lead_stage, name="lead_stage"),
    path("c/<int:conversation_id>/lead", views.convert, name="convert_to_lead"),
    path("c/<int:conversation_id>/lead/panel", views.lead_panel, name="lead_panel"),
]
