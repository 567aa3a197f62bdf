"""The Model's pages: the dashboard, the records behind a number, the weekly review and
planning. Thin: the numbers come from ``reports`` (as for the CLI and API), the page data from
``dashboard`` / ``review`` / ``planning``, saving through ``actions``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from kyogyo.analytics import actions, dashboard, drilldown, planning, reports, review
from kyogyo.analytics.filters import ModelFilters, dimension_choices
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.models import SavedPlan
from kyogyo.analytics.spec import SpecError
from kyogyo.org import access
from kyogyo.web.paging import page_number
from kyogyo.web.refusals import refusal_message


def _reader(request: HttpRequest) -> Context:
    if not access.can_read_reports(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(_("Only the teams read The Model's numbers."))
    return reports.context(None)


def _filters(request: HttpRequest, context: Context) -> ModelFilters:
    return ModelFilters(request.GET, choices=dimension_choices(context.snapshot), today=context.as_of.date())


@login_required
@require_safe
def model(request: HttpRequest) -> HttpResponse:
    context = _reader(request)
    form = _filters(request, context)
    page: dict[str, Any] = {"form": form}
    if form.is_valid():
        page.update(dashboard.build(form.options(), form.kept(), context))
    return render(request, "analytics/dashboard.html", page)


@login_required
@require_safe
def records(request: HttpRequest) -> HttpResponse:
    context = _reader(request)
    form = _filters(request, context)
    back = reverse("analytics:dashboard") + "?" + urlencode(sorted(form.kept().items()))
    page: dict[str, Any] = {"form": form, "back_url": back}
    if form.is_valid():
        try:
            cell = drilldown.cell_from(request.GET)
            spec = reports.spec_from(form.options())
            page.update(cell=cell, page=drilldown.records(context, spec, cell, page_number(request)))
            page["title"] = review.cell_title(cell, dashboard.local_stage_names(context))
        except SpecError as exc:
            page["problem"] = refusal_message(exc)
    return render(request, "analytics/records.html", page)


@login_required
@require_safe
def weekly_review(request: HttpRequest) -> HttpResponse:
    context = _reader(request)
    week, problem = review.week_from(request.GET.get("week"), context.as_of.date())
    page = review.build(context, week)
    page["problem"] = problem
    return render(request, "analytics/review.html", page)


@login_required
@require_safe
def plans(request: HttpRequest) -> HttpResponse:
    _reader(request)
    saved = list(SavedPlan.objects.select_related("created_by")[:100])
    return render(request, "analytics/plans.html", {"plans": saved})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    """Scenarios side by side, worked out on every submit (a POST: the form carries the CSRF
    token, and saving is the same form's "Save" button); "Save" stores one."""
    context = _reader(request)
    scenarios = planning.scenarios(request.POST if request.method == "POST" else None, context)
    wanted = request.POST.get("save", "") if request.method == "POST" else ""
    if wanted:
        if not access.can_save_plans(request.user):  # type: ignore[arg-type]
            raise PermissionDenied(_("Only managers and admins save plans."))
        chosen = planning.chosen(scenarios, wanted)
        if chosen is not None:
            try:
                saved = actions.save_plan(
                    actor=request.user,  # type: ignore[arg-type]
                    name=chosen.form.cleaned_data.get("name", ""),
                    inputs=chosen.inputs,
                    result=chosen.result,
                )
            except actions.AnalyticsError as exc:
                chosen.form.add_error("name", refusal_message(exc))
            else:
                messages.success(request, _("The plan is saved."))
                return redirect("analytics:plan", saved.pk)
    return render(
        request,
        "analytics/plan_new.html",
        {
            "scenarios": scenarios,
            "may_save": access.can_save_plans(request.user),  # type: ignore[arg-type]
        },
    )


@login_required
@require_safe
def plan(request: HttpRequest, pk: int) -> HttpResponse:
    context = _reader(request)
    saved = get_object_or_404(SavedPlan.objects.select_related("created_by"), pk=pk)
    return render(request, "analytics/plan.html", planning.plan_page(context, saved))


@login_required
@require_safe
def plan_compare(request: HttpRequest) -> HttpResponse:
    context = _reader(request)
    wanted = [int(pk) for pk in request.GET.getlist("plan") if pk.isdigit()][: planning.MAX_COMPARED]
    if request.GET.getlist("plan") and not wanted:
        raise Http404
    chosen = {p.pk: p for p in SavedPlan.objects.filter(pk__in=wanted)}
    compared = [chosen[pk] for pk in wanted if pk in chosen]
    return render(request, "analytics/plan_compare.html", planning.compare_page(context, compared))
