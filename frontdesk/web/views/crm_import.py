"""Importing contacts from a CSV file, in four steps each on its own page: upload the file,
say what each column holds (guessed from the headers), preview what would happen and which
rows are bad, import. Plain forms; nothing is saved to the contacts before the last step,
and then every row or none (``crm.actions.contact_import``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from frontdesk.core import l10n
from frontdesk.crm.actions import contact_import as imports
from frontdesk.crm.actions import phones
from frontdesk.crm.actions.contact_fields import contact_fields
from frontdesk.crm.actions.values import CrmError
from frontdesk.crm.models import ContactImport
from frontdesk.web.access import current_member, member_required
from frontdesk.web.views.shell import shell_context

PREVIEW_ROWS = 20
STEPS = [(1, "Upload"), (2, "Map columns"), (3, "Preview"), (4, "Import")]


def _page(request: HttpRequest, step: int) -> dict[str, Any]:
    return {**shell_context(request), "import_steps": STEPS, "step": step}


def _limits() -> dict[str, Any]:
    limit = imports.max_import_bytes()
    return {
        "max_bytes": limit,
        "max_size": imports._size(limit),
        "max_rows": f"{imports.max_import_rows():,}",
    }


@member_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: choose the file."""
    member = current_member(request)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a CSV file to import."
        elif upload.size is not None and upload.size > imports.max_import_bytes():
            error = imports.file_too_large(upload.size, imports.max_import_bytes())
        else:
            try:
                job = imports.start_import(
                    member.workspace_id, member.user, upload.name or "", upload.read()
                )
            except CrmError as exc:
                error = str(exc)
            else:
                return redirect("contacts_import_map", job.pk)
    return render(
        request,
        "web/crm/import_upload.html",
        {**_page(request, 1), **_limits(), "error": error},
        status=400 if error else 200,
    )


def _job(request: HttpRequest, import_id: int) -> ContactImport:
    member = current_member(request)
    try:
        job = imports.draft(member.workspace_id, member.user, import_id)
    except ContactImport.DoesNotExist:
        raise Http404("no such import") from None
    return job


def _columns(table: imports.Table, mapping: list[str]) -> list[dict[str, Any]]:
    samples = [row for row in table.rows if row][:3]
    return [
        {
            "index": i,
            "title": title or f"Column {i + 1}",
            "target": mapping[i] if i < len(mapping) else "",
            "samples": [row[i] for row in samples if row[i].strip()],
        }
        for i, title in enumerate(table.header)
    ]


@member_required
@require_http_methods(["GET", "POST"])
def import_map(request: HttpRequest, import_id: int) -> HttpResponse:
    """Step 2: what each column holds, and what to do with people already in the CRM."""
    member = current_member(request)
    job = _job(request, import_id)
    if job.status == ContactImport.Status.DONE:
        return redirect("contacts_import_done", job.pk)
    table = imports.read_table(job.text)
    mapping = list(job.mapping)
    on_duplicate = job.on_duplicate
    country = job.default_country
    error = ""
    if request.method == "POST":
        mapping = [request.POST.get(f"col_{i}", "") for i in range(len(table.header))]
        on_duplicate = request.POST.get("on_duplicate", "")
        country = request.POST.get("default_country", "")
        try:
            imports.set_mapping(
                member.workspace_id, member.user, job.pk, mapping, on_duplicate, country
            )
        except CrmError as exc:
            error = str(exc)
        else:
            return redirect("contacts_import_preview", job.pk)
    fields = contact_fields(member.workspace_id)
    return render(
        request,
        "web/crm/import_map.html",
        {
            **_page(request, 2),
            "job": job,
            "columns": _columns(table, mapping),
            "targets": imports.targets(fields),
            "on_duplicate": on_duplicate,
            "countries": phones.country_choices(l10n.current()),
            "default_country": country,
            "rows": sum(1 for r in table.rows if r),
            "error": error,
        },
        status=400 if error else 200,
    )


def _preview_context(request: HttpRequest, job: ContactImport, plan: imports.Plan) -> dict:
    member = current_member(request)
    labels = {f.key: f.label for f in contact_fields(member.workspace_id)}
    return {
        **_page(request, 3),
        "job": job,
        "plan": plan,
        "errors": plan.errors[: imports.MAX_ERRORS_SHOWN],
        "more_errors": max(0, len(plan.errors) - imports.MAX_ERRORS_SHOWN),
        "bad_rows": len({e.number for e in plan.errors}),
        "rows": [
            (row, [(labels.get(k, k), v) for k, v in row.custom.items()])
            for row in plan.rows[:PREVIEW_ROWS]
        ],
        "more_rows": max(0, len(plan.rows) - PREVIEW_ROWS),
    }


@member_required
@require_http_methods(["GET"])
def import_preview(request: HttpRequest, import_id: int) -> HttpResponse:
    """Step 3: how many contacts would be created, updated or skipped; every bad row."""
    job = _job(request, import_id)
    if job.status == ContactImport.Status.DONE:
        return redirect("contacts_import_done", job.pk)
    try:
        _, plan = imports.preview(job)
    except CrmError as exc:  # the mapping no longer fits (a contact field was removed)
        messages.error(request, str(exc))
        return redirect("contacts_import_map", job.pk)
    return render(request, "web/crm/import_preview.html", _preview_context(request, job, plan))


@member_required
@require_POST
def import_run(request: HttpRequest, import_id: int) -> HttpResponse:
    """Step 4: every row in one transaction, or none."""
    member = current_member(request)
    job = _job(request, import_id)
    try:
        imports.run_import(member.workspace_id, member.user, job.pk)
    except imports.ImportRefused as exc:
        return render(
            request,
            "web/crm/import_preview.html",
            {**_preview_context(request, job, exc.plan), "refused": True},
            status=400,
        )
    except CrmError as exc:
        messages.error(request, str(exc))
        return redirect("contacts_import_preview", job.pk)
    return redirect("contacts_import_done", job.pk)


@member_required
@require_http_methods(["GET"])
def import_done(request: HttpRequest, import_id: int) -> HttpResponse:
    job = _job(request, import_id)
    if job.status != ContactImport.Status.DONE:
        return redirect("contacts_import_preview", job.pk)
    return render(request, "web/crm/import_done.html", {**_page(request, 4), "job": job})
