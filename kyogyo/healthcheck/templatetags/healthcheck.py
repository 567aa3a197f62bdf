"""Template helpers of the health-check pages."""

from __future__ import annotations

from typing import Any

from django import template

from kyogyo.healthcheck.reading import evidence_text, symbol
from kyogyo.healthcheck.sheet import load

register = template.Library()


@register.filter
def mark_symbol(mark: str | None) -> str:
    """○ △ × (– when not assessed)."""
    return symbol(mark)


@register.filter
def mark_label(mark: str | None) -> str:
    """できている / Partly in place …, in the reader's language."""
    if not mark:
        return ""
    return str(load().marks[mark].label)


@register.filter
def evidence(figures: dict[str, Any] | None) -> str:
    """The evidence as a sentence in the reader's language."""
    return evidence_text(figures)


@register.filter
def score(value: float | None) -> str:
    """A category score (0–1) as a whole percentage."""
    return "–" if value is None else f"{value * 100:.0f}%"


@register.filter
def signed_points(value: float | None) -> str:
    """A change of score in percentage points: +25 / −10 / ±0."""
    if value is None:
        return "–"
    points = round(value * 100)
    if points == 0:
        return "±0"
    return f"+{points}" if points > 0 else f"−{abs(points)}"
