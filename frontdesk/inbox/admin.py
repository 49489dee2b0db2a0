"""Admin pages for support staff. Credentials stay encrypted and are never shown."""

from django.contrib import admin

from frontdesk.inbox.models import (
    Attachment,
    ChannelAccount,
    Contact,
    ContactHandle,
    Conversation,
    Message,
    MessagePart,
    PendingStatus,
)


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "kind", "provider", "status", "last_synced_at")
    list_filter = ("kind", "provider", "status")
    search_fields = ("name",)
    exclude = ("credentials_encrypted",)
    readonly_fields = ("sync_state", "last_error", "last_synced_at")


class HandleInline(admin.TabularInline):
    model = ContactHandle
    extra = 0
    fields = ("kind", "value")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "workspace", "created_at")
    search_fields = ("name", "company", "handles__value")
    list_select_related = ("workspace",)
    inlines = [HandleInline]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "workspace",
        "channel",
        "contact",
        "status",
        "assignee",
        "last_message_at",
    )
    list_filter = ("status",)
    list_select_related = ("workspace", "channel", "contact", "assignee")
    raw_id_fields = ("contact", "channel", "assignee")
    search_fields = ("contact__name", "thread_key", "subject")


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("name", "content_type", "size", "file")


class MessagePartInline(admin.TabularInline):
    model = MessagePart
    fields = ("provider_id",)
    extra = 0


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "conversation", "direction", "kind", "status", "created_at")
    list_filter = ("direction", "kind", "status")
    raw_id_fields = ("conversation", "channel", "reply_to", "author_user")
    search_fields = ("provider_id", "text")
    inlines = [AttachmentInline, MessagePartInline]


@admin.register(PendingStatus)
class PendingStatusAdmin(admin.ModelAdmin):
    list_display = ("provider_id", "channel", "status", "received_at")
    raw_id_fields = ("channel",)
