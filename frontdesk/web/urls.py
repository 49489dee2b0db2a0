from django.urls import path

from frontdesk.web.views import (
    auth,
    contacts,
    conversation,
    files,
    inbox,
    leads,
    notifications,
    workspace,
)

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("", inbox.inbox, name="inbox"),
    path("inbox/list", inbox.list_more, name="inbox_list"),
    path("inbox/nav", inbox.sidebar_counts, name="inbox_nav"),
    path("c/<int:conversation_id>/", inbox.inbox, name="conversation"),
    path("c/<int:conversation_id>/row", inbox.conversation_row, name="conversation_row"),
    path("c/<int:conversation_id>/header", conversation.thread_header, name="thread_header"),
    path("c/<int:conversation_id>/older", conversation.thread_older, name="thread_older"),
    path("c/<int:conversation_id>/reply", conversation.reply, name="reply"),
    path("c/<int:conversation_id>/assign", conversation.assign, name="assign"),
    path("c/<int:conversation_id>/status", conversation.change_status, name="change_status"),
    path("c/<int:conversation_id>/read", conversation.mark_read, name="mark_read"),
    path(
        "c/<int:conversation_id>/m/<int:message_id>", conversation.message_item, name="message_item"
    ),
    path("c/<int:conversation_id>/m/<int:message_id>/retry", conversation.retry, name="retry"),
    path("c/<int:conversation_id>/m/<int:message_id>/email", files.email_body, name="email_body"),
    path("c/<int:conversation_id>/contact", contacts.contact_panel, name="contact_panel"),
    path("c/<int:conversation_id>/contact/merge", contacts.merge_contact, name="merge_contact"),
    path(
        "c/<int:conversation_id>/contact/merge/find",
        contacts.merge_candidates,
        name="merge_candidates",
    ),
    path(
        "c/<int:conversation_id>/contact/merge/confirm",
        contacts.merge_confirm,
        name="merge_confirm",
    ),
    path("files/<int:attachment_id>", files.attachment_file, name="attachment_file"),
    path("contacts/<int:contact_id>/avatar", contacts.contact_avatar, name="contact_avatar"),
    path("apps/", workspace.apps, name="apps"),
    path(
        "apps/<int:channel_id>/connection",
        workspace.channel_connection,
        name="channel_connection",
    ),
    path("settings/", workspace.workspace_settings, name="settings"),
    path("compose/", workspace.compose, name="compose"),
    path("healthz", auth.healthz, name="healthz"),
    path("leads/", leads.leads, name="leads"),
    path("leads/<int:lead_id>/", leads.lead_page, name="lead"),
    path("leads/<int:lead_id>/edit", leads.lead_update, name="lead_update"),
    path("leads/<int:lead_id>/stage", leads.lead_stage, name="lead_stage"),
    path("c/<int:conversation_id>/lead", leads.convert, name="convert_to_lead"),
    path("c/<int:conversation_id>/lead/panel", leads.lead_panel, name="lead_panel"),
    # teamwork
    path("notifications/", notifications.notifications_page, name="notifications"),
    path("notifications/panel", notifications.panel, name="notification_panel"),
    path("notifications/bell", notifications.bell, name="notification_bell"),
    path("notifications/read", notifications.mark_read, name="notifications_read"),
    path(
        "notifications/<int:notification_id>/open",
        notifications.open_notification,
        name="notification_open",
    ),
]
