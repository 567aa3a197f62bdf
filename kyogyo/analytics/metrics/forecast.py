"""The forecast of won revenue in a future window: the weighted pipeline and a Monte Carlo
simulation from measured win rates and sales cycles.

Definitions (docs/metrics.md, docs/analytics/forecast-backtest.md):

- *window*: ``--from``/``--to`` or ``--period``; by default from the as-of day to the end of
  the current fiscal quarter. Only its part from the as-of moment on is forecast; deals
  already won in the window before it are shown apart (``won_to_date``).
- *open deals*: deals created at or before the as-of moment and not closed by then (with
  ``--as-of`` in the past, deals closed since count as open, so a past forecast can be
  checked against what happened).
- *weighted pipeline* = Σ amount × stage probability ÷ 100 of the open deals whose expected
  close falls in the window (``--all-open``: of every open deal). The probability is the
  deal's own or its pipeline stage's default. Deals without an expected close, and deals
  whose stage at the as-of moment is unknown (closed since), are counted apart.
- *Monte Carlo*: per simulation, each open deal wins with its **measured** probability and,
  if it wins, closes after a cycle drawn from the measured cycles; its amount counts when
  the close falls in the window. The history is every deal closed by the as-of moment
  (cycle = days from creation to close). Closed deals keep only their final pipeline stage
  (won or lost), so the win rate per pipeline stage cannot be measured; the probability is
  conditioned on the deal's **age** instead: p(age) = won deals whose cycle exceeded the
  age ÷ closed deals whose cycle exceeded it, and the cycle is drawn from the won cycles
  longer than the age. A deal older than every won cycle gets p = 0 (``beyond_history``).
  Only open deals are simulated, not pipeline still to be created.
- *expected* is the simulated mean, *expected_exact* the closed form Σ a·p·q (q = share
  of the drawable cycles that close in the window); *P10/P50/P90* are percentiles of the
  simulated won revenue (P10: a 90 % chance to do at least this well); *probability of
  target* = share of simulations reaching ``--target``. Amounts are minor units, one row
  per currency; the history is shared by all currencies.
- ``--filter`` takes the deal dimensions of the deals report (owner, team, segment,
  industry, country, company_size, campaign, source) and applies to the open deals and to
  the history alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.metrics.deals import deal_slicing
from kyogyo.analytics.spec import Spec, SpecError, add_months, percentile, rounded

NAME = "forecast"
HELP = "weighted pipeline and a Monte Carlo forecast of won revenue in a future window"
SECONDS_PER_DAY = 86400.0
DEFAULT_SIMULATIONS = 10_000
MAX_SIMULATIONS = 1_000_000
DEFAULT_CURRENCY = "JPY"  # the deals' default currency, for an empty pipeline's zero row
CELLS_PER_CHUNK = 2_000_000  # simulations × deals drawn at once (bounds memory)
AGE_EDGES = (0, 30, 60, 90, 180)  # ages at which the measured win rate is shown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulations", type=int, default=DEFAULT_SIMULATIONS, help="Monte Carlo runs (default 10000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed, for reproducible runs (default 1)")
    parser.add_argument("--target", type=int, metavar="AMOUNT", help="minor units; adds P(won ≥ target)")
    parser.add_argument("--currency", help="only deals in this currency (e.g. JPY)")
    parser.add_argument(
        "--all-open",
        action="store_true",
        help="weighted pipeline over every open deal, not only those expected to close in the window",
    )


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "simulations": parsed.get("simulations", DEFAULT_SIMULATIONS),
        "seed": parsed.get("seed", 1),
        "all_open": bool(parsed.get("all_open")),
    }
    if parsed.get("target") is not None:
        found["target"] = parsed["target"]
    if parsed.get("currency"):
        found["currency"] = parsed["currency"]
    return found


# --------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Inputs:
    """The metric's own options, checked."""

    simulations: int
    seed: int
    target: int | None
    currency: str | None
    all_open: bool


