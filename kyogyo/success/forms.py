"""Forms of the Customer Success pages: what a CSM types; the actions decide the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kyogyo.success.models import NpsResponse

MAX_NOTE = 2000


class DateInput(forms.DateInput):
    input_type = "date"


class ChangeMrrForm(forms.Form):
    mrr = forms.IntegerField(label=_("New MRR (¥)"), min_value=1, max_value=10**12)
    on = forms.DateField(label=_("Effective on"), widget=DateInput)


class DatedForm(forms.Form):
    on = forms.DateField(label=_("Date"), widget=DateInput)


class HandBackForm(forms.Form):
    amount = forms.IntegerField(label=_("Expected amount (¥)"), min_value=0, max_value=10**12)
    note = forms.CharField(
        label=_("What the customer needs"),
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3, "translate": "no"}),
    )


class NpsFilterForm(forms.Form):
    CATEGORIES = (
        ("", _("All answers")),
        ("promoter", _("Promoters (9–10)")),
        ("passive", _("Passives (7–8)")),
        ("detractor", _("Detractors (0–6)")),
    )
    category = forms.ChoiceField(label=_("Category"), choices=CATEGORIES, required=False)
    score = forms.IntegerField(label=_("Score"), min_value=0, max_value=10, required=False)
    with_comment = forms.BooleanField(label=_("With a comment only"), required=False)


NPS_RANGES = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)}


def filtered_nps(form: NpsFilterForm):  # type: ignore[no-untyped-def]
    rows = NpsResponse.objects.select_related("contact", "account").order_by("-answered_at", "-id")
    if not form.is_valid():
        return rows
    data = form.cleaned_data
    if data["category"] in NPS_RANGES:
        low, high = NPS_RANGES[data["category"]]
        rows = rows.filter(score__gte=low, score__lte=high)
    if data["score"] is not None:
        rows = rows.filter(score=data["score"])
    if data["with_comment"]:
        rows = rows.exclude(comment="")
    return rows
