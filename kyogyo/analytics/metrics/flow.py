"""Flow and balance (フローと残高): per stage, what came in and went out during the window
and what is left open at its end, with how long it has waited.

Definitions (docs/metrics.md, "Flow and balance"), over the transition log:

- the window runs from ``start`` (or the beginning) to ``balance_at`` = the end of its last
  day, or ``as_of`` when that is earlier (a period not over yet is measured up to now);
- **inflow** of S: transitions into S in the window, re-entries included (``reentries`` says
  how many of them were re-entries);
- **outflow** of S: transitions out of S in the window, split by where they went:
  *advanced* = to a stage on the path (``kyogyo.analytics.path``) later than S — or, for a
  stage off the path (nurture, disqualified), to any stage on the path; *recycled* = to a
  ``recycle`` stage (nurture); *disqualified* = to an ``exit`` stage; *other* = the rest
  (back along the path, e.g. MQL → lead on an "incomplete information" rejection). Outcome
  stages are on the path, so active → churned counts as advanced: ``outflow_to`` gives every
  destination apart;
- **balance** at a time X: subjects whose last transition before X (the highest ``seq``) went
  into S; ``opening`` is the balance at the window start, ``balance`` at ``balance_at``, so
  ``opening + inflow − outflow = balance`` for every stage and slice;
- **age** of a subject in the balance: whole days from its last transition to
  ``balance_at``, in buckets 0–7, 8–30, 31–90, 91+; **stalled**: age above the stage's
  ``stall_days`` (null for a stage without one), with up to ``stalled_limit`` subject ids,
  the longest waiting first (then by id), for drilling down.

Slices: the person dimensions (``kyogyo.analytics.dimensions``), with the person's current
values.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kyogyo.analytics.dimensions import Slicing, slicing, subject_dimensions
from kyogyo.analytics.metrics.base import Context, StageInfo, slice_label, stage_groups
from kyogyo.analytics.spec import Spec, SpecError

NAME = "flow"
HELP = "per stage: inflow, outflow (advanced, recycled, disqualified, other), balance at the end with ages"
DEFAULT_STALLED_LIMIT = 20
AGE_BUCKETS = (("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("91+", 91, None))
OUTFLOW_KINDS = ("advanced", "recycled", "disqualified", "other")
TOTAL = ("__total__",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stalled-limit",
        type=int,
        default=DEFAULT_STALLED_LIMIT,
        metavar="N",
        help=f"list up to N stalled subject ids per stage (default {DEFAULT_STALLED_LIMIT})",
    )


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    limit = parsed.get("stalled_limit")
    return {} if limit is None else {"stalled_limit": limit}


@dataclass
class StageFlow:
    stage: str
    name: str
    category: str
    opening: int = 0
    inflow: int = 0
    reentries: int = 0
    outflow_to: dict[str, int] = field(default_factory=dict)
    outflow: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTFLOW_KINDS, 0))
    balance: int = 0
    age_buckets: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in AGE_BUCKETS})
    stall_days: int | None = None
    stalled: int | None = None
    stalled_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        total_out = sum(self.outflow.values())
        return {
            "stage": self.stage,
            "name": self.name,
            "category": self.category,
            "opening": self.opening,
            "inflow": self.inflow,
            "reentries": self.reentries,
            "outflow": {**self.outflow, "total": total_out},
            "outflow_to": dict(sorted(self.outflow_to.items())),
            "net": self.inflow - total_out,
            "balance": self.balance,
            "age_buckets": self.age_buckets,
            "stall_days": self.stall_days,
            "stalled": self.stalled,
            "stalled_ids": self.stalled_ids,
        }


@dataclass
class FlowResult:
    spec: Spec
    balance_at: dt.datetime
    opening_at: dt.datetime | None
    stalled_limit: int
    stages: list[StageFlow]
    slices: list[tuple[dict[str, str], list[StageFlow]]] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)
    as_of: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": NAME,
            **self.spec.describe(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "opening_at": self.opening_at.isoformat() if self.opening_at else None,
            "balance_at": self.balance_at.isoformat(),
            "stalled_limit": self.stalled_limit,
            "stages": [s.as_dict() for s in self.stages],
            "snapshot": self.snapshot,
        }
        if self.spec.by:
            data["slices"] = [
                {**slice_label(keys), "stages": [s.as_dict() for s in rows]} for keys, rows in self.slices
            ]
        return data


def compute(context: Context, spec: Spec) -> FlowResult:
    if spec.unit != "person":
        raise SpecError("bad_unit", f"{NAME} counts people's stages; --unit account does not apply")
    limit = stalled_limit(spec)
    opening_at, balance_at = measured_between(context, spec)
    cut = slicing(spec, subject_dimensions(context.settings.company_size_edges))
    stages = context.stages
    found: dict[tuple, dict[str, StageFlow]] = {}

    def row(slot: tuple, stage: str) -> StageFlow:
        per_stage = found.setdefault(slot, {})
        if stage not in per_stage:
            info = context.stage(stage)
            per_stage[stage] = _empty(info) if info else StageFlow(stage, stage, "")
        return per_stage[stage]

    width = len(cut.keys)
    destination = outflow_kind(context)
    for r in context.snapshot.query(*movements_sql(cut, opening_at, balance_at)):
        stage, direction, to_stage, n, reentries = r[0], r[1], r[2], int(r[-2]), int(r[-1])
        target = row(_slot(r, width, 3), stage)
        if direction == "in":
            target.inflow += n
            target.reentries += reentries
        else:
            target.outflow_to[to_stage] = target.outflow_to.get(to_stage, 0) + n
            target.outflow[destination(stage, to_stage)] += n
    if opening_at is not None:
        for r in context.snapshot.query(*opening_sql(cut, opening_at)):
            row(_slot(r, width, 1), r[0]).opening = int(r[-1])
    for r in context.snapshot.query(*balance_sql(cut, balance_at, limit)):
        target = row(_slot(r, width, 1), r[0])
        balance, *buckets, stalled, stalled_ids = r[2 + width :]
        target.balance = int(balance)
        target.age_buckets = {b[0]: int(n) for b, n in zip(AGE_BUCKETS, buckets, strict=True)}
        if target.stall_days is not None:
            target.stalled = int(stalled)
            target.stalled_ids = [int(i) for i in stalled_ids or []]
    result = FlowResult(
        spec=spec,
        balance_at=balance_at,
        opening_at=opening_at,
        stalled_limit=limit,
        stages=_ordered(context, stages, found.pop(TOTAL, {})),
        snapshot=context.freshness(),
        as_of=context.as_of,
    )
    for keys in sorted(found, key=lambda k: tuple(str(v) for v in k)):
        labels = {name: str(v) for name, v in zip(spec.by, keys, strict=True)}
        result.slices.append((labels, _ordered(context, stages, found[keys])))
    return result


def stalled_limit(spec: Spec) -> int:
    limit = spec.options.get("stalled_limit", DEFAULT_STALLED_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise SpecError("bad_stalled_limit", f"--stalled-limit must be a whole number ≥ 0, not {limit!r}")
    return limit


def measured_between(context: Context, spec: Spec) -> tuple[dt.datetime | None, dt.datetime]:
    """(opening time, balance time): the window's start and the end of its last day, the
    latter no later than ``as_of``."""
    opening_at = dt.datetime.combine(spec.start, dt.time()) if spec.start else None
    end = dt.datetime.combine(spec.end_exclusive, dt.time()) if spec.end_exclusive else None
    balance_at = min(end, context.as_of) if end else context.as_of
    if opening_at is not None and balance_at < opening_at:
        raise SpecError(
            "window_after_as_of",
            f"the window starts ({spec.start}) after the time evaluated ({context.as_of:%Y-%m-%d %H:%M}); "
            "choose an earlier window or a later --as-of",
        )
    return opening_at, balance_at


def outflow_kind(context: Context) -> Callable[[str, str], str]:
    """(from stage, to stage) → advanced | recycled | disqualified | other."""
    position = {s.key: i for i, s in enumerate(context.path())}
    category = {s.key: s.category for s in context.stages}

    def kind(from_stage: str, to_stage: str) -> str:
        if category.get(to_stage) == "recycle":
            return "recycled"
        if category.get(to_stage) == "exit":
            return "disqualified"
        if to_stage in position and (from_stage not in position or position[to_stage] > position[from_stage]):
            return "advanced"
        return "other"

    return kind


def _keys(cut: Slicing) -> tuple[str, str, str]:
    """(select list, GROUP BY clause, total flag) for the slice keys k0, k1, … over ``stage``
    and the given extra grouping columns."""
    names = [f"k{i}" for i in range(len(cut.keys))]
    select = "".join(f", {expr} AS k{i}" for i, expr in enumerate(cut.keys))
    is_total = f"grouping({', '.join(names)}) > 0" if names else "true"
    return select, ", ".join(names), is_total


def _grouping(columns: str, names: str) -> str:
    return f"GROUPING SETS (({columns}, {names}), ({columns}))" if names else columns


def movements_sql(
    cut: Slicing, opening_at: dt.datetime | None, balance_at: dt.datetime
) -> tuple[str, list[Any]]:
    """Transitions in the window counted into their destination (``in``) and out of their
    origin (``out``, per destination), per slice and in total."""
    select, names, is_total = _keys(cut)
    window = "t.at < ?" + (" AND t.at >= ?" if opening_at else "")
    window_params: list[Any] = [balance_at, *([opening_at] if opening_at else [])]
    moves = (
        f"SELECT t.from_stage, t.to_stage, t.is_reentry{select} FROM transitions t "
        f"LEFT JOIN subjects s ON s.subject_id = t.subject_id {cut.joins} WHERE {window} AND {cut.where}"
    )
    key_columns = "".join(f", k{i}" for i in range(len(cut.keys)))
    sql = (
        f"WITH moves AS ({moves}), directed AS ("
        f"SELECT to_stage AS stage, 'in' AS direction, NULL AS dest, is_reentry{key_columns} FROM moves "
        f"UNION ALL SELECT from_stage, 'out', to_stage, false{key_columns} FROM moves "
        f"WHERE from_stage IS NOT NULL) "
        f"SELECT stage, direction, dest, {is_total}{key_columns}, count(*), count(*) FILTER (WHERE is_reentry) "
        f"FROM directed GROUP BY {_grouping('stage, direction, dest', names)}"
    )
    return sql, [*window_params, *cut.params]


def _held(cut: Slicing) -> str:
    """Each subject's stage at a time (parameter 1) and since when it has been there."""
    select, _names, _total = _keys(cut)
    return (
        "WITH last AS (SELECT t.subject_id, arg_max(t.to_stage, t.seq) AS stage, arg_max(t.at, t.seq) AS since "
        "FROM transitions t WHERE t.at < ? GROUP BY t.subject_id) "
        f"SELECT l.subject_id, l.stage, l.since{select} FROM last l "
        f"LEFT JOIN subjects s ON s.subject_id = l.subject_id {cut.joins} WHERE {cut.where}"
    )


