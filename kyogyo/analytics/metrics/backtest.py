"""The backtest of a stage-rule version: which subjects a candidate version would have
qualified, against the rule's current version, and how each group actually converted
downstream.

Definitions (docs/analytics/forecast-backtest.md):

- *candidate*: a rule from a file (``--rule-file``, as for ``kyogyo rules test``) or a stored
  version (``--rule KEY --version N``); *current*: the current version of the same rule
  (none for a new rule).
- *evaluated subjects*: those with a stay in a from-stage of either version overlapping
  the window (default: the 90 days to the as-of day). A stay runs from the entry into the
  stage to the next transition (or the as-of moment), clipped to the window.
- *qualifies*: the version's condition holds at some moment of such a stay in one of its
  own from-stages (the condition alone, as ``would_qualify`` in ``rules test``; the other
  rules and their priorities are not replayed). The condition is evaluated **as of each
  moment**: activity counts, the engagement score (Σ weight × decay of the activities up to
  then), days in stage and days since the last activity use only what had happened by
  then. Person and company fields and the fit score are **as of now** (no history is kept).
  Facts only change at activities and at computable moments (a count window passing an
  activity, a days-in-stage or days-since-activity threshold, the engagement score decaying
  through a threshold), so checking those moments and the instant after each is exact.
- *groups*: both versions qualify, only the candidate, only the current one, neither;
  ``candidate`` and ``current`` are everyone each version qualifies.
- *reached T*: the subject entered T (first entry or re-entry) at or after its reference
  moment (the start of its first evaluated stay, clipped to the window) and by the as-of
  moment; with ``--horizon`` within that many days. Rate = reached ÷ group size. Stages:
  the rule's target stage and the path after it up to won (``--stages`` to choose).

Subjects only the candidate qualifies were never worked as the candidate would have had
them (the current rule did not move them), so their outcomes understate the candidate: read
the comparison as "who each version picks", not as a controlled experiment.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from kyogyo.analytics.dimensions import slicing, subject_dimensions
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.spec import Spec, SpecError, rounded
from kyogyo.journey import criteria

NAME = "backtest"
HELP = "a stage-rule version against the current one: whom each qualifies and how they converted"
DAY = dt.timedelta(days=1)
INSTANT = dt.timedelta(microseconds=1)
SECOND = dt.timedelta(seconds=1)
DEFAULT_WINDOW_DAYS = 90
CHUNK = 500
GROUPS = ("both", "candidate_only", "current_only", "neither", "candidate", "current")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rule-file", metavar="FILE", help="the candidate rule (YAML/JSON, as rules test)")
    parser.add_argument("--rule", metavar="KEY", help="the rule key (picks a rule of a file with several)")
    parser.add_argument("--version", type=int, metavar="N", help="a stored version of --rule as candidate")
    parser.add_argument("--stages", help="comma-separated downstream stages (default: target and after)")


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in ("rule_file", "rule", "version"):
        if parsed.get(name) is not None:
            found[name] = parsed[name]
    if parsed.get("stages"):
        found["stages"] = [s.strip() for s in parsed["stages"].split(",") if s.strip()]
    return found


# --------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Version:
    """One side of the comparison."""

    key: str
    stage: str
    from_stages: tuple[str, ...]
    condition: dict
    source: str  # file | version | options
    number: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.key,
            "source": self.source,
            "version": self.number,
            "stage": self.stage,
            "from": list(self.from_stages),
            "when": criteria.describe(self.condition),
        }


def _from_candidate(candidate: Any, source: str, number: int | None = None) -> Version:
    return Version(
        candidate.key, candidate.stage, tuple(candidate.from_stages), candidate.condition, source, number
    )


def candidate_version(spec: Spec) -> Version:
    """The candidate named by the options: a rule file, a rule mapping, or a stored version."""
    from kyogyo.journey import rulefile

    o = spec.options
    sources = [k for k in ("rule_file", "candidate", "version") if o.get(k) is not None]
    if len(sources) != 1:
        raise SpecError(
            "no_candidate" if not sources else "several_candidates",
            "name one candidate: --rule-file FILE, or --rule KEY --version N",
        )
    if sources[0] == "version":
        return _stored_version(o.get("rule"), o["version"])
    try:
        found = rulefile.load(o["rule_file"]) if sources[0] == "rule_file" else rulefile.parse(o["candidate"])
        if o.get("rule"):
            found = [c for c in found if c.key == o["rule"]]
        if len(found) != 1:
            raise SpecError(
                "pick_one_rule",
                f"the file holds {len(found)} rule(s) matching; name one with --rule KEY",
            )
        rulefile.check(found)
    except criteria.RuleError as exc:
        raise SpecError("bad_rule", "the rule is not valid: " + "; ".join(map(str, exc.problems))) from exc
    return _from_candidate(found[0], "file" if sources[0] == "rule_file" else "options")


def _stored_version(key: str | None, number: Any) -> Version:
    from kyogyo.journey.models import RuleVersion

    if not key:
        raise SpecError("no_candidate", "--version needs --rule KEY")
    if not isinstance(number, int) or isinstance(number, bool):
        raise SpecError("bad_version", "--version must be a whole number")
    row = RuleVersion.objects.filter(rule__key=key, number=number).select_related("rule__stage").first()
    if row is None:
        raise SpecError("unknown_version", f"rule {key!r} has no version {number} (see `kyogyo rules list`)")
    return Version(key, row.rule.stage.key, tuple(row.from_stages), row.definition, "version", number)


def current_version(key: str) -> Version | None:
    from kyogyo.journey.models import Rule

    rule = Rule.objects.filter(key=key).select_related("stage", "current_version").first()
    if rule is None or rule.current_version is None:
        return None
    version = rule.current_version
    return Version(
        key, rule.stage.key, tuple(version.from_stages), version.definition, "current", version.number
    )


# --------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class Thresholds:
    """The moments at which a condition's facts can change, as read from the condition."""

    count_windows: frozenset[float] = frozenset()
    days_in_stage: frozenset[float] = frozenset()
    days_since_activity: frozenset[float] = frozenset()
    engagement: frozenset[float] = frozenset()
    unbounded_count: bool = False

    def merged(self, other: Thresholds) -> Thresholds:
        return Thresholds(
            self.count_windows | other.count_windows,
            self.days_in_stage | other.days_in_stage,
            self.days_since_activity | other.days_since_activity,
            self.engagement | other.engagement,
            self.unbounded_count or other.unbounded_count,
        )

    @property
    def needs_all_history(self) -> bool:
        return self.unbounded_count or bool(self.engagement) or bool(self.days_since_activity)