def _inputs(spec: Spec) -> Inputs:
    o = spec.options
    simulations, seed, target = o.get("simulations", DEFAULT_SIMULATIONS), o.get("seed", 1), o.get("target")
    if not _whole(simulations) or not 1 <= simulations <= MAX_SIMULATIONS:
        raise SpecError(
            "bad_simulations", f"--simulations must be a whole number from 1 to {MAX_SIMULATIONS}"
        )
    if not _whole(seed) or seed < 0:
        raise SpecError("bad_seed", "--seed must be a whole number ≥ 0")
    if target is not None and (not _whole(target) or target < 0):
        raise SpecError("bad_target", "--target must be a whole, non-negative amount in minor units")
    currency = o.get("currency")
    if currency is not None and not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise SpecError("bad_currency", "--currency must be a three-letter code such as JPY")
    if spec.by:
        raise SpecError("unsupported_slice", "the forecast has no slices; narrow it with --filter instead")
    if spec.unit != "person":
        raise SpecError("unsupported_unit", "the forecast counts deals: --unit account does not apply")
    return Inputs(simulations, seed, target, currency.upper() if currency else None, bool(o.get("all_open")))


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def fiscal_quarter_end(day: dt.date, start_month: int) -> dt.date:
    """The last day of the fiscal quarter containing ``day``."""
    offset = (day.month - start_month) % 3
    first = add_months(dt.date(day.year, day.month, 1), -offset)
    return add_months(first, 3) - dt.timedelta(days=1)


def forecast_window(context: Context, spec: Spec) -> tuple[dt.date, dt.date]:
    """(first, last day): the spec's, or from the as-of day to the end of its fiscal quarter."""
    today = context.as_of.date()
    start = spec.start or today
    end = spec.end or fiscal_quarter_end(max(start, today), context.settings.fiscal_year_start_month)
    if end < today:
        raise SpecError(
            "window_in_past",
            f"the window ends ({end}) before the as-of day ({today}); a forecast looks ahead "
            "(use --as-of to forecast from an earlier day)",
        )
    if end < start:
        raise SpecError("bad_window", f"the window ends ({end}) before it starts ({start})")
    return start, end


# --------------------------------------------------------------------- result


@dataclass
class StageRow:
    stage: str
    name: str
    probability_percent: float | None
    deals: int
    amount: int
    weighted: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "name": self.name,
            "probability_percent": self.probability_percent,
            "deals": self.deals,
            "amount": self.amount,
            "weighted": rounded(self.weighted, 2),
        }


@dataclass
class Simulated:
    deals_considered: int
    beyond_history: int
    expected: float
    expected_exact: float
    p10: float
    p50: float
    p90: float
    probability_of_target: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "deals_considered": self.deals_considered,
            "beyond_history": self.beyond_history,
            "expected": rounded(self.expected, 2),
            "expected_exact": rounded(self.expected_exact, 2),
            "p10": rounded(self.p10, 2),
            "p50": rounded(self.p50, 2),
            "p90": rounded(self.p90, 2),
            "probability_of_target": rounded(self.probability_of_target, 4),
        }


@dataclass
class CurrencyRow:
    currency: str
    open_deals: int
    open_amount: int
    weighted_deals: int
    weighted_amount: int
    weighted_pipeline: float
    no_expected_close: int
    stage_unknown: int
    by_stage: list[StageRow]
    won_to_date: int
    won_to_date_deals: int
    monte_carlo: Simulated

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "open_deals": self.open_deals,
            "open_amount": self.open_amount,
            "weighted_pipeline": {
                "deals": self.weighted_deals,
                "amount": self.weighted_amount,
                "weighted": rounded(self.weighted_pipeline, 2),
                "no_expected_close": self.no_expected_close,
                "stage_unknown": self.stage_unknown,
                "by_stage": [r.as_dict() for r in self.by_stage],
            },
            "won_to_date": {"deals": self.won_to_date_deals, "amount": self.won_to_date},
            "monte_carlo": self.monte_carlo.as_dict(),
        }


@dataclass
class History:
    closed: int
    won: int
    win_rate: dict[str, Any]
    median_cycle_days: float | None
    p80_cycle_days: float | None
    by_age: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "closed_deals": self.closed,
            "won_deals": self.won,
            "win_rate": self.win_rate,
            "median_cycle_days": rounded(self.median_cycle_days, 2),
            "p80_cycle_days": rounded(self.p80_cycle_days, 2),
            "win_rate_by_age": self.by_age,
        }


@dataclass
class ForecastResult:
    spec: Spec
    inputs: Inputs
    start: dt.date
    end: dt.date
    simulated_from: dt.datetime
    history: History
    currencies: list[CurrencyRow]
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
            "simulated_from": self.simulated_from.isoformat(),
            "simulations": self.inputs.simulations,
            "seed": self.inputs.seed,
            "target": self.inputs.target,
            "all_open": self.inputs.all_open,
            "history": self.history.as_dict(),
            "currencies": [c.as_dict() for c in self.currencies],
            "notes": self.notes,
            "snapshot": self.snapshot,
        }


# --------------------------------------------------------------------- queries


