"""State changes of the journey. Every stage change of every subject goes through
``advance``: it plans the move with the pure machine, appends the transition, updates
the milestones row and opens the handoff, all in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence

from django.db import connection, transaction
from django.utils import timezone

from kyogyo.audit.context import recorded_as
from kyogyo.customers.models import Contact
from kyogyo.journey import criteria, evaluation, machine, rulebook
from kyogyo.journey.machine import JourneyError, StageModel, SubjectState
from kyogyo.journey.models import Milestone, ReasonCode, Rule, RuleVersion, Stage, Transition
from kyogyo.journey.signals import handoff_event, stage_changed
from kyogyo.ops.rows import Table
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
    stage_changed.send(sender=Transition, transition=row)  # in the transaction: see journey/signals.py
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


@recorded_as("rule")
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
    ``MAX_RULE_CHAIN``). The moves are planned in memory and written together
    (``JourneyBatch``): the rows ``advance`` would write, move by move."""
    now = at or timezone.now()
    book = book or rulebook.load()
    contacts = list({c.pk: c for c in subjects}.values())
    if not contacts or not book.rules:
        return []
    times = {c.pk: (at_of or {}).get(c.pk, now) for c in contacts}
    with transaction.atomic():
        batch = JourneyBatch.load([c.pk for c in contacts], book.stages)
        batch.run_rules(contacts, times, book)
        return batch.write()


def touches_within(
    contacts: Sequence[Contact], times: Mapping[int, dt.datetime], book: rulebook.RuleBook
) -> Mapping[int, list[tuple[str, dt.datetime]]]:
    """The activities the rules may count when judging ``contacts`` at ``times``."""
    if not book.max_window_days:
        return {}
    since = min(times.values()) - dt.timedelta(days=book.max_window_days)
    return rulebook.touches_for([c.pk for c in contacts], since, max(times.values()))


class _Chain:
    """One subject's run of rule moves: its rule facts (unchanged while the rules run) and
    how many moves it made."""

    def __init__(self, contact: Contact) -> None:
        self.contact = contact
        self.fields = rulebook.contact_fields(contact)
        self.texts: dict[str, str] = {}
        self.moves = 0


