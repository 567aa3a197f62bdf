"""Planning from the pages: the backwards plan from a revenue target with editable
assumptions (conversion per step, deal size, lookback for the measured lags, capacity per
team), scenarios side by side, saved plans against what happened.

The assumptions become the options of ``kyogyo plan`` and go through ``reports.make_plan``
(the CLI's and the API's path), so a scenario shows what the command prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kyogyo.analytics import dashboard, drilldown, figures, reports
from kyogyo.analytics.metrics import plan
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.models import SavedPlan
from kyogyo.analytics.spec import SpecError, parse_period
from kyogyo.web.refusals import refusal_message

PREFIXES = ("a", "b")
MAX_COMPARED = 4

# where each refusal of ``plan_inputs`` / ``make_plan`` belongs on the form
FIELD_OF = {
    "no_target": "target",
    "bad_target": "target",
    "no_period": "period",
    "bad_period": "period",
    "bad_window": "period",
    "bad_deal_size": "deal_size",
    "no_deal_size": "deal_size",
    "bad_lookback": "lookback_months",
}


class PlanForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), required=False, max_length=150)
    target = forms.CharField(
        label=gettext_lazy("Revenue target (¥)"),
        required=False,
        max_length=30,
        help_text=gettext_lazy("e.g. 120,000,000"),
    )
    period = forms.CharField(
        label=gettext_lazy("Period"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("FY2026, FY2026-Q1 or 2026-06"),
    )
    deal_size = forms.CharField(
        label=gettext_lazy("Average deal size (¥)"),
        required=False,
        max_length=30,
        help_text=gettext_lazy("Empty: measured from the deals won in the lookback"),
    )
    lookback_months = forms.IntegerField(
        label=gettext_lazy("Lookback (months)"),
        required=False,
        min_value=1,
        max_value=60,
        help_text=gettext_lazy("Months before the plan that rates, lags and deal size are measured over"),
    )

    def __init__(self, *args: Any, steps: list[tuple[str, str]], teams: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.step_fields, self.capacity_fields = [], []
        for step, label in steps:
            name = "rate_" + step.replace(":", "__")
            self.fields[name] = forms.CharField(
                label=_("Conversion %(step)s") % {"step": label},
                required=False,
                max_length=10,
                help_text=_("Empty: measured. 0.25 or 25%"),
            )
            self.step_fields.append((name, step))
        for team, label in teams:
            name = f"capacity_{team}"
            self.fields[name] = forms.CharField(
                label=_("Capacity of %(team)s (per person a month)") % {"team": label},
                required=False,
                max_length=10,
            )
            self.capacity_fields.append((name, team))

    @property
    def filled(self) -> bool:
        return self.is_bound and bool((self.data.get(self.add_prefix("target")) or "").strip())

    def options(self) -> dict[str, Any]:
        """The options of ``kyogyo plan`` (by their argparse names)."""
        data = self.cleaned_data
        return {
            "target": data["target"].strip(),
            "period": data["period"].strip() or None,
            "deal_size": data["deal_size"].strip() or None,
            "rate": [f"{step}={data[name].strip()}" for name, step in self.step_fields if data[name].strip()],
            "capacity": [
                f"{team}={data[name].strip()}" for name, team in self.capacity_fields if data[name].strip()
            ],
            "lookback_months": data.get("lookback_months") or plan.DEFAULT_LOOKBACK_MONTHS,
        }


@dataclass
class Scenario:
    prefix: str
    form: PlanForm
    inputs: plan.PlanInputs | None = None
    result: plan.PlanResult | None = None
    problem: str | None = None

    @property
    def label(self) -> str:
        return _("Scenario %(letter)s") % {"letter": self.prefix.upper()}

    names: dict[str, str] | None = None
    teams: dict[str, str] | None = None

    @property
    def data(self) -> dict[str, Any] | None:
        return labelled(self.result.as_dict(), self.names or {}, self.teams or {}) if self.result else None


def labelled(result: dict[str, Any], names: dict[str, str], teams: dict[str, str]) -> dict[str, Any]:
    """A plan's JSON with the stages' and teams' names in the reader's language."""
    return {
        **result,
        "stages": [dict(s, label=names.get(s["stage"], s["stage"])) for s in result.get("stages", [])],
        "capacity": [dict(c, label=teams.get(c["team"], c["team"])) for c in result.get("capacity", [])],
    }


def form_shape(context: Context) -> dict[str, Any]:
    names = dashboard.local_stage_names(context)
    teams = dashboard.team_names()
    path = plan.plan_path(context)
    steps = [(step, " → ".join(names.get(k, k) for k in step.split(":"))) for step in plan.steps(path)]
    return {"steps": steps, "teams": [(team, teams.get(team, team)) for team in plan.CAPACITY_STAGES]}


def scenarios(data: Any, context: Context) -> list[Scenario]:
    shape = form_shape(context)
    names, teams = dashboard.local_stage_names(context), dict(shape["teams"])
    found = []
    for prefix in PREFIXES:
        form = PlanForm(data, prefix=prefix, **shape)
        scenario = Scenario(prefix, form, names=names, teams=teams)
        if form.filled and form.is_valid():
            _compute(scenario)
        found.append(scenario)
    return found


def _compute(scenario: Scenario) -> None:
    form = scenario.form
    try:
        scenario.inputs, scenario.result = reports.make_plan(form.options())
    except SpecError as exc:
        field = FIELD_OF.get(exc.code)
        message = refusal_message(exc)
        if exc.code == "bad_period":  # here: not a period at all (the code's other sense elsewhere)
            message = _("Not a period: write FY2026, FY2026-Q1, 2026 or 2026-06.")
        if field:
            form.add_error(field, message)
        else:
            scenario.problem = message


def chosen(found: list[Scenario], prefix: str) -> Scenario | None:
    return next((s for s in found if s.prefix == prefix and s.result is not None), None)


def plan_page(context: Context, saved: SavedPlan) -> dict[str, Any]:
    """A saved plan and how it is going: required against actual per stage and month."""
    names = dashboard.local_stage_names(context)
    actual = dashboard.report("plan-actual", {"plan": saved.pk})
    stages = []
    for row in (actual.data or {}).get("stages", []):
        months = row.get("months") or []
        url = None
        if months and row.get("actual") is not None:
            start = parse_period(months[0]["month"], 1)[0]  # months: the fiscal start does not matter
            end = parse_period(months[-1]["month"], 1)[1]
            window = {"start": start.isoformat(), "end": end.isoformat()}
            url = drilldown.url(window, "waterfall", "entered", row["stage"])
        stages.append(dict(row, label=names.get(row["stage"], row["stage"]), url=url))
    window = {"start": saved.starts_on.isoformat(), "end": saved.ends_on.isoformat()}
    months = sorted({m["month"] for row in stages for m in row.get("months") or []})
    for row in stages:
        by_month = {m["month"]: m for m in row.get("months") or []}
        row["by_month"] = [by_month.get(month) for month in months]
    return {
        "months": months,
        "saved": saved,
        "actual": actual,
        "revenue_url": drilldown.url(window, "deals", "won"),
        "stages": stages,
        "chart": figures.plan_vs_actual(stages, names) if stages else None,
        "result": labelled(saved.result, names, dashboard.team_names()),
        "names": names,
    }


def compare_page(context: Context, compared: list[SavedPlan]) -> dict[str, Any]:
    """Saved plans side by side: per stage the volume each requires and the rate it assumes."""
    names = dashboard.local_stage_names(context)
    keys: list[str] = []
    for saved in compared:
        for row in saved.result.get("stages", []):
            if row["stage"] not in keys:
                keys.append(row["stage"])
    rows = []
    for key in keys:
        cells = []
        for saved in compared:
            row = next((r for r in saved.result.get("stages", []) if r["stage"] == key), None)
            cells.append(row)
        rows.append({"label": names.get(key, key), "cells": cells})
    return {"compared": compared, "rows": rows, "choices": SavedPlan.objects.all()[:100]}
