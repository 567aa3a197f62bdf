"""State changes of the journey. Every stage change of every subject goes through
``advance``: it plans the move with the pure machine, appends the transition, updates
the milestones row and opens the handoff, all in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from django.db import transaction
from django.utils import timezone

from kyogyo.customers.models import Contact
from kyogyo.journey import criteria, evaluation, machine, rulebook
from kyogyo.journey.machine import JourneyError, StageModel, SubjectState
from kyogyo.journey.models import Milestone, ReasonCode, Rule, RuleVersion, Stage, Transition
from kyogyo.journey.signals import stage_changed
from kyogyo.org.models import User

NOTE_MAX_LENGTH = 5000
MAX_RULE_CHAIN = 8
VIAS = frozenset(Transition.Via.values)


def state_of(milestone: Milestone | None, stages: StageModel) -> SubjectState:
    if milestone is None:
        return SubjectState()
    return SubjectState(
        current=stages.by_id[milestone.current_stage_id].key,
        current_since=milestone.current_since,
        first_entered=dict(milestone.first_entered),
        entries=dict(milestone.entries),
        reentry_count=milestone.reentry_count,
        transition_count=milestone.transition_count,
        last_hash=milestone.last_hash,
    )


def _stage_key(stage: Stage | str) -> str:
    return stage.key if isinstance(stage, Stage) else stage


def advance(
    subject: Contact,
    to_stage: Stage | str,
    *,
    via: str = Transition.Via.USER,
    at: dt.datetime | None = None,
    actor: User | None = None,
    rule_version_id: int | None = None,
    reason: ReasonCode | None = None,
    note: str = "",
    stages: StageModel | None = None,
    expect_current: str | None = None,
) -> Transition:
    """Move ``subject`` to ``to_stage``. Raises ``JourneyError`` naming the problem;
    nothing is written then. ``expect_current`` guards against moving on stale facts."""
    stages = stages or rulebook.load_stage_model()
    at = at or timezone.now()
    to_key = _stage_key(to_stage)
    check_inputs(stages, to_key, via, actor, reason, note, rule_version_id)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=subject.pk)
        milestone = Milestone.objects.filter(subject=contact).first()
        state = state_of(milestone, stages)
        if expect_current is not None and state.current != expect_current:
            raise JourneyError(
                "stale",
                f"the subject moved to {state.current!r} meanwhile (expected {expect_current!r})",
            )
        # An import records history that already happened: a person waiting on a handoff
        # moved on in the source system, so the move closes that handoff (below).
        passed = None if via == Transition.Via.HANDOFF else _open_handoff_id(contact, state, stages)
        if passed is not None and via not in (Transition.Via.HANDOFF, Transition.Via.IMPORT):
            _refuse_handoff_open(state)
        planned = machine.plan(
            stages,
            state,
            to_key,
            at,
            via=via,
            actor_id=actor.pk if actor else None,
            rule_version_id=rule_version_id,
            reason_id=reason.pk if reason else None,
            note=note,
        )
        row = write_transition(contact, milestone, state, planned, stages)
        if passed is not None and via == Transition.Via.IMPORT:
            from kyogyo.handoffs.actions import close_by_import

            close_by_import(passed, row, stages)
        return row


def check_inputs(
    stages: StageModel,
    to_key: str,
    via: str,
    actor: User | None,
    reason: ReasonCode | None,
    note: str,
    rule_version_id: int | None = None,
) -> None:
    """Refuse inputs no move may have, whatever the subject's state."""
    target = stages.get(to_key)
    if via not in VIAS:
        raise JourneyError("bad_via", f"unknown transition path {via!r}")
    if via == Transition.Via.USER and actor is None:
        raise JourneyError("actor_required", "a stage change by a user needs the acting user")
    if via == Transition.Via.RULE and rule_version_id is None:
        raise JourneyError("rule_version_required", "a stage change by a rule must name the rule version")
    if len(note) > NOTE_MAX_LENGTH:
        raise JourneyError("note_too_long", f"the note is longer than {NOTE_MAX_LENGTH} characters")
    if target.category == Stage.Category.EXIT and reason is None and via != Transition.Via.IMPORT:
        raise JourneyError("reason_required", f"moving to {to_key!r} needs a reason code")