def opening_sql(cut: Slicing, at: dt.datetime) -> tuple[str, list[Any]]:
    _select, names, is_total = _keys(cut)
    key_columns = "".join(f", k{i}" for i in range(len(cut.keys)))
    sql = (
        f"SELECT stage, {is_total}{key_columns}, count(*) FROM ({_held(cut)}) "
        f"GROUP BY {_grouping('stage', names)}"
    )
    return sql, [at, *cut.params]


def balance_sql(cut: Slicing, at: dt.datetime, limit: int) -> tuple[str, list[Any]]:
    """Per stage (and slice): the balance, its age buckets, the stalled count and the first
    ``limit`` stalled subject ids, longest waiting first."""
    _select, names, is_total = _keys(cut)
    key_columns = "".join(f", k{i}" for i in range(len(cut.keys)))
    buckets = ", ".join(
        f"count(*) FILTER (WHERE age >= {low}" + (f" AND age <= {high})" if high is not None else ")")
        for _label, low, high in AGE_BUCKETS
    )
    stalled = "age > st.stall_days"
    ids = f"list(h.subject_id ORDER BY age DESC, h.subject_id) FILTER (WHERE {stalled})"
    sql = (
        f"SELECT h.stage, {is_total}{key_columns}, count(*), {buckets}, "
        f"count(*) FILTER (WHERE {stalled}), {ids}[1:{int(limit)}] "
        f"FROM (SELECT *, CAST(floor(date_diff('second', since, ?) / 86400) AS INTEGER) AS age "
        f"FROM ({_held(cut)})) h LEFT JOIN stages st ON st.key = h.stage "
        f"GROUP BY {_grouping('h.stage', names)}"
    )
    return sql, [at, at, *cut.params]