class JourneyBatch:
    """Stage changes of many subjects, planned in memory with the pure machine and written in a
    handful of set-based queries: for each subject exactly the rows ``advance`` would write,
    move by move (transitions, the milestones row, handoffs with their assignees, their events),
    in the same order. Use inside one transaction.

    ``load`` reads the subjects' milestones; ``write`` then locks the subjects that move and
    leaves out any whose milestones changed meanwhile (as ``advance``'s ``expect_current`` would).
    ``for_locked`` is for subjects the caller has locked already, ``for_new`` for subjects
    created in this transaction: nobody else can move them."""

    def __init__(self, stages: StageModel, states: Mapping[int, SubjectState], *, recheck: bool) -> None:
        self.stages = stages
        self.states = dict(states)  # of the subjects with a journey, as planned so far
        self.marks = {pk: _mark(s) for pk, s in self.states.items()}  # as last read or written
        self.recheck = recheck
        self.planned: list[tuple[Contact, machine.PlannedTransition]] = []
        self._reasons: dict[int, ReasonCode] | None = None
        self._lists: Mapping[str, frozenset[str]] | None = None  # the rule book's, once rules ran

    @classmethod
    def load(cls, subject_ids: Sequence[int], stages: StageModel) -> JourneyBatch:
        return cls(stages, read_states(subject_ids, stages), recheck=True)

    @classmethod
    def for_new(cls, stages: StageModel) -> JourneyBatch:
        return cls(stages, {}, recheck=False)

    @classmethod
    def for_locked(cls, stages: StageModel, states: Mapping[int, SubjectState]) -> JourneyBatch:
        """Subjects the caller has locked, with their states read after locking them."""
        return cls(stages, states, recheck=False)

    def state(self, subject_id: int) -> SubjectState:
        return self.states.get(subject_id) or SubjectState()

    def advance(
        self,
        subject: Contact,
        to_key: str,
        *,
        at: dt.datetime,
        via: str,
        actor: User | None = None,
        rule_version_id: int | None = None,
        reason: ReasonCode | None = None,
        note: str = "",
    ) -> machine.PlannedTransition:
        """Plan one move as ``advance`` would check it; raises ``JourneyError`` the same way.
        A subject in a handoff stage always waits on its open handoff (invariant 4), so only
        a handoff path may move it."""
        check_inputs(self.stages, to_key, via, actor, reason, note, rule_version_id)
        state = self.state(subject.pk)
        if via != Transition.Via.HANDOFF and state.current and self.stages.get(state.current).hands_to_id:
            raise JourneyError("handoff_open", f"the subject waits in {state.current!r} on a handoff")
        planned = machine.plan(
            self.stages,
            state,
            to_key,
            at,
            via=via,
            actor_id=actor.pk if actor else None,
            rule_version_id=rule_version_id,
            reason_id=reason.pk if reason else None,
            note=note,
        )
        self.states[subject.pk] = machine.apply(state, planned)
        self.planned.append((subject, planned))
        return planned

    def run_rules(
        self,
        contacts: Sequence[Contact],
        times: Mapping[int, dt.datetime],
        book: rulebook.RuleBook,
        *,
        touches: Mapping[int, Sequence[tuple[str, dt.datetime]]] | None = None,
    ) -> None:
        """Plan the rule moves of ``contacts``, each judged at ``times[pk]``: up to
        ``MAX_RULE_CHAIN`` moves in a row, stopping at a stage that hands on. ``touches`` are
        each contact's activities within the rules' window; without them, they are read only
        for the contacts whose rules get as far as counting activities (one query)."""
        if not book.rules:
            return
        self._lists = book.lists
        first = len(self.planned)
        chains = {c.pk: _Chain(c) for c in contacts}
        waiting = [
            chain
            for chain in chains.values()
            if not self._follow(chain, times[chain.contact.pk], book, None if touches is None else touches)
        ]
        if waiting:
            read = touches_within(
                [w.contact for w in waiting], {w.contact.pk: times[w.contact.pk] for w in waiting}, book
            )
            for chain in waiting:
                self._follow(chain, times[chain.contact.pk], book, read)
            # One by one, each subject's moves follow each other, subjects in the given order.
            order = {pk: n for n, pk in enumerate(chains)}
            self.planned[first:] = sorted(self.planned[first:], key=lambda move: order[move[0].pk])

    def _follow(
        self,
        chain: _Chain,
        at: dt.datetime,
        book: rulebook.RuleBook,
        touches: Mapping[int, Sequence[tuple[str, dt.datetime]]] | None,
    ) -> bool:
        """Move ``chain``'s subject while rules match; False if the activities are needed and
        were not read (the chain goes on from there once they are)."""
        contact = chain.contact
        own = None if touches is None else touches.get(contact.pk, ())
        while chain.moves < MAX_RULE_CHAIN:
            try:
                rule = rulebook.next_rule_move(
                    book, contact, self.state(contact.pk), own, at, fields=chain.fields, texts=chain.texts
                )
            except rulebook.TouchesNotRead:
                return False
            if rule is None:
                break
            try:
                self.advance(
                    contact,
                    rule.to_key,
                    at=at,
                    via=Transition.Via.RULE,
                    rule_version_id=rule.version_id,
                    reason=self._reason(rule.reason_id),
                )
            except JourneyError as exc:
                if exc.code == "handoff_open":
                    break
                raise
            chain.moves += 1
        return True

    def _reason(self, reason_id: int | None) -> ReasonCode | None:
        if reason_id is None:
            return None
        if self._reasons is None:
            self._reasons = {}
        if reason_id not in self._reasons:
            self._reasons[reason_id] = ReasonCode.objects.get(pk=reason_id)
        return self._reasons[reason_id]

    def write(self) -> list[Transition]:
        """Write what was planned; returns the transitions in the order they were planned."""
        from kyogyo.handoffs import actions as handoff_actions

        planned, self.planned = self.planned, []
        if not planned:
            return []
        accounts = {contact.pk: contact.account_id for contact, _ in planned}
        if self.recheck:
            stale, accounts = self._lock_movers(sorted(accounts))
            planned = [(c, p) for c, p in planned if c.pk not in stale]
        table = Table(Transition)
        values = [
            {
                "subject_id": contact.pk,
                "seq": p.seq,
                "from_stage_id": p.from_id,
                "to_stage_id": p.to_id,
                "at": p.at,
                "via": p.via,
                "actor_id": p.actor_id,
                "rule_version_id": p.rule_version_id,
                "reason_id": p.reason_id,
                "note": p.note,
                "is_reentry": p.is_reentry,
                "hash": p.hash,
            }
            for contact, p in planned
        ]
        ordered = [[row[name] for name in table.attnames] for row in values]
        ids = table.insert(ordered)
        subject = Transition.subject.field
        rows = []
        for pk, row, (contact, _) in zip(ids, ordered, planned, strict=True):
            transition = Transition.from_db(connection.alias, TRANSITION_COLUMNS, [pk, *row])
            subject.set_cached_value(transition, contact)
            rows.append(transition)
        self._write_milestones({c.pk for c, _ in planned}, accounts)
        opening = [row for row, (_, p) in zip(rows, planned, strict=True) if p.opens_handoff]
        opened = iter(handoff_actions.open_handoffs(opening, self.stages, lists=self._lists))
        events = [
            (row, next(opened) if p.opens_handoff else None)
            for row, (_, p) in zip(rows, planned, strict=True)
        ]
        _send_events(events)
        return rows

    def _lock_movers(self, subject_ids: list[int]) -> tuple[set[int], dict[int, int | None]]:
        """Lock the subjects that move (in id order) and read their milestones again: those
        that changed since ``load`` are stale. Returns them and each subject's company."""

        def lock(ids: Sequence[int]) -> dict[int, int | None]:
            rows = Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk")
            return dict(rows.values_list("pk", "account_id"))

        accounts = _in_chunks(lock, subject_ids)

        def marks(ids: Sequence[int]) -> dict[int, tuple[int, str]]:
            rows = Milestone.objects.filter(subject_id__in=ids).order_by()
            return {
                pk: (count, last)
                for pk, count, last in rows.values_list("subject_id", "transition_count", "last_hash")
            }

        fresh = _in_chunks(marks, subject_ids)
        stale = {pk for pk in subject_ids if pk not in accounts or fresh.get(pk) != self.marks.get(pk)}
        return stale, accounts

    def _write_milestones(self, moved: set[int], accounts: Mapping[int, int | None]) -> None:
        table = Table(Milestone)
        new: list[list[object]] = []
        changed: list[Milestone] = []
        for pk in sorted(moved):
            state = self.states[pk]
            assert state.current is not None and state.current_since is not None
            values = {
                "subject_id": pk,
                "account_id": accounts[pk],
                "current_stage_id": self.stages.get(state.current).id,
                "current_since": state.current_since,
                "first_entered": state.first_entered,
                "entries": state.entries,
                "reentry_count": state.reentry_count,
                "transition_count": state.transition_count,
                "last_hash": state.last_hash,
            }
            if pk in self.marks:
                changed.append(Milestone(**values))
            else:
                new.append([values[name] for name in table.attnames])
            self.marks[pk] = (state.transition_count, state.last_hash)
        table.insert(new)
        _update_milestones(changed)