def _open_handoff_id(contact: Contact, state: SubjectState, stages: StageModel) -> int | None:
    """The open handoff the subject waits on in its current (handoff) stage, if any."""
    from kyogyo.handoffs.models import Handoff

    if state.current is None or stages.get(state.current).hands_to_id is None:
        return None
    return (
        Handoff.objects.filter(subject=contact, status=Handoff.Status.OPEN)
        .values_list("pk", flat=True)
        .first()
    )


def _refuse_handoff_open(state: SubjectState) -> None:
    raise JourneyError(
        "handoff_open",
        f"the subject waits in {state.current!r} for the receiving team to accept or reject "
        "the handoff; act on the handoff instead",
    )


def write_transition(
    contact: Contact,
    milestone: Milestone | None,
    state: SubjectState,
    planned: machine.PlannedTransition,
    stages: StageModel,
) -> Transition:
    """Append the planned row, update the milestones row and open the handoff.
    Call inside the transaction that locked the subject."""
    from kyogyo.handoffs import actions as handoff_actions

    row = Transition.objects.create(
        subject=contact,
        seq=planned.seq,
        from_stage_id=planned.from_id,
        to_stage_id=planned.to_id,
        at=planned.at,
        via=planned.via,
        actor_id=planned.actor_id,
        rule_version_id=planned.rule_version_id,
        reason_id=planned.reason_id,
        note=planned.note,
        is_reentry=planned.is_reentry,
        hash=planned.hash,
    )
    new = machine.apply(state, planned)
    values = {
        "account_id": contact.account_id,
        "current_stage_id": planned.to_id,
        "current_since": planned.at,
        "first_entered": new.first_entered,
        "entries": new.entries,
        "reentry_count": new.reentry_count,
        "transition_count": new.transition_count,
        "last_hash": new.last_hash,
    }
    if milestone is None:
        Milestone.objects.create(subject=contact, **values)
    else:
        Milestone.objects.filter(subject=contact).update(**values)
    if planned.opens_handoff:
        handoff_actions.open_handoff(row, stages)
    transaction.on_commit(lambda: stage_changed.send(sender=Transition, transition=row))
    return row


def start_journey(
    subject: Contact,
    *,
    at: dt.datetime | None = None,
    via: str = Transition.Via.SYSTEM,
    actor: User | None = None,
    stages: StageModel | None = None,
) -> Transition:
    """First touch: the subject enters the entry stage (``lead`` by default)."""
    stages = stages or rulebook.load_stage_model()
    return advance(subject, stages.entry_key, via=via, at=at, actor=actor, stages=stages)


def apply_rules(
    subjects: Iterable[Contact],
    *,
    at: dt.datetime | None = None,
    book: rulebook.RuleBook | None = None,
    at_of: Mapping[int, dt.datetime] | None = None,
) -> list[Transition]:
    """Run the active stage rules for ``subjects``; move those that match. Each subject is
    judged at ``at_of[subject.pk]`` when given (e.g. the time of the activity that changed
    it), else at ``at`` (default now). A subject may move several times in a row (up to
    ``MAX_RULE_CHAIN``)."""
    now = at or timezone.now()
    book = book or rulebook.load()
    contacts = list(subjects)
    if not contacts or not book.rules:
        return []
    times = {c.pk: (at_of or {}).get(c.pk, now) for c in contacts}
    moved: list[Transition] = []
    milestones = Milestone.objects.in_bulk([c.pk for c in contacts])
    touches: Mapping[int, list[tuple[str, dt.datetime]]] = {}
    if book.max_window_days:
        since = min(times.values()) - dt.timedelta(days=book.max_window_days)
        touches = rulebook.touches_for([c.pk for c in contacts], since, max(times.values()))
    for contact in contacts:
        moved.extend(
            _apply_rules_to(
                contact,
                milestones.get(contact.pk),
                touches.get(contact.pk, ()),
                times[contact.pk],
                book,
            )
        )
    return moved


