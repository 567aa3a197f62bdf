"""Making and editing health-check assessments (the pages call these; refusals carry stable
codes, said in the reader's words by kyogyo/web/refusals.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from kyogyo.healthcheck import evidence
from kyogyo.healthcheck.models import Assessment, Mark
from kyogyo.healthcheck.sheet import load
from kyogyo.org import access
from kyogyo.org.models import User

MAX_NOTE = 2000
MAX_SUMMARY = 4000

# item key → (mark key or "" for not assessed, note)
Marks = Mapping[str, tuple[str, str]]


class HealthCheckError(Exception):
    def __init__(self, code: str, message: str, item: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.item = item


def _check(actor: User, assessed_on: dt.date, marks: Marks, summary: str) -> dict[str, tuple[str, str]]:
    """The marks to store, or the first refusal."""
    if not access.can_assess_health(actor):
        raise HealthCheckError("forbidden", "only managers and admins fill in the health check")
    if assessed_on > timezone.localdate():
        raise HealthCheckError("future_date", "an assessment cannot be dated in the future")
    if len(summary) > MAX_SUMMARY:
        raise HealthCheckError("too_long", f"the summary is longer than {MAX_SUMMARY} characters")
    sheet = load()
    kept: dict[str, tuple[str, str]] = {}
    for key, (value, note) in marks.items():
        note = note.strip()
        if sheet.item(key) is None:
            raise HealthCheckError("unknown_item", f"the sheet has no item {key!r}", key)
        if value and value not in sheet.marks:
            raise HealthCheckError("bad_mark", f"{value!r} is not ○, △ or ×", key)
        if len(note) > MAX_NOTE:
            raise HealthCheckError("note_too_long", f"the note of {key} is longer than {MAX_NOTE}", key)
        if note and not value:
            raise HealthCheckError("mark_needed", f"{key} has a note but no mark", key)
        if value:
            kept[key] = (value, note)
    if not kept:
        raise HealthCheckError("nothing_marked", "mark at least one item")
    return kept


def _write_marks(assessment: Assessment, kept: dict[str, tuple[str, str]]) -> None:
    assessment.marks.all().delete()
    Mark.objects.bulk_create(
        Mark(assessment=assessment, item=key, value=value, note=note) for key, (value, note) in kept.items()
    )


@transaction.atomic
def create_assessment(
    *, actor: User, assessed_on: dt.date, marks: Marks, summary: str = "", now: dt.datetime | None = None
) -> Assessment:
    """A new assessment (the history keeps every one), with the evidence measured now."""
    summary = summary.strip()
    kept = _check(actor, assessed_on, marks, summary)
    now = now or timezone.now()
    assessment = Assessment.objects.create(
        assessed_on=assessed_on,
        author=actor,
        summary=summary,
        evidence=evidence.measure_all(now),
        created_at=now,
        updated_at=now,
    )
    _write_marks(assessment, kept)
    return assessment


@transaction.atomic
def update_assessment(
    assessment: Assessment, *, actor: User, assessed_on: dt.date, marks: Marks, summary: str = ""
) -> Assessment:
    """Correct an assessment's marks and notes; its evidence stays as it was measured."""
    summary = summary.strip()
    kept = _check(actor, assessed_on, marks, summary)
    assessment.assessed_on = assessed_on
    assessment.summary = summary
    assessment.updated_at = timezone.now()
    assessment.save(update_fields=["assessed_on", "summary", "updated_at"])
    _write_marks(assessment, kept)
    return assessment
