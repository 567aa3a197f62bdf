"""The bottleneck: which step of the path to won is worth improving most, and where work
piles up.

Definitions (docs/analytics/planning.md):

- Steps S→next run along the waterfall's path from its first stage up to won (the first
  customer stage), measured over the window (default: the 12 whole months before "now")
  with the waterfall: cohort conversion unless ``--view period``; ``--horizon`` and
  ``--filter`` apply.
- Revenue model: revenue = E × Π rᵢ × D, with E the subjects that entered the first stage in
  the window, rᵢ each step's conversion and D the average won deal size (deals closed as won
  in the window in ``--currency``, or ``--deal-size``). ``wins`` = E × Π rᵢ.
- Conversion effect of step k: the revenue with rₖ one percentage point higher (capped at
  100 %) minus the revenue = E × D × Π_{i≠k} rᵢ × min(0.01, 1 − rₖ); ``wins_effect`` is the
  same without D. Its interval puts every *other* step's rate at the ends of its 95 % Wilson
  score interval at once (all low, all high): conservative, it reflects their sample sizes;
  the step's own Wilson interval is shown beside its rate.
- Velocity effect of step k: if its median days to the next stage fell by 10 %, the pipeline
  behind it would arrive that many days sooner; at the window's pace (revenue ÷ window days)
  that brings revenue per day × days saved inside a window of the same length, once.
- Where work piles up, per stage before won, at the window's end (or now, if sooner): ``open``
  = people whose latest stage it is; ``outflow`` = moves out of it in the window (advanced,
  recycled, disqualified); ``days_to_clear`` = open ÷ (outflow ÷ days); the median age of the
  open items (days since they entered) and how many are older than the stage's stall days.
  The pile-up is the stage with the largest days_to_clear; open items with no outflow at all
  come first.
- The bottleneck is the step with the largest conversion effect in money (in wins when no
  deal size is known). It is ``clear`` when its interval's low end is above the runner-up's
  high end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kyogyo.analytics.dimensions import slicing, subject_dimensions
from kyogyo.analytics.metrics import plan, waterfall
from kyogyo.analytics.metrics.base import Context, StageInfo
from kyogyo.analytics.spec import Spec, SpecError, add_months, month_start, rounded

NAME = "bottleneck"
HELP = "the step whose one-point improvement is worth most (with intervals), velocity effects, where work piles up"

Z95 = 1.959963984540054
ONE_POINT = 0.01
FASTER = 0.10
SECONDS_PER_DAY = 86400.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deal-size", type=int, help="average won deal size (default: measured in the window)"
    )
    parser.add_argument(
        "--currency", default=plan.DEFAULT_CURRENCY, help="currency of the deals (default JPY)"
    )


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {"currency": parsed.get("currency") or plan.DEFAULT_CURRENCY}
    if parsed.get("deal_size") is not None:
        found["deal_size"] = parsed["deal_size"]
    return found


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of successes ÷ n (None without observations)."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / denominator), min(1.0, (centre + half) / denominator)


def default_window(spec: Spec, as_of: dt.datetime) -> Spec:
    """The spec's window, or the 12 whole months before the month of ``as_of``."""
    if spec.start and spec.end:
        return spec
    this_month = month_start(as_of.date())
    start = spec.start or add_months(this_month, -12)
    end = spec.end or max(start, this_month - dt.timedelta(days=1))
    return replace(spec, start=start, end=end)


@dataclass
class Step:
    source: str
    target: str
    advanced: int
    entered: int
    conversion: dict[str, Any]
    interval: tuple[float, float] | None
    median_days: float | None
    wins_effect: float | None = None
    revenue_effect: float | None = None
    effect_interval: tuple[float, float] | None = None  # in money, or in wins without a deal size
    days_saved: float | None = None
    velocity_effect: float | None = None

    @property
    def key(self) -> str:
        return f"{self.source}:{self.target}"

    @property
    def rate(self) -> float | None:
        return self.advanced / self.entered if self.entered else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.key,
            "from": self.source,
            "to": self.target,
            "conversion": self.conversion,
            "interval": _pair(self.interval, 4),
            "median_days": self.median_days,
            "wins_effect": rounded(self.wins_effect, 4),
            "revenue_effect": rounded(self.revenue_effect, 2),
            "effect_interval": _pair(self.effect_interval, 2),
            "days_saved": rounded(self.days_saved, 2),
            "velocity_effect": rounded(self.velocity_effect, 2),
        }