def _apply_rules_to(
    contact: Contact,
    milestone: Milestone | None,
    touches: Sequence[tuple[str, dt.datetime]],
    at: dt.datetime,
    book: rulebook.RuleBook,
) -> list[Transition]:
    moved: list[Transition] = []
    state = state_of(milestone, book.stages)
    for _ in range(MAX_RULE_CHAIN):
        rule = rulebook.next_rule_move(book, contact, state, touches, at)
        if rule is None:
            break
        reason = ReasonCode.objects.get(pk=rule.reason_id) if rule.reason_id else None
        try:
            row = advance(
                contact,
                rule.to_key,
                via=Transition.Via.RULE,
                at=at,
                rule_version_id=rule.version_id,
                reason=reason,
                stages=book.stages,
                expect_current=state.current,
            )
        except JourneyError as exc:
            if exc.code in ("stale", "handoff_open"):
                break
            raise
        moved.append(row)
        state = state_of(Milestone.objects.get(pk=contact.pk), book.stages)
    return moved


CLASSES = {"now": "mql", "later": "nurture", "never": "disqualified"}


def classify(
    subject: Contact,
    verdict: str,
    *,
    actor: User,
    reason: ReasonCode | None = None,
    at: dt.datetime | None = None,
    note: str = "",
    stages: StageModel | None = None,
) -> Transition:
    """A person's judgement of a lead: "now" (hand to Inside Sales as MQL), "later" (nurture)
    or "never" (disqualified, with a reason). Goes through ``advance`` like every move."""
    if verdict not in CLASSES:
        raise JourneyError("bad_class", f"classify as one of now, later, never (got {verdict!r})")
    return advance(
        subject,
        CLASSES[verdict],
        via=Transition.Via.USER,
        at=at,
        actor=actor,
        reason=reason,
        note=note,
        stages=stages,
    )


def classification_of(stage: Stage | str, stages: StageModel | None = None) -> str:
    """now / later / never of a stage: disqualified is never, lead and nurture are later,
    anything from MQL on is now."""
    stages = stages or rulebook.load_stage_model()
    spec = stages.get(_stage_key(stage))
    if spec.category == Stage.Category.EXIT:
        return "never"
    if spec.category == Stage.Category.RECYCLE or spec.is_entry:
        return "later"
    return "now"


def publish_rule(
    candidate: evaluation.Candidate,
    *,
    actor: User | None = None,
    note: str = "",
    name: str = "",
    at: dt.datetime | None = None,
) -> RuleVersion:
    """Save ``candidate`` as the next version of its rule (creating the rule when new) and make
    it current. Earlier versions stay, so every past transition still names the version that
    fired. Raises ``RuleError`` with every problem; nothing is written then."""
    book = rulebook.load()
    problems = evaluation.validate_candidate(candidate, book)
    if problems:
        raise criteria.RuleError(problems)
    with transaction.atomic():
        stage = Stage.objects.get(key=candidate.stage)
        rule, _ = Rule.objects.select_for_update().get_or_create(
            key=candidate.key,
            defaults={"name": name or candidate.key, "stage": stage, "priority": candidate.priority},
        )
        if rule.stage_id != stage.pk:
            raise criteria.RuleError(
                [
                    criteria.RuleProblem(
                        "stage",
                        f"rule {rule.key!r} moves subjects to {rule.stage.key!r}; "
                        "make a new rule for another stage",
                    )
                ]
            )
        number = (rule.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        reason = (
            ReasonCode.objects.filter(key=candidate.reason, active=True).order_by("kind").first()
            if candidate.reason
            else None
        )
        version = RuleVersion.objects.create(
            rule=rule,
            number=number,
            from_stages=list(candidate.from_stages),
            definition=candidate.condition,
            reason=reason,
            note=note,
            created_at=at or timezone.now(),
            created_by=actor,
        )
        rule.current_version = version
        rule.priority = candidate.priority
        rule.save(update_fields=["current_version", "priority"])
        return version
