"""The health-check pages: the history, an assessment (radar, sheet, improvements), the
fill-in form, two assessments compared, and the exports. Everyone who reads the reports
reads these; managers and admins fill in (access.can_assess_health)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kyogyo.healthcheck import actions, exports
from kyogyo.healthcheck.evidence import measure_all
from kyogyo.healthcheck.forms import AssessmentForm, mark_field
from kyogyo.healthcheck.models import Assessment
from kyogyo.healthcheck.reading import compare as compare_readings
from kyogyo.healthcheck.reading import history_figure, radar_figure, read
from kyogyo.healthcheck.sheet import load
from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.web.paging import paginate
from kyogyo.web.refusals import refusal_message

HISTORY_LENGTH = 50  # assessments drawn in the history chart and offered for comparing


def _reader(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    if not access.can_read_reports(user):
        raise PermissionDenied(_("Only members of a team read the health check."))
    return user


def _assessor(request: HttpRequest) -> User:
    user = _reader(request)
    if not access.can_assess_health(user):
        raise PermissionDenied(_("Only managers and admins fill in the health check."))
    return user


def _assessments():  # type: ignore[no-untyped-def]
    return Assessment.objects.select_related("author").prefetch_related("marks")


def _get(pk: int) -> Assessment:
    found = _assessments().filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@login_required
@require_GET
def assessment_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    page = paginate(request, _assessments(), per_page=25)
    recent = list(_assessments()[:HISTORY_LENGTH])
    readings = [read(a) for a in recent]
    urls = [reverse("healthcheck:detail", args=[a.pk]) for a in recent]
    context = {
        "page": page,
        "rows": [read(a) for a in page.items],
        "history": history_figure(readings, urls) if len(readings) > 1 else None,
        "recent": recent,
        "can_assess": access.can_assess_health(user),
    }
    return render(request, "healthcheck/list.html", context)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    reading = read(_get(pk))
    context = {
        "reading": reading,
        "radar": radar_figure([reading]),
        "can_assess": access.can_assess_health(user),
        "previous": Assessment.objects.filter(assessed_on__lt=reading.assessment.assessed_on).first(),
    }
    return render(request, "healthcheck/detail.html", context)


def _form_page(
    request: HttpRequest, form: AssessmentForm, evidence: dict, assessment: Assessment | None
) -> HttpResponse:
    sheet = load()
    sections = [
        {
            "category": category,
            "rows": [
                {
                    "item": item,
                    "mark": form[mark_field(item)],
                    "note": form[f"note-{item.key}"],
                    "figures": evidence.get(item.key),
                }
                for item in category.items
            ],
        }
        for category in sheet.categories
    ]
    context = {"form": form, "sections": sections, "assessment": assessment, "marks": sheet.marks}
    return render(request, "healthcheck/form.html", context, status=400 if form.errors else 200)


def _save(
    request: HttpRequest, form: AssessmentForm, user: User, assessment: Assessment | None
) -> Assessment | None:
    """The action's answer: the saved assessment, or None with its refusal on the form."""
    data = form.cleaned_data
    try:
        if assessment is None:
            return actions.create_assessment(
                actor=user, assessed_on=data["assessed_on"], marks=form.marks(), summary=data["summary"]
            )
        return actions.update_assessment(
            assessment,
            actor=user,
            assessed_on=data["assessed_on"],
            marks=form.marks(),
            summary=data["summary"],
        )
    except actions.HealthCheckError as exc:
        item = load().item(exc.item or "")
        form.add_error(mark_field(item) if item else None, refusal_message(exc))
        return None


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    user = _assessor(request)
    evidence = measure_all()
    if request.method != "POST":
        latest = _assessments().first()
        return _form_page(
            request, AssessmentForm(initial=AssessmentForm.initial_from(latest)), evidence, None
        )
    form = AssessmentForm(request.POST)
    saved = _save(request, form, user, None) if form.is_valid() else None
    if saved is None:
        return _form_page(request, form, evidence, None)
    messages.success(request, _("Assessment saved."))
    return redirect("healthcheck:detail", saved.pk)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _assessor(request)
    assessment = _get(pk)
    if request.method != "POST":
        initial = AssessmentForm.initial_from(assessment)
        initial.update(assessed_on=assessment.assessed_on, summary=assessment.summary)
        return _form_page(request, AssessmentForm(initial=initial), assessment.evidence, assessment)
    form = AssessmentForm(request.POST)
    saved = _save(request, form, user, assessment) if form.is_valid() else None
    if saved is None:
        return _form_page(request, form, assessment.evidence, assessment)
    messages.success(request, _("Assessment saved."))
    return redirect("healthcheck:detail", saved.pk)


def _chosen(request: HttpRequest, name: str) -> Assessment | None:
    raw = request.GET.get(name, "")
    return _assessments().filter(pk=int(raw)).first() if raw.isdigit() else None


@login_required
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    _reader(request)
    first, second = _chosen(request, "a"), _chosen(request, "b")
    context: dict = {"recent": list(Assessment.objects.all()[:HISTORY_LENGTH]), "a": first, "b": second}
    if first and second:
        older, newer = sorted([first, second], key=lambda a: (a.assessed_on, a.pk))
        readings = [read(older), read(newer)]
        context.update(
            older=readings[0],
            newer=readings[1],
            radar=radar_figure(readings),
            comparison=compare_readings(*readings),
        )
    return render(request, "healthcheck/compare.html", context)


@login_required
@require_GET
def export_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    reading = read(_get(pk))
    response = HttpResponse(exports.xlsx(reading), content_type=exports.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{exports.file_name(reading, "xlsx")}"'
    return response


@login_required
@require_GET
def export_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    reading = read(_get(pk))
    response = HttpResponse(exports.pdf(reading), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{exports.file_name(reading, "pdf")}"'
    return response
