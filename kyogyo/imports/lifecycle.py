"""Imported history on the journey: a person's recorded stage entries become transitions
(``journey.actions.advance(..., via="import")``), each at its recorded time.

Source systems skip stages ours has (HubSpot has no SAL; a won deal says nothing of the
SQL before it). Where the stage model has no direct move to the recorded stage, the person
is taken the shortest way *forward along the path* (the prospect and customer stages in
order, as the waterfall reads them), every skipped stage entered at the same time. Moves
that are neither allowed nor forward (a customer "becoming a lead" again, a time before
the person's last move) are refused by the journey with its own code."""

from __future__ import annotations

import datetime as dt
from collections import deque

from kyogyo.analytics.path import PATH_CATEGORIES
from kyogyo.customers.models import Contact
from kyogyo.journey.actions import advance
from kyogyo.journey.machine import StageModel, timestamp_text
from kyogyo.journey.models import Milestone, ReasonCode, Transition


def positions(stages: StageModel) -> dict[str, int]:
    """Stage key → place on the path; the outcome stages (renewed, …) all come after it.
    Recycle and exit stages (nurture, disqualified) have no place."""
    main = [key for key, spec in stages.stages.items() if spec.category in PATH_CATEGORIES]
    places = {key: i for i, key in enumerate(main)}
    places.update({key: len(main) for key, spec in stages.stages.items() if spec.category == "outcome"})
    return places


def route(stages: StageModel, current: str | None, target: str) -> list[str] | None:
    """The moves from ``current`` to ``target``: the direct one where the stage model allows
    it, else the shortest way through path stages between the two (None: there is none)."""
    if current is None:
        entry = stages.entry_key
        rest = [] if target == entry else route(stages, entry, target)
        return None if rest is None else [entry, *rest]
    if target in stages.get(current).exits:
        return [target]
    places = positions(stages)
    goal = places.get(target)
    if goal is None:
        return None
    start = places.get(current, -1)
    between = {key for key, place in places.items() if start < place < goal}
    order = list(stages.stages)
    queue: deque[tuple[str, list[str]]] = deque([(current, [])])
    seen = {current}
    while queue:
        key, steps = queue.popleft()
        for following in sorted(stages.get(key).exits, key=order.index):
            if following == target:
                return [*steps, target]
            if following in between and following not in seen:
                seen.add(following)
                queue.append((following, [*steps, following]))
    return None


def current_stage(contact: Contact, stages: StageModel) -> str | None:
    milestone = Milestone.objects.filter(subject=contact).only("current_stage_id").first()
    return stages.by_id[milestone.current_stage_id].key if milestone else None


def _entered_at(contact: Contact, milestone: Milestone, stage: str, at: dt.datetime) -> bool:
    """The person entered ``stage`` at exactly ``at`` before (so a re-run records nothing)."""
    if stage not in milestone.entries:
        return False
    if milestone.first_entered.get(stage) == timestamp_text(at):
        return True
    return milestone.entries[stage] > 1 and (
        Transition.objects.filter(subject=contact, to_stage__key=stage, at=at).exists()
    )


def _walk(
    contact: Contact,
    steps: list[str],
    at: dt.datetime,
    stages: StageModel,
    *,
    reason: ReasonCode | None = None,
    note: str = "",
) -> None:
    """Advance through ``steps``; the reason and note belong to the last (the recorded) one."""
    for i, key in enumerate(steps):
        last = i == len(steps) - 1
        advance(
            contact,
            key,
            via=Transition.Via.IMPORT,
            at=at,
            stages=stages,
            reason=reason if last else None,
            note=note if last else "",
        )


def record_entry(
    contact: Contact,
    stage: str,
    at: dt.datetime,
    stages: StageModel,
    *,
    reason: ReasonCode | None = None,
    note: str = "",
) -> bool:
    """The person entered ``stage`` at ``at`` (recorded elsewhere). False when that is
    already so: they are in that stage now, or entered it at exactly that time before
    (a re-run). Raises ``JourneyError`` when the journey refuses the move."""
    stages.get(stage)  # an unknown stage is refused before anything else
    milestone = Milestone.objects.filter(subject=contact).first()
    current = stages.by_id[milestone.current_stage_id].key if milestone else None
    if current == stage or (milestone is not None and _entered_at(contact, milestone, stage, at)):
        return False
    _walk(contact, route(stages, current, stage) or [stage], at, stages, reason=reason, note=note)
    return True


def catch_up(contact: Contact, stage: str, at: dt.datetime, stages: StageModel) -> bool:
    """Take the person forward to ``stage`` if they have not got that far yet (a deal from
    another system says Inside Sales qualified them, say). One who is there or past it, or
    cannot get there forward, stays where they are; the action that follows decides."""
    current = current_stage(contact, stages)
    places = positions(stages)
    if current == stage or places.get(current or "", -1) >= places.get(stage, -1):
        return False
    steps = route(stages, current, stage)
    if steps is None:
        return False
    _walk(contact, steps, at, stages)
    return True