def thresholds(node: dict) -> Thresholds:
    if "all" in node or "any" in node:
        found = Thresholds()
        for child in node.get("all") or node.get("any") or []:
            found = found.merged(thresholds(child))
        return found
    if "not" in node:
        return thresholds(node["not"])
    if "count" in node:
        if "within_days" not in node:
            return Thresholds(unbounded_count=True)
        return Thresholds(count_windows=frozenset({float(node["within_days"])}))
    if "metric" in node:
        value = float(node["value"])
        return {
            "days_in_stage": Thresholds(days_in_stage=frozenset({value})),
            "days_since_last_activity": Thresholds(days_since_activity=frozenset({value})),
            "engagement_score": Thresholds(engagement=frozenset({value})),
        }.get(node["metric"], Thresholds())
    return Thresholds()


# --------------------------------------------------------------------- stays


@dataclass(frozen=True)
class Stay:
    subject_id: int
    stage: str
    entered: dt.datetime  # aware
    low: dt.datetime  # first moment evaluated (entered, or the window start)
    high: dt.datetime  # last moment evaluated (left, the window end or as-of)


def evaluation_window(context: Context, spec: Spec) -> tuple[dt.date, dt.date]:
    today = context.as_of.date()
    end = spec.end or (today if not spec.start else max(spec.start, today))
    start = spec.start or end - dt.timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    if start > today:
        raise SpecError(
            "window_in_future", f"the window starts ({start}) after the as-of day ({today}): nothing to test"
        )
    return start, end