def _slot(row: Sequence[Any], width: int, total_at: int) -> tuple:
    """The slice a result row belongs to: TOTAL for the grouping-set totals."""
    if row[total_at]:
        return TOTAL
    return tuple(row[total_at + 1 : total_at + 1 + width])


def _empty(stage: StageInfo) -> StageFlow:
    return StageFlow(stage=stage.key, name=stage.name, category=stage.category, stall_days=stage.stall_days)


def _ordered(context: Context, stages: list[StageInfo], found: dict[str, StageFlow]) -> list[StageFlow]:
    """Every stage of the model in stage order (zeros where nothing happened), then any
    stage found in the log that the model no longer has."""
    out = []
    for s in stages:
        flow = found.get(s.key) or _empty(s)
        if flow.stall_days is not None and flow.stalled is None:
            flow.stalled = 0
        out.append(flow)
    known = {s.key for s in stages}
    return out + [found[k] for k in sorted(found) if k not in known]


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = [
        "slice",
        "stage",
        "opening",
        "inflow",
        "reentries",
        "advanced",
        "recycled",
        "disqualified",
        "other",
        "balance",
        *(f"age_{b[0]}" for b in AGE_BUCKETS),
        "stalled",
    ]
    out: list[Sequence[Any]] = []
    groups = stage_groups(data)
    for key, stages in groups:
        for r in stages:
            out.append(
                [
                    key,
                    r["stage"],
                    r["opening"],
                    r["inflow"],
                    r["reentries"],
                    *(r["outflow"][k] for k in OUTFLOW_KINDS),
                    r["balance"],
                    *(r["age_buckets"][b[0]] for b in AGE_BUCKETS),
                    r["stalled"],
                ]
            )
    return headers, out


