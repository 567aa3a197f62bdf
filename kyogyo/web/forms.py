"""Forms of the layout's own pages."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kyogyo.org.models import User
from kyogyo.org.signin import lockout_left


def _zone_choices() -> list[tuple[str, object]]:
    zones = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
    return [("", _("The company's time zone"))] + [(zone, zone) for zone in zones]


class PreferencesForm(forms.ModelForm):
    # Language names are written in their own language and zones are IANA names: data, not text.
    language = forms.ChoiceField(
        label=_("Language"), choices=settings.LANGUAGES, widget=forms.Select(attrs={"translate": "no"})
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=_zone_choices,
        required=False,
        widget=forms.Select(attrs={"translate": "no"}),
    )

    class Meta:
        model = User
        fields = ["language", "time_zone"]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=settings.LANGUAGES)
    next = forms.CharField(required=False, max_length=2000)


class SignInForm(AuthenticationForm):
    """Django's sign-in form, saying plainly when an account is locked for a while."""

    def clean(self):  # type: ignore[no-untyped-def]
        username = self.cleaned_data.get("username")
        if username:
            seconds = lockout_left(username)
            if seconds:
                minutes = max(1, round(seconds / 60))
                raise ValidationError(
                    ngettext(
                        "Too many wrong passwords: this account is locked. Try again in %(minutes)d minute.",
                        "Too many wrong passwords: this account is locked. Try again in %(minutes)d minutes.",
                        minutes,
                    )
                    % {"minutes": minutes},
                    code="locked",
                )
        return super().clean()
