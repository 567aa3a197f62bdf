"""Benchmarks of the journey engine and the importer. Figures are printed, never asserted in
tests."""

from __future__ import annotations

import csv
import datetime as dt
import random
import time
from dataclasses import dataclass
from pathlib import Path

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
    batch_seconds: list[float]

    @property
    def per_second(self) -> float:
        return self.activities / self.seconds if self.seconds else 0.0

    @property
    def median_batch(self) -> float:
        ordered = sorted(self.batch_seconds)
        return ordered[len(ordered) // 2] if ordered else 0.0


def ingest(activities: int, *, batch: int = 1000, seed: int = 7, external_ids: bool = False) -> IngestFigures:
    """Stream ``activities`` new touches through the action path (``record_activities``:
    validation, scores, journey starts, stage rules, transitions, handoffs) in batches of
    ``batch`` — what the ingestion endpoint calls — aimed at people in lead or nurture so
    rules really fire. With ``external_ids`` every touch carries one, as an API client's
    idempotency key would."""
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
    run = f"bench-{time.time_ns()}"
    started = time.perf_counter()
    done = 0
    batch_seconds = []
    while done < activities:
        size = min(batch, activities - done)
        at = now - dt.timedelta(seconds=activities - done)
        items = [
            ActivityInput(
                rng.choice(subjects),
                rng.choice(BURST_TYPES),
                at,
                source="bench",
                external_id=f"{run}-{done + n}" if external_ids else None,
            )
            for n in range(size)
        ]
        batch_started = time.perf_counter()
        result = record_activities(items, book=book, now=now)
        batch_seconds.append(time.perf_counter() - batch_started)
        if result.errors:
            raise RuntimeError(f"benchmark input rejected: {result.errors[:3]}")
        done += size
    seconds = time.perf_counter() - started
    return IngestFigures(
        activities,
        seconds,
        Transition.objects.count() - transitions_before,
        Handoff.objects.count() - handoffs_before,
        batch_seconds,
    )


CONTACT_COLUMNS = [
    "external_id",
    "email",
    "first_name",
    "last_name",
    "title",
    "consent",
    "source",
    "created_at",
    "account_name",
    "account_domain",
]
FIRST_NAMES = ["Taro", "Hanako", "Kenji", "Yuki", "Sota", "Aoi", "Haruto", "Mei", "Ren", "Sakura"]
LAST_NAMES = ["Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Yamamoto", "Nakamura"]
TITLES = ["IT Manager", "Engineer", "部長", "Sales", "Director", "Analyst", "", "CTO", "課長", "Designer"]
SOURCES = ["trade-show", "web", "referral", "webinar"]


def write_contacts_csv(path: Path, rows: int, *, seed: int = 11) -> int:
    """A contacts file for ``--preset generic`` with ``rows`` new people: one company for every
    ten people (named by the file, so the import creates them on the way), people of a company
    scattered over the file, 5% on free mail without a company and 3% students (both
    disqualified by the default rules), two years of creation times. Returns the companies."""
    rng = random.Random(seed)
    companies = max(1, rows // 10)
    start = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)  # written without the zone: company time
    step = dt.timedelta(days=730) / max(1, rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CONTACT_COLUMNS)
        for i in range(rows):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            title = "Student" if rng.random() < 0.03 else rng.choice(TITLES)
            if rng.random() < 0.05:
                company, domain = "", ""
                email = f"{first}.{last}{i}@gmail.com".lower()
            else:
                number = rng.randrange(companies)
                company, domain = f"Company {number}", f"company{number}.example.jp"
                email = f"{first}.{last}{i}@{domain}".lower()
            writer.writerow(
                [
                    f"lead-{i}",
                    email,
                    first,
                    last,
                    title,
                    rng.choice(["granted", "unknown"]),
                    rng.choice(SOURCES),
                    (start + step * i).strftime("%Y-%m-%d %H:%M"),
                    company,
                    domain,
                ]
            )
    return companies
