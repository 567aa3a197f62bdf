"""Settings → SLAs and business calendar (admins only): how many business hours each
handoff stage gives the receiving team, the working week the clocks run on, company
holidays and extra working days, and the routing (coverage) rules that pick the assignee."""

from __future__ import annotations

import datetime as dt

import yaml
from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kyogyo.handoffs import actions
from kyogyo.handoffs.models import BusinessCalendar, CalendarException, RoutingRule
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import criteria
from kyogyo.journey.models import Stage
from kyogyo.org.models import Team, User
from kyogyo.web.refusals import refusal_message
from kyogyo.web.settings_pages import admin_page, submit

WEEKDAYS = [
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]
EXCEPTIONS_SHOWN = 100


class CalendarForm(forms.Form):
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"), max_length=64, widget=forms.TextInput(attrs={"translate": "no"})
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Working weekdays"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}),
    )
    day_start = forms.TimeField(
        label=gettext_lazy("Day starts"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    day_end = forms.TimeField(label=gettext_lazy("Day ends"), widget=forms.TimeInput(attrs={"type": "time"}))
    holiday_country = forms.CharField(
        label=gettext_lazy("Public holidays of (country code)"),
        max_length=8,
        required=False,
        help_text=gettext_lazy('For example <code translate="no">JP</code>; empty for none.'),
    )


class ExceptionForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    is_working = forms.BooleanField(label=gettext_lazy("A working day (otherwise: closed)"), required=False)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False)


class SlaForm(forms.Form):
    sla_hours = forms.IntegerField(label=gettext_lazy("SLA (business hours)"), min_value=1, max_value=10_000)


def _pool_choices() -> list[tuple[int, str]]:
    users = (
        User.objects.filter(is_active=True, team__isnull=False)
        .select_related("team")
        .order_by("team", "username")
    )
    return [(u.pk, f"{u.username} ({u.team})") for u in users]


class RoutingForm(forms.Form):
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.all(),
        widget=forms.Select(attrs={"translate": "no"}),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    priority = forms.IntegerField(label=gettext_lazy("Priority"), min_value=0, max_value=10_000, initial=100)
    condition = forms.CharField(
        label=gettext_lazy("Condition (YAML or JSON, empty for everyone)"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"class": "code", "translate": "no", "rows": 5}),
    )
    users = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Pool"),
        coerce=int,
        choices=_pool_choices,
        widget=forms.SelectMultiple(attrs={"translate": "no"}),
    )

    def clean_condition(self) -> dict | None:
        text = self.cleaned_data["condition"].strip()
        if not text:
            return None
        try:
            condition = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise forms.ValidationError(_("Not valid YAML or JSON: %(error)s") % {"error": exc}) from exc
        problems = criteria.validate(condition)
        if problems:
            raise forms.ValidationError([str(p) for p in problems])
        return condition


def _calendar_initial() -> dict:
    row = BusinessCalendar.objects.filter(pk=1).first() or BusinessCalendar(weekdays=[0, 1, 2, 3, 4])
    return {
        "time_zone": row.time_zone,
        "weekdays": row.weekdays,
        "day_start": row.day_start,
        "day_end": row.day_end,
        "holiday_country": row.holiday_country,
    }


def _render(request: HttpRequest, status: int = 200, **forms_given: forms.Form) -> HttpResponse:
    handoff_stages = list(
        Stage.objects.filter(hands_to__isnull=False).select_related("team", "hands_to").order_by("order")
    )
    context = {
        "handoff_stages": [
            (
                stage,
                forms_given.get(f"sla_{stage.pk}")
                or SlaForm(initial={"sla_hours": stage.sla_hours}, prefix=f"s{stage.pk}"),
            )
            for stage in handoff_stages
        ],
        "calendar_form": forms_given.get("calendar") or CalendarForm(initial=_calendar_initial()),
        "exceptions": CalendarException.objects.filter(
            date__gte=timezone.localdate() - dt.timedelta(days=366)
        ).order_by("date")[:EXCEPTIONS_SHOWN],
        "exception_form": forms_given.get("exception") or ExceptionForm(),
        "routing_rules": RoutingRule.objects.select_related("team")
        .prefetch_related("users")
        .order_by("team__order", "priority", "pk"),
        "routing_form": forms_given.get("routing") or RoutingForm(),
    }
    return render(request, "handoffs/settings/sla.html", context, status=status)


@admin_page
def sla(request: HttpRequest) -> HttpResponse:
    """GET shows everything; POST saves the business calendar."""
    if request.method != "POST":
        return _render(request)
    form = CalendarForm(request.POST)
    done, _calendar = submit(
        form,
        lambda data: actions.update_calendar(actor=request.user, **data),  # type: ignore[arg-type]
        actions.SettingsError,
    )
    if done:
        messages.success(request, _("The business calendar is saved; open handoffs keep their due times."))
        return redirect("settings:sla")
    return _render(request, 422, calendar=form)


@admin_page
@require_POST
def stage_sla(request: HttpRequest, pk: int) -> HttpResponse:
    stage = Stage.objects.filter(pk=pk, hands_to__isnull=False).first()
    if stage is None:
        raise Http404
    form = SlaForm(request.POST, prefix=f"s{stage.pk}")
    done, _stage = submit(
        form,
        lambda data: journey_actions.set_sla_hours(stage, actor=request.user, hours=data["sla_hours"]),  # type: ignore[arg-type]
        journey_actions.ConfigError,
    )
    if done:
        messages.success(request, _("The SLA is saved; open handoffs keep their due times."))
        return redirect("settings:sla")
    return _render(request, 422, **{f"sla_{stage.pk}": form})


@admin_page
@require_POST
def add_exception(request: HttpRequest) -> HttpResponse:
    form = ExceptionForm(request.POST)
    done, _exception = submit(
        form,
        lambda data: actions.add_calendar_exception(actor=request.user, **data),  # type: ignore[arg-type]
        actions.SettingsError,
    )
    if done:
        messages.success(request, _("The day is added to the calendar."))
        return redirect("settings:sla")
    return _render(request, 422, exception=form)


@admin_page
@require_POST
def remove_exception(request: HttpRequest, pk: int) -> HttpResponse:
    if not CalendarException.objects.filter(pk=pk).exists():
        raise Http404
    actions.remove_calendar_exception(pk, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("The day is removed from the calendar."))
    return redirect("settings:sla")


@admin_page
@require_POST
def add_routing_rule(request: HttpRequest) -> HttpResponse:
    form = RoutingForm(request.POST)
    done, _rule = submit(
        form,
        lambda data: actions.create_routing_rule(
            actor=request.user,  # type: ignore[arg-type]
            team_id=data["team"].pk,
            name=data["name"],
            priority=data["priority"],
            condition=data["condition"],
            user_ids=data["users"],
        ),
        actions.SettingsError,
    )
    if done:
        messages.success(request, _("The routing rule is added."))
        return redirect("settings:sla")
    return _render(request, 422, routing=form)


@admin_page
@require_POST
def routing_rule_active(request: HttpRequest, pk: int) -> HttpResponse:
    rule = RoutingRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404
    try:
        actions.set_routing_rule_active(rule, actor=request.user, active=request.POST.get("active") == "1")  # type: ignore[arg-type]
    except actions.SettingsError as exc:
        messages.error(request, refusal_message(exc))
    else:
        messages.success(request, _("The routing rule is saved."))
    return redirect("settings:sla")
