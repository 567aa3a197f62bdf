"""The import page: upload a CSV or XLSX file with a preset or a mapping file, check it
with a dry run, then run it for real; progress is polled while the worker imports, the
counts and the error file are shown when it is done. The work is the API's: the file goes
through ``uploads.accept_upload`` and the background task runs ``run_import``, so the rows
go in exactly as with ``kyogyo import``. Who may import and see which imports is the API's
rule too (members of a team; their own imports, managers everyone's)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from kyogyo.imports import uploads
from kyogyo.imports.api import visible_uploads
from kyogyo.imports.mappings import KINDS
from kyogyo.imports.models import ImportUpload
from kyogyo.imports.presets import PRESETS
from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.web.paging import paginate
from kyogyo.web.refusals import refusal_message

PER_PAGE = 25
POLL_SECONDS = 2


def _preset_choices() -> list[tuple[str, str]]:
    names = sorted({name for presets in PRESETS.values() for name in presets})
    return [("", str(gettext_lazy("— a mapping file instead —")))] + [(n, n) for n in names]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What the rows are"),
        choices=[(k, k) for k in KINDS],
        widget=forms.Select(attrs={"translate": "no"}),
    )
    file = forms.FileField(label=gettext_lazy("File (CSV or XLSX)"))
    preset = forms.ChoiceField(
        label=gettext_lazy("Preset"),
        choices=_preset_choices,
        required=False,
        widget=forms.Select(attrs={"translate": "no"}),
    )
    mapping = forms.FileField(
        label=gettext_lazy("Mapping file (YAML or JSON)"),
        required=False,
        help_text=gettext_lazy("Give a preset or a mapping file, not both."),
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: check and count, write nothing"), required=False, initial=True
    )


def _importer(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not access.can_create_records(user):
        raise PermissionDenied(_("Only members of a team can import."))
    return user


def _upload(request: HttpRequest, pk: int) -> ImportUpload:
    found = visible_uploads(_importer(request)).filter(pk=pk).first()
    if found is None:
        raise Http404  # someone else's import reads as no import
    return found


@login_required
def imports(request: HttpRequest) -> HttpResponse:
    user = _importer(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            upload = uploads.accept_upload(
                user,
                kind=data["kind"],
                upload=data["file"],
                preset=data["preset"],
                mapping=data["mapping"],
                dry_run=data["dry_run"],
            )
        except uploads.UploadError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, refusal_message(exc))
        else:
            messages.success(request, _("The file is uploaded; the import runs in the background."))
            return redirect("imports:detail", pk=upload.pk)
    context = {
        "form": form,
        "page": paginate(request, visible_uploads(user).order_by("-created_at", "-pk"), PER_PAGE),
    }
    return render(request, "imports/list.html", context, status=422 if form.errors else 200)


def _progress_context(upload: ImportUpload) -> dict:
    summary = upload.summary or {}
    finished = upload.status in (ImportUpload.Status.DONE, ImportUpload.Status.FAILED)
    return {
        "upload": upload,
        "summary": summary,
        "finished": finished,
        "has_error_file": bool(uploads.error_file_of(upload)) if finished else False,
        "poll_seconds": POLL_SECONDS,
    }


@login_required
@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "imports/detail.html", _progress_context(_upload(request, pk)))


@login_required
@require_safe
def progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the page htmx polls while the import runs."""
    return render(request, "imports/_progress.html", _progress_context(_upload(request, pk)))


@login_required
@require_POST
def run(request: HttpRequest, pk: int) -> HttpResponse:
    checked = _upload(request, pk)
    try:
        upload = uploads.run_for_real(checked, _importer(request))
    except uploads.UploadError as exc:
        messages.error(request, refusal_message(exc))
        return redirect("imports:detail", pk=checked.pk)
    messages.success(request, _("The import runs for real in the background."))
    return redirect("imports:detail", pk=upload.pk)


@login_required
@require_safe
def error_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    response = uploads.error_file_response(_upload(request, pk), request.user)  # type: ignore[arg-type]
    if response is None:
        raise Http404
    return response
