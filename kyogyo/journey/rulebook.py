"""The journey configuration loaded once per unit of work: the stage model, the active
rule versions, value lists and scoring settings; plus building rule facts for subjects."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from kyogyo.customers.models import Contact
from kyogyo.journey import criteria
from kyogyo.journey.machine import StageModel, StageSpec, SubjectState
from kyogyo.journey.models import Rule, RuleVersion, Stage, ValueList
from kyogyo.scoring.engine import FitRuleSpec, decayed


@dataclass(frozen=True)
class RuleSpec:
    """An active rule's current version, ready to evaluate."""

    rule_key: str
    version_id: int
    version: int
    priority: int
    to_key: str
    from_keys: frozenset[str]
    condition: dict
    reason_id: int | None
    test: criteria.Predicate = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.test is None:
            object.__setattr__(self, "test", criteria.compile_condition(self.condition))


@dataclass(frozen=True)
class ScoringSpec:
    half_life_days: float
    weights: Mapping[str, float]
    fit_rules: tuple[FitRuleSpec, ...]


@dataclass(frozen=True)
class RuleBook:
    stages: StageModel
    rules: tuple[RuleSpec, ...]
    lists: Mapping[str, frozenset[str]]
    scoring: ScoringSpec

    @cached_property
    def _by_stage(self) -> dict[str | None, tuple[RuleSpec, ...]]:
        keys = {k for r in self.rules for k in r.from_keys}
        return {k: tuple(r for r in self.rules if k in r.from_keys) for k in keys}

    def rules_from(self, stage_key: str | None) -> tuple[RuleSpec, ...]:
        """Rules that apply to subjects in ``stage_key``, in priority order."""
        return self._by_stage.get(stage_key, ())

    def first_match(self, stage_key: str | None, facts: criteria.Facts) -> RuleSpec | None:
        """The rule that moves the subject now: the first by priority whose condition holds."""
        for rule in self.rules_from(stage_key):
            if rule.test(facts, self.lists):
                return rule
        return None

    @property
    def max_window_days(self) -> float:
        windows = [w for r in self.rules for w in _windows(r.condition)]
        windows += [w for f in self.scoring.fit_rules for w in _windows(f.condition)]
        return max(windows, default=0.0)


def _windows(node: dict) -> Iterable[float]:
    if "all" in node or "any" in node:
        for child in node.get("all") or node.get("any") or []:
            yield from _windows(child)
    elif "not" in node:
        yield from _windows(node["not"])
    elif "count" in node:
        # An unbounded count needs the whole history.
        yield float(node.get("within_days", 36600))


def load_value_lists() -> dict[str, frozenset[str]]:
    """Value lists as rules compare them: entries stripped and lower-cased."""
    return {v.key: frozenset(str(x).strip().lower() for x in v.values) for v in ValueList.objects.all()}


def load_stage_model() -> StageModel:
    stages = list(Stage.objects.prefetch_related("exits").select_related("accept_to"))
    return StageModel(
        {
            s.key: StageSpec(
                id=s.id,
                key=s.key,
                name=s.name,
                category=s.category,
                team_id=s.team_id,
                hands_to_id=s.hands_to_id,
                accept_to_key=s.accept_to.key if s.accept_to else None,
                sla_hours=s.sla_hours,
                is_entry=s.is_entry,
                exits=frozenset(e.key for e in s.exits.all()),
            )
            for s in stages
        }
    )


def rule_spec(version: RuleVersion, rule: Rule, to_key: str) -> RuleSpec:
    return RuleSpec(
        rule_key=rule.key,
        version_id=version.id,
        version=version.number,
        priority=rule.priority,
        to_key=to_key,
        from_keys=frozenset(version.from_stages),
        condition=version.definition,
        reason_id=version.reason_id,
    )


def load() -> RuleBook:
    from kyogyo.scoring.models import EngagementWeight, FitRule, ScoringSettings

    rules = [
        rule_spec(r.current_version, r, r.stage.key)
        for r in Rule.objects.filter(active=True, current_version__isnull=False)
        .select_related("current_version", "stage")
        .order_by("priority", "key")
        if r.current_version is not None
    ]
    lists = load_value_lists()
    settings_row = ScoringSettings.objects.filter(pk=1).first()
    scoring = ScoringSpec(
        half_life_days=settings_row.half_life_days if settings_row else 30.0,
        weights={w.activity_type: w.points for w in EngagementWeight.objects.all()},
        fit_rules=tuple(
            FitRuleSpec(f.label, f.condition, f.points) for f in FitRule.objects.filter(active=True)
        ),
    )
    return RuleBook(load_stage_model(), tuple(rules), lists, scoring)


