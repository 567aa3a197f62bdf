"""The waterfall: how many subjects entered each stage and how many of them advanced to
the next, in cohort or period view, per person or per account (buying group).

Definitions (docs/metrics.md):

- *entered S*: subjects whose **first** entry into S falls in the window; re-entries in
  the window are counted apart (``reentries``), never added to the volume.
- *cohort view*: ``advanced`` = of those, the ones that later entered the next stage T
  (at any time, or within ``horizon_days``); conversion = advanced ÷ entered.
- *period view*: ``advanced`` = subjects whose first entry into T falls in the window;
  conversion = entered T ÷ entered S in the same window.
- *maturity* (cohort view): the share of the cohort that entered S long enough ago to
  have advanced — at least the horizon, or without one the measured 80th-percentile time
  to the next stage. Young cohorts show a low maturity instead of a silently low rate.
- *account unit*: an account enters S when its first person does (people without a
  company count as their own unit); slices take the account's values, person-level ones
  (source, owner, campaign) from its earliest person.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from kyogyo.analytics.dimensions import slicing, subject_dimensions
from kyogyo.analytics.metrics.base import Context, StageInfo, slice_label, stage_column, stage_groups
from kyogyo.analytics.spec import Rate, Spec, rounded

NAME = "waterfall"
HELP = "entered and advanced per stage with conversion, days to next stage and cohort maturity"
SECONDS_PER_DAY = 86400.0
WORKERS = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stages", help="comma-separated stage keys to show (default: the whole path)")


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    return {"stages": parsed["stages"].split(",")} if parsed.get("stages") else {}


@dataclass
class StageRow:
    stage: str
    name: str
    next_stage: str | None
    entered: int
    reentries: int
    advanced: int | None
    conversion: dict[str, Any] | None
    median_days_to_next: float | None
    maturity: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "name": self.name,
            "next_stage": self.next_stage,
            "entered": self.entered,
            "reentries": self.reentries,
            "advanced": self.advanced,
            "conversion_rate": None if self.conversion is None else self.conversion["value"],
            "conversion": self.conversion,
            "median_days_to_next": self.median_days_to_next,
            "maturity": self.maturity,
        }


@dataclass
class WaterfallResult:
    spec: Spec
    stages: list[StageRow]
    slices: list[tuple[dict[str, str], list[StageRow]]] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)
    as_of: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": NAME,
            "view": self.spec.view,
            "unit": self.spec.unit,
            "horizon_days": self.spec.horizon_days,
            **self.spec.describe(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "stages": [r.as_dict() for r in self.stages],
            "snapshot": self.snapshot,
        }
        if self.spec.by:
            data["slices"] = [
                {**slice_label(keys), "stages": [r.as_dict() for r in rows]} for keys, rows in self.slices
            ]
        return data


def _stages(context: Context, spec: Spec) -> list[StageInfo]:
    path = context.path()
    wanted = spec.options.get("stages")
    if not wanted:
        return path
    known = {s.key: s for s in context.stages}
    from kyogyo.analytics.spec import SpecError

    unknown = [k for k in wanted if k not in known]
    if unknown:
        raise SpecError("unknown_stage", f"unknown stage(s): {', '.join(unknown)}")
    return [known[k] for k in wanted]


def _next_map(context: Context, stages: list[StageInfo], spec: Spec) -> dict[str, str | None]:
    if spec.options.get("stages"):
        keys = [s.key for s in stages]
        return {k: (keys[i + 1] if i + 1 < len(keys) else None) for i, k in enumerate(keys)}
    return {s.key: context.next_on_path(s.key) for s in stages}


def _base_cte(
    context: Context, spec: Spec, stages: list[StageInfo], key_exprs: list[str], joins: str, where: str
) -> str:
    columns = sorted(
        {s.key for s in stages} | {k for k in [context.next_on_path(s.key) for s in stages] if k}
    )
    keys = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(key_exprs))
    firsts = ", ".join(stage_column(k) for k in columns)
    select = ", ".join(x for x in (keys, firsts) if x)
    if spec.unit == "person":
        return f"SELECT s.subject_id AS unit, {select} FROM subjects s {joins} WHERE {where}"
    inner_keys = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(key_exprs))
    people = ", ".join(x for x in (inner_keys, firsts, "s.created_at", "s.account_id", "s.subject_id") if x)
    grouped_keys = ", ".join(f"arg_min(k{i}, created_at) AS k{i}" for i in range(len(key_exprs)))
    grouped_firsts = ", ".join(f"min({stage_column(k)}) AS {stage_column(k)}" for k in columns)
    grouped = ", ".join(x for x in (grouped_keys, grouped_firsts) if x)
    return (
        f"SELECT COALESCE(account_id, -subject_id) AS unit, {grouped} FROM "
        f"(SELECT {people} FROM subjects s {joins} WHERE {where}) GROUP BY 1"
    )


def _maturity_days(
    context: Context, stages: list[StageInfo], nexts: dict[str, str | None], spec: Spec
) -> dict[str, float]:
    """Days after which a cohort counts as mature, per stage: the horizon, or the measured
    80th percentile of days to the next stage over all history (memoised per generation)."""
    if spec.horizon_days:
        return {s.key: float(spec.horizon_days) for s in stages}
    key = ("waterfall.maturity_days", tuple((s.key, nexts[s.key]) for s in stages))
    return context.snapshot.memo(key, lambda: _measured_maturity_days(context, stages, nexts))


def _measured_maturity_days(
    context: Context, stages: list[StageInfo], nexts: dict[str, str | None]
) -> dict[str, float]:
    parts = []
    for s in stages:
        nxt = nexts[s.key]
        if not nxt:
            continue
        f, t = stage_column(s.key), stage_column(nxt)
        parts.append(
            f"SELECT '{s.key}' AS stage, quantile_cont(date_diff('second', {f}, {t}) / {SECONDS_PER_DAY}, 0.8) "
            f"FROM subjects WHERE {t} >= {f}"
        )
    if not parts:
        return {}
    return {stage: float(days or 0) for stage, days in context.snapshot.query(" UNION ALL ".join(parts))}


def compute(context: Context, spec: Spec) -> WaterfallResult:
    stages = _stages(context, spec)
    nexts = _next_map(context, stages, spec)
    maturity_days = _maturity_days(context, stages, nexts, spec)
    # three independent scans at once: DuckDB releases the GIL, and the small per-stage
    # pipelines leave cores idle when run one after another
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        if _entries_apply(context, spec):
            counted = pool.submit(_counts_from_entries, context, spec, stages, maturity_days)
            medians = None
        else:
            counted = pool.submit(_counts, context, spec, stages, nexts, maturity_days)
            medians = pool.submit(_total_medians, context, spec, stages, nexts) if spec.by else None
        reentered = pool.submit(_reentries, context, spec, stages)
        found, reentries = counted.result(), reentered.result()
        if medians is not None:
            found[TOTAL] = _summed(found, stages, medians.result())
    result = WaterfallResult(
        spec=spec,
        stages=_assemble(context, spec, stages, nexts, found.pop(TOTAL, {}), reentries.pop(TOTAL, {})),
        snapshot=context.freshness(),
        as_of=context.as_of,
    )
    for keys in sorted(found, key=lambda k: tuple("" if v is None else str(v) for v in k)) if spec.by else []:
        labels = {name: _label(name, v) for name, v in zip(spec.by, keys, strict=True)}
        result.slices.append(
            (labels, _assemble(context, spec, stages, nexts, found[keys], reentries.get(keys, {})))
        )
    return result


# the per-stage cohort keys over ``entries`` (its ``ym`` is precomputed)
ENTRY_KEYS = {"month": "s.ym", "quarter": "(year(s.f) * 10 + quarter(s.f))"}


def _label(dimension: str, value: Any) -> str:
    if value is None:
        return ""
    if dimension == "quarter":
        return f"{value // 10}-Q{value % 10}"
    if dimension == "month":
        return f"{value // 100}-{value % 100:02d}"
    return str(value)


TOTAL = ("__total__",)


MONTH_MARKER = "__STAGE__"
# grouped as integers (202604, 20262: cheaper than strings or truncated times), labelled in _label
PER_STAGE_KEYS = {
    "month": f"(year({MONTH_MARKER}) * 100 + month({MONTH_MARKER}))",
    "quarter": f"(year({MONTH_MARKER}) * 10 + quarter({MONTH_MARKER}))",
}


def _entries_apply(context: Context, spec: Spec) -> bool:
    """The ``entries`` table answers person-unit waterfalls along the path it was derived
    with; other shapes (accounts, a custom list of stages) read ``subjects``."""
    return (
        spec.unit == "person"
        and not spec.options.get("stages")
        and [[k, context.next_on_path(k)] for k, _ in context._pairs] == context.snapshot.manifest.path
    )


def _counts_from_entries(
    context: Context, spec: Spec, stages: list[StageInfo], maturity_days: dict[str, float]
) -> dict[tuple, dict[str, tuple]]:
    """The same numbers as ``_counts`` in one pass over ``entries`` (slices and totals
    through grouping sets)."""
    cut = slicing(spec, subject_dimensions(context.settings.company_size_edges), ENTRY_KEYS)
    keys = "".join(f", {k} AS k{i}" for i, k in enumerate(cut.keys))
    key_names = [f"k{i}" for i in range(len(cut.keys))]
    grouping = f"GROUPING SETS ((stage, {', '.join(key_names)}), (stage))" if key_names else "stage"
    is_total = f"grouping({', '.join(key_names)}) > 0" if key_names else "true"
    reached = "days_to_next IS NOT NULL"
    if spec.view == "cohort" and spec.horizon_days:
        reached += f" AND days_to_next <= {int(spec.horizon_days)}"
    mature = " ".join(f"WHEN '{s.key}' THEN ?" for s in stages)
    mature_params = [context.as_of - dt.timedelta(days=maturity_days.get(s.key, 0.0)) for s in stages]
    window, window_params = spec.window_sql("s.f")
    stage_list = ", ".join(f"'{s.key}'" for s in stages)
    advanced = f"count(*) FILTER (WHERE {reached})" if spec.view == "cohort" else "NULL::BIGINT"
    sql = (
        f"SELECT stage, {is_total} AS total{''.join(', ' + k for k in key_names)}, count(*), {advanced}, "
        f"median(days_to_next) FILTER (WHERE {reached}), count(*) FILTER (WHERE f <= CASE stage {mature} END) "
        f"FROM (SELECT s.stage, s.f, s.days_to_next{keys} FROM entries s {cut.joins} "
        f"WHERE s.stage IN ({stage_list}) AND {window} AND {cut.where}) GROUP BY {grouping}"
    )
    nexts = {s.key: context.next_on_path(s.key) for s in stages}
    found: dict[tuple, dict[str, tuple]] = {}
    for row in context.snapshot.query(sql, [*mature_params, *window_params, *cut.params]):
        slot = TOTAL if row[1] else tuple(row[2 : 2 + len(key_names)])
        entered, advanced_n, median, mature_n = row[2 + len(key_names) :]
        if nexts[row[0]] is None:
            advanced_n, median = None, None
        found.setdefault(slot, {})[row[0]] = (entered, advanced_n, median, mature_n)
    return found


def _counts(
    context: Context,
    spec: Spec,
    stages: list[StageInfo],
    nexts: dict[str, str | None],
    maturity_days: dict[str, float],
) -> dict[tuple, dict[str, tuple]]:
    """slice keys → stage → (entered, advanced, median days, mature), one query for all
    stages; the unsliced totals are under the key ``TOTAL``. With slices, the totals' counts
    are the slices' sums and only their medians are queried (over the advanced rows)."""
    cut = slicing(spec, subject_dimensions(context.settings.company_size_edges), PER_STAGE_KEYS)
    # a cohort month is the month of entering *that* stage: evaluated per stage below
    base_keys = [k if MONTH_MARKER not in k else "NULL" for k in cut.keys]
    base = _base_cte(context, spec, stages, base_keys, cut.joins, cut.where)
    key_names = [f"k{i}" for i in range(len(cut.keys))]
    selects: list[str] = []
    params: list[Any] = list(cut.params)
    for s in stages:
        f = stage_column(s.key)
        nxt = nexts[s.key]
        inner_keys = "".join(
            (k.replace(MONTH_MARKER, f) if MONTH_MARKER in k else f"k{i}") + f" AS k{i}, "
            for i, k in enumerate(cut.keys)
        )
        window, window_params = spec.window_sql(f)
        mature_before = context.as_of - dt.timedelta(days=maturity_days.get(s.key, 0.0))
        t = stage_column(nxt) if nxt else "NULL::TIMESTAMP"
        reached = _reached(spec)
        # the period view's "advanced" is the next stage's own entered count (see _assemble)
        advanced = f"count(*) FILTER (WHERE {reached})" if nxt and spec.view == "cohort" else "NULL::BIGINT"
        median = f"median(date_diff('second', f, t) / {SECONDS_PER_DAY}) FILTER (WHERE {reached})"
        selects.append(
            f"SELECT '{s.key}' AS stage{''.join(', ' + k for k in key_names)}, count(*) AS entered, "
            f"{advanced} AS advanced, {median if nxt else 'NULL::DOUBLE'} AS median_days, "
            f"count(*) FILTER (WHERE f <= ?) AS mature "
            f"FROM (SELECT {inner_keys}{f} AS f, {t} AS t FROM base WHERE {f} IS NOT NULL AND {window}) "
            f"GROUP BY ALL"
        )
        params += [mature_before, *window_params]
    sql = f"WITH base AS ({base}) " + " UNION ALL ".join(selects)
    found: dict[tuple, dict[str, tuple]] = {}
    for row in context.snapshot.query(sql, params):
        found.setdefault(tuple(row[1 : 1 + len(key_names)]) if key_names else TOTAL, {})[row[0]] = tuple(
            row[1 + len(key_names) :]
        )
    return found


