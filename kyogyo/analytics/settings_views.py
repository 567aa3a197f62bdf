"""Settings → targets and fiscal year (admins only): the fiscal year's first month, the
deal-size and company-size bands, and targets per KPI, team and period."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kyogyo.analytics import actions
from kyogyo.analytics.models import AnalyticsSettings, Target
from kyogyo.org.models import Team
from kyogyo.web.paging import paginate
from kyogyo.web.settings_pages import admin_page, submit

MONTHS = [(n, n) for n in range(1, 13)]


class EdgesField(forms.CharField):
    """Band edges typed as "1000000, 5000000, 20000000"."""

    def to_python(self, value: object) -> list[int]:  # type: ignore[override]
        text = str(value or "").replace("，", ",").replace("_", "")
        parts = [p.strip() for p in text.split(",") if p.strip()]
        try:
            return [int(p) for p in parts]
        except ValueError as exc:
            raise forms.ValidationError(_("Write whole numbers separated by commas.")) from exc

    def prepare_value(self, value: object) -> str:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value or "")


class SettingsForm(forms.Form):
    fiscal_year_start_month = forms.TypedChoiceField(
        label=gettext_lazy("Fiscal year starts in month"),
        choices=MONTHS,
        coerce=int,
        help_text=gettext_lazy("1 = January … 12 = December; many Japanese companies start in April."),
    )
    deal_size_edges = EdgesField(
        label=gettext_lazy("Deal-size band edges (yen)"), widget=forms.TextInput(attrs={"translate": "no"})
    )
    company_size_edges = EdgesField(
        label=gettext_lazy("Company-size band edges (employees)"),
        widget=forms.TextInput(attrs={"translate": "no"}),
    )
    small_denominator = forms.IntegerField(
        label=gettext_lazy("Small denominator"),
        min_value=1,
        max_value=100_000,
        help_text=gettext_lazy("Rates over fewer people than this are flagged as small samples."),
    )
    gross_margin_percent = forms.IntegerField(
        label=gettext_lazy("Gross margin %"), min_value=0, max_value=100
    )


class TargetForm(forms.Form):
    metric = forms.CharField(
        label="KPI",
        max_length=40,
        help_text=gettext_lazy(
            'One of <code translate="no">revenue, new_mrr, wins, grr</code> (GRR as a share: 0.9 = 90%%) or '
            '<code translate="no">entered:&lt;stage key&gt;</code>.'
        ),
        widget=forms.TextInput(attrs={"translate": "no", "list": "kpis"}),
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label=gettext_lazy("The company"),
        widget=forms.Select(attrs={"translate": "no"}),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("Starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=gettext_lazy("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    value = forms.FloatField(label=gettext_lazy("Target"), min_value=0)


def _render(request: HttpRequest, status: int = 200, **given: forms.Form) -> HttpResponse:
    row = AnalyticsSettings.load()
    initial = {f: getattr(row, f) for f in SettingsForm.base_fields}
    context = {
        "settings_form": given.get("settings") or SettingsForm(initial=initial),
        "target_form": given.get("target") or TargetForm(),
        "page": paginate(
            request, Target.objects.select_related("team").order_by("-starts_on", "metric", "pk"), 50
        ),
        "kpis": [*actions.PLAIN_METRICS, "entered:mql", "entered:sql"],
    }
    return render(request, "analytics/settings/targets.html", context, status=status)


@admin_page
def targets(request: HttpRequest) -> HttpResponse:
    """GET shows both; POST ``part=settings`` saves the settings, ``part=target`` adds a target."""
    if request.method != "POST":
        return _render(request)
    if request.POST.get("part") == "settings":
        form: forms.Form = SettingsForm(request.POST)
        done, _saved = submit(
            form,
            lambda data: actions.save_settings(actor=request.user, **data),  # type: ignore[arg-type]
            actions.AnalyticsError,
        )
        if done:
            messages.success(
                request, _("The analytics settings are saved; reports use them from the next refresh.")
            )
            return redirect("settings:targets")
        return _render(request, 422, settings=form)
    form = TargetForm(request.POST)
    done, _target = submit(
        form,
        lambda data: actions.create_target(actor=request.user, **data),  # type: ignore[arg-type]
        actions.AnalyticsError,
    )
    if done:
        messages.success(request, _("The target is added; reports show it from the next refresh."))
        return redirect("settings:targets")
    return _render(request, 422, target=form)


@admin_page
@require_POST
def delete_target(request: HttpRequest, pk: int) -> HttpResponse:
    target = Target.objects.filter(pk=pk).first()
    if target is None:
        raise Http404
    actions.delete_target(target, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("The target is deleted."))
    return redirect("settings:targets")
