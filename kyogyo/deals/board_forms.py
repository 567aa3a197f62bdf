"""Forms of the pipeline board and the deal page. They only read input; every change goes
through ``deals.actions``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.core.validators import MinValueValidator
from django.utils.translation import gettext_lazy as _

from kyogyo.deals.board import Filters, segment_bands
from kyogyo.deals.models import Deal
from kyogyo.journey.models import ReasonCode
from kyogyo.org.models import Team, User
from kyogyo.web.templatetags.web import local_name

MAX_NOTE = 2000


class PersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


class TeamField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return local_name(obj)


def active_people() -> forms.ModelChoiceField:
    return PersonField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        label=_("Owner"),
        empty_label=_("Anyone"),
    )


class BoardFilterForm(forms.Form):
    owner = active_people()
    team = TeamField(
        queryset=Team.objects.order_by("order", "key"),
        required=False,
        label=_("Team"),
        empty_label=_("All teams"),
    )
    segment = forms.ChoiceField(label=_("Company size"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bands = segment_bands()
        cast(forms.ChoiceField, self.fields["segment"]).choices = [("", _("All sizes"))] + [
            (str(i), _("%(band)s employees") % {"band": label})
            for i, (label, _bounds) in enumerate(self.bands)
        ]

    def filters(self) -> Filters:
        """The valid filters; a value that is not valid (an unknown id, a bad band) is left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        segment = data.get("segment")
        return Filters(
            owner=data.get("owner"),
            team=data.get("team"),
            segment=self.bands[int(segment)][1] if segment else None,
        )


class DealForm(forms.ModelForm):
    """The deal's editable fields; ``version`` is the one the person saw (a stale save is
    refused with ``conflict``)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    owner = active_people()

    class Meta:
        model = Deal
        fields = ["name", "amount", "currency", "probability", "expected_close", "owner", "next_step"]
        widgets = {"expected_close": forms.DateInput(attrs={"type": "date"})}
        labels = {"amount": _("Amount (yen)")}

    def __init__(self, *args: Any, hidden: Iterable[str] = (), **kwargs: Any) -> None:
        """``hidden``: restricted fields the reader may not see, so neither shown nor changed."""
        super().__init__(*args, **kwargs)
        for name in hidden:
            self.fields.pop(name, None)
        if "amount" in self.fields:
            self.fields["amount"].validators.append(MinValueValidator(0))
            self.fields["amount"].widget.attrs["min"] = 0
        if not self.is_bound and self.instance.pk:
            self.fields["version"].initial = self.instance.version

    @property
    def editable_names(self) -> list[str]:
        return [name for name in self.Meta.fields if name in self.fields]

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version")
        if "next_step" in data:
            data["next_step"] = data["next_step"] or None
        return data


class LoseForm(forms.Form):
    reason = forms.ModelChoiceField(
        queryset=ReasonCode.objects.filter(kind=ReasonCode.Kind.LOSS, active=True).order_by("order", "key"),
        to_field_name="key",
        label=_("Loss reason"),
        empty_label=_("Choose a reason…"),
        error_messages={"required": _("Choose a loss reason."), "invalid_choice": _("Choose a loss reason.")},
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=MAX_NOTE, widget=forms.Textarea)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)
