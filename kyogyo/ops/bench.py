"""Benchmarks of the journey engine. Figures are printed, never asserted in tests."""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from django.utils import timezone

from kyogyo.journey import rulebook
from kyogyo.journey.models import Milestone, Transition
from kyogyo.marketing.actions import ActivityInput, record_activities

BURST_TYPES = [
    "content_download",
    "form_submission",
    "web_visit",
    "email_click",
    "event",
    "demo",
    "web_visit",
]


@dataclass
class IngestFigures:
    activities: int
    seconds: float
    transitions: int
    handoffs: int

    @property
    def per_second(self) -> float:
        return self.activities / self.seconds if self.seconds else 0.0


def ingest(activities: int, *, batch: int = 1000, seed: int = 7) -> IngestFigures:
    """Stream ``activities`` new touches through the action path (``record_activities``:
    validation, scores, journey starts, stage rules, transitions, handoffs) in batches of
    ``batch``, aimed at people in lead or nurture so rules really fire."""
    from kyogyo.handoffs.models import Handoff

    rng = random.Random(seed)
    book = rulebook.load()
    stage_ids = [book.stages.get(k).id for k in ("lead", "nurture")]
    subjects = list(
        Milestone.objects.filter(current_stage_id__in=stage_ids).values_list("subject_id", flat=True)[
            :200_000
        ]
    )
    if not subjects:
        raise RuntimeError("no people in lead or nurture: build a demo company first")
    now = timezone.now().replace(microsecond=0)
    transitions_before, handoffs_before = Transition.objects.count(), Handoff.objects.count()
    started = time.perf_counter()
    done = 0
    while done < activities:
        size = min(batch, activities - done)
        at = now - dt.timedelta(seconds=activities - done)
        items = [
            ActivityInput(rng.choice(subjects), rng.choice(BURST_TYPES), at, source="bench")
            for _ in range(size)
        ]
        result = record_activities(items, book=book, now=now)
        if result.errors:
            raise RuntimeError(f"benchmark input rejected: {result.errors[:3]}")
        done += size
    seconds = time.perf_counter() - started
    return IngestFigures(
        activities,
        seconds,
        Transition.objects.count() - transitions_before,
        Handoff.objects.count() - handoffs_before,
    )
