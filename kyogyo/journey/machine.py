"""The journey state machine, pure: which moves the stage model allows, and what row
a move writes. The live actions and the bulk demo path both plan every transition
here, so they produce the same rows."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property


class JourneyError(ValueError):
    """A stage change the model refuses. ``code`` is stable for APIs and tests."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class StageSpec:
    id: int
    key: str
    name: str
    category: str
    team_id: int | None
    hands_to_id: int | None
    accept_to_key: str | None
    sla_hours: int | None
    is_entry: bool
    exits: frozenset[str]


@dataclass(frozen=True)
class StageModel:
    stages: dict[str, StageSpec]

    @cached_property
    def by_id(self) -> dict[int, StageSpec]:
        return {s.id: s for s in self.stages.values()}

    @cached_property
    def entry_key(self) -> str:
        """Where a journey starts (the first entry stage in stage order)."""
        for spec in self.stages.values():
            if spec.is_entry:
                return spec.key
        raise JourneyError("no_entry_stage", "the stage model has no entry stage")

    def get(self, key: str) -> StageSpec:
        try:
            return self.stages[key]
        except KeyError:
            known = ", ".join(self.stages)
            raise JourneyError("unknown_stage", f"unknown stage {key!r}; known stages: {known}") from None

    def check_move(self, from_key: str | None, to_key: str) -> StageSpec:
        target = self.get(to_key)
        if from_key is None:
            if not target.is_entry:
                entries = ", ".join(k for k, s in self.stages.items() if s.is_entry)
                raise JourneyError(
                    "not_entry_stage",
                    f"a journey cannot start in {to_key!r}; it starts in: {entries}",
                )
            return target
        source = self.get(from_key)
        if to_key == from_key:
            raise JourneyError("same_stage", f"the subject is already in {to_key!r}")
        if to_key not in source.exits:
            allowed = ", ".join(sorted(source.exits)) or "none"
            raise JourneyError(
                "move_not_allowed",
                f"the stage model does not allow {from_key!r} → {to_key!r}; "
                f"allowed exits from {from_key!r}: {allowed}",
            )
        return target


@dataclass
class SubjectState:
    """What the milestones row holds for one subject."""

    current: str | None = None
    current_since: dt.datetime | None = None
    first_entered: dict[str, str] = field(default_factory=dict)
    entries: dict[str, int] = field(default_factory=dict)
    reentry_count: int = 0
    transition_count: int = 0
    last_hash: str = ""


@dataclass(frozen=True)
class PlannedTransition:
    seq: int
    from_key: str | None
    to_key: str
    from_id: int | None
    to_id: int
    at: dt.datetime
    via: str
    actor_id: int | None
    rule_version_id: int | None
    reason_id: int | None
    note: str
    is_reentry: bool
    hash: str
    opens_handoff: bool


def timestamp_text(at: dt.datetime) -> str:
    """The canonical text of a time in milestones: UTC, microseconds, ISO 8601."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def micros_of(at: dt.datetime) -> int:
    """Microseconds since the Unix epoch, exactly (no float rounding)."""
    return (at - EPOCH) // dt.timedelta(microseconds=1)


def chain_hash(
    previous: str,
    seq: int,
    from_id: int | None,
    to_id: int,
    at: dt.datetime | int,
    via: str,
    actor_id: int | None,
    rule_version_id: int | None,
    reason_id: int | None,
) -> str:
    """The row's link in its subject's chain; ``at`` may be given as ``micros_of(at)``."""
    micros = at if isinstance(at, int) else micros_of(at)
    text = f"{previous}|{seq}|{from_id}|{to_id}|{micros}|{via}|{actor_id}|{rule_version_id}|{reason_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def plan(
    model: StageModel,
    state: SubjectState,
    to_key: str,
    at: dt.datetime,
    *,
    via: str,
    actor_id: int | None = None,
    rule_version_id: int | None = None,
    reason_id: int | None = None,
    note: str = "",
) -> PlannedTransition:
    """Check a move against the model and the subject's history; return the row to write."""
    if at.tzinfo is None:
        raise JourneyError("naive_time", "transition times must carry a time zone")
    target = model.check_move(state.current, to_key)
    if state.current_since is not None and at < state.current_since:
        raise JourneyError(
            "time_backwards",
            f"a transition at {at.isoformat()} would precede the subject's last one "
            f"at {state.current_since.isoformat()}; the journey's time cannot go backwards",
        )
    source_id = model.get(state.current).id if state.current else None
    seq = state.transition_count + 1
    return PlannedTransition(
        seq=seq,
        from_key=state.current,
        to_key=to_key,
        from_id=source_id,
        to_id=target.id,
        at=at,
        via=via,
        actor_id=actor_id,
        rule_version_id=rule_version_id,
        reason_id=reason_id,
        note=note,
        is_reentry=to_key in state.entries,
        hash=chain_hash(
            state.last_hash, seq, source_id, target.id, at, via, actor_id, rule_version_id, reason_id
        ),
        opens_handoff=target.hands_to_id is not None,
    )


def apply(state: SubjectState, planned: PlannedTransition) -> SubjectState:
    """The state after ``planned`` (a new object; ``state`` is left as it was)."""
    first_entered = dict(state.first_entered)
    first_entered.setdefault(planned.to_key, timestamp_text(planned.at))
    entries = dict(state.entries)
    entries[planned.to_key] = entries.get(planned.to_key, 0) + 1
    return replace(
        state,
        current=planned.to_key,
        current_since=planned.at,
        first_entered=first_entered,
        entries=entries,
        reentry_count=state.reentry_count + (1 if planned.is_reentry else 0),
        transition_count=planned.seq,
        last_hash=planned.hash,
    )
