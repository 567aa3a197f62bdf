"""Planning backwards (逆算): from a revenue target to the volume each stage must reach,
month by month, and the people each team needs; a saved plan against what happened.

Definitions (docs/metrics.md; docs/analytics/planning.md):

- The plan runs along the waterfall's path from its first stage to *won* (the first
  customer stage). exact(won) = target ÷ average deal size; for each earlier stage
  exact(S) = exact(next) ÷ conversion(S→next); required(S) = ⌈exact(S)⌉. The chain is
  carried unrounded (as exact fractions) and rounded **up** only when shown.
- Measured inputs come from a *lookback* window, by default the 12 months before the plan
  starts: the cohort conversion S→next of the waterfall, and the average deal size (mean
  amount of the deals closed as won in the window, in the plan's currency). Given inputs
  (``--rate mql:sal=0.8``, ``--deal-size``) override them. A needed step measured at 0 or
  without data is refused, naming the step.
- Lags: ``days_to_next`` is a stage's measured median days to the next stage (0 when not
  measured); ``lag_days`` of S is their sum from S up to won: how long before a win S's
  entries must happen. The wins are spread evenly over the months of the period; each
  month's share of a stage is moved ``lag_days`` earlier as a span of time and counted in
  the calendar months it lands in, in proportion to time. Months before the period are
  marked. Monthly figures are rounded up one by one (they may add up to more than the total).
- Capacity: one person of a team handles ``throughput`` items of one stage a month
  (marketing → leads, the first stage; inside_sales → MQLs; field_sales → opportunities, the
  SQLs it accepted; customer_success → wins); people(team, month) = ⌈volume ÷ throughput⌉.
- Plan vs actual (report ``plan-actual``, ``kyogyo plan --actual ID``): for a saved plan, per
  stage and month, the required entries against the actual first entries in the snapshot;
  gap = actual − required. Months that have ended by "now" make up the ``to_date`` figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kyogyo.analytics.metrics import waterfall
from kyogyo.analytics.metrics.base import Context, StageInfo, stage_column
from kyogyo.analytics.spec import Spec, SpecError, add_months, month_start, months_between, rounded

NAME = "plan-actual"
HELP = "a saved plan (kyogyo plan --save) against the actual first entries per stage and month"

DEFAULT_LOOKBACK_MONTHS = 12
DEFAULT_CURRENCY = "JPY"
SECONDS_PER_DAY = 86400
FIRST_STAGE, WON_STAGE = "<first>", "<won>"
# team → the stage whose volume one person of the team handles (see the docstring)
CAPACITY_STAGES = {
    "marketing": FIRST_STAGE,
    "inside_sales": "mql",
    "field_sales": "opportunity",
    "customer_success": WON_STAGE,
}


# --- inputs ------------------------------------------------------------------------


def parse_amount(text: str, what: str) -> int:
    """A positive whole amount in minor units; ``120,000,000`` and ``120_000_000`` are accepted."""
    cleaned = text.replace(",", "").replace("_", "").strip()
    if not cleaned.isdigit() or int(cleaned) <= 0:
        raise SpecError(
            f"bad_{what.replace(' ', '_')}", f"{what} must be a positive whole amount, not {text!r}"
        )
    return int(cleaned)


def parse_fraction(text: str) -> Fraction:
    """``0.8`` or ``80%`` → 4/5, exactly (no binary floating point in the chain)."""
    value = text.strip()
    try:
        if value.endswith("%"):
            return Fraction(value[:-1].strip()) / 100
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise SpecError("bad_rate", f"{text!r} is not a number") from None


def parse_rate(text: str) -> tuple[str, Fraction]:
    """``mql:sal=0.8`` → ("mql:sal", 4/5); the rate must lie in (0, 1]."""
    step, sep, value = text.partition("=")
    if not sep or ":" not in step:
        raise SpecError("bad_rate", f"{text!r}: write a rate as FROM:TO=RATE, e.g. mql:sal=0.8")
    rate = parse_fraction(value)
    if not 0 < rate <= 1:
        raise SpecError(
            "bad_rate",
            f"--rate {step.strip()}: a conversion must be above 0 and at most 1 (0.25 = 25 %), not {value}",
        )
    return step.strip(), rate


def parse_capacity(text: str) -> tuple[str, Fraction]:
    """``inside_sales=120`` → ("inside_sales", 120): items one person handles a month."""
    team, sep, value = text.partition("=")
    if not sep or not team.strip():
        raise SpecError(
            "bad_capacity", f"{text!r}: write a capacity as TEAM=N_PER_MONTH, e.g. inside_sales=120"
        )
    throughput = parse_fraction(value)
    if throughput <= 0:
        raise SpecError("bad_capacity", f"--capacity {team.strip()}: throughput must be above 0, not {value}")
    return team.strip(), throughput


@dataclass(frozen=True)
class PlanInputs:
    target: int  # minor units
    start: dt.date
    end: dt.date
    deal_size: Fraction | None = None
    rates: Mapping[str, Fraction] = field(default_factory=dict)  # "from:to" → given rate
    capacity: Mapping[str, Fraction] = field(default_factory=dict)  # team → items per person-month
    lookback_months: int = DEFAULT_LOOKBACK_MONTHS
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if self.target <= 0:
            raise SpecError("bad_target", "the target must be a positive amount")
        if self.end < self.start:
            raise SpecError("bad_window", f"the plan ends ({self.end}) before it starts ({self.start})")
        if self.deal_size is not None and self.deal_size <= 0:
            raise SpecError("bad_deal_size", "the deal size must be a positive amount")
        if self.lookback_months < 1:
            raise SpecError("bad_lookback", "the lookback must be at least one month")
        for team in self.capacity:
            if team not in CAPACITY_STAGES:
                raise SpecError(
                    "unknown_team", f"capacity for {team!r}: teams are {', '.join(CAPACITY_STAGES)}"
                )

    @property
    def lookback(self) -> tuple[dt.date, dt.date]:
        return add_months(month_start(self.start), -self.lookback_months), self.start - dt.timedelta(days=1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "currency": self.currency,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "deal_size": None if self.deal_size is None else str(self.deal_size),
            "rates": {step: str(rate) for step, rate in self.rates.items()},
            "capacity": {team: str(n) for team, n in self.capacity.items()},
            "lookback_months": self.lookback_months,
        }


# --- the path and what was measured ------------------------------------------------


def plan_path(context: Context) -> list[StageInfo]:
    """The path's stages from the first one to won (the first customer stage)."""
    path = context.path()
    for i, stage in enumerate(path):
        if stage.category == "customer":
            return path[: i + 1]
    raise SpecError("no_won_stage", "the stage model has no customer stage to plan towards")


