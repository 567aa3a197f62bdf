"""Template helpers shared by every page."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode

from django import template
from django.http import HttpRequest
from django.utils import formats
from django.utils.translation import get_language, gettext

from kyogyo.org import restricted

register = template.Library()


@register.filter
def local_name(obj: Any) -> str:
    """A configured name (team, stage, reason) in the reader's language: the Japanese
    name when reading in Japanese and one is set, else the name."""
    if obj is None:
        return ""
    japanese = (get_language() or "").startswith("ja")
    for base in ("name", "label"):
        if hasattr(obj, base):
            if japanese and getattr(obj, f"{base}_ja", None):
                return str(getattr(obj, f"{base}_ja"))
            return str(getattr(obj, base))
    return str(obj)


@register.filter
def person(contact: Any) -> str:
    """A person's display name: full name, else email, else their number."""
    if contact is None:
        return ""
    if not _name_shown(contact):
        return str(restricted.masked_value())
    full = " ".join(part for part in (contact.first_name, contact.last_name) if part)
    if (get_language() or "").startswith("ja") and contact.last_name and contact.first_name:
        full = f"{contact.last_name} {contact.first_name}"  # family name first in Japanese
    return full or contact.email or f"#{contact.pk}"


def _name_shown(contact: Any) -> bool:
    """Not when the name is masked, nor when the page's reader may not see it (a person who
    opted out, on a page that shows records it did not mask itself: queues, the home)."""
    if restricted.is_masked(contact.first_name) or restricted.is_masked(contact.last_name):
        return False
    viewer = restricted.current_viewer()
    if viewer is None or not hasattr(contact, "_meta"):
        return True
    return restricted.may_see(viewer, contact, "last_name") and restricted.may_see(viewer, contact, "email")


@register.filter
def masked(value: Any) -> bool:
    """Is this value withheld from the reader (a restricted field)? ``{% if x|masked %}``"""
    return restricted.is_masked(value)


@register.filter
def business_hours(hours: float) -> str:
    """A countdown: "3.5 h left" or "2.0 h overdue" in business hours."""
    amount = formats.number_format(abs(hours), 1, use_l10n=True)
    if hours < 0:
        return gettext("%(hours)s business h overdue") % {"hours": amount}
    return gettext("%(hours)s business h left") % {"hours": amount}


@register.filter
def money(value: Any, currency: str = "JPY") -> str:
    """Whole yen with grouping in the reader's locale."""
    if restricted.is_masked(value):
        return str(value)
    if value is None or value == "":
        return "–"
    return "¥" + formats.number_format(rounded(value, 0), 0, use_l10n=True, force_grouping=True)


def rounded(value: Any, digits: int, scale: int = 1) -> Decimal:
    """`value × scale` half up to `digits` places, as people round (Django's number_format
    cuts instead: 0.9996 would show as 99.9%, not 100.0%). Exact for Fractions, the
    metrics' ratios."""
    if isinstance(value, Fraction):
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        exact = Decimal(str(value))
    return (exact * scale).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


@register.filter
def number(value: Any, digits: int = 0) -> str:
    if restricted.is_masked(value):
        return str(value)
    if value is None or value == "":
        return "–"
    return formats.number_format(rounded(value, digits), digits, use_l10n=True, force_grouping=True)


@register.filter
def percent(value: Any, digits: int = 1) -> str:
    """A ratio (0.254) as a percentage (25.4%)."""
    if restricted.is_masked(value):
        return str(value)
    if value is None or value == "":
        return "–"
    return formats.number_format(rounded(value, digits, scale=100), digits, use_l10n=True) + "%"


@register.simple_tag(takes_context=True)
def query(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one):
    for pagination, sorting and filter links that keep the other filters."""
    request: HttpRequest = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    encoded = urlencode(sorted(params.items()))
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def plotly_assets() -> str:
    """plotly.js and what it needs to draw under the CSP: `{% block scripts %}{% plotly_assets %}`."""
    from kyogyo.web import charts

    return charts.plotly_assets()