@dataclass(frozen=True)
class OpenDeals:
    """Open deals as arrays (one entry per deal)."""

    amount: np.ndarray  # float64, minor units
    currency: list[str]
    stage: list[str]
    probability: list[int | None]  # None: the stage at the as-of moment is unknown
    expected_close: list[dt.date | None]
    age_days: np.ndarray  # days open at the as-of moment
    created: list[dt.datetime]

    def __len__(self) -> int:
        return len(self.currency)


def _deal_filter(context: Context, spec: Spec) -> tuple[str, str, list[Any]]:
    """JOINs and WHERE keeping the deals that pass the filters (the deal dimensions of the
    deals report: owner, team, segment, industry, country, company_size, campaign, source)."""
    cut = deal_slicing(context, spec)
    return cut.joins, cut.where, list(cut.params)


def open_deals_sql(context: Context, spec: Spec, currency: str | None) -> tuple[str, list[Any]]:
    joins, where, params = _deal_filter(context, spec)
    currency_sql = "AND d.currency = ?" if currency else ""
    sql = (
        "SELECT d.amount, d.currency, d.pipeline_stage, "
        "CASE WHEN d.status = 'open' THEN d.probability END, d.expected_close, "
        f"date_diff('second', d.created_at, ?) / {SECONDS_PER_DAY}, d.created_at "
        f"FROM deals d {joins} WHERE d.created_at <= ? AND (d.status = 'open' OR d.closed_at > ?) "
        f"{currency_sql} AND {where} ORDER BY d.id"
    )
    return sql, [context.as_of, context.as_of, context.as_of, *([currency] if currency else []), *params]


def _open_deals(context: Context, spec: Spec, currency: str | None) -> OpenDeals:
    sql, params = open_deals_sql(context, spec, currency)
    rows = context.snapshot.query(sql, params)
    return OpenDeals(
        amount=np.array([float(r[0]) for r in rows], dtype=np.float64),
        currency=[r[1] for r in rows],
        stage=[r[2] for r in rows],
        probability=[r[3] for r in rows],
        expected_close=[r[4] for r in rows],
        age_days=np.array([float(r[5]) for r in rows], dtype=np.float64),
        created=[r[6] for r in rows],
    )


def history_sql(context: Context, spec: Spec) -> tuple[str, list[Any]]:
    """Cycles (days from creation to close) and outcomes of the deals closed by the as-of moment."""
    joins, where, params = _deal_filter(context, spec)
    sql = (
        f"SELECT date_diff('second', d.created_at, d.closed_at) / {SECONDS_PER_DAY}, d.status = 'won' "
        f"FROM deals d {joins} WHERE d.status IN ('won', 'lost') AND d.closed_at IS NOT NULL "
        f"AND d.closed_at <= ? AND d.closed_at >= d.created_at AND {where}"
    )
    return sql, [context.as_of, *params]


@dataclass(frozen=True)
class Cycles:
    won: np.ndarray  # sorted
    lost: np.ndarray  # sorted


def _cycles(context: Context, spec: Spec) -> Cycles:
    sql, params = history_sql(context, spec)
    rows = context.snapshot.query(sql, params)
    return Cycles(
        won=np.sort(np.array([float(c) for c, won in rows if won], dtype=np.float64)),
        lost=np.sort(np.array([float(c) for c, won in rows if not won], dtype=np.float64)),
    )


def _won_to_date(context: Context, spec: Spec, start: dt.date, currency: str | None) -> dict[str, tuple]:
    """currency → (deals, amount) won in the window before the as-of moment."""
    joins, where, params = _deal_filter(context, spec)
    currency_sql = "AND d.currency = ?" if currency else ""
    sql = (
        f"SELECT d.currency, count(*), sum(d.amount) FROM deals d {joins} WHERE d.status = 'won' "
        f"AND d.closed_at >= ? AND d.closed_at <= ? {currency_sql} AND {where} GROUP BY 1"
    )
    rows = context.snapshot.query(
        sql,
        [dt.datetime.combine(start, dt.time()), context.as_of, *([currency] if currency else []), *params],
    )
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


# --------------------------------------------------------------------- model


def survivors(sorted_cycles: np.ndarray, age_days: np.ndarray) -> np.ndarray:
    """How many of the cycles are longer than each age."""
    return len(sorted_cycles) - np.searchsorted(sorted_cycles, age_days, side="right")


def win_probability(cycles: Cycles, age_days: np.ndarray) -> np.ndarray:
    """p(age) = won deals with a longer cycle ÷ closed deals with a longer cycle (0 when none)."""
    won = survivors(cycles.won, age_days)
    closed = won + survivors(cycles.lost, age_days)
    return np.divide(won, closed, out=np.zeros(len(age_days)), where=closed > 0)