def steps(path: Sequence[StageInfo]) -> list[str]:
    return [f"{a.key}:{b.key}" for a, b in itertools.pairwise(path)]


@dataclass(frozen=True)
class DealSize:
    won_deals: int
    total: int
    median: float | None

    @property
    def mean(self) -> Fraction | None:
        return Fraction(self.total, self.won_deals) if self.won_deals else None


def won_deals(
    context: Context, start: dt.date, end: dt.date, currency: str, spec: Spec | None = None
) -> DealSize:
    """Deals closed as won in [start, end] in ``currency`` (their people kept by the spec's
    filters when one is given)."""
    from kyogyo.analytics.dimensions import slicing, subject_dimensions

    window = Spec(start=start, end=end, filters=spec.filters if spec else {})
    cut = slicing(window, subject_dimensions(context.settings.company_size_edges))
    where, params = window.window_sql("d.closed_at")
    joins = f"LEFT JOIN subjects s ON s.subject_id = d.contact_id {cut.joins}" if window.filters else ""
    row = context.snapshot.query(
        f"SELECT count(*), COALESCE(sum(d.amount), 0)::BIGINT, median(d.amount) FROM deals d {joins} "
        f"WHERE d.status = 'won' AND d.currency = ? AND {where} AND {cut.where}",
        [currency, *params, *cut.params],
    )[0]
    return DealSize(int(row[0]), int(row[1]), None if row[2] is None else float(row[2]))


