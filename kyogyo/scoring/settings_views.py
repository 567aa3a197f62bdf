"""Settings → scoring (admins only): fit rules (points when a condition on the person or
company holds) and engagement weights (points per activity type, halved every half-life)."""

from __future__ import annotations

import json

import yaml
from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kyogyo.journey import criteria
from kyogyo.marketing.models import ActivityType
from kyogyo.scoring import actions
from kyogyo.scoring.models import EngagementWeight, FitRule, ScoringSettings
from kyogyo.web.settings_pages import admin_page, form_status, submit


class FitRuleForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=150)
    label_ja = forms.CharField(label=gettext_lazy("Japanese label"), max_length=150, required=False)
    condition = forms.CharField(
        label=gettext_lazy("Condition (YAML or JSON)"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"class": "code", "translate": "no", "rows": 6}),
        help_text=gettext_lazy("The same conditions as stage rules, on the person's and company's fields."),
    )
    points = forms.IntegerField(label=gettext_lazy("Points"), min_value=-1000, max_value=1000)
    order = forms.IntegerField(label=gettext_lazy("Order"), min_value=0, max_value=1000, initial=0)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def clean_condition(self) -> object:
        try:
            return yaml.safe_load(self.cleaned_data["condition"])
        except yaml.YAMLError as exc:
            raise forms.ValidationError(_("Not valid YAML or JSON: %(error)s") % {"error": exc}) from exc


class EngagementForm(forms.Form):
    half_life_days = forms.FloatField(label=gettext_lazy("Half-life (days)"), min_value=0.5, max_value=3650)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for kind, label in ActivityType.choices:
            self.fields[kind] = forms.FloatField(label=label, min_value=-1000, max_value=1000, initial=0)


def _engagement_initial() -> dict:
    initial: dict = {kind: 0 for kind in ActivityType.values}
    initial.update({w.activity_type: w.points for w in EngagementWeight.objects.all()})
    row = ScoringSettings.objects.filter(pk=1).first()
    initial["half_life_days"] = row.half_life_days if row else 30.0
    return initial


def _render(request: HttpRequest, status: int = 200, **given: forms.Form) -> HttpResponse:
    rules = [(rule, criteria.describe(rule.condition)) for rule in FitRule.objects.order_by("order", "id")]
    context = {
        "rules": rules,
        "form": given.get("rule") or FitRuleForm(),
        "engagement_form": given.get("engagement") or EngagementForm(initial=_engagement_initial()),
    }
    return render(request, "scoring/settings/scoring.html", context, status=status)


@admin_page
def scoring(request: HttpRequest) -> HttpResponse:
    """GET shows both; POST ``part=rule`` adds a fit rule, ``part=engagement`` saves the weights."""
    if request.method != "POST":
        return _render(request)
    if request.POST.get("part") == "engagement":
        form = EngagementForm(request.POST)
        done, _weights = submit(
            form,
            lambda data: actions.set_engagement(
                actor=request.user,  # type: ignore[arg-type]
                weights={k: v for k, v in data.items() if k != "half_life_days"},
                half_life_days=data["half_life_days"],
            ),
            actions.ScoringError,
        )
        if done:
            messages.success(request, _("The engagement weights are saved."))
            return redirect("settings:scoring")
        return _render(request, 422, engagement=form)
    rule_form = FitRuleForm(request.POST)
    done, _saved = submit(
        rule_form,
        lambda data: actions.save_fit_rule(None, actor=request.user, **data),  # type: ignore[arg-type]
        actions.ScoringError,
    )
    if done:
        messages.success(request, _("The fit rule is added; scores follow as people's data changes."))
        return redirect("settings:scoring")
    return _render(request, 422, rule=rule_form)


@admin_page
def fit_rule(request: HttpRequest, pk: int) -> HttpResponse:
    rule = FitRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404
    initial = {
        "label": rule.label,
        "label_ja": rule.label_ja,
        "condition": json.dumps(rule.condition, ensure_ascii=False),
        "points": rule.points,
        "order": rule.order,
        "active": rule.active,
    }
    form = FitRuleForm(request.POST or None, initial=initial)
    done, _saved = submit(
        form,
        lambda data: actions.save_fit_rule(rule, actor=request.user, **data),  # type: ignore[arg-type]
        actions.ScoringError,
    )
    if done:
        messages.success(request, _("The fit rule is saved."))
        return redirect("settings:scoring")
    return render(
        request, "scoring/settings/fit_rule.html", {"rule": rule, "form": form}, status=form_status(form)
    )