def close_bounds(deals: OpenDeals, simulated_from: dt.datetime, window_end: dt.datetime) -> tuple:
    """Per deal, the cycle lengths (days) that close inside [simulated_from, window_end)."""
    low = np.array([(simulated_from - c).total_seconds() / SECONDS_PER_DAY for c in deals.created])
    high = np.array([(window_end - c).total_seconds() / SECONDS_PER_DAY for c in deals.created])
    return low.reshape(-1), high.reshape(-1)


def close_in_window_probability(
    cycles: Cycles, age_days: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """q = share of the won cycles longer than the age that fall in [low, high)."""
    first = np.searchsorted(cycles.won, age_days, side="right")
    drawable = len(cycles.won) - first
    inside = np.searchsorted(cycles.won, high, side="left") - np.maximum(
        first, np.searchsorted(cycles.won, low, side="left")
    )
    return np.divide(np.maximum(inside, 0), drawable, out=np.zeros(len(age_days)), where=drawable > 0)


def simulate(
    amounts: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
    p_win: np.ndarray,
    cycles: Cycles,
    age_days: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    simulations: int,
    seed: int,
) -> np.ndarray:
    """Won revenue in the window per simulation and group (currency): an array
    (simulations × groups). Each deal wins with p_win; a winner's cycle is drawn uniformly
    from the won cycles longer than its age; it counts when the cycle lands in [low, high)."""
    totals = np.zeros((simulations, n_groups))
    n_deals = len(amounts)
    if n_deals == 0 or len(cycles.won) == 0:
        return totals
    rng = np.random.default_rng(seed)
    first = np.searchsorted(cycles.won, age_days, side="right")
    drawable = len(cycles.won) - first
    weights = np.zeros((n_deals, n_groups))
    weights[np.arange(n_deals), groups] = amounts
    chunk = max(1, CELLS_PER_CHUNK // n_deals)
    for begin in range(0, simulations, chunk):
        size = min(chunk, simulations - begin)
        wins = rng.random((size, n_deals)) < p_win
        picks = first + np.floor(rng.random((size, n_deals)) * drawable).astype(np.int64)
        drawn = cycles.won[np.minimum(picks, len(cycles.won) - 1)]
        hits = wins & (drawable > 0) & (drawn >= low) & (drawn < high)
        totals[begin : begin + size] = hits.astype(np.float64) @ weights
    return totals


# --------------------------------------------------------------------- assembly


def _history(context: Context, cycles: Cycles) -> History:
    won, closed = len(cycles.won), len(cycles.won) + len(cycles.lost)
    by_age = []
    for age in AGE_EDGES:
        still_open = np.array([float(age)])
        w = int(survivors(cycles.won, still_open)[0])
        c = w + int(survivors(cycles.lost, still_open)[0])
        by_age.append({"age_days": age, "win_rate": context.rate(w, c).as_dict()})
    won_list = cycles.won.tolist()
    return History(
        closed=closed,
        won=won,
        win_rate=context.rate(won, closed).as_dict(),
        median_cycle_days=percentile(won_list, 0.5),
        p80_cycle_days=percentile(won_list, 0.8),
        by_age=by_age,
    )


def _stage_rows(context: Context, deals: OpenDeals, chosen: np.ndarray) -> list[StageRow]:
    names = dict(context.snapshot.query("SELECT key, name FROM pipeline_stages"))
    order = dict(context.snapshot.query("SELECT key, ord FROM pipeline_stages"))
    found: dict[str, StageRow] = {}
    for i in np.flatnonzero(chosen):
        stage, probability = deals.stage[i], deals.probability[i]
        row = found.setdefault(stage, StageRow(stage, names.get(stage, stage), None, 0, 0, 0.0))
        row.deals += 1
        row.amount += int(deals.amount[i])
        row.weighted += float(deals.amount[i]) * (probability or 0) / 100
    for row in found.values():
        row.probability_percent = rounded(100 * row.weighted / row.amount, 2) if row.amount else None
    return sorted(found.values(), key=lambda r: (order.get(r.stage, 0), r.stage))


def _weighted_selection(deals: OpenDeals, start: dt.date, end: dt.date, all_open: bool) -> np.ndarray:
    known = np.array([p is not None for p in deals.probability], dtype=bool)
    if all_open:
        return known
    in_window = np.array([c is not None and start <= c <= end for c in deals.expected_close], dtype=bool)
    return known & in_window


def compute(context: Context, spec: Spec) -> ForecastResult:
    inputs = _inputs(spec)
    start, end = forecast_window(context, spec)
    simulated_from = max(dt.datetime.combine(start, dt.time()), context.as_of)
    window_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    deals = _open_deals(context, spec, inputs.currency)
    cycles = _cycles(context, spec)
    won_so_far = _won_to_date(context, spec, start, inputs.currency) if start <= context.as_of.date() else {}

    currencies = sorted(set(deals.currency) | set(won_so_far)) or [inputs.currency or DEFAULT_CURRENCY]
    groups = np.array([currencies.index(c) for c in deals.currency], dtype=np.int64)
    p_win = win_probability(cycles, deals.age_days)
    low, high = close_bounds(deals, simulated_from, window_end)
    q = close_in_window_probability(cycles, deals.age_days, low, high)
    totals = simulate(
        deals.amount, groups, len(currencies), p_win, cycles, deals.age_days, low, high,
        inputs.simulations, inputs.seed,
    )  # fmt: skip
    weighted_pick = _weighted_selection(deals, start, end, inputs.all_open)
    beyond = survivors(cycles.won, deals.age_days) == 0

    rows = []
    for g, currency in enumerate(currencies):
        mine = groups == g
        chosen = mine & weighted_pick
        by_stage = _stage_rows(context, deals, chosen)
        sims = totals[:, g]
        won_n, won_amount = won_so_far.get(currency, (0, 0))
        rows.append(
            CurrencyRow(
                currency=currency,
                open_deals=int(mine.sum()),
                open_amount=int(deals.amount[mine].sum()),
                weighted_deals=int(chosen.sum()),
                weighted_amount=int(deals.amount[chosen].sum()),
                weighted_pipeline=sum(r.weighted for r in by_stage),
                no_expected_close=sum(
                    1 for i in np.flatnonzero(mine) if deals.expected_close[i] is None and not inputs.all_open
                ),
                stage_unknown=sum(1 for i in np.flatnonzero(mine) if deals.probability[i] is None),
                by_stage=by_stage,
                won_to_date=won_amount,
                won_to_date_deals=won_n,
                monte_carlo=Simulated(
                    deals_considered=int(mine.sum()),
                    beyond_history=int((beyond & mine).sum()),
                    expected=float(np.mean(sims)),
                    expected_exact=float(np.sum(deals.amount[mine] * p_win[mine] * q[mine])),
                    p10=float(np.percentile(sims, 10)),
                    p50=float(np.percentile(sims, 50)),
                    p90=float(np.percentile(sims, 90)),
                    probability_of_target=(
                        None if inputs.target is None else float(np.mean(sims >= inputs.target))
                    ),
                ),
            )
        )
    return ForecastResult(
        spec=spec,
        inputs=inputs,
        start=start,
        end=end,
        simulated_from=simulated_from,
        history=_history(context, cycles),
        currencies=rows,
        notes=_notes(context, deals, cycles, currencies, inputs, beyond),
        snapshot=context.freshness(),
        as_of=context.as_of,
    )


def _notes(
    context: Context,
    deals: OpenDeals,
    cycles: Cycles,
    currencies: list[str],
    inputs: Inputs,
    beyond: np.ndarray,
) -> list[str]:
    notes = ["only open deals are simulated; pipeline not yet created is not forecast"]
    if len(deals) == 0:
        notes.append(f"no open deals as of {context.as_of:%Y-%m-%d %H:%M}: the forecast is zero")
    if len(cycles.won) + len(cycles.lost) == 0:
        notes.append(
            "no closed deals in the history: win rates and cycles cannot be measured; the forecast is zero"
        )
    elif len(cycles.won) == 0:
        notes.append("no won deals in the history: the measured win rate is 0 and the forecast is zero")
    elif len(cycles.won) + len(cycles.lost) < context.settings.small_denominator:
        notes.append(
            f"the history holds only {len(cycles.won) + len(cycles.lost)} closed deals: a small sample"
        )
    if beyond.any():
        notes.append(
            f"{int(beyond.sum())} open deal(s) are older than every won deal's cycle: measured win probability 0"
        )
    if inputs.target is not None and len(currencies) > 1:
        notes.append("several currencies: the target is compared with each currency's total")
    return notes


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = [
        "currency",
        "open_deals",
        "weighted_pipeline",
        "won_to_date",
        "expected",
        "p10",
        "p50",
        "p90",
        "probability_of_target",
    ]
    out: list[Sequence[Any]] = []
    for c in data["currencies"]:
        mc = c["monte_carlo"]
        out.append(
            [
                c["currency"],
                c["open_deals"],
                c["weighted_pipeline"]["weighted"],
                c["won_to_date"]["amount"],
                mc["expected"],
                mc["p10"],
                mc["p50"],
                mc["p90"],
                mc["probability_of_target"],
            ]
        )
    return headers, out
