"""Velocity: how long subjects take from one stage of the path to the next.

Definitions (docs/metrics.md, "Velocity / time in stage"):

- the cohort of stage S: subjects whose **first** entry into S falls in the window (and at or
  before ``as_of``);
- *days to next*: days (fractional) from the first entry into S to the first entry into the
  next stage on the path T (``Context.next_on_path``), for the subjects of the cohort that
  entered T at or after their first entry into S and at or before ``as_of`` (within
  ``horizon_days`` of entering S when a horizon is given);
- per stage: ``entered`` (the cohort), ``advanced`` (those with a days-to-next value),
  ``not_advanced`` (the rest: still in S, gone elsewhere, or advanced after the horizon), the
  **median** and **80th percentile** (linear interpolation, DuckDB ``quantile_cont``) and the
  mean of days to next. Outcome stages have no next stage: only ``entered``;
- a young cohort has only its fast subjects advanced yet: ``not_advanced`` says how many are
  still out; a fixed ``--horizon`` makes cohorts of different ages comparable;
- *account unit*: an account's first entry into a stage is its earliest person's (people
  without a company count as their own unit), as in the waterfall.

Slices: the person dimensions (``kyogyo.analytics.dimensions``) and ``month`` / ``quarter``
of entering S (the cohort month).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kyogyo.analytics.dimensions import slicing, subject_dimensions
from kyogyo.analytics.metrics.base import Context, StageInfo, slice_label, stage_column, stage_groups
from kyogyo.analytics.spec import Spec, SpecError, rounded

NAME = "velocity"
HELP = "days from first entry into each stage to the next one: median, 80th percentile, mean, count"
SECONDS_PER_DAY = 86400.0
MARKER = "__ENTERED__"
PERIOD_KEYS = {
    "month": f"(year({MARKER}) * 100 + month({MARKER}))",
    "quarter": f"(year({MARKER}) * 10 + quarter({MARKER}))",
}
TOTAL = ("__total__",)


@dataclass
class StageVelocity:
    stage: str
    name: str
    next_stage: str | None
    entered: int
    advanced: int | None
    median_days: float | None
    p80_days: float | None
    mean_days: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "name": self.name,
            "next_stage": self.next_stage,
            "entered": self.entered,
            "advanced": self.advanced,
            "not_advanced": None if self.advanced is None else self.entered - self.advanced,
            "median_days": self.median_days,
            "p80_days": self.p80_days,
            "mean_days": self.mean_days,
        }


@dataclass
class VelocityResult:
    spec: Spec
    stages: list[StageVelocity]
    slices: list[tuple[dict[str, str], list[StageVelocity]]] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)
    as_of: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": NAME,
            "unit": self.spec.unit,
            "horizon_days": self.spec.horizon_days,
            **self.spec.describe(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "stages": [s.as_dict() for s in self.stages],
            "snapshot": self.snapshot,
        }
        if self.spec.by:
            data["slices"] = [
                {**slice_label(keys), "stages": [s.as_dict() for s in rows]} for keys, rows in self.slices
            ]
        return data


def compute(context: Context, spec: Spec) -> VelocityResult:
    _check(spec)
    stages = context.path()
    nexts = {s.key: context.next_on_path(s.key) for s in stages}
    sql, params = velocity_sql(context, spec, stages, nexts)
    found: dict[tuple, dict[str, tuple]] = {}
    width = len(spec.by)
    for row in context.snapshot.query(sql, params):
        slot = TOTAL if row[1] else tuple(row[2 : 2 + width])
        found.setdefault(slot, {})[row[0]] = tuple(row[2 + width :])
    result = VelocityResult(
        spec=spec,
        stages=_assemble(stages, nexts, found.pop(TOTAL, {})),
        snapshot=context.freshness(),
        as_of=context.as_of,
    )
    for keys in sorted(found, key=lambda k: tuple(str(v) for v in k)):
        labels = {name: _label(name, v) for name, v in zip(spec.by, keys, strict=True)}
        result.slices.append((labels, _assemble(stages, nexts, found[keys])))
    return result


def _check(spec: Spec) -> None:
    if spec.view != "cohort":
        raise SpecError(
            "bad_view", "velocity is measured on cohorts of first entry; --view period does not apply"
        )


def velocity_sql(
    context: Context, spec: Spec, stages: list[StageInfo], nexts: dict[str, str | None]
) -> tuple[str, list[Any]]:
    """One query: per stage (and per slice, with the unsliced totals through grouping sets)
    the cohort size, how many advanced, and the median / p80 / mean days to the next stage."""
    cut = slicing(spec, subject_dimensions(context.settings.company_size_edges), PERIOD_KEYS)
    columns = sorted({s.key for s in stages} | {n for n in nexts.values() if n})
    base = _base(spec, [k if MARKER not in k else "NULL" for k in cut.keys], columns, cut.joins, cut.where)
    params: list[Any] = list(cut.params)
    key_names = [f"k{i}" for i in range(len(cut.keys))]
    parts = []
    for s in stages:
        f = stage_column(s.key)
        nxt = nexts[s.key]
        t = stage_column(nxt) if nxt else "NULL::TIMESTAMP"
        keys = "".join(
            f", {k.replace(MARKER, f) if MARKER in k else f'k{i}'} AS k{i}" for i, k in enumerate(cut.keys)
        )
        window, window_params = spec.window_sql(f)
        parts.append(
            f"SELECT '{s.key}' AS stage{keys}, {f} AS f, {t} AS t FROM base "
            f"WHERE {f} IS NOT NULL AND {f} <= ? AND {window}"
        )
        params += [context.as_of, *window_params]
    reached = "t >= f AND t <= ?"
    params.append(context.as_of)
    if spec.horizon_days:
        reached += f" AND t <= f + INTERVAL {int(spec.horizon_days)} DAY"
    grouping = f"GROUPING SETS ((stage, {', '.join(key_names)}), (stage))" if key_names else "stage"
    is_total = f"grouping({', '.join(key_names)}) > 0" if key_names else "true"
    sql = (
        f"WITH base AS ({base}), cohort AS ({' UNION ALL '.join(parts)}), "
        f"measured AS (SELECT *, CASE WHEN {reached} THEN date_diff('second', f, t) / {SECONDS_PER_DAY} END "
        f"AS days FROM cohort) "
        f"SELECT stage, {is_total}{''.join(', ' + k for k in key_names)}, count(*), count(days), "
        f"quantile_cont(days, 0.5), quantile_cont(days, 0.8), avg(days) FROM measured GROUP BY {grouping}"
    )
    return sql, params


def _base(spec: Spec, key_exprs: list[str], columns: list[str], joins: str, where: str) -> str:
    """One row per unit: its slice keys and first entry per stage."""
    keys = "".join(f"{expr} AS k{i}, " for i, expr in enumerate(key_exprs))
    firsts = ", ".join(stage_column(c) for c in columns)
    if spec.unit == "person":
        return f"SELECT {keys}{firsts} FROM subjects s {joins} WHERE {where}"
    grouped_keys = "".join(f"arg_min(k{i}, created_at) AS k{i}, " for i in range(len(key_exprs)))
    grouped_firsts = ", ".join(f"min({stage_column(c)}) AS {stage_column(c)}" for c in columns)
    return (
        f"SELECT {grouped_keys}{grouped_firsts} FROM (SELECT {keys}{firsts}, s.created_at, "
        f"COALESCE(s.account_id, -s.subject_id) AS unit FROM subjects s {joins} WHERE {where}) GROUP BY unit"
    )


def _label(dimension: str, value: Any) -> str:
    if value is None:
        return ""
    if dimension == "month":
        return f"{value // 100}-{value % 100:02d}"
    if dimension == "quarter":
        return f"{value // 10}-Q{value % 10}"
    return str(value)


def _assemble(
    stages: list[StageInfo], nexts: dict[str, str | None], found: dict[str, tuple]
) -> list[StageVelocity]:
    rows = []
    for s in stages:
        entered, advanced, median, p80, mean = found.get(s.key) or (0, 0, None, None, None)
        has_next = nexts[s.key] is not None
        rows.append(
            StageVelocity(
                stage=s.key,
                name=s.name,
                next_stage=nexts[s.key],
                entered=int(entered),
                advanced=int(advanced) if has_next else None,
                median_days=rounded(median) if has_next else None,
                p80_days=rounded(p80) if has_next else None,
                mean_days=rounded(mean) if has_next else None,
            )
        )
    return rows


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = [
        "slice",
        "stage",
        "next_stage",
        "entered",
        "advanced",
        "not_advanced",
        "median_days",
        "p80_days",
        "mean_days",
    ]
    groups = stage_groups(data)
    return headers, [[key, *(r[h] for h in headers[1:])] for key, stages in groups for r in stages]
