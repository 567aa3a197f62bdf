"""Score arithmetic, pure and explainable.

- Fit: the sum of the points of every fit rule whose condition holds, clamped to 0–100.
- Engagement: Σ weight(activity type) × 0.5 ^ (age in days ÷ half-life). Stored as a value
  at a reference time, so adding an activity or reading it later is O(1) and exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from kyogyo.journey import criteria


@dataclass(frozen=True)
class FitRuleSpec:
    label: str
    condition: dict
    points: int
    test: criteria.Predicate = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.test is None:
            object.__setattr__(self, "test", criteria.compile_condition(self.condition))


@dataclass(frozen=True)
class Contribution:
    """One line of a score's explanation."""

    source: str
    points: float


def decay_factor(elapsed_days: float, half_life_days: float) -> float:
    return 0.5 ** (elapsed_days / half_life_days)


def decayed(score: float, scored_at: dt.datetime | None, now: dt.datetime, half_life_days: float) -> float:
    """The engagement score at ``now`` given its value at ``scored_at``."""
    if scored_at is None or score == 0:
        return 0.0 if scored_at is None else score
    days = (now - scored_at).total_seconds() / 86400
    return score * decay_factor(days, half_life_days) if days > 0 else score


def add_touch(
    score: float,
    scored_at: dt.datetime | None,
    at: dt.datetime,
    weight: float,
    half_life_days: float,
) -> tuple[float, dt.datetime]:
    """Fold one activity into a stored score; handles activities older than the reference."""
    if scored_at is None:
        return weight, at
    if at >= scored_at:
        return decayed(score, scored_at, at, half_life_days) + weight, at
    days_before = (scored_at - at).total_seconds() / 86400
    return score + weight * decay_factor(days_before, half_life_days), scored_at


def fit_contributions(
    rules: Sequence[FitRuleSpec],
    facts: criteria.Facts,
    lists: Mapping[str, frozenset[str]],
) -> list[Contribution]:
    return [Contribution(rule.label, rule.points) for rule in rules if rule.test(facts, lists)]


def fit_score(contributions: Iterable[Contribution]) -> int:
    return max(0, min(100, round(sum(c.points for c in contributions))))


def engagement_contributions(
    touches: Iterable[tuple[str, dt.datetime]],
    weights: Mapping[str, float],
    now: dt.datetime,
    half_life_days: float,
) -> list[Contribution]:
    """Decayed points per activity type, largest first (the explanation of the engagement score)."""
    totals: dict[str, float] = {}
    for activity_type, at in touches:
        if at > now:
            continue
        weight = weights.get(activity_type, 0.0)
        if weight:
            age = (now - at).total_seconds() / 86400
            totals[activity_type] = totals.get(activity_type, 0.0) + weight * decay_factor(
                age, half_life_days
            )
    return sorted((Contribution(t, p) for t, p in totals.items()), key=lambda c: -c.points)
