"""The journey's invariants, checked against the configured database by ``kyogyo check``
and by the property tests:

1. the log is append-only: each subject's rows form an unbroken hash chain numbered 1..n,
   and the milestones row holds the chain's last hash and length;
2. milestones equal what the log implies (current stage, since, first entries, entries,
   re-entries);
3. timestamps never go backwards within a journey;
4. every cross-team transition (into a handoff stage) has exactly one handoff, and every
   handoff belongs to such a transition; an open handoff's subject still waits in its stage;
5. a subject is in exactly one stage: one milestones row per subject with a log, none without.

Streams both tables in subject order, so memory stays flat at any size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby

from django.db import connection
from django.db.models import F

from kyogyo.handoffs.models import Handoff
from kyogyo.journey import machine, rulebook
from kyogyo.journey.models import Milestone, Transition

MAX_REPORTED = 50
Progress = Callable[[int, int], None]


@dataclass
class Report:
    subjects: int = 0
    transitions: int = 0
    handoffs: int = 0
    violations: list[str] = field(default_factory=list)
    violation_count: int = 0

    @property
    def ok(self) -> bool:
        return self.violation_count == 0

    def add(self, message: str) -> None:
        self.violation_count += 1
        if len(self.violations) < MAX_REPORTED:
            self.violations.append(message)


def _log_rows() -> Iterator[tuple]:
    return (
        Transition.objects.order_by("subject_id", "seq")
        .values_list(
            "subject_id",
            "seq",
            "from_stage_id",
            "to_stage_id",
            "at",
            "via",
            "actor_id",
            "rule_version_id",
            "reason_id",
            "is_reentry",
            "hash",
        )
        .iterator(chunk_size=20_000)
    )


def _milestones() -> Iterator[Milestone]:
    return Milestone.objects.order_by("subject_id").iterator(chunk_size=20_000)


def check(progress: Progress | None = None) -> Report:
    report = Report()
    stages = rulebook.load_stage_model()
    total = Milestone.objects.count()
    milestones = _milestones()
    pending = next(milestones, None)
    for subject_id, rows in groupby(_log_rows(), key=lambda r: r[0]):
        while pending is not None and pending.subject_id < subject_id:
            report.add(f"subject {pending.subject_id}: milestones row without any transition")
            pending = next(milestones, None)
        milestone = pending if pending is not None and pending.subject_id == subject_id else None
        if milestone is not None:
            pending = next(milestones, None)
        _check_subject(subject_id, list(rows), milestone, stages, report)
        report.subjects += 1
        if progress and report.subjects % 10_000 == 0:
            progress(report.subjects, total)
    while pending is not None:
        report.add(f"subject {pending.subject_id}: milestones row without any transition")
        pending = next(milestones, None)
    _check_handoffs(stages, report)
    _check_guard(report)
    _check_history_triggers(report)
    if progress:
        progress(report.subjects, total)
    return report


def _check_subject(
    subject_id: int,
    rows: list[tuple],
    milestone: Milestone | None,
    stages: machine.StageModel,
    report: Report,
) -> None:
    by_id = stages.by_id
    state = machine.SubjectState()
    for _, seq, from_id, to_id, at, via, actor_id, version_id, reason_id, is_reentry, hash_ in rows:
        report.transitions += 1
        where = f"subject {subject_id}, transition {seq}"
        if seq != state.transition_count + 1:
            report.add(f"{where}: sequence gap (expected {state.transition_count + 1}) — a row was removed")
        expected_from = stages.get(state.current).id if state.current else None
        if from_id != expected_from:
            report.add(f"{where}: starts from stage {from_id}, but the previous row ended in {expected_from}")
        if state.current_since is not None and at < state.current_since:
            report.add(f"{where}: time goes backwards ({at.isoformat()} < {state.current_since.isoformat()})")
        expected_hash = machine.chain_hash(
            state.last_hash, seq, from_id, to_id, at, via, actor_id, version_id, reason_id
        )
        if hash_ != expected_hash:
            report.add(f"{where}: hash chain broken — the row was edited")
        to_key = by_id[to_id].key
        if is_reentry != (to_key in state.entries):
            report.add(f"{where}: re-entry flag disagrees with the history")
        planned = machine.PlannedTransition(
            seq=seq,
            from_key=state.current,
            to_key=to_key,
            from_id=from_id,
            to_id=to_id,
            at=at,
            via=via,
            actor_id=actor_id,
            rule_version_id=version_id,
            reason_id=reason_id,
            note="",
            is_reentry=is_reentry,
            hash=hash_,
            opens_handoff=False,
        )
        state = machine.apply(state, planned)
    if milestone is None:
        report.add(f"subject {subject_id}: has transitions but no milestones row (no current stage)")
        return
    implied = {
        "current stage": (by_id[milestone.current_stage_id].key, state.current),
        "in stage since": (milestone.current_since, state.current_since),
        "first entries": (milestone.first_entered, state.first_entered),
        "entries": (milestone.entries, state.entries),
        "re-entries": (milestone.reentry_count, state.reentry_count),
        "transitions": (milestone.transition_count, state.transition_count),
        "last hash": (milestone.last_hash, state.last_hash),
    }
    for name, (stored, expected) in implied.items():
        if stored != expected:
            report.add(f"subject {subject_id}: milestones {name} is {stored!r}, the log implies {expected!r}")


GUARDS = {
    "sqlite": "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'journey_transition_no_update'",
    "postgresql": "SELECT count(*) FROM pg_trigger WHERE tgname = 'journey_transition_no_change'",
}


def _check_guard(report: Report) -> None:
    """The database trigger that refuses edits of the log must be in place (a table rebuilt
    by a migration would silently lose it)."""
    sql = GUARDS.get(connection.vendor)
    if sql is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(sql)
        if cursor.fetchone()[0] != 1:
            report.add("journey_transition has lost its append-only trigger (re-run migration journey 0004)")


def _check_history_triggers(report: Report) -> None:
    """Every tracked table keeps writing its history (a table rebuilt by a migration drops
    its triggers; ``migrate`` puts them back)."""
    from kyogyo.audit import triggers

    for name in triggers.missing():
        report.add(f"history trigger {name} is missing (run `kyogyo migrate` to reinstall it)")


def _check_handoffs(stages: machine.StageModel, report: Report) -> None:
    handoff_stage_ids = [s.id for s in stages.stages.values() if s.hands_to_id is not None]
    report.handoffs = Handoff.objects.count()
    missing = Transition.objects.filter(to_stage_id__in=handoff_stage_ids, handoff__isnull=True)
    for subject_id, seq in missing.values_list("subject_id", "seq")[:MAX_REPORTED]:
        report.add(f"subject {subject_id}, transition {seq}: crosses to another team without a handoff")
    extra = Handoff.objects.exclude(transition__to_stage_id__in=handoff_stage_ids)
    for pk in extra.values_list("pk", flat=True)[:MAX_REPORTED]:
        report.add(f"handoff {pk}: its transition does not enter a handoff stage")
    mismatched = Handoff.objects.exclude(subject_id=F("transition__subject_id"))
    for pk in mismatched.values_list("pk", flat=True)[:MAX_REPORTED]:
        report.add(f"handoff {pk}: belongs to another subject than its transition")
    stale_open = Handoff.objects.filter(status=Handoff.Status.OPEN).exclude(
        subject__milestone__current_stage_id=F("stage_id"),
    )
    for pk in stale_open.values_list("pk", flat=True)[:MAX_REPORTED]:
        report.add(f"handoff {pk}: still open although its subject left the stage")
    unresolved = Handoff.objects.exclude(status=Handoff.Status.OPEN).filter(resolution__isnull=True)
    for pk in unresolved.values_list("pk", flat=True)[:MAX_REPORTED]:
        report.add(f"handoff {pk}: closed without the transition that resolved it")
