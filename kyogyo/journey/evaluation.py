"""Running stage rules over the whole base (the scheduled run) and evaluating a rule
version against today's data without applying it ("who would qualify, and who would
change stage")."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from django.utils import timezone

from kyogyo.audit.context import recorded_as
from kyogyo.customers.models import Contact
from kyogyo.journey import actions, criteria, rulebook
from kyogyo.journey.models import Milestone, ReasonCode, Rule, Stage

CHUNK = 1000
RULE_KEY = re.compile(r"[-a-zA-Z0-9_]{1,60}")
Progress = Callable[[int, int], None]


@dataclass
class RuleRun:
    evaluated: int = 0
    moved: int = 0
    by_rule: Counter = field(default_factory=Counter)


def _subjects_in(stage_ids: set[int], chunk: int = CHUNK) -> Iterator[list[Contact]]:
    """Subjects currently in the given stages, in pages of ``chunk`` by primary key."""
    last = 0
    while True:
        ids = list(
            Milestone.objects.filter(current_stage_id__in=stage_ids, subject_id__gt=last)
            .order_by("subject_id")
            .values_list("subject_id", flat=True)[:chunk]
        )
        if not ids:
            return
        contacts = Contact.objects.filter(pk__in=ids).select_related("account").order_by("pk")
        yield list(contacts)
        last = ids[-1]


def _count_in(stage_ids: set[int]) -> int:
    return Milestone.objects.filter(current_stage_id__in=stage_ids).count()


@recorded_as("rule", label="scheduled rule run")
def run_rules_for_all(at: dt.datetime | None = None, progress: Progress | None = None) -> RuleRun:
    """The scheduled run: every subject in a stage some rule applies from."""
    at = at or timezone.now()
    book = rulebook.load()
    stage_ids = {book.stages.get(k).id for r in book.rules for k in r.from_keys}
    total = _count_in(stage_ids)
    run = RuleRun()
    for contacts in _subjects_in(stage_ids):
        moved = actions.apply_rules(contacts, at=at, book=book)
        run.evaluated += len(contacts)
        run.moved += len(moved)
        run.by_rule.update(str(t.rule_version_id) for t in moved)
        if progress:
            progress(run.evaluated, total)
    return run


@dataclass(frozen=True)
class Candidate:
    """A rule version to try: either a stored one or one read from a file."""

    key: str
    stage: str
    from_stages: tuple[str, ...]
    condition: dict
    priority: int
    reason: str | None = None


@dataclass
class Preview:
    key: str
    evaluated: int = 0
    qualifying: int = 0
    changing: int = 0
    qualifying_now: int = 0
    newly_qualifying: int = 0
    no_longer_qualifying: int = 0
    moves: Counter = field(default_factory=Counter)
    sample: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "rule": self.key,
            "evaluated": self.evaluated,
            "would_qualify": self.qualifying,
            "would_change_stage": self.changing,
            "qualify_under_current_version": self.qualifying_now,
            "newly_qualifying": self.newly_qualifying,
            "no_longer_qualifying": self.no_longer_qualifying,
            "moves": [{"from": f, "to": t, "count": n} for (f, t), n in sorted(self.moves.items())],
            "sample": self.sample,
        }


def validate_candidate(candidate: Candidate, book: rulebook.RuleBook) -> list[criteria.RuleProblem]:
    """Every problem with a rule: its key, its condition, stages, moves, reason."""
    problems = list(criteria.validate(candidate.condition, list_keys=set(book.lists)))
    if not RULE_KEY.fullmatch(candidate.key):
        problems.append(
            criteria.RuleProblem(
                "key",
                f"{candidate.key!r} is not a rule key: use 1–60 letters, digits, '-' or '_'",
            )
        )
    if candidate.stage not in book.stages.stages:
        problems.append(criteria.RuleProblem("stage", f"unknown stage {candidate.stage!r}"))
        return problems
    existing = Rule.objects.filter(key=candidate.key).select_related("stage").first()
    if existing is not None and existing.stage.key != candidate.stage:
        problems.append(
            criteria.RuleProblem(
                "stage",
                f"rule {candidate.key!r} moves subjects to {existing.stage.key!r}; "
                "make a new rule (another key) for another stage",
            )
        )
    if not candidate.from_stages:
        problems.append(criteria.RuleProblem("from", "name at least one stage the rule applies from"))
    for i, key in enumerate(candidate.from_stages):
        path = f"from[{i}]"
        spec = book.stages.stages.get(key)
        if spec is None:
            problems.append(criteria.RuleProblem(path, f"unknown stage {key!r}"))
        elif spec.hands_to_id is not None:
            problems.append(
                criteria.RuleProblem(
                    path,
                    f"subjects in {key!r} wait for the receiving team's accept or reject; "
                    "a rule cannot move them",
                )
            )
        elif candidate.stage not in spec.exits:
            problems.append(
                criteria.RuleProblem(
                    path,
                    f"the stage model does not allow {key!r} → {candidate.stage!r}",
                )
            )
    target = book.stages.stages[candidate.stage]
    if target.category == Stage.Category.EXIT and not candidate.reason:
        problems.append(
            criteria.RuleProblem("reason", f"a rule moving to {candidate.stage!r} needs a reason code")
        )
    if candidate.reason and not ReasonCode.objects.filter(key=candidate.reason, active=True).exists():
        problems.append(criteria.RuleProblem("reason", f"unknown reason code {candidate.reason!r}"))
    return problems


def preview(
    candidate: Candidate,
    *,
    at: dt.datetime | None = None,
    sample_size: int = 20,
    progress: Progress | None = None,
) -> Preview:
    """Evaluate ``candidate`` against today's data without writing anything."""
    at = at or timezone.now()
    book = rulebook.load()
    problems = validate_candidate(candidate, book)
    if problems:
        raise criteria.RuleError(problems)
    spec = rulebook.RuleSpec(
        rule_key=candidate.key,
        version_id=0,
        version=0,
        priority=candidate.priority,
        to_key=candidate.stage,
        from_keys=frozenset(candidate.from_stages),
        condition=candidate.condition,
        reason_id=None,
    )
    others = tuple(r for r in book.rules if r.rule_key != candidate.key)
    current = next((r for r in book.rules if r.rule_key == candidate.key), None)
    trial = replace(book, rules=tuple(sorted((*others, spec), key=lambda r: (r.priority, r.rule_key))))
    window = dt.timedelta(days=max(trial.max_window_days, book.max_window_days))
    stage_ids = {book.stages.get(k).id for k in candidate.from_stages}
    if current is not None:
        stage_ids |= {book.stages.get(k).id for k in current.from_keys}
    total = _count_in(stage_ids)
    result = Preview(candidate.key)
    for contacts in _subjects_in(stage_ids):
        milestones = Milestone.objects.in_bulk([c.pk for c in contacts])
        touches = rulebook.touches_for([c.pk for c in contacts], at - window, at) if window else {}
        for contact in contacts:
            _preview_one(
                contact,
                milestones[contact.pk],
                touches.get(contact.pk, ()),
                at,
                trial,
                spec,
                current,
                result,
                sample_size,
            )
        if progress:
            progress(result.evaluated, total)
    return result