def stays_sql(context: Context, spec: Spec, stages: Iterable[str], start: dt.date, end: dt.date) -> tuple:
    """Stays in ``stages`` overlapping [start, end] by the as-of moment, of filtered subjects."""
    cut = slicing(spec, subject_dimensions(context.settings.company_size_edges))
    stage_list = ", ".join("?" for _ in stages)
    sql = (
        "WITH t AS (SELECT x.subject_id, x.to_stage AS stage, x.at AS entered, "
        "lead(x.at) OVER (PARTITION BY x.subject_id ORDER BY x.seq) AS left_at FROM transitions x "
        "WHERE x.at <= ?) "
        f"SELECT t.subject_id, t.stage, t.entered, t.left_at FROM t JOIN subjects s ON s.subject_id = t.subject_id "
        f"{cut.joins} WHERE t.stage IN ({stage_list}) AND t.entered < ? AND (t.left_at IS NULL OR t.left_at >= ?) "
        f"AND {cut.where} ORDER BY t.subject_id, t.entered"
    )
    params = [
        context.as_of,
        *stages,
        dt.datetime.combine(end + DAY, dt.time()),
        dt.datetime.combine(start, dt.time()),
        *cut.params,
    ]
    return sql, params


def _stays(context: Context, spec: Spec, stages: Sequence[str], start: dt.date, end: dt.date) -> list[Stay]:
    zone = ZoneInfo(context.snapshot.time_zone)
    window_low = dt.datetime.combine(start, dt.time())
    window_high = min(dt.datetime.combine(end + DAY, dt.time()) - INSTANT, context.as_of)
    found = []
    for subject_id, stage, entered, left_at in context.snapshot.query(
        *stays_sql(context, spec, stages, start, end)
    ):
        # the snapshot keeps whole seconds: a stay lasts to the end of the second it was left in
        left = left_at + SECOND - INSTANT if left_at is not None else window_high
        low, high = max(entered, window_low), min(left, window_high)
        if high >= low:
            found.append(
                Stay(
                    subject_id,
                    stage,
                    entered.replace(tzinfo=zone),
                    low.replace(tzinfo=zone),
                    high.replace(tzinfo=zone),
                )
            )
    return found


# --------------------------------------------------------------------- evaluation


@dataclass
class SubjectHistory:
    """What the operational database knows about one subject, read once."""

    fields: Mapping[str, object]
    fit_score: float | None
    touches: list[tuple[str, dt.datetime]]  # (type, time), in time order
    by_type: dict[str, list[dt.datetime]]
    texts: dict[str, str] = field(default_factory=dict)


def engagement_as_of(
    history: SubjectHistory, at: dt.datetime, weights: Mapping[str, float], half_life: float
) -> float:
    """Σ weight × 0.5 ^ (age ÷ half-life) of the activities up to ``at`` (the engine's formula)."""
    total = 0.0
    for activity_type, when in history.touches:
        if when > at:
            break
        weight = weights.get(activity_type, 0.0)
        if weight:
            total += weight * 0.5 ** ((at - when).total_seconds() / 86400 / half_life)
    return total


def engagement_crossings(
    history: SubjectHistory, levels: Iterable[float], weights: Mapping[str, float], half_life: float
) -> Iterator[dt.datetime]:
    """The moments the decaying engagement score falls through each level between activities."""
    score, last = 0.0, None
    for activity_type, when in history.touches:
        if last is not None:
            score *= 0.5 ** ((when - last).total_seconds() / 86400 / half_life)
        score, last = score + weights.get(activity_type, 0.0), when
        for level in levels:
            if level > 0 and score > level:
                yield when + dt.timedelta(days=half_life * math.log2(score / level))


def checkpoints(
    stay: Stay, history: SubjectHistory, marks: Thresholds, weights: Mapping[str, float], half_life: float
) -> list[dt.datetime]:
    """The moments of a stay at which (and just after which) the facts can change."""
    times = [t for _, t in history.touches]
    breaks: list[dt.datetime] = [stay.low, *times]
    breaks += [
        t + dt.timedelta(days=w) for t in times for w in marks.count_windows | marks.days_since_activity
    ]
    breaks += [stay.entered + dt.timedelta(days=d) for d in marks.days_in_stage]
    breaks += list(engagement_crossings(history, marks.engagement, weights, half_life))
    moments = {m for b in breaks for m in (b, b + INSTANT) if stay.low <= m <= stay.high}
    return sorted(moments | {stay.high})