# --- the records behind one cell (the dashboard's drill-down) ------------------------

CELL_MEASURES = ("opening", "balance", "stalled")


def cell_sql(context: Context, spec: Spec, stage: str, measure: str) -> tuple[str, list[Any]]:
    """The subject ids behind the opening balance, the closing balance or the stalled count of
    ``stage``, by the same definitions as ``compute`` (one row per person: inflow and outflow
    count moves, not people, so they have no list of their own)."""
    if measure not in CELL_MEASURES:
        raise SpecError("bad_measure", f"a flow number with records is one of {', '.join(CELL_MEASURES)}")
    if context.stage(stage) is None:
        raise SpecError("unknown_stage", f"unknown stage: {stage}")
    cut = slicing(replace(spec, by=()), subject_dimensions(context.settings.company_size_edges))
    opening_at, balance_at = measured_between(context, spec)
    if measure == "opening":
        if opening_at is None:
            return "SELECT NULL::BIGINT AS subject_id WHERE false", []
        return f"SELECT subject_id FROM ({_held(cut)}) WHERE stage = ?", [opening_at, *cut.params, stage]
    if measure == "balance":
        return f"SELECT subject_id FROM ({_held(cut)}) WHERE stage = ?", [balance_at, *cut.params, stage]
    return (
        f"SELECT h.subject_id FROM (SELECT *, CAST(floor(date_diff('second', since, ?) / 86400) AS INTEGER) "
        f"AS age FROM ({_held(cut)})) h JOIN stages st ON st.key = h.stage "
        f"WHERE h.stage = ? AND h.age > st.stall_days",
        [balance_at, balance_at, *cut.params, stage],
    )
