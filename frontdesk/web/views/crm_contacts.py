"""The CRM's contact screens: the Contacts page (search, filters, sort, bulk actions), a new
contact, a contact's page (its fields, addresses, leads, conversations), and the workspace's
contact fields in settings.

Every change is a plain POST form; htmx only swaps the part that changed.
"""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from frontdesk.crm.actions import contact_fields as field_actions
from frontdesk.crm.actions import contacts as actions
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import FieldType
from frontdesk.crm.queries import contacts as queries
from frontdesk.crm.queries import deals as deal_queries
from frontdesk.crm.queries.duplicates import duplicates_of
from frontdesk.crm.queries.export import contact_rows
from frontdesk.crm.queries.timeline import contact_scope
from frontdesk.inbox.actions.contacts import merge_contacts
from frontdesk.inbox.errors import ActionRefused
from frontdesk.inbox.models import Contact, ContactHandle
from frontdesk.inbox.queries import BadCursor
from frontdesk.web.access import current_member, form_error, member_required, workspace_members
from frontdesk.web.views import crm_timeline
from frontdesk.web.views.shell import shell_context

PAGE_SIZE = 50


def _hx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    contact = queries.contact_for(current_member(request).workspace_id, contact_id)
    if contact is None:
        raise Http404("no such contact")
    return contact


# --- the Contacts page ---------------------------------------------------------------------


class ContactsState:
    """The list's filters and sort, read from and written back to the query string."""

    KEYS = ("q", "owner", "tag", "company", "channel", "lead", "archived", "sort")

    def __init__(self, params: Any):
        get = lambda key: str(params.get(key, "")).strip()[:200]  # noqa: E731
        self.q, self.tag, self.company = get("q"), get("tag"), get("company")
        owner = get("owner")
        self.owner = owner if owner in ("me", "none") or owner.isdigit() else ""
        channel = get("channel")
        self.channel = channel if channel.isdigit() else ""
        lead = get("lead")
        self.lead = lead if lead in ("open", "none") else ""
        self.archived = get("archived") == "1"
        sort = get("sort")
        self.sort = sort if sort in queries.CONTACT_SORTS else "recent"

    @property
    def filter(self) -> queries.ContactFilter:
        return queries.ContactFilter(
            q=self.q,
            owner=self.owner,
            tag=self.tag,
            company=self.company,
            channel_id=int(self.channel) if self.channel else None,
            open_lead={"open": True, "none": False}.get(self.lead),
            archived=self.archived,
        )

    def params(self, **override: Any) -> dict[str, str]:
        values = {k: getattr(self, k) for k in self.KEYS}
        values["archived"] = "1" if self.archived else ""
        values.update(override)
        return {k: str(v) for k, v in values.items() if v and not (k == "sort" and v == "recent")}

    def link(self, **override: Any) -> str:
        query = urlencode(self.params(**override))
        return reverse("contacts") + (f"?{query}" if query else "")

    @property
    def filtered(self) -> bool:
        return any(self.params(sort="").values())

    @property
    def sorts(self) -> list[tuple[str, str]]:
        return [(key, sort.label) for key, sort in queries.CONTACT_SORTS.items()]


