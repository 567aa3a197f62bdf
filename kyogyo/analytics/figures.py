"""Plotly figures of The Model's pages, built as JSON in Python (the pages embed them with
``json_script``; ``web/app.js`` draws them). A point's ``customdata`` is the drill-down URL
of the records behind it: a click on a bar opens them."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

FONT = {"family": "system-ui, 'Noto Sans CJK JP', sans-serif", "size": 13}


def funnel(stages: list[dict[str, Any]]) -> dict[str, Any]:
    """The waterfall's first entries per stage as a funnel, each bar opening its people."""
    return {
        "data": [
            {
                "type": "funnel",
                "y": [s["label"] for s in stages],
                "x": [s["entered"] for s in stages],
                "customdata": [s["entered_url"] for s in stages],
                "textinfo": "value",
                "hovertemplate": "%{y}: %{x}<extra></extra>",
                "marker": {"color": "#2f6f9f"},
                "name": _("Entered"),
            }
        ],
        "layout": {
            "height": 380,
            "margin": {"t": 10, "r": 10, "b": 30, "l": 120},
            "font": FONT,
            "showlegend": False,
        },
    }


def plan_vs_actual(stages: list[dict[str, Any]], names: dict[str, str]) -> dict[str, Any]:
    """Required against actual first entries per stage of a saved plan (to date)."""
    labels = [names.get(s["stage"], s["stage"]) for s in stages]
    return {
        "data": [
            {
                "type": "bar",
                "name": _("Required"),
                "x": labels,
                "y": [s["required"] for s in stages],
                "marker": {"color": "#b8c7d6"},
            },
            {
                "type": "bar",
                "name": _("Actual"),
                "x": labels,
                "y": [s["actual"] for s in stages],
                "customdata": [s.get("url") for s in stages],
                "marker": {"color": "#2f6f9f"},
            },
        ],
        "layout": {
            "height": 340,
            "barmode": "group",
            "margin": {"t": 10, "r": 10, "b": 40, "l": 50},
            "font": FONT,
            "legend": {"orientation": "h"},
        },
    }