def _reached(spec: Spec) -> str:
    """The condition on (f, t) = (first entry into S, first entry into the next stage)."""
    return _reached_columns(spec, "f", "t")


def _summed(
    found: dict[tuple, dict[str, tuple]], stages: list[StageInfo], medians: dict[str, float]
) -> dict[str, tuple]:
    """The unsliced totals: counts add up over the slices; medians don't (queried apart)."""
    totals: dict[str, list] = {s.key: [0, None, medians.get(s.key), 0] for s in stages}
    for per_stage in found.values():
        for stage, (entered, advanced, _median, mature) in per_stage.items():
            row = totals[stage]
            row[0] += entered
            row[1] = None if advanced is None else (row[1] or 0) + advanced
            row[3] += mature
    return {stage: tuple(values) for stage, values in totals.items()}


def _total_medians(
    context: Context, spec: Spec, stages: list[StageInfo], nexts: dict[str, str | None]
) -> dict[str, float]:
    """Median days to the next stage over all slices: one scan, one median per stage over
    the rows that advanced (NULL elsewhere, which medians skip)."""
    cut = slicing(replace(spec, by=()), subject_dimensions(context.settings.company_size_edges))
    base = _base_cte(context, spec, stages, [], cut.joins, cut.where)
    columns, params, keys = [], list(cut.params), []
    for s in stages:
        nxt = nexts[s.key]
        if nxt is None:
            continue
        f, t = stage_column(s.key), stage_column(nxt)
        window, window_params = spec.window_sql(f)
        reached = _reached_columns(spec, f, t)
        columns.append(
            f"median(CASE WHEN {reached} AND {window} THEN date_diff('second', {f}, {t}) / {SECONDS_PER_DAY} END)"
        )
        params += window_params
        keys.append(s.key)
    if not columns:
        return {}
    row = context.snapshot.query(f"WITH base AS ({base}) SELECT {', '.join(columns)} FROM base", params)[0]
    return dict(zip(keys, row, strict=True))