@dataclass
class Pile:
    stage: str
    open: int
    outflow: int
    days: float
    median_age_days: float | None
    over_stall: int | None
    stall_days: int | None

    @property
    def outflow_per_day(self) -> float | None:
        return self.outflow / self.days if self.days > 0 else None

    @property
    def days_to_clear(self) -> float | None:
        if not self.open:
            return 0.0
        per_day = self.outflow_per_day
        return self.open / per_day if per_day else None

    @property
    def rank(self) -> tuple[int, float, int]:
        clear = self.days_to_clear
        return (1 if clear is None and self.open else 0, clear or 0.0, self.open)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "open": self.open,
            "outflow": self.outflow,
            "outflow_per_day": rounded(self.outflow_per_day, 4),
            "days_to_clear": rounded(self.days_to_clear, 2),
            "no_outflow": bool(self.open and not self.outflow),
            "median_age_days": rounded(self.median_age_days, 2),
            "over_stall": self.over_stall,
            "stall_days": self.stall_days,
        }


@dataclass
class BottleneckResult:
    spec: Spec
    first_stage: str
    entered: int
    deal_size: float | None
    deal_size_source: str | None
    won_deals: int
    wins: float | None
    revenue: float | None
    steps: list[Step]
    piles: list[Pile]
    pile_end: dt.datetime
    as_of: dt.datetime
    snapshot: dict[str, Any] = field(default_factory=dict)

    def bottleneck(self) -> dict[str, Any] | None:
        ranked = sorted(
            (s for s in self.steps if _effect(s) is not None), key=lambda s: _effect(s) or 0.0, reverse=True
        )
        if not ranked:
            return None
        best = ranked[0]
        runner = ranked[1] if len(ranked) > 1 else None
        clear = bool(
            runner is None
            or (
                best.effect_interval
                and runner.effect_interval
                and best.effect_interval[0] > runner.effect_interval[1]
            )
        )
        unit = "revenue" if self.deal_size else "wins"
        rate = best.conversion
        evidence = (
            f"{best.key} converts {rate['numerator']} of {rate['denominator']} ({_percent(best.rate)}); "
            f"one point more is worth {_amount(_effect(best))} in {unit}"
        )
        if best.effect_interval:
            evidence += f" ({_amount(best.effect_interval[0])}–{_amount(best.effect_interval[1])})"
        if runner is not None:
            evidence += f"; next is {runner.key} at {_amount(_effect(runner))}"
            evidence += "" if clear else " (the intervals overlap: not a clear winner)"
        return {
            "step": best.key,
            "wins_effect": rounded(best.wins_effect, 4),
            "revenue_effect": rounded(best.revenue_effect, 2),
            "runner_up": runner.key if runner else None,
            "clear": clear,
            "evidence": evidence,
        }

    def piles_up_at(self) -> dict[str, Any] | None:
        found = [p for p in self.piles if p.open]
        if not found:
            return None
        top = max(found, key=lambda p: p.rank)
        clear = top.days_to_clear
        how = "nothing left it in the window" if clear is None else f"{clear:.1f} days of outflow to clear"
        evidence = f"{top.open} open in {top.stage}, {top.outflow} moved on in the window: {how}"
        if top.median_age_days is not None:
            evidence += f"; median age {top.median_age_days:.1f} days"
        if top.over_stall:
            evidence += f", {top.over_stall} past the {top.stall_days}-day stall limit"
        return {"stage": top.stage, "days_to_clear": rounded(clear, 2), "evidence": evidence}

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": NAME,
            "view": self.spec.view,
            "horizon_days": self.spec.horizon_days,
            **self.spec.describe(),
            "as_of": self.as_of.isoformat(),
            "first_stage": self.first_stage,
            "entered": self.entered,
            "deal_size": {
                "value": rounded(self.deal_size, 2),
                "source": self.deal_size_source,
                "won_deals": self.won_deals,
            },
            "wins": rounded(self.wins, 4),
            "revenue": rounded(self.revenue, 2),
            "steps": [s.as_dict() for s in self.steps],
            "bottleneck": self.bottleneck(),
            "pile_up_at": self.pile_end.isoformat(),
            "pile_up": [p.as_dict() for p in self.piles],
            "piles_up_at": self.piles_up_at(),
            "snapshot": self.snapshot,
        }


