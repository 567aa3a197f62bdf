"""Forms of the Customer Success pages: what a CSM types; the actions decide the rest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kyogyo.success import onboarding
from kyogyo.success.models import NpsResponse, Subscription

MAX_NOTE = 2000
MAX_DAYS_AHEAD = 366  # a start further out is a typo, not a plan


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


class StartSubscriptionForm(forms.Form):
    """A new customer's first subscription; the MRR is monthly-normalised (an annual plan's
    yearly price ÷ 12), as every MRR figure is."""

    plan = forms.CharField(label=_("Plan"), max_length=100, widget=forms.TextInput(attrs={"translate": "no"}))
    mrr = forms.IntegerField(label=_("MRR (¥)"), min_value=1, max_value=10**12)
    billing_period = forms.ChoiceField(label=_("Billing"), choices=Subscription.BillingPeriod.choices)
    currency = forms.RegexField(
        label=_("Currency"),
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        error_messages={"invalid": _("The currency is a three-letter code such as JPY.")},
        widget=forms.TextInput(attrs={"size": 4, "translate": "no"}),
    )
    starts_on = forms.DateField(label=_("Starts on"), widget=DateInput)

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean_starts_on(self) -> dt.date:
        on = self.cleaned_data["starts_on"]
        if on > timezone.localdate() + dt.timedelta(days=MAX_DAYS_AHEAD):
            raise forms.ValidationError(_("A subscription starts within a year from today."))
        return on


def start_form(customer: onboarding.NewCustomer, data: Any = None) -> StartSubscriptionForm:
    """The start form of one new customer, prefilled from their won deal; its ids are the
    person's own, so a page listing several stays valid HTML."""
    return StartSubscriptionForm(
        data, initial=onboarding.prefill(customer), auto_id=f"id_start{customer.contact.pk}_%s"
    )


def start_for(user: Any, *, contact: Any = None, account_id: int | None = None) -> dict[str, Any] | None:
    """The start form for a person's or a company's page: for who may start subscriptions,
    when the person (or someone of the company) is a new customer waiting for one."""
    from kyogyo.org import access

    if not access.can_change_subscription(user):
        return None
    if contact is not None:
        milestone = getattr(contact, "milestone", None)
        if milestone is None or not onboarding.may_be_waiting(milestone.current_stage):
            return None
        customer = onboarding.of_contact(contact)
    else:
        assert account_id is not None
        customer = onboarding.of_account(account_id)
    if customer is None:
        return None
    return {"customer": customer, "form": start_form(customer)}