def facts_at(
    stay: Stay,
    history: SubjectHistory,
    at: dt.datetime,
    weights: Mapping[str, float],
    half_life: float,
    needs: set[str],
) -> criteria.Facts:
    """What the rule may know at ``at``: activities up to then, the stay's days, today's fields."""
    metrics: dict[str, float | None] = {
        "fit_score": history.fit_score,
        "days_in_stage": (at - stay.entered).total_seconds() / 86400,
    }
    if "engagement_score" in needs:
        metrics["engagement_score"] = engagement_as_of(history, at, weights, half_life)
    if "days_since_last_activity" in needs:
        before = [t for _, t in history.touches if t <= at]
        metrics["days_since_last_activity"] = (at - before[-1]).total_seconds() / 86400 if before else None
    return criteria.Facts(
        now=at, fields=history.fields, metrics=metrics, activity_times=history.by_type, texts=history.texts
    )


def metrics_used(node: dict) -> set[str]:
    if "all" in node or "any" in node:
        return set().union(*(metrics_used(c) for c in node.get("all") or node.get("any") or []))
    if "not" in node:
        return metrics_used(node["not"])
    return {node["metric"]} if "metric" in node else set()


def _histories(ids: list[int], since: dt.datetime, until: dt.datetime) -> dict[int, SubjectHistory]:
    from kyogyo.customers.models import Contact
    from kyogyo.journey import rulebook

    contacts = Contact.objects.filter(pk__in=ids).select_related("account")
    touches = rulebook.touches_for(ids, since, until)
    found = {}
    for contact in contacts:
        mine = sorted(touches.get(contact.pk, []), key=lambda x: x[1])
        by_type: dict[str, list[dt.datetime]] = defaultdict(list)
        for activity_type, when in mine:
            by_type[activity_type].append(when)
        found[contact.pk] = SubjectHistory(rulebook.contact_fields(contact), contact.fit_score, mine, by_type)
    return found


@dataclass
class Judge:
    """The versions' conditions, compiled, with the facts and moments they depend on."""

    versions: dict[str, Version]
    tests: dict[str, criteria.Predicate]
    lists: Mapping[str, frozenset[str]]
    marks: Thresholds
    needs: set[str]
    weights: Mapping[str, float]
    half_life: float

    @classmethod
    def of(cls, candidate: Version, current: Version | None) -> Judge:
        from kyogyo.journey import rulebook

        book = rulebook.load()
        versions = {"candidate": candidate, **({"current": current} if current else {})}
        marks, needs = Thresholds(), set[str]()
        for v in versions.values():
            marks, needs = marks.merged(thresholds(v.condition)), needs | metrics_used(v.condition)
        return cls(
            versions,
            {name: criteria.compile_condition(v.condition) for name, v in versions.items()},
            book.lists,
            marks,
            needs,
            book.scoring.weights,
            book.scoring.half_life_days,
        )

    def history_start(self, stays: Sequence[Stay]) -> dt.datetime:
        """How far back activities are needed: all of them for scores, unbounded counts and
        days since the last activity; else the longest count window before the first stay."""
        if self.marks.needs_all_history:
            return EPOCH
        return min(s.low for s in stays) - dt.timedelta(days=max([*self.marks.count_windows, 0.0]) + 1)

    def held(self, stay: Stay, history: SubjectHistory, names: list[str]) -> tuple[set[str], int]:
        """Which of the named versions' conditions hold at some moment of the stay, and how
        many moments were checked (stops once all have held)."""
        found: set[str] = set()
        checked = 0
        for at in checkpoints(stay, history, self.marks, self.weights, self.half_life):
            facts = facts_at(stay, history, at, self.weights, self.half_life, self.needs)
            checked += 1
            found |= {n for n in names if n not in found and self.tests[n](facts, self.lists)}
            if len(found) == len(names):
                break
        return found, checked


@dataclass
class Verdicts:
    qualified: dict[str, set[int]] = field(default_factory=lambda: {"candidate": set(), "current": set()})
    subjects: set[int] = field(default_factory=set)
    stays: int = 0
    checks: int = 0


