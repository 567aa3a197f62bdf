"""The filters of The Model's pages (period, segment, source, team, owner, view) as GET
parameters: validated by a form, so a bad date or an unknown period is a message beside its
field, never a crash. The same parameters travel in every drill-down link."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kyogyo.analytics.models import AnalyticsSettings
from kyogyo.analytics.spec import SpecError, add_months, parse_period

DIMENSIONS = ("segment", "source", "team", "owner")
PARAMETERS = ("period", "start", "end", "view", *DIMENSIONS)


def fiscal_year_of(day: dt.date, start_month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(day.year if day.month >= start_month else day.year - 1, start_month, 1)
    return first, add_months(first, 12) - dt.timedelta(days=1)


def dimension_choices(snapshot: Any) -> dict[str, list[tuple[str, str]]]:
    """The values people can filter on, read from the snapshot the numbers come from."""
    from kyogyo.org.models import Team
    from kyogyo.web.templatetags.web import local_name

    def distinct(column: str) -> list[tuple[str, str]]:
        rows = snapshot.query(
            f"SELECT DISTINCT {column} FROM subjects WHERE {column} IS NOT NULL AND {column} <> '' ORDER BY 1"
        )
        return [(str(value), str(value)) for (value,) in rows]

    owners = snapshot.query(
        "SELECT DISTINCT u.username FROM subjects s JOIN users u ON u.id = s.owner_id ORDER BY 1"
    )
    return {
        "segment": distinct("segment"),
        "source": distinct("source"),
        "team": [(team.key, local_name(team)) for team in Team.objects.all()],
        "owner": [(str(name), str(name)) for (name,) in owners],
    }


class ModelFilters(forms.Form):
    period = forms.CharField(
        label=_("Period"),
        required=False,
        max_length=20,
        help_text=_("2026-04 (a month), FY2026 (a fiscal year) or FY2026-Q1 (a fiscal quarter)"),
    )
    start = forms.DateField(
        label=_("First day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    view = forms.ChoiceField(
        label=_("Conversion"),
        required=False,
        choices=[("cohort", _("Cohort view")), ("period", _("Period view"))],
    )
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    source = forms.ChoiceField(label=_("Source"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    owner = forms.ChoiceField(label=_("Owner"), required=False)

    def __init__(self, data: Any, *, choices: dict[str, list[tuple[str, str]]], today: dt.date):
        super().__init__(data)
        self.today = today
        for name in DIMENSIONS:
            self.fields[name].choices = [("", _("All")), *choices.get(name, [])]  # type: ignore[attr-defined]
            self.fields[name].widget.attrs["translate"] = "no"  # the values are data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        period, start, end = cleaned.get("period"), cleaned.get("start"), cleaned.get("end")
        if self.errors:
            return cleaned
        month = AnalyticsSettings.load().fiscal_year_start_month
        if period:
            if start or end:
                raise forms.ValidationError(_("Give either a period or dates, not both."))
            try:
                cleaned["start"], cleaned["end"] = parse_period(period, month)
            except SpecError:
                self.add_error("period", _("Not a period: write 2026-04, 2026, FY2026 or FY2026-Q1."))
                return cleaned
        elif start or end:
            given = start or end
            assert given is not None
            fiscal_start, fiscal_end = fiscal_year_of(given, month)
            cleaned["start"], cleaned["end"] = start or fiscal_start, end or fiscal_end
        else:
            cleaned["start"], cleaned["end"] = fiscal_year_of(self.today, month)
        if cleaned["end"] < cleaned["start"]:
            self.add_error("end", _("The period ends before it starts."))
        cleaned["view"] = cleaned.get("view") or "cohort"
        return cleaned

    def options(self) -> dict[str, Any]:
        """The options of ``reports.run`` (the command line's names)."""
        data = self.cleaned_data
        return {
            "start": data["start"],
            "end": data["end"],
            "view": data["view"],
            "filter": [(name, data[name]) for name in DIMENSIONS if data.get(name)],
        }

    def window(self) -> tuple[dt.date, dt.date]:
        return self.cleaned_data["start"], self.cleaned_data["end"]

    def kept(self) -> dict[str, str]:
        """The GET parameters as given (valid ones), for the links that keep them."""
        return {name: str(self.data[name]) for name in PARAMETERS if self.data.get(name)}