TRANSITION_COLUMNS = [f.attname for f in Transition._meta.concrete_fields]


def _mark(state: SubjectState) -> tuple[int, str]:
    """What tells whether a milestones row changed: the log's length and last link."""
    return state.transition_count, state.last_hash


STATE_COLUMNS = [
    "subject_id",
    "current_stage_id",
    "current_since",
    "first_entered",
    "entries",
    "reentry_count",
    "transition_count",
    "last_hash",
]


def read_states(subject_ids: Sequence[int], stages: StageModel) -> dict[int, SubjectState]:
    """The milestones rows of ``subject_ids`` (those that have one) as the machine's states:
    what ``state_of`` makes of them, without building model instances."""

    def read(ids: Sequence[int]) -> dict[int, SubjectState]:
        rows = Milestone.objects.filter(subject_id__in=ids).order_by().values_list(*STATE_COLUMNS)
        return {
            pk: SubjectState(stages.by_id[stage].key, since, first, entries, reentries, count, last)
            for pk, stage, since, first, entries, reentries, count, last in rows
        }

    return _in_chunks(read, subject_ids)


def _update_milestones(milestones: Sequence[Milestone]) -> None:
    """One parameterised UPDATE per row, sent as one batch (cheaper than ``bulk_update``'s
    CASE expressions for many rows)."""
    if not milestones:
        return
    fields = [f for f in Milestone._meta.concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(Milestone._meta.db_table)
    columns = ", ".join(f"{connection.ops.quote_name(f.column or '')} = %s" for f in fields)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {columns} WHERE subject_id = %s",
            [
                [f.get_db_prep_save(getattr(m, f.attname), connection) for f in fields] + [m.subject_id]
                for m in milestones
            ],
        )


def _send_events(events: Sequence[tuple[Transition, object | None]]) -> None:
    """The events ``write_transition`` sends, in its order: a handoff's before its transition's."""
    from kyogyo.handoffs.models import Handoff

    for row, handoff in events:
        if handoff is not None:
            handoff_event.send(sender=Handoff, handoff=handoff, event="created")
        stage_changed.send(sender=Transition, transition=row)


def _in_chunks(read: Callable[[Sequence[int]], dict], ids: Sequence[int], size: int = 900) -> dict:
    """``read`` over ``ids`` in chunks (SQLite's limit on query parameters), merged."""
    found: dict = {}
    for start in range(0, len(ids), size):
        found.update(read(ids[start : start + size]))
    return found


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


# --- Configuration (the settings pages): stages' words and clocks, reason codes, rules on/off.


class ConfigError(ValueError):
    """A configuration change refused; ``field`` names the input it is about."""

    def __init__(self, code: str, message: str, field: str | None = None):
        self.code, self.field = code, field
        super().__init__(message)