def won_deals_sql(
    context: Context, start: dt.date, end: dt.date, currency: str, spec: Spec | None = None
) -> tuple[str, list[Any]]:
    """The ids of the deals ``won_deals`` counts (the drill-down of wins and revenue)."""
    from kyogyo.analytics.dimensions import slicing, subject_dimensions

    window = Spec(start=start, end=end, filters=spec.filters if spec else {})
    cut = slicing(window, subject_dimensions(context.settings.company_size_edges))
    where, params = window.window_sql("d.closed_at")
    joins = f"LEFT JOIN subjects s ON s.subject_id = d.contact_id {cut.joins}" if window.filters else ""
    return (
        f"SELECT d.id FROM deals d {joins} WHERE d.status = 'won' AND d.currency = ? AND {where} AND {cut.where}",
        [currency, *params, *cut.params],
    )


@dataclass(frozen=True)
class Measured:
    start: dt.date
    end: dt.date
    stages: dict[str, dict[str, Any]]  # waterfall rows by stage
    deal_size: DealSize


def measure(context: Context, start: dt.date, end: dt.date, currency: str) -> Measured:
    rows = waterfall.compute(context, Spec(start=start, end=end)).as_dict()["stages"]
    return Measured(start, end, {r["stage"]: r for r in rows}, won_deals(context, start, end, currency))


def resolve_rates(
    path: Sequence[StageInfo], given: Mapping[str, Fraction], measured: Measured
) -> dict[str, tuple[Fraction, str]]:
    """step → (rate, "given" | "measured"); refuses unknown steps and unmeasurable ones."""
    known = steps(path)
    unknown = [s for s in given if s not in known]
    if unknown:
        raise SpecError(
            "unknown_step",
            f"no step {', '.join(unknown)} on the path to {path[-1].key}; the steps are {', '.join(known)}",
        )
    found: dict[str, tuple[Fraction, str]] = {}
    missing = []
    for step in known:
        if step in given:
            found[step] = (given[step], "given")
            continue
        row = measured.stages.get(step.split(":")[0]) or {}
        advanced, entered = row.get("advanced") or 0, row.get("entered") or 0
        if not advanced:
            missing.append(f"{step} ({advanced} of {entered} advanced)")
            continue
        found[step] = (Fraction(advanced, entered), "measured")
    if missing:
        raise SpecError(
            "no_rate",
            f"no measured conversion over {measured.start}–{measured.end} for {', '.join(missing)}: "
            f"give it with --rate FROM:TO=RATE",
        )
    return found


def chain(target: Fraction, deal_size: Fraction, rates: Sequence[Fraction]) -> list[Fraction]:
    """exact(S) for every stage, first to won, given the rates of the steps in path order:
    exact(won) = target ÷ deal size; exact(S) = exact(next) ÷ rate(S→next). Unrounded."""
    exact = [target / deal_size]
    for rate in reversed(rates):
        exact.insert(0, exact[0] / rate)
    return exact


def ceil(value: Fraction) -> int:
    return math.ceil(value)


# --- spreading over months ---------------------------------------------------------


def spread(total: Fraction, start: dt.date, end: dt.date, lag_seconds: int) -> dict[dt.date, Fraction]:
    """``total`` split evenly over the months of [start, end], each month's share moved
    ``lag_seconds`` earlier and counted in the calendar months it lands in, by time."""
    months = months_between(start, end)
    share = total / len(months)
    lag = dt.timedelta(seconds=lag_seconds)
    placed: dict[dt.date, Fraction] = {}
    for month in months:
        low = dt.datetime.combine(max(month, start), dt.time()) - lag
        high = dt.datetime.combine(min(add_months(month, 1), end + dt.timedelta(days=1)), dt.time()) - lag
        span = int((high - low).total_seconds())
        cursor = low
        while cursor < high:
            first = month_start(cursor.date())
            piece_end = min(high, dt.datetime.combine(add_months(first, 1), dt.time()))
            piece = int((piece_end - cursor).total_seconds())
            placed[first] = placed.get(first, Fraction(0)) + share * Fraction(piece, span)
            cursor = piece_end
    return dict(sorted(placed.items()))