def _preview_one(contact, milestone, touches, at, trial, spec, current, result, sample_size) -> None:
    state = actions.state_of(milestone, trial.stages)
    if contact.created_at > at or (state.current_since is not None and state.current_since > at):
        return  # as the engine: rules judge the present, not people whose last move is later
    facts = rulebook.build_facts(trial, contact, at, current_since=state.current_since, touches=touches)
    result.evaluated += 1
    qualifies = state.current in spec.from_keys and criteria.matches(spec.condition, facts, trial.lists)
    qualified_before = (
        current is not None
        and state.current in current.from_keys
        and criteria.matches(
            current.condition,
            facts,
            trial.lists,
        )
    )
    result.qualifying += qualifies
    result.qualifying_now += qualified_before
    result.newly_qualifying += qualifies and not qualified_before
    result.no_longer_qualifying += qualified_before and not qualifies
    if qualifies and trial.first_match(state.current, facts) is spec:
        result.changing += 1
        result.moves[(state.current, spec.to_key)] += 1
        if len(result.sample) < sample_size:
            result.sample.append(
                {
                    "subject": contact.pk,
                    "email": contact.email,
                    "from": state.current,
                    "to": spec.to_key,
                }
            )


def candidate_from_rule(rule: Rule) -> Candidate:
    version = rule.current_version
    if version is None:
        raise ValueError(f"rule {rule.key!r} has no version")
    return Candidate(
        key=rule.key,
        stage=rule.stage.key,
        from_stages=tuple(version.from_stages),
        condition=version.definition,
        priority=rule.priority,
        reason=version.reason.key if version.reason else None,
    )
