"""Why a person is where they are: the transition that put them in their current stage (the
rule and version that fired, or who moved them, with the reason and re-entry flag), and
their fit and engagement scores broken down into the points behind them.

Read-only composition of what the journey and scoring apps already keep; a few bounded
queries whatever the person's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import get_language

from kyogyo.customers.models import Contact
from kyogyo.journey import rulebook
from kyogyo.journey.models import Milestone, Transition
from kyogyo.marketing.models import ActivityType
from kyogyo.scoring import actions as scoring
from kyogyo.scoring.models import FitRule


@dataclass(frozen=True)
class StageWhy:
    milestone: Milestone
    transition: Transition | None  # None only for a log that lost its last row (kyogyo check)
    days_in_stage: int

    @property
    def stage(self):
        return self.milestone.current_stage

    @property
    def stalled(self) -> bool:
        limit = self.stage.stall_days
        return bool(limit) and self.days_in_stage > limit


@dataclass(frozen=True)
class Line:
    """One line of a score's explanation, labelled for the reader."""

    label: str
    points: float


@dataclass(frozen=True)
class Scores:
    fit: int
    fit_lines: list[Line]
    engagement: float
    engagement_lines: list[Line]
    half_life_days: float


def milestone_of(contact: Contact) -> Milestone | None:
    return (
        Milestone.objects.select_related("current_stage", "current_stage__team", "current_stage__hands_to")
        .filter(subject=contact)
        .first()
    )


def stage_why(
    contact: Contact, milestone: Milestone | None, now: dt.datetime | None = None
) -> StageWhy | None:
    """The move into the current stage: the person's last transition (the log is append-only
    and the milestones row is written with it, so the last row is the one that put them here)."""
    if milestone is None:
        return None
    now = now or timezone.now()
    last = (
        Transition.objects.filter(subject=contact)
        .select_related("from_stage", "to_stage", "actor", "rule_version", "rule_version__rule", "reason")
        .order_by("-seq")
        .first()
    )
    days = max(0, (now - milestone.current_since).days)
    return StageWhy(milestone=milestone, transition=last, days_in_stage=days)


def _fit_labels() -> dict[str, str]:
    """Fit rule label → the label in the reader's language."""
    if not (get_language() or "").startswith("ja"):
        return {}
    return {
        label: label_ja for label, label_ja in FitRule.objects.values_list("label", "label_ja") if label_ja
    }


def _activity_label(activity_type: str) -> str:
    try:
        return str(ActivityType(activity_type).label)
    except ValueError:
        return activity_type


def scores(contact: Contact, now: dt.datetime | None = None) -> Scores:
    """The stored fit score with the rules that give it points today, and the engagement
    score decayed to now with its points per activity type (scoring's own explanations)."""
    now = now or timezone.now()
    book = rulebook.load()
    labels = _fit_labels()
    fit_lines = [
        Line(labels.get(c.source, c.source), c.points) for c in scoring.explain_fit(contact, book=book)
    ]
    engagement_lines = [
        Line(_activity_label(c.source), c.points)
        for c in scoring.explain_engagement(contact, at=now, book=book)
    ]
    # the sum of its lines, as of now: the stored score is the same sum kept incrementally
    engagement = sum(line.points for line in engagement_lines)
    return Scores(
        fit=contact.fit_score,
        fit_lines=fit_lines,
        engagement=engagement,
        engagement_lines=engagement_lines,
        half_life_days=book.scoring.half_life_days,
    )
