"""The fill-in form: the date, a summary, and per item of the sheet a mark (○ △ × or not
assessed) and a note. The action checks the same rules again; its refusals land on the
item they are about."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kyogyo.healthcheck.actions import MAX_NOTE, MAX_SUMMARY, Marks
from kyogyo.healthcheck.models import Assessment
from kyogyo.healthcheck.sheet import Item, load


def mark_field(item: Item) -> str:
    return f"mark-{item.key}"


def note_field(item: Item) -> str:
    return f"note-{item.key}"


class AssessmentForm(forms.Form):
    assessed_on = forms.DateField(
        label=_("Assessed on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    summary = forms.CharField(
        label=_("Summary"),
        required=False,
        max_length=MAX_SUMMARY,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sheet = load()
        choices = [("", "–"), *((key, mark.symbol) for key, mark in sheet.marks.items())]
        for item in sheet.items:
            self.fields[mark_field(item)] = forms.ChoiceField(
                label=str(item.question), choices=choices, required=False, widget=forms.RadioSelect
            )
            self.fields[note_field(item)] = forms.CharField(
                label=_("Note"),
                required=False,
                max_length=MAX_NOTE,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def clean_assessed_on(self) -> Any:
        value = self.cleaned_data["assessed_on"]
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("An assessment cannot be dated in the future."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        marked = False
        for item in load().items:
            mark, note = data.get(mark_field(item)), (data.get(note_field(item)) or "").strip()
            if note and not mark:
                self.add_error(mark_field(item), _("Give this item a mark to keep its note."))
            marked = marked or bool(mark)
        if not marked and not self.errors:
            raise forms.ValidationError(_("Mark at least one item."))
        return data

    def marks(self) -> Marks:
        data = self.cleaned_data
        return {
            item.key: (data.get(mark_field(item)) or "", data.get(note_field(item)) or "")
            for item in load().items
        }

    @classmethod
    def initial_from(cls, assessment: Assessment | None) -> dict[str, Any]:
        """A new assessment starts from the last one's marks and notes (and today's date)."""
        initial: dict[str, Any] = {"assessed_on": timezone.localdate()}
        if assessment is None:
            return initial
        for mark in assessment.marks.all():
            initial[f"mark-{mark.item}"] = mark.value
            initial[f"note-{mark.item}"] = mark.note
        return initial