@member_required
@require_GET
def contacts(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    state = ContactsState(request.GET)
    try:
        page = queries.contact_list(
            member.workspace_id,
            member.user_id,
            state.filter,
            state.sort,
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except BadCursor:
        return redirect(state.link())
    context = {
        "page": page,
        "list_state": state,
        "more_link": state.link(cursor=page.next_cursor) if page.next_cursor else "",
    }
    if _hx(request) and request.GET.get("cursor"):
        return render(request, "web/crm/_contact_rows.html", context)
    if _hx(request) and request.headers.get("HX-Target") == "contact-table":
        return render(request, "web/crm/_contact_table.html", context)
    return render(
        request,
        "web/crm/contacts.html",
        {**shell_context(request), **context, "members": workspace_members(member)},
    )


def _chosen_ids(request: HttpRequest) -> list[int]:
    return [int(i) for i in request.POST.getlist("ids") if i.isdigit()]


@member_required
@require_POST
def contacts_bulk(request: HttpRequest) -> HttpResponse:
    """Tag or delete the ticked contacts. Deleting asks first (a page that says which will
    be deleted and which archived), then does it when confirmed."""
    member = current_member(request)
    ids = _chosen_ids(request)
    back = request.POST.get("next") or reverse("contacts")
    if not back.startswith("/"):
        back = reverse("contacts")
    action = request.POST.get("action", "")
    if not ids:
        messages.error(request, "Tick the contacts first.")
        return redirect(back)
    try:
        if action == "tag":
            tag = request.POST.get("tag", "")
            changed = actions.tag_contacts(member.workspace_id, ids, tag, member.user)
            messages.success(request, f"Tagged {changed} contact{'s' if changed != 1 else ''}.")
            return redirect(back)
        if action == "delete":
            removal = actions.plan_removal(member.workspace_id, ids)
            chosen = Contact.objects.filter(
                workspace_id=member.workspace_id, pk__in=[*removal.deleted, *removal.archived]
            ).prefetch_related("handles")
            return render(
                request,
                "web/crm/contacts_delete.html",
                {
                    **shell_context(request),
                    "removal": removal,
                    "chosen": chosen,
                    "next": back,
                },
            )
        if action == "delete_confirmed":
            removal = actions.delete_contacts(member.workspace_id, ids, member.user)
            done = []
            if removal.deleted:
                done.append(f"{len(removal.deleted)} deleted")
            if removal.archived:
                done.append(f"{len(removal.archived)} archived (they have conversations or leads)")
            messages.success(request, "Contacts: " + ", ".join(done) + ".")
            return redirect(back)
    except CrmError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    return HttpResponse("Unknown action.", status=400)


# --- a new contact -------------------------------------------------------------------------

FORM_KEYS = ("name", "company", "job_title", "email", "phone", "linkedin", "owner", "tags")


def _custom_values(request: HttpRequest, fields: list) -> dict[str, str]:
    return {f.key: request.POST.get(f"cf_{f.key}", "") for f in fields}


@member_required
@require_http_methods(["GET", "POST"])
def contact_new(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    fields = field_actions.contact_fields(member.workspace_id)
    form = {k: request.POST.get(k, "").strip() for k in FORM_KEYS}
    error, taken = "", None
    if request.method == "POST":
        handles = [
            {"kind": kind, "value": form[kind]}
            for kind in ("email", "phone", "linkedin")
            if form[kind]
        ]
        try:
            contact = actions.create_contact(
                member.workspace_id,
                member.user,
                name=form["name"],
                company=form["company"],
                job_title=form["job_title"],
                handles=handles,
                owner_id=int(form["owner"]) if form["owner"].isdigit() else None,
                tags=form["tags"],
                custom_fields=_custom_values(request, fields),
            )
        except actions.HandleTaken as exc:
            error, taken = str(exc), exc.owner
        except CrmError as exc:
            error = str(exc)
        else:
            return redirect("contact", contact.pk)
    else:
        form["owner"] = str(member.user_id)
    return render(
        request,
        "web/crm/contact_new.html",
        {
            **shell_context(request),
            "form": form,
            "fields": [(f, request.POST.get(f"cf_{f.key}", "")) for f in fields],
            "members": workspace_members(member),
            "error": error,
            "taken": taken,
        },
        status=400 if error else 200,
    )


# --- a contact's page ----------------------------------------------------------------------


def _contact_context(request: HttpRequest, contact: Contact, **extra: Any) -> dict[str, Any]:
    member = current_member(request)
    fields = field_actions.contact_fields(member.workspace_id)
    values = contact.custom_fields or {}
    return {
        "contact": contact,
        "members": workspace_members(member),
        "fields": [(f, values.get(f.key, "")) for f in fields],
        "field_types": FieldType,
        **extra,
    }


@member_required
@require_GET
def contact_page(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact(request, contact_id)
    conversations = queries.contact_conversations(contact)
    # The timeline holds every conversation's messages: the list read for the page serves
    # unless it was cut short.
    every = conversations if len(conversations) < queries.CONVERSATIONS_SHOWN else None
    record = crm_timeline.Record("contacts", contact.pk, contact_scope(contact, every))
    return render(
        request,
        "web/crm/contact.html",
        {
            **shell_context(request),
            **_contact_context(request, contact),
            **crm_timeline.timeline_context(request, record),
            "leads": queries.contact_leads(contact),
            "deals": deal_queries.contact_deals(contact.workspace_id, contact.pk),
            "conversations": conversations,
            "duplicates": duplicates_of(contact),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@member_required
@require_GET
def contacts_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every contact of the workspace (not the archived ones) as a CSV file."""
    member = current_member(request)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in contact_rows(member.workspace_id)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
    return response


@member_required
@require_POST
def contact_merge_into(request: HttpRequest, contact_id: int) -> HttpResponse:
    """One click on a suggested duplicate: it is merged into this contact."""
    member = current_member(request)
    contact = _contact(request, contact_id)
    other_id = request.POST.get("other_id", "")
    if not other_id.isdigit():
        return HttpResponseBadRequest("Pick the contact to merge.")
    try:
        merge_contacts(member.workspace_id, contact.pk, int(other_id), by_user=member.user)
    except Contact.DoesNotExist:
        messages.error(request, "That contact no longer exists.")
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Merged into this contact.")
    return redirect("contact", contact_id=contact.pk)


@member_required
@require_POST
def contact_update(request: HttpRequest, contact_id: int) -> HttpResponse:
    member = current_member(request)
    contact = _contact(request, contact_id)
    fields = field_actions.contact_fields(member.workspace_id)
    owner = request.POST.get("owner", "")
    try:
        actions.update_contact(
            member.workspace_id,
            contact.pk,
            member.user,
            name=request.POST.get("name", ""),
            company=request.POST.get("company", ""),
            job_title=request.POST.get("job_title", ""),
            owner_id=int(owner) if owner.isdigit() else None,
            tags=request.POST.get("tags", ""),
            custom_fields=_custom_values(request, fields),
        )
    except CrmError as exc:
        return form_error(request, str(exc), "#contact-form-error")
    if not _hx(request):
        return redirect("contact", contact.pk)
    contact = _contact(request, contact.pk)
    return render(
        request,
        "web/crm/_contact_form.html",
        _contact_context(request, contact, saved=True, oob=True),
    )


@member_required
@require_POST
def contact_handle_add(request: HttpRequest, contact_id: int) -> HttpResponse:
    member = current_member(request)
    contact = _contact(request, contact_id)
    try:
        actions.add_handle(
            member.workspace_id,
            contact.pk,
            member.user,
            request.POST.get("kind", ""),
            request.POST.get("value", ""),
        )
    except CrmError as exc:
        return form_error(request, str(exc), "#handle-error")
    return _handles_answer(request, contact.pk)


@member_required
@require_POST
def contact_handle_remove(request: HttpRequest, contact_id: int, handle_id: int) -> HttpResponse:
    member = current_member(request)
    contact = _contact(request, contact_id)
    try:
        actions.remove_handle(member.workspace_id, contact.pk, member.user, handle_id)
    except ContactHandle.DoesNotExist:
        raise Http404("no such address") from None
    return _handles_answer(request, contact.pk)


def _handles_answer(request: HttpRequest, contact_id: int) -> HttpResponse:
    if not _hx(request):
        return redirect("contact", contact_id)
    contact = _contact(request, contact_id)
    return render(request, "web/crm/_contact_handles.html", _contact_context(request, contact))


@member_required
@require_POST
def contact_restore(request: HttpRequest, contact_id: int) -> HttpResponse:
    member = current_member(request)
    contact = _contact(request, contact_id)
    actions.restore_contact(member.workspace_id, contact.pk, member.user)
    messages.success(request, f"{contact.display_name} is back in the contacts list.")
    return redirect("contact", contact.pk)


# --- settings: the workspace's contact fields ------------------------------------------------


@member_required
@require_http_methods(["GET", "POST"])
def contact_fields(request: HttpRequest) -> HttpResponse:
    member = current_member(request)
    error = ""
    if request.method == "POST":
        if not member.is_admin:
            return HttpResponseForbidden("Only owners and admins can change the contact fields.")
        action = request.POST.get("action", "")
        field_id = request.POST.get("field", "")
        try:
            if action == "add":
                field = field_actions.add_contact_field(
                    member.workspace_id,
                    request.POST.get("label", ""),
                    request.POST.get("type", ""),
                    request.POST.get("choices", ""),
                )
                messages.success(request, f"Contacts now have a field {field.label!r}.")
            elif action == "change" and field_id.isdigit():
                field_actions.change_contact_field(
                    member.workspace_id,
                    int(field_id),
                    request.POST.get("label", ""),
                    request.POST.get("choices", ""),
                )
                messages.success(request, "Field saved.")
            elif action == "remove" and field_id.isdigit():
                field_actions.remove_contact_field(member.workspace_id, int(field_id))
                messages.success(request, "Field removed; the values contacts had are kept.")
            else:
                return HttpResponse("Unknown action.", status=400)
        except LookupError:
            raise Http404("no such field") from None
        except CrmError as exc:
            error = str(exc)
        else:
            return redirect("contact_fields")
    return render(
        request,
        "web/crm/contact_fields.html",
        {
            **shell_context(request),
            "fields": field_actions.contact_fields(member.workspace_id),
            "types": FieldType.choices,
            "error": error,
            "form": request.POST if error else {},
        },
        status=400 if error else 200,
    )