def evaluate(stays: list[Stay], candidate: Version, current: Version | None) -> Verdicts:
    """Which subjects each version qualifies, with the operational data as of each moment."""
    judge = Judge.of(candidate, current)
    by_subject: dict[int, list[Stay]] = defaultdict(list)
    for stay in stays:
        by_subject[stay.subject_id].append(stay)
    ids = sorted(by_subject)
    verdicts = Verdicts()
    for begin in range(0, len(ids), CHUNK):
        chunk = ids[begin : begin + CHUNK]
        mine = [s for i in chunk for s in by_subject[i]]
        histories = _histories(chunk, judge.history_start(mine), max(s.high for s in mine))
        for subject_id in chunk:
            if subject_id not in histories:  # the person was deleted since the snapshot
                continue
            verdicts.subjects.add(subject_id)
            for stay in by_subject[subject_id]:
                verdicts.stays += 1
                names = [
                    name
                    for name, v in judge.versions.items()
                    if stay.stage in v.from_stages and subject_id not in verdicts.qualified[name]
                ]
                if names:
                    held, checked = judge.held(stay, histories[subject_id], names)
                    verdicts.checks += checked
                    for name in held:
                        verdicts.qualified[name].add(subject_id)
    return verdicts


# --------------------------------------------------------------------- outcomes


def outcomes_sql(
    context: Context,
    spec: Spec,
    from_stages: Sequence[str],
    downstream: Sequence[str],
    start: dt.date,
    end: dt.date,
) -> tuple[str, list[Any]]:
    """subject → reference moment, and its first entry (or re-entry) into each downstream
    stage at or after the reference, by the as-of moment (within the horizon)."""
    stays, params = stays_sql(context, spec, from_stages, start, end)
    horizon = f"AND x.at <= p.reference + INTERVAL {int(spec.horizon_days)} DAY" if spec.horizon_days else ""
    stage_list = ", ".join("?" for _ in downstream)
    sql = (
        f"WITH st AS ({stays}), p AS (SELECT subject_id, min(greatest(entered, ?)) AS reference "
        "FROM st GROUP BY subject_id) "
        "SELECT p.subject_id, p.reference, x.to_stage, min(x.at) FROM p LEFT JOIN transitions x "
        f"ON x.subject_id = p.subject_id AND x.at >= p.reference AND x.at <= ? AND x.to_stage IN ({stage_list}) "
        f"{horizon} GROUP BY ALL"
    )
    return sql, [*params, dt.datetime.combine(start, dt.time()), context.as_of, *downstream]


@dataclass
class Outcomes:
    reference: dict[int, dt.datetime]
    reached: dict[int, set[str]]


def _outcomes(context: Context, spec: Spec, from_stages, downstream, start, end) -> Outcomes:
    found = Outcomes({}, defaultdict(set))
    sql, params = outcomes_sql(context, spec, from_stages, downstream, start, end)
    for subject_id, reference, stage, _at in context.snapshot.query(sql, params):
        found.reference[subject_id] = reference
        if stage is not None:
            found.reached[subject_id].add(stage)
    return found


def downstream_stages(context: Context, spec: Spec, candidate: Version) -> list[str]:
    known = {s.key for s in context.stages}
    wanted = spec.options.get("stages")
    if wanted:
        unknown = [k for k in wanted if k not in known]
        if unknown:
            raise SpecError("unknown_stage", f"unknown stage(s): {', '.join(unknown)}")
        return list(wanted)
    path = context.path()
    keys = [s.key for s in path]
    if candidate.stage in keys:
        first = keys.index(candidate.stage)
    else:  # a rule leaving the path (to nurture, disqualified): what follows its from-stages
        starts = [keys.index(k) + 1 for k in candidate.from_stages if k in keys]
        first = min(starts) if starts else 0
    rest = path[first:]
    if rest and rest[0].category == "prospect":  # prospects: up to winning (the first customer stage)
        won = next((i for i, s in enumerate(rest) if s.category == "customer"), len(rest) - 1)
        rest = rest[: won + 1]
    return [s.key for s in rest]


# --------------------------------------------------------------------- result


@dataclass
class GroupRow:
    group: str
    subjects: int
    median_days_observed: float | None
    reached: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "subjects": self.subjects,
            "median_days_observed": self.median_days_observed,
            "reached": self.reached,
        }


@dataclass
class BacktestResult:
    spec: Spec
    start: dt.date
    end: dt.date
    candidate: Version
    current: Version | None
    stages: list[str]
    evaluated: dict[str, int]
    groups: list[GroupRow]
    comparison: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)
    as_of: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": NAME,
            **self.spec.describe(),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "horizon_days": self.spec.horizon_days,
            "candidate": self.candidate.as_dict(),
            "current": self.current.as_dict() if self.current else None,
            "facts": {"as_of_the_moment": FACTS_AS_OF_THE_MOMENT, "as_of_now": FACTS_AS_OF_NOW},
            "evaluated": self.evaluated,
            "stages": self.stages,
            "groups": [g.as_dict() for g in self.groups],
            "comparison": self.comparison,
            "notes": self.notes,
            "snapshot": self.snapshot,
        }