def _reached_columns(spec: Spec, f: str, t: str) -> str:
    reached = f"{t} >= {f}"
    if spec.view == "cohort" and spec.horizon_days:
        reached += f" AND {t} <= {f} + INTERVAL {int(spec.horizon_days)} DAY"
    return reached


def _reentries(context: Context, spec: Spec, stages: list[StageInfo]) -> dict[tuple, dict[str, int]]:
    """Re-entries into each stage in the window, per slice (from the transition log)."""
    cut = slicing(spec, subject_dimensions(context.settings.company_size_edges), PER_STAGE_KEYS)
    keys = [k.replace(MONTH_MARKER, "t.at") for k in cut.keys]
    key_select = "".join(f", {k} AS k{i}" for i, k in enumerate(keys))
    window, window_params = spec.window_sql("t.at")
    stage_list = ", ".join(f"'{s.key}'" for s in stages)
    sql = (
        f"SELECT t.to_stage{key_select}, count(*) FROM transitions t JOIN subjects s ON s.subject_id = t.subject_id "
        f"{cut.joins} WHERE t.is_reentry AND t.to_stage IN ({stage_list}) AND {window} AND {cut.where} GROUP BY ALL"
    )
    found: dict[tuple, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for row in context.snapshot.query(sql, [*window_params, *cut.params]):
        stage, slice_keys, count = row[0], tuple(row[1:-1]), int(row[-1])
        if slice_keys:
            found.setdefault(slice_keys, {})[stage] = count
        totals[stage] = totals.get(stage, 0) + count
    found[TOTAL] = totals
    return found


def _assemble(
    context: Context,
    spec: Spec,
    stages: list[StageInfo],
    nexts: dict[str, str | None],
    found: dict[str, tuple],
    reentries: dict[str, int],
) -> list[StageRow]:
    rows = []
    small_below = context.settings.small_denominator
    for s in stages:
        entered, advanced, median, mature = found.get(s.key) or (0, None, None, 0)
        entered = int(entered or 0)
        nxt = nexts[s.key]
        if nxt is not None and spec.view == "period":
            advanced = int((found.get(nxt) or (0,))[0] or 0)
        elif nxt is not None:
            advanced = int(advanced or 0)
        else:
            advanced = None
        conversion = Rate(advanced, entered, small_below).as_dict() if advanced is not None else None
        rows.append(
            StageRow(
                stage=s.key,
                name=s.name,
                next_stage=nxt,
                entered=entered,
                reentries=reentries.get(s.key, 0),
                advanced=advanced,
                conversion=conversion,
                median_days_to_next=rounded(median, 2),
                maturity=(
                    round(int(mature or 0) / entered, 4) if entered and spec.view == "cohort" else None
                ),
            )
        )
    return rows


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = [
        "slice",
        "stage",
        "entered",
        "reentries",
        "advanced",
        "conversion_rate",
        "median_days_to_next",
        "maturity",
    ]
    out: list[Sequence[Any]] = []
    groups = stage_groups(data)
    for key, stages in groups:
        for r in stages:
            out.append(
                [
                    key,
                    r["stage"],
                    r["entered"],
                    r["reentries"],
                    r["advanced"],
                    r["conversion_rate"],
                    r["median_days_to_next"],
                    r["maturity"],
                ]
            )
    return headers, out


# --- the records behind one cell (the dashboard's drill-down) ------------------------

CELL_MEASURES = ("entered", "advanced")


def cell_sql(context: Context, spec: Spec, stage: str, measure: str) -> tuple[str, list[Any]]:
    """The subject ids behind one cell of the person-unit waterfall (``entered`` or
    ``advanced`` of ``stage``), by the same definitions as ``compute``: a SELECT of
    ``subject_id`` from ``subjects`` (aliased ``s``), unordered."""
    from kyogyo.analytics.spec import SpecError

    if spec.unit != "person":
        raise SpecError("bad_unit", "the records behind a cell are listed per person")
    if measure not in CELL_MEASURES:
        raise SpecError("bad_measure", f"a waterfall cell is one of {', '.join(CELL_MEASURES)}")
    stages = _stages(context, spec)
    known = {s.key for s in stages}
    if stage not in known:
        raise SpecError("unknown_stage", f"unknown stage: {stage}")
    nxt = _next_map(context, stages, spec)[stage]
    cut = slicing(replace(spec, by=()), subject_dimensions(context.settings.company_size_edges))
    reached_next: str | None = None
    if measure == "advanced":
        if nxt is None:
            raise SpecError("bad_measure", f"{stage} has no next stage to advance to")
        if spec.view == "period":
            stage = nxt  # the period view's "advanced" is the next stage's first entries in the window
        else:
            reached_next = nxt
    f = stage_column(stage)
    window, window_params = spec.window_sql(f)
    where = f"{f} IS NOT NULL AND {window} AND {cut.where}"
    if reached_next is not None:
        where += f" AND {_reached_columns(spec, f, stage_column(reached_next))}"
    return f"SELECT s.subject_id FROM subjects s {cut.joins} WHERE {where}", [*window_params, *cut.params]