def _effect(step: Step) -> float | None:
    return step.revenue_effect if step.revenue_effect is not None else step.wins_effect


def _pair(pair: tuple[float, float] | None, digits: int) -> list[float] | None:
    return None if pair is None else [round(pair[0], digits), round(pair[1], digits)]


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _amount(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def compute(context: Context, spec: Spec) -> BottleneckResult:
    if spec.by:
        raise SpecError(
            "no_slices", "the bottleneck is not sliced: narrow it with --filter DIM=VALUE instead"
        )
    if spec.unit != "person":
        raise SpecError("bad_unit", "the bottleneck counts people: leave --unit at person")
    spec = default_window(spec, context.as_of)
    assert spec.start is not None and spec.end is not None
    path = plan.plan_path(context)
    rows = {r["stage"]: r for r in waterfall.compute(context, spec).as_dict()["stages"]}
    steps = [_step(rows, a.key, b.key) for a, b in itertools.pairwise(path)]
    entered = int(rows[path[0].key]["entered"])
    deal_size, source, won = _deal_size(context, spec)
    rates = [s.rate for s in steps if s.rate is not None]
    wins = entered * math.prod(rates) if len(rates) == len(steps) else None
    revenue = wins * deal_size if wins is not None and deal_size is not None else None
    window_days = (spec.end - spec.start).days + 1
    for k, step in enumerate(steps):
        _effects(step, k, steps, entered, deal_size, revenue, window_days)
    pile_end = min(dt.datetime.combine(spec.end + dt.timedelta(days=1), dt.time()), context.as_of)
    return BottleneckResult(
        spec=spec,
        first_stage=path[0].key,
        entered=entered,
        deal_size=deal_size,
        deal_size_source=source,
        won_deals=won,
        wins=wins,
        revenue=revenue,
        steps=steps,
        piles=_piles(context, spec, path[:-1], pile_end),
        pile_end=pile_end,
        as_of=context.as_of,
        snapshot=context.freshness(),
    )


def _step(rows: dict[str, dict[str, Any]], source: str, target: str) -> Step:
    row = rows[source]
    advanced, entered = int(row["advanced"] or 0), int(row["entered"] or 0)
    return Step(
        source=source,
        target=target,
        advanced=advanced,
        entered=entered,
        conversion=row["conversion"],
        interval=wilson(advanced, entered),
        median_days=row["median_days_to_next"],
    )


def _deal_size(context: Context, spec: Spec) -> tuple[float | None, str | None, int]:
    assert spec.start is not None and spec.end is not None
    deals = plan.won_deals(
        context, spec.start, spec.end, spec.options.get("currency", plan.DEFAULT_CURRENCY), spec
    )
    given = spec.options.get("deal_size")
    if given is not None:
        if given <= 0:
            raise SpecError("bad_deal_size", "the deal size must be a positive amount")
        return float(given), "given", deals.won_deals
    mean = deals.mean
    return (float(mean), "measured", deals.won_deals) if mean else (None, None, deals.won_deals)


def _effects(
    step: Step,
    k: int,
    steps: list[Step],
    entered: int,
    deal_size: float | None,
    revenue: float | None,
    window_days: int,
) -> None:
    """Fill the step's conversion and velocity effects (None where a rate is unknown)."""
    others = [(s.rate, s.interval) for i, s in enumerate(steps) if i != k]
    known = [(rate, interval) for rate, interval in others if rate is not None and interval is not None]
    if step.rate is not None and len(known) == len(others):
        gain = min(ONE_POINT, 1 - step.rate)
        step.wins_effect = entered * math.prod(rate for rate, _ in known) * gain
        low = entered * math.prod(interval[0] for _, interval in known) * gain
        high = entered * math.prod(interval[1] for _, interval in known) * gain
        scale = deal_size or 1.0
        step.effect_interval = (low * scale, high * scale)
        if deal_size is not None:
            step.revenue_effect = step.wins_effect * deal_size
    if step.median_days is not None:
        step.days_saved = step.median_days * FASTER
        if revenue is not None:
            step.velocity_effect = revenue / window_days * step.days_saved


def _piles(context: Context, spec: Spec, stages: Sequence[StageInfo], end: dt.datetime) -> list[Pile]:
    """Open balance at ``end``, outflow in [window start, end), age of the open items."""
    assert spec.start is not None
    start = dt.datetime.combine(spec.start, dt.time())
    days = max(0.0, (end - start).total_seconds() / SECONDS_PER_DAY)
    cut = slicing(replace(spec, by=()), subject_dimensions(context.settings.company_size_edges))
    keys = ", ".join(f"'{s.key}'" for s in stages)
    balance_sql = (
        "WITH latest AS (SELECT t.subject_id, arg_max(t.to_stage, t.seq) AS stage, arg_max(t.at, t.seq) AS since "
        "FROM transitions t WHERE t.at < ? GROUP BY t.subject_id) "
        "SELECT l.stage, count(*), median(date_diff('second', l.since, ?) / 86400.0), "
        "count(*) FILTER (WHERE st.stall_days IS NOT NULL "
        "AND date_diff('second', l.since, ?) >= st.stall_days * 86400) "
        f"FROM latest l JOIN subjects s ON s.subject_id = l.subject_id LEFT JOIN stages st ON st.key = l.stage "
        f"{cut.joins} WHERE l.stage IN ({keys}) AND {cut.where} GROUP BY 1"
    )
    balances = {row[0]: row[1:] for row in context.snapshot.query(balance_sql, [end, end, end, *cut.params])}
    outflow_sql = (
        f"SELECT t.from_stage, count(*) FROM transitions t JOIN subjects s ON s.subject_id = t.subject_id "
        f"{cut.joins} WHERE t.from_stage IN ({keys}) AND t.at >= ? AND t.at < ? AND {cut.where} GROUP BY 1"
    )
    outflows = dict(context.snapshot.query(outflow_sql, [start, end, *cut.params]) if days else [])
    piles = []
    for stage in stages:
        count, age, over = balances.get(stage.key, (0, None, 0))
        piles.append(
            Pile(
                stage=stage.key,
                open=int(count),
                outflow=int(outflows.get(stage.key, 0)),
                days=days,
                median_age_days=None if age is None else float(age),
                over_stall=int(over) if stage.stall_days else None,
                stall_days=stage.stall_days,
            )
        )
    return piles


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    """Steps first (their effects), then the stages' open balances; ``*`` marks the bottleneck
    and the pile-up."""
    headers = [
        "row",
        "conversion_rate",
        "advanced",
        "entered",
        "revenue_effect",
        "effect_low",
        "effect_high",
        "median_days",
        "velocity_effect",
        "open",
        "outflow",
        "days_to_clear",
        "median_age_days",
    ]
    out: list[Sequence[Any]] = []
    best = (data["bottleneck"] or {}).get("step")
    for s in data["steps"]:
        low, high = s["effect_interval"] or (None, None)
        c = s["conversion"]
        out.append(
            [
                s["step"] + (" *" if best == s["step"] else ""),
                c["value"],
                c["numerator"],
                c["denominator"],
                s["revenue_effect"],
                low,
                high,
                s["median_days"],
                s["velocity_effect"],
                None,
                None,
                None,
                None,
            ]
        )
    pile = (data["piles_up_at"] or {}).get("stage")
    for p in data["pile_up"]:
        name = p["stage"] + (" *" if pile == p["stage"] else "")
        out.append([name, *([None] * 8), p["open"], p["outflow"], p["days_to_clear"], p["median_age_days"]])
    return headers, out
