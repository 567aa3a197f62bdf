"""Plotly figures of the Customer Success pages, as plain dicts (drawn by web/app.js).
Every point carries in ``customdata`` the URL of the records behind it (the drill-down)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from kyogyo.success.numbers import Saas

# (kind, sign on the chart, colour): gains above the axis, losses below
MOVEMENTS = (
    ("new", 1, "#2f6fdf"),
    ("expansion", 1, "#2aa876"),
    ("reactivation", 1, "#8e6bd8"),
    ("contraction", -1, "#e39b2d"),
    ("churn", -1, "#d64545"),
)


def movement_labels() -> dict[str, str]:
    return {
        "new": _("New"),
        "expansion": _("Expansion"),
        "reactivation": _("Reactivation"),
        "contraction": _("Contraction"),
        "churn": _("Churn"),
    }


def movements_url(kind: str | None, start: str, end: str) -> str:
    params = {"from": start, "to": end, **({"kind": kind} if kind else {})}
    return f"{reverse('success:movements')}?{urlencode(params)}"


def mrr_movements(saas: Saas) -> dict[str, Any]:
    """Stacked bars of each month's MRR movements (losses negative) and the month-end MRR
    as a line; a bar opens that month's movements of its kind, a line point all of them."""
    labels = movement_labels()
    months = [p["period"] for p in saas.periods]
    data: list[dict[str, Any]] = []
    for kind, sign, colour in MOVEMENTS:
        data.append(
            {
                "type": "bar",
                "name": labels[kind],
                "x": months,
                "y": [sign * p["movements"][kind]["mrr"] for p in saas.periods],
                "marker": {"color": colour},
                "customdata": [movements_url(kind, p["from"], p["to"]) for p in saas.periods],
                "hovertemplate": "%{x}: %{y:,}<extra>" + labels[kind] + "</extra>",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _("MRR at month end"),
            "x": months,
            "y": [p["mrr_end"] for p in saas.periods],
            "yaxis": "y2",
            "line": {"color": "#333333"},
            "customdata": [movements_url(None, p["from"], p["to"]) for p in saas.periods],
            "hovertemplate": "%{x}: %{y:,}<extra></extra>",
        }
    )
    return {
        "data": data,
        "layout": {
            "barmode": "relative",
            "height": 360,
            "margin": {"t": 20, "r": 60, "l": 70, "b": 40},
            "legend": {"orientation": "h", "y": -0.15},
            "xaxis": {"type": "category"},  # "2026-04" as written, not a localised month name
            "yaxis": {"title": {"text": _("MRR movement (¥)")}, "tickformat": ",.0f"},
            "yaxis2": {
                "title": {"text": _("MRR (¥)")},
                "overlaying": "y",
                "side": "right",
                "tickformat": ",.0f",
                "rangemode": "tozero",
                "showgrid": False,
            },
        },
    }


def nps_distribution(counts: list[int]) -> dict[str, Any]:
    """Answers per score 0–10, coloured by category; a bar opens that score's verbatims."""
    colours = ["#d64545"] * 7 + ["#b0b0b0"] * 2 + ["#2aa876"] * 2
    scores = list(range(11))
    return {
        "data": [
            {
                "type": "bar",
                "x": scores,
                "y": counts,
                "marker": {"color": colours},
                "customdata": [f"{reverse('success:nps')}?{urlencode({'score': s})}" for s in scores],
                "hovertemplate": "%{x}: %{y}<extra></extra>",
            }
        ],
        "layout": {
            "height": 260,
            "margin": {"t": 10, "r": 20, "l": 50, "b": 40},
            "xaxis": {"title": {"text": _("Score")}, "dtick": 1},
            "yaxis": {"title": {"text": _("Answers")}},
        },
    }