def _check_admin(actor: User) -> None:
    from kyogyo.org import access

    if not access.can_manage_settings(actor):
        raise ConfigError("forbidden", "only admins change the journey's configuration")


def _text(value: str, field: str, *, required: bool = False, limit: int = 100) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ConfigError("required", f"{field} is required", field=field)
    if len(value) > limit:
        raise ConfigError("too_long", f"{field} is at most {limit} characters", field=field)
    return value


def _hours(value: int | None, field: str, *, limit: int = 10_000) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ConfigError("bad_number", f"{field} is a whole number from 1 to {limit}", field=field)
    return value


@transaction.atomic
def update_stage(
    stage: Stage,
    *,
    actor: User,
    name: str,
    name_ja: str = "",
    meaning: str = "",
    meaning_ja: str = "",
    stall_days: int | None = None,
) -> Stage:
    """A stage's names, meaning and stall threshold. Keys, teams and allowed moves are the
    stage model's skeleton (``kyogyo init`` and the admin), not changed here."""
    _check_admin(actor)
    stage.name = _text(name, "name", required=True)
    stage.name_ja = _text(name_ja, "name_ja")
    stage.meaning = _text(meaning, "meaning", limit=2000)
    stage.meaning_ja = _text(meaning_ja, "meaning_ja", limit=2000)
    stage.stall_days = _hours(stall_days, "stall_days", limit=3650)
    stage.save(update_fields=["name", "name_ja", "meaning", "meaning_ja", "stall_days"])
    return stage


@transaction.atomic
def set_sla_hours(stage: Stage, *, actor: User, hours: int) -> Stage:
    """How many business hours the receiving team has for handoffs of ``stage``; open
    handoffs keep the due time they were given."""
    _check_admin(actor)
    if stage.hands_to_id is None:
        raise ConfigError("not_a_handoff_stage", f"{stage.key!r} hands nobody on; it has no SLA")
    hours_checked = _hours(hours, "sla_hours")
    if hours_checked is None:
        raise ConfigError("required", "a handoff stage needs an SLA", field="sla_hours")
    stage.sla_hours = hours_checked
    stage.save(update_fields=["sla_hours"])
    return stage


def _reason_target(kind: str, sends_to: Stage | None) -> Stage | None:
    if sends_to is None:
        return None
    if kind != ReasonCode.Kind.REJECT:
        raise ConfigError(
            "sends_to_for_rejects", "only reject reasons send people to a stage", field="sends_to"
        )
    if sends_to.category not in (Stage.Category.RECYCLE, Stage.Category.EXIT):
        raise ConfigError(
            "bad_sends_to", "a reject reason sends people to nurture or disqualified", field="sends_to"
        )
    return sends_to


@transaction.atomic
def create_reason(
    *,
    actor: User,
    kind: str,
    key: str,
    label: str,
    label_ja: str = "",
    sends_to: Stage | None = None,
    order: int = 0,
) -> ReasonCode:
    _check_admin(actor)
    if kind not in ReasonCode.Kind.values:
        raise ConfigError(
            "bad_kind", f"kind must be one of {', '.join(ReasonCode.Kind.values)}", field="kind"
        )
    key = (key or "").strip().lower()
    if not criteria_key(key):
        raise ConfigError("bad_key", "a key is 1–40 lower-case letters, digits, '-' or '_'", field="key")
    if ReasonCode.objects.filter(kind=kind, key=key).exists():
        raise ConfigError("key_taken", f"there is already a reason {key!r} of this kind", field="key")
    return ReasonCode.objects.create(
        kind=kind,
        key=key,
        label=_text(label, "label", required=True, limit=150),
        label_ja=_text(label_ja, "label_ja", limit=150),
        sends_to=_reason_target(kind, sends_to),
        order=order,
    )


@transaction.atomic
def update_reason(
    reason: ReasonCode,
    *,
    actor: User,
    label: str,
    label_ja: str = "",
    sends_to: Stage | None = None,
    order: int = 0,
    active: bool = True,
) -> ReasonCode:
    """Labels, target and order; a reason in use is never deleted, only switched off (past
    handoffs, transitions and deals keep naming it)."""
    _check_admin(actor)
    reason.label = _text(label, "label", required=True, limit=150)
    reason.label_ja = _text(label_ja, "label_ja", limit=150)
    reason.sends_to = _reason_target(reason.kind, sends_to)
    reason.order, reason.active = order, active
    reason.save(update_fields=["label", "label_ja", "sends_to", "order", "active"])
    return reason


@transaction.atomic
def set_rule_active(rule: Rule, *, actor: User, active: bool) -> Rule:
    """Switch a rule off (it stops moving people) or on again; its versions stay."""
    _check_admin(actor)
    rule.active = active
    rule.save(update_fields=["active"])
    return rule


def criteria_key(key: str) -> bool:
    import re

    return re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", key) is not None
