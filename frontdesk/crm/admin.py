from django.contrib import admin

from frontdesk.crm.models import Lead


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ("title", "workspace", "contact", "stage", "value", "currency", "owner")
    list_filter = ("stage",)
    search_fields = ("title", "contact__name")
    raw_id_fields = ("contact", "source_conversation", "source_channel", "owner", "created_by")
    readonly_fields = ("details", "created_at", "updated_at")
