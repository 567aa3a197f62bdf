"""The account (buying-group) view of the journey, derived from its people's milestones:
a company entered a stage when its first person did, and is now as far as its most
advanced person (by stage order), so one champion's progress is the company's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.dateparse import parse_datetime

from kyogyo.journey.models import Milestone, Stage


@dataclass(frozen=True)
class AccountJourney:
    account_id: int
    people: int
    current_stage: str | None
    first_entered: dict[str, dt.datetime]
    people_by_stage: dict[str, int]


def account_journey(account_id: int) -> AccountJourney:
    stages = {s.pk: s for s in Stage.objects.all()}
    first: dict[str, dt.datetime] = {}
    by_stage: dict[str, int] = {}
    furthest: Stage | None = None
    rows = Milestone.objects.filter(account_id=account_id).values_list("current_stage_id", "first_entered")
    people = 0
    for stage_id, first_entered in rows:
        people += 1
        stage = stages[stage_id]
        by_stage[stage.key] = by_stage.get(stage.key, 0) + 1
        if _progress(stage) > (_progress(furthest) if furthest else -1):
            furthest = stage
        for key, text in first_entered.items():
            when = parse_datetime(text)
            if when is not None and (key not in first or when < first[key]):
                first[key] = when
    return AccountJourney(account_id, people, furthest.key if furthest else None, first, by_stage)


def _progress(stage: Stage) -> int:
    """How far along a stage is: funnel and customer stages by their order; nurture and
    disqualified count as not started, so they never outrank a live person."""
    if stage.category in (Stage.Category.RECYCLE, Stage.Category.EXIT):
        return 0
    return stage.order + 1