def month_label(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


# --- the plan ----------------------------------------------------------------------


@dataclass
class PlanStage:
    stage: str
    name: str
    team: str | None
    next_stage: str | None
    exact: Fraction
    rate: Fraction | None
    rate_source: str | None
    measured: dict[str, Any] | None
    maturity: float | None
    days_to_next: float | None
    lag_days: float
    months: dict[dt.date, Fraction]

    @property
    def required(self) -> int:
        return ceil(self.exact)

    def as_dict(self, period_start: dt.date) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "name": self.name,
            "team": self.team,
            "next_stage": self.next_stage,
            "required": self.required,
            "exact": round(float(self.exact), 4),
            "rate": None if self.rate is None else round(float(self.rate), 6),
            "rate_source": self.rate_source,
            "measured": self.measured,
            "maturity": self.maturity,
            "days_to_next": self.days_to_next,
            "lag_days": round(self.lag_days, 2),
            "months": [
                {
                    "month": month_label(month),
                    "required": ceil(value),
                    "exact": round(float(value), 4),
                    "before_period": month < month_start(period_start),
                }
                for month, value in self.months.items()
            ],
        }


@dataclass
class TeamCapacity:
    team: str
    stage: str
    throughput: Fraction
    months: dict[dt.date, Fraction]  # the stage's volume per month

    def people(self, volume: Fraction) -> int:
        return ceil(volume / self.throughput)

    def as_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "stage": self.stage,
            "per_person_per_month": float(self.throughput),
            "months": [
                {"month": month_label(m), "volume": round(float(v), 4), "people": self.people(v)}
                for m, v in self.months.items()
            ],
            "peak_people": max((self.people(v) for v in self.months.values()), default=0),
        }


@dataclass
class PlanResult:
    inputs: PlanInputs
    lookback: tuple[dt.date, dt.date]
    deal_size: Fraction
    deal_size_source: str
    deals: DealSize
    stages: list[PlanStage]
    capacity: list[TeamCapacity]
    as_of: dt.datetime | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    saved: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": "plan",
            "target": self.inputs.target,
            "currency": self.inputs.currency,
            "from": self.inputs.start.isoformat(),
            "to": self.inputs.end.isoformat(),
            "months": [month_label(m) for m in months_between(self.inputs.start, self.inputs.end)],
            "lookback": {
                "from": self.lookback[0].isoformat(),
                "to": self.lookback[1].isoformat(),
                "months": self.inputs.lookback_months,
            },
            "deal_size": {
                "value": round(float(self.deal_size), 2),
                "source": self.deal_size_source,
                "won_deals": self.deals.won_deals,
                "median": rounded(self.deals.median, 2),
            },
            "wins": self.stages[-1].required,
            "stages": [s.as_dict(self.inputs.start) for s in self.stages],
            "capacity": [c.as_dict() for c in self.capacity],
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "snapshot": self.snapshot,
        }
        if self.saved is not None:
            data["saved"] = self.saved
        return data


def make_plan(context: Context, inputs: PlanInputs) -> PlanResult:
    path = plan_path(context)
    lookback = inputs.lookback
    measured = measure(context, *lookback, inputs.currency)
    rates = resolve_rates(path, inputs.rates, measured)
    deal_size, source = _deal_size(inputs, measured)
    exact = chain(Fraction(inputs.target), deal_size, [rates[s][0] for s in steps(path)])
    stages = _plan_stages(path, exact, rates, measured, inputs)
    return PlanResult(
        inputs=inputs,
        lookback=lookback,
        deal_size=deal_size,
        deal_size_source=source,
        deals=measured.deal_size,
        stages=stages,
        capacity=_capacity(path, stages, inputs),
        as_of=context.as_of,
        snapshot=context.freshness(),
    )


def _deal_size(inputs: PlanInputs, measured: Measured) -> tuple[Fraction, str]:
    if inputs.deal_size is not None:
        return inputs.deal_size, "given"
    mean = measured.deal_size.mean
    if not mean:
        raise SpecError(
            "no_deal_size",
            f"no deal won in {inputs.currency} over {measured.start}–{measured.end} to measure the average "
            f"deal size: give it with --deal-size AMOUNT",
        )
    return mean, "measured"


