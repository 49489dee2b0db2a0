from django.urls import path, re_path

from frontdesk.web.views import (
    auth,
    contacts,
    conversation,
    crm_contacts,
    crm_timeline,
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
    # CRM: contacts
    path("contacts/", crm_contacts.contacts, name="contacts"),
    path("contacts/new", crm_contacts.contact_new, name="contact_new"),
    path("contacts/bulk", crm_contacts.contacts_bulk, name="contacts_bulk"),
    path("contacts/<int:contact_id>/", crm_contacts.contact_page, name="contact"),
    path("contacts/<int:contact_id>/edit", crm_contacts.contact_update, name="contact_update"),
    path(
        "contacts/<int:contact_id>/handles",
        crm_contacts.contact_handle_add,
        name="contact_handle_add",
    ),
    path(
        "contacts/<int:contact_id>/handles/<int:handle_id>/remove",
        crm_contacts.contact_handle_remove,
        name="contact_handle_remove",
    ),
    path("contacts/<int:contact_id>/restore", crm_contacts.contact_restore, name="contact_restore"),
    path("settings/contact-fields/", crm_contacts.contact_fields, name="contact_fields"),
    # CRM: the timeline and notes of a contact, a lead or a deal
    re_path(
        r"^(?P<kind>contacts|leads)/(?P<record_id>[0-9]+)/timeline$",
        crm_timeline.timeline,
        name="timeline",
    ),
    re_path(
        r"^(?P<kind>contacts|leads)/(?P<record_id>[0-9]+)/notes$",
        crm_timeline.note_add,
        name="note_add",
    ),
    re_path(
        r"^(?P<kind>contacts|leads)/(?P<record_id>[0-9]+)/notes/(?P<note_id>[0-9]+)$",
        crm_timeline.note_change,
        name="note_change",
    ),
]
