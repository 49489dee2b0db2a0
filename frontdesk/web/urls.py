from django.urls import path

from frontdesk.web import inbox_views as inbox
from frontdesk.web import views, workspace_views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("", inbox.inbox, name="inbox"),
    path("inbox/list", inbox.list_more, name="inbox_list"),
    path("inbox/nav", inbox.sidebar_counts, name="inbox_nav"),
    path("c/<int:conversation_id>/", inbox.inbox, name="conversation"),
    path("c/<int:conversation_id>/row", inbox.conversation_row, name="conversation_row"),
    path("c/<int:conversation_id>/header", inbox.thread_header, name="thread_header"),
    path("c/<int:conversation_id>/older", inbox.thread_older, name="thread_older"),
    path("c/<int:conversation_id>/reply", inbox.reply, name="reply"),
    path("c/<int:conversation_id>/assign", inbox.assign, name="assign"),
    path("c/<int:conversation_id>/status", inbox.change_status, name="change_status"),
    path("c/<int:conversation_id>/read", inbox.mark_read, name="mark_read"),
    path("c/<int:conversation_id>/m/<int:message_id>", inbox.message_item, name="message_item"),
    path("c/<int:conversation_id>/m/<int:message_id>/retry", inbox.retry, name="retry"),
    path("c/<int:conversation_id>/m/<int:message_id>/email", inbox.email_body, name="email_body"),
    path("c/<int:conversation_id>/contact", inbox.contact_panel, name="contact_panel"),
    path("c/<int:conversation_id>/contact/merge", inbox.merge_contact, name="merge_contact"),
    path(
        "c/<int:conversation_id>/contact/merge/find",
        inbox.merge_candidates,
        name="merge_candidates",
    ),
    path(
        "c/<int:conversation_id>/contact/merge/confirm",
        inbox.merge_confirm,
        name="merge_confirm",
    ),
    path("files/<int:attachment_id>", inbox.attachment_file, name="attachment_file"),
    path("contacts/<int:contact_id>/avatar", inbox.contact_avatar, name="contact_avatar"),
    path("apps/", workspace_views.apps, name="apps"),
    path(
        "apps/<int:channel_id>/connection",
        workspace_views.channel_connection,
        name="channel_connection",
    ),
    path("settings/", workspace_views.workspace_settings, name="settings"),
    path("compose/", workspace_views.compose, name="compose"),
    path("healthz", views.healthz, name="healthz"),
]