FACTS_AS_OF_THE_MOMENT = ["activity counts", "engagement_score", "days_in_stage", "days_since_last_activity"]
FACTS_AS_OF_NOW = ["contact and account fields", "fit_score"]


def _group_members(verdicts: Verdicts) -> dict[str, set[int]]:
    cand, cur = verdicts.qualified["candidate"], verdicts.qualified["current"]
    everyone = verdicts.subjects
    return {
        "both": cand & cur,
        "candidate_only": cand - cur,
        "current_only": cur - cand,
        "neither": everyone - cand - cur,
        "candidate": set(cand),
        "current": set(cur),
    }


def _group_row(
    context: Context, name: str, members: set[int], outcomes: Outcomes, stages: list[str]
) -> GroupRow:
    observed = [
        (context.as_of - outcomes.reference[i]).total_seconds() / 86400
        for i in members
        if i in outcomes.reference
    ]
    reached = []
    for stage in stages:
        n = sum(1 for i in members if stage in outcomes.reached.get(i, ()))
        reached.append({"stage": stage, "reached": n, "rate": context.rate(n, len(members)).as_dict()})
    return GroupRow(
        name, len(members), rounded(statistics.median(observed), 2) if observed else None, reached
    )


def _comparison(groups: dict[str, GroupRow], stages: list[str]) -> list[dict[str, Any]]:
    rows = []
    for i, stage in enumerate(stages):
        cand = groups["candidate"].reached[i]["rate"]
        cur = groups["current"].reached[i]["rate"]
        difference = None
        if cand["value"] is not None and cur["value"] is not None:
            difference = round(cand["value"] - cur["value"], 4)
        rows.append({"stage": stage, "candidate": cand, "current": cur, "difference": difference})
    return rows


def compute(context: Context, spec: Spec) -> BacktestResult:
    if spec.by:
        raise SpecError("unsupported_slice", "the backtest has no slices; narrow it with --filter instead")
    if spec.unit != "person":
        raise SpecError("unsupported_unit", "rules qualify people: the backtest counts persons only")
    candidate = candidate_version(spec)
    current = current_version(candidate.key)
    start, end = evaluation_window(context, spec)
    stages = downstream_stages(context, spec, candidate)
    from_stages = sorted(set(candidate.from_stages) | set(current.from_stages if current else ()))
    stays = _stays(context, spec, from_stages, start, end)
    verdicts = evaluate(stays, candidate, current)
    outcomes = _outcomes(context, spec, from_stages, stages, start, end)
    members = {name: m & verdicts.subjects for name, m in _group_members(verdicts).items()}
    groups = {name: _group_row(context, name, members[name], outcomes, stages) for name in GROUPS}
    return BacktestResult(
        spec=spec,
        start=start,
        end=end,
        candidate=candidate,
        current=current,
        stages=stages,
        evaluated={"subjects": len(verdicts.subjects), "stays": verdicts.stays, "moments": verdicts.checks},
        groups=[groups[name] for name in GROUPS],
        comparison=_comparison(groups, stages),
        notes=_notes(current, verdicts),
        snapshot=context.freshness(),
        as_of=context.as_of,
    )


def _notes(current: Version | None, verdicts: Verdicts) -> list[str]:
    notes = [
        "subjects only the candidate qualifies were not moved by the current rule, so their outcomes "
        "understate what the candidate would have achieved"
    ]
    if current is None:
        notes.append(
            "the rule has no current version (a new rule): every qualified subject is candidate-only"
        )
    if not verdicts.subjects:
        notes.append("nobody was in the rule's from-stages during the window: nothing to compare")
    return notes


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = ["group", "subjects", "median_days_observed"]
    for stage in data["stages"]:
        headers += [f"{stage}_reached", f"{stage}_rate"]
    out: list[Sequence[Any]] = []
    for g in data["groups"]:
        row: list[Any] = [g["group"], g["subjects"], g["median_days_observed"]]
        for r in g["reached"]:
            row += [r["reached"], r["rate"]["value"]]
        out.append(row)
    return headers, out
