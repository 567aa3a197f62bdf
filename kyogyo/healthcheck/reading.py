"""An assessment read for showing and exporting: the sheet's items with their marks, notes
and evidence, the category scores, the improvements, and the Plotly figures (radar by
category, history over assessments, two assessments compared)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from kyogyo.healthcheck.evidence import describe
from kyogyo.healthcheck.models import Assessment
from kyogyo.healthcheck.scores import Entry, Improvement, category_scores, improvements, overall_score
from kyogyo.healthcheck.sheet import Category, load

COLOURS = (("#2f6fdb", "rgba(47,111,219,0.25)"), ("#d9822b", "rgba(217,130,43,0.25)"))
LABEL_WIDTH = 16  # characters on one line of a radar axis label


@dataclass
class CategoryReading:
    category: Category
    score: float | None
    entries: list[Entry]


@dataclass
class Reading:
    assessment: Assessment
    categories: list[CategoryReading]
    overall: float | None
    improvements: list[Improvement]

    @property
    def scores(self) -> dict[str, float | None]:
        return {c.category.key: c.score for c in self.categories}

    @property
    def counts(self) -> dict[str, int]:
        """Mark key → how many items have it."""
        found = {key: 0 for key in load().marks}
        for category in self.categories:
            for entry in category.entries:
                if entry.mark:
                    found[entry.mark] += 1
        return found

    @property
    def marked(self) -> int:
        return sum(1 for c in self.categories for e in c.entries if e.mark)


def read(assessment: Assessment) -> Reading:
    """Uses ``assessment.marks.all()`` (prefetch it when reading many)."""
    sheet = load()
    marks = {m.item: m for m in assessment.marks.all()}
    evidence = assessment.evidence or {}
    categories = []
    all_entries = []
    scores = category_scores({key: m.value for key, m in marks.items()})
    for category in sheet.categories:
        entries = []
        for item in category.items:
            mark = marks.get(item.key)
            entry = Entry(
                item=item,
                mark=mark.value if mark else None,
                note=mark.note if mark else "",
                figures=evidence.get(item.key),
            )
            entries.append(entry)
        all_entries.extend(entries)
        categories.append(CategoryReading(category, scores[category.key], entries))
    return Reading(assessment, categories, overall_score(scores), improvements(all_entries))


def symbol(mark: str | None) -> str:
    if not mark:
        return "–"
    return load().marks[mark].symbol


def evidence_text(figures: dict[str, Any] | None) -> str:
    return describe(figures) if figures else ""


def _percent(score: float | None) -> float | None:
    return None if score is None else round(score * 100, 1)


def _layout(**extra: Any) -> dict[str, Any]:
    return {"margin": {"t": 30, "r": 30, "b": 40, "l": 40}, "height": 420, "font": {"size": 12}, **extra}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def wrapped(label: str, width: int = LABEL_WIDTH) -> str:
    """An axis label on two lines when long (plotly does not wrap them; the radar's outer
    labels would run off the chart): at the space nearest the middle, in Japanese after
    the particle の or と nearest it. The labels are the sheet's category names, never
    stored text."""
    if _width(label) <= width * 1.4:
        return label
    middle = len(label) // 2
    cuts = [i for i, char in enumerate(label) if char == " " and i > 3]
    cuts += [i + 1 for i, char in enumerate(label) if char in "のと" and 3 < i < len(label) - 2]
    cut = min(cuts, key=lambda i: abs(i - middle)) if cuts else middle
    return f"{label[:cut].rstrip()}<br>{label[cut:].lstrip()}"


def radar_figure(readings: list[Reading]) -> dict[str, Any]:
    """Score by category (0–100%) as a closed polygon per assessment."""
    categories = load().categories
    labels = [wrapped(f"{c.number}. {c.name}") for c in categories]
    data = []
    for reading, (colour, fill) in zip(readings, COLOURS, strict=False):
        # a category without a marked item is a gap in the polygon, not a zero
        values = [_percent(reading.scores[c.key]) for c in categories]
        data.append(
            {
                "type": "scatterpolar",
                "r": [*values, values[0]],
                "theta": [*labels, labels[0]],
                "fill": "toself",
                "connectgaps": True,
                "name": f"{reading.assessment.assessed_on:%Y-%m-%d}",
                "line": {"color": colour},
                "fillcolor": fill,
                "hovertemplate": "%{theta}: %{r}%<extra></extra>",
            }
        )
    return {
        "data": data,
        "layout": _layout(
            margin={"t": 50, "r": 90, "b": 50, "l": 90},
            polar={"radialaxis": {"range": [0, 100], "ticksuffix": "%"}},
            showlegend=len(readings) > 1,
        ),
    }


def history_figure(readings: list[Reading], urls: list[str]) -> dict[str, Any]:
    """The overall score and each category's over the assessments, oldest first; a click
    on a point opens that assessment (customdata is its URL)."""
    ordered = sorted(
        zip(readings, urls, strict=True), key=lambda r: (r[0].assessment.assessed_on, r[0].assessment.pk)
    )
    dates = [f"{r.assessment.assessed_on:%Y-%m-%d}" for r, _u in ordered]
    links = [u for _r, u in ordered]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _("Overall"),
            "x": dates,
            "y": [_percent(r.overall) for r, _u in ordered],
            "customdata": links,
            "line": {"width": 4, "color": "#16213a"},
        }
    ]
    for category in load().categories:
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{category.number}. {category.name}",
                "x": dates,
                "y": [_percent(r.scores[category.key]) for r, _u in ordered],
                "customdata": links,
            }
        )
    return {
        "data": data,
        "layout": _layout(
            yaxis={"range": [0, 105], "ticksuffix": "%"},
            xaxis={"type": "category"},
            legend={"orientation": "h"},
        ),
    }


@dataclass
class ItemChange:
    number: str
    question: str
    before: str | None
    after: str | None


def compare(older: Reading, newer: Reading) -> dict[str, Any]:
    """Per category both scores and the change; the items whose mark changed."""
    rows = []
    for before, after in zip(older.categories, newer.categories, strict=True):
        delta = None
        if before.score is not None and after.score is not None:
            delta = after.score - before.score
        rows.append(
            {"category": after.category, "before": before.score, "after": after.score, "delta": delta}
        )
    changes = []
    for before, after in zip(older.categories, newer.categories, strict=True):
        for old, new in zip(before.entries, after.entries, strict=True):
            if old.mark != new.mark:
                changes.append(ItemChange(new.item.number, str(new.item.question), old.mark, new.mark))
    return {"rows": rows, "changes": changes}