def _plan_stages(
    path: list[StageInfo],
    exact: list[Fraction],
    rates: dict[str, tuple[Fraction, str]],
    measured: Measured,
    inputs: PlanInputs,
) -> list[PlanStage]:
    stages: list[PlanStage] = []
    lag = 0.0
    for i in range(len(path) - 1, -1, -1):
        stage = path[i]
        nxt = path[i + 1].key if i + 1 < len(path) else None
        row = measured.stages.get(stage.key) or {}
        days = row.get("median_days_to_next") if nxt else None
        lag += days or 0.0
        rate, source = rates[f"{stage.key}:{nxt}"] if nxt else (None, None)
        stages.insert(
            0,
            PlanStage(
                stage=stage.key,
                name=stage.name,
                team=stage.team,
                next_stage=nxt,
                exact=exact[i],
                rate=rate,
                rate_source=source,
                measured=row.get("conversion") if nxt else None,
                maturity=row.get("maturity") if nxt else None,
                days_to_next=days,
                lag_days=lag,
                months=spread(exact[i], inputs.start, inputs.end, round(lag * SECONDS_PER_DAY)),
            ),
        )
    return stages


def _capacity(path: list[StageInfo], stages: list[PlanStage], inputs: PlanInputs) -> list[TeamCapacity]:
    by_key = {s.stage: s for s in stages}
    found = []
    for team, throughput in inputs.capacity.items():
        key = {FIRST_STAGE: path[0].key, WON_STAGE: path[-1].key}.get(
            CAPACITY_STAGES[team], CAPACITY_STAGES[team]
        )
        if key not in by_key:
            raise SpecError(
                "unknown_stage", f"capacity for {team}: the stage {key!r} is not on the plan's path"
            )
        found.append(TeamCapacity(team, key, throughput, by_key[key].months))
    return found


def plan_rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    """One row per stage (and per team's people), one column per month."""
    months = sorted({m["month"] for s in data["stages"] for m in s["months"]})
    headers = ["stage", "required", "exact", "rate", "rate_source", "days_to_next", "lag_days", *months]
    out: list[Sequence[Any]] = []
    for s in data["stages"]:
        per_month = {m["month"]: m["required"] for m in s["months"]}
        out.append(
            [
                s["stage"],
                s["required"],
                s["exact"],
                s["rate"],
                s["rate_source"],
                s["days_to_next"],
                s["lag_days"],
                *(per_month.get(m) for m in months),
            ]
        )
    for c in data["capacity"]:
        per_month = {m["month"]: m["people"] for m in c["months"]}
        out.append(
            [
                f"people:{c['team']}",
                c["peak_people"],
                None,
                None,
                None,
                None,
                None,
                *(per_month.get(m) for m in months),
            ]
        )
    return headers, out


# --- saved plans and plan vs actual ------------------------------------------------


def save_plan(name: str, inputs: PlanInputs, result: PlanResult) -> Any:
    """Store the plan's inputs and result as a ``SavedPlan`` (created now)."""
    from django.utils import timezone

    from kyogyo.analytics.models import SavedPlan

    if not name.strip():
        raise SpecError("bad_name", "give the saved plan a name")
    plan = SavedPlan.objects.create(
        name=name.strip()[:150],
        starts_on=inputs.start,
        ends_on=inputs.end,
        target=inputs.target,
        inputs=inputs.as_dict(),
        result=result.as_dict(),
        created_at=timezone.now(),
    )
    result.saved = {"id": plan.pk, "name": plan.name}
    return plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plan", type=int, metavar="ID", help="the saved plan's id (kyogyo plan --list)")


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    return {"plan": parsed["plan"]} if parsed.get("plan") is not None else {}


@dataclass
class StageActual:
    stage: str
    required: int
    actual: int | None
    months: list[dict[str, Any]]
    to_date: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "required": self.required,
            "actual": self.actual,
            "gap": None if self.actual is None else self.actual - self.required,
            "to_date": self.to_date,
            "months": self.months,
        }


@dataclass
class PlanActualResult:
    plan: dict[str, Any]
    stages: list[StageActual]
    revenue: dict[str, Any]
    as_of: dt.datetime
    snapshot: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": NAME,
            "plan": self.plan,
            "as_of": self.as_of.isoformat(),
            "revenue": self.revenue,
            "stages": [s.as_dict() for s in self.stages],
            "snapshot": self.snapshot,
        }


