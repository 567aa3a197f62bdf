"""Scores and priorities of an assessment: a category's score is the mean of its marked
items (○ = 1, △ = 0.5, × = 0); the improvements are the × items before the △ ones, each
group ordered by its weight — how weak its category is plus how far the data falls short."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kyogyo.healthcheck.sheet import Category, Item, Solution, load

RANK = {"not_yet": 0, "partly": 1}  # the order of the improvements: × first, then △
SUGGESTED_GAP = {"done": 0.0, "partly": 0.5, "not_yet": 1.0}


@dataclass(frozen=True)
class Entry:
    """One item as assessed: the mark (None when not assessed), the note, the evidence."""

    item: Item
    mark: str | None
    note: str
    figures: dict[str, Any] | None

    @property
    def differs_from_data(self) -> bool:
        """The person's mark and the data's suggestion disagree (shown, never changed)."""
        suggested = (self.figures or {}).get("suggested")
        return bool(self.mark and suggested and suggested != self.mark)


@dataclass
class Improvement:
    entry: Entry
    category: Category
    weight: float
    solutions: tuple[Solution, ...] = field(default=())


def category_scores(marks: dict[str, str]) -> dict[str, float | None]:
    """Category key → score from 0 to 1 over its marked items (None when none is marked)."""
    sheet = load()
    points = {key: mark.points for key, mark in sheet.marks.items()}
    scores: dict[str, float | None] = {}
    for category in sheet.categories:
        marked = [points[marks[item.key]] for item in category.items if marks.get(item.key) in points]
        scores[category.key] = sum(marked) / len(marked) if marked else None
    return scores


def overall_score(scores: dict[str, float | None]) -> float | None:
    known = [score for score in scores.values() if score is not None]
    return sum(known) / len(known) if known else None


def measured_gap(figures: dict[str, Any] | None) -> float:
    """How far the data falls short, from 0 (fine or not measurable) to 1."""
    if not figures:
        return 0.0
    if figures.get("value") is not None and figures.get("d"):
        return max(0.0, 1.0 - float(figures["value"]))
    return SUGGESTED_GAP.get(figures.get("suggested") or "", 0.0)


def improvements(entries: list[Entry]) -> list[Improvement]:
    sheet = load()
    scores = category_scores({e.item.key: e.mark for e in entries if e.mark})
    found = []
    for entry in entries:
        if entry.mark not in RANK:
            continue
        category = sheet.category(entry.item.category_key)
        assert category is not None
        category_gap = 1.0 - (scores.get(category.key) or 0.0)
        weight = round(category_gap + measured_gap(entry.figures), 3)
        found.append(Improvement(entry, category, weight, category.solutions))
    found.sort(key=lambda i: (RANK[i.entry.mark or ""], -i.weight, i.category.number, i.entry.item.number))
    return found