def contact_fields(contact: Contact) -> dict[str, object]:
    account = contact.account
    return {
        "contact.email": contact.email or "",
        "contact.email_domain": contact.email_domain,
        "contact.title": contact.title,
        "contact.source": contact.source,
        "contact.consent": contact.consent,
        "account.name": account.name if account else "",
        "account.domain": account.domain if account else "",
        "account.industry": account.industry if account else "",
        "account.employee_count": account.employee_count if account else None,
        "account.country": account.country if account else "",
        "account.segment": account.segment if account else "",
        "account.kind": account.kind if account else "",
    }


def build_facts(
    book: RuleBook,
    contact: Contact,
    at: dt.datetime,
    *,
    current_since: dt.datetime | None,
    touches: Sequence[tuple[str, dt.datetime]] | None = (),
    fields: Mapping[str, object] | None = None,
    texts: dict[str, str] | None = None,
) -> criteria.Facts:
    """Facts about one subject at ``at``. ``touches`` are (type, time) of its activities
    within the rule book's largest window (more is harmless); ``None`` when they have not been
    read: a condition that counts activities then raises ``TouchesNotRead``. ``fields`` and
    ``texts`` let a caller that evaluates one subject many times reuse ``contact_fields`` and
    its normalised texts while the person and company data stay unchanged."""
    times: Mapping[str, Sequence[dt.datetime]] = _NOT_READ
    if touches is not None:
        grouped: dict[str, list[dt.datetime]] = defaultdict(list)
        for activity_type, when in touches:
            if when <= at:
                grouped[activity_type].append(when)
        times = grouped
    last = contact.last_activity_at
    metrics: dict[str, float | None] = {
        "fit_score": contact.fit_score,
        "engagement_score": decayed(
            contact.engagement_score,
            contact.engagement_at,
            at,
            book.scoring.half_life_days,
        ),
        "days_in_stage": (at - current_since).total_seconds() / 86400 if current_since else None,
        "days_since_last_activity": (max(0.0, (at - last).total_seconds() / 86400) if last else None),
    }
    return criteria.Facts(
        now=at,
        fields=fields if fields is not None else contact_fields(contact),
        metrics=metrics,
        activity_times=times,
        texts=texts if texts is not None else {},
    )


class TouchesNotRead(Exception):
    """A condition counted activities, and the subject's activities were not read."""


class _NotRead(Mapping[str, Sequence[dt.datetime]]):
    def __getitem__(self, key: str) -> Sequence[dt.datetime]:
        raise TouchesNotRead(key)

    def __iter__(self) -> Iterator[str]:
        raise TouchesNotRead()

    def __len__(self) -> int:
        raise TouchesNotRead()


_NOT_READ = _NotRead()


def touches_for(
    contact_ids: Iterable[int],
    since: dt.datetime,
    until: dt.datetime,
) -> dict[int, list[tuple[str, dt.datetime]]]:
    """Activities of many subjects in one query, grouped by subject."""
    from kyogyo.marketing.models import Activity

    grouped: dict[int, list[tuple[str, dt.datetime]]] = defaultdict(list)
    ids = list(contact_ids)
    for start in range(0, len(ids), 500):
        rows = Activity.objects.filter(
            contact_id__in=ids[start : start + 500],
            occurred_at__gte=since,
            occurred_at__lte=until,
        ).values_list("contact_id", "type", "occurred_at")
        for contact_id, activity_type, when in rows:
            grouped[contact_id].append((activity_type, when))
    return grouped


def next_rule_move(
    book: RuleBook,
    contact: Contact,
    state: SubjectState,
    touches: Sequence[tuple[str, dt.datetime]] | None,
    at: dt.datetime,
    *,
    fields: Mapping[str, object] | None = None,
    texts: dict[str, str] | None = None,
) -> RuleSpec | None:
    """The rule that moves the subject at ``at``, if any. Subjects without a journey, waiting
    on a handoff (only the receiving team moves them), or whose last move is later than
    ``at`` (rules judge the present) are left alone. With ``touches`` not read (``None``),
    raises ``TouchesNotRead`` if a rule gets as far as counting activities."""
    if state.current is None or book.stages.get(state.current).hands_to_id is not None:
        return None
    if state.current_since is not None and at < state.current_since:
        return None
    if not book.rules_from(state.current):
        return None
    facts = build_facts(
        book, contact, at, current_since=state.current_since, touches=touches, fields=fields, texts=texts
    )
    return book.first_match(state.current, facts)