def compute(context: Context, spec: Spec) -> PlanActualResult:
    from kyogyo.analytics.models import SavedPlan

    plan_id = spec.options.get("plan")
    if plan_id is None:
        raise SpecError("no_plan", "give the saved plan with --plan ID (kyogyo plan --list shows them)")
    plan = SavedPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise SpecError("unknown_plan", f"no saved plan {plan_id} (kyogyo plan --list shows them)")
    return compare(context, plan)


def compare(context: Context, plan: Any) -> PlanActualResult:
    """Required (as saved) against actual first entries, per stage and month."""
    saved = plan.result
    known = {s.key for s in context.stages}
    stage_months = {
        s["stage"]: [dt.date.fromisoformat(m["month"] + "-01") for m in s["months"]]
        for s in saved["stages"]
        if s["stage"] in known and s["months"]
    }
    actuals = _first_entries(context, stage_months)
    today = context.as_of
    stages = []
    for s in saved["stages"]:
        counted = actuals.get(s["stage"]) if s["stage"] in known else None
        months, done_required, done_actual = [], 0, 0
        for m in s["months"]:
            first = dt.date.fromisoformat(m["month"] + "-01")
            status = _month_status(first, today)
            actual = None if counted is None else counted.get(first, 0)
            months.append(
                {
                    "month": m["month"],
                    "required": m["required"],
                    "exact": m["exact"],
                    "actual": actual,
                    "gap": None if actual is None else actual - m["required"],
                    "before_period": m["before_period"],
                    "status": status,
                }
            )
            if status == "done":
                done_required += m["required"]
                done_actual += actual or 0
        stages.append(
            StageActual(
                stage=s["stage"],
                required=s["required"],
                actual=None if counted is None else sum(counted.values()),
                months=months,
                to_date={
                    "required": done_required,
                    "actual": None if counted is None else done_actual,
                    "gap": None if counted is None else done_actual - done_required,
                },
            )
        )
    deals = won_deals(context, plan.starts_on, plan.ends_on, saved.get("currency", DEFAULT_CURRENCY))
    revenue = {
        "target": plan.target,
        "actual": deals.total,
        "won_deals": deals.won_deals,
        "attainment": context.rate(deals.total, plan.target).as_dict(),
    }
    return PlanActualResult(
        plan={
            "id": plan.pk,
            "name": plan.name,
            "from": plan.starts_on.isoformat(),
            "to": plan.ends_on.isoformat(),
            "target": plan.target,
            "created_at": plan.created_at.isoformat(),
            "inputs": plan.inputs,
        },
        stages=stages,
        revenue=revenue,
        as_of=context.as_of,
        snapshot=context.freshness(),
    )


def _month_status(first: dt.date, now: dt.datetime) -> str:
    if dt.datetime.combine(add_months(first, 1), dt.time()) <= now:
        return "done"
    return "in_progress" if dt.datetime.combine(first, dt.time()) <= now else "future"


def _first_entries(context: Context, stage_months: dict[str, list[dt.date]]) -> dict[str, dict[dt.date, int]]:
    """stage → month → people whose first entry into the stage falls in that month."""
    parts, params = [], []
    for stage, months in stage_months.items():
        f = stage_column(stage)
        parts.append(
            f"SELECT '{stage}', year({f}) * 100 + month({f}), count(*) FROM subjects "
            f"WHERE {f} >= ? AND {f} < ? GROUP BY ALL"
        )
        params += [
            dt.datetime.combine(min(months), dt.time()),
            dt.datetime.combine(add_months(max(months), 1), dt.time()),
        ]
    found: dict[str, dict[dt.date, int]] = {stage: {} for stage in stage_months}
    if parts:
        for stage, ym, count in context.snapshot.query(" UNION ALL ".join(parts), params):
            found[stage][dt.date(ym // 100, ym % 100, 1)] = int(count)
    return found


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = ["stage", "month", "required", "actual", "gap", "status"]
    out: list[Sequence[Any]] = []
    for s in data["stages"]:
        for m in s["months"]:
            out.append([s["stage"], m["month"], m["required"], m["actual"], m["gap"], m["status"]])
        out.append([s["stage"], "(total)", s["required"], s["actual"], s["gap"], ""])
    return headers, out
