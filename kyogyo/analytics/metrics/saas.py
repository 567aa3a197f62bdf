"""SaaS metrics per period: MRR and ARR, MRR movements, GRR, NRR, logo and revenue churn,
ARPA, LTV, CAC, LTV/CAC, CAC payback and the magic number — money always per currency.

Definitions (docs/metrics.md; docs/analytics/customer-success.md):

- **MRR at a date** = Σ monthly-normalised MRR (``subscriptions.mrr`` is already monthly)
  of the subscriptions active at the end of that day, rebuilt from the ``mrr_changes``
  history: a subscription's MRR from a day on is the ``mrr_after`` of its last change that
  day. A subscription without any history counts from ``starts_on`` at its current MRR
  (until ``ends_on``). **ARR** = MRR × 12. A period's start MRR is the MRR at the end of
  the day before it starts, its end MRR at the end of its last day.
- **Customers** = accounts with MRR > 0 (in that currency). **ARPA** = end MRR ÷ end
  customers (monthly).
- **MRR movements** are classified per account and day (the account's MRR before and
  after the day's changes): *new* 0 → >0 for the first time, *reactivation* 0 → >0 after
  an earlier churn, *churn* >0 → 0, *expansion* up, *contraction* down. Amounts are the
  change, counts the number of movements. start MRR + new + expansion + reactivation −
  contraction − churn = end MRR. (For a single-subscription account these are exactly
  the recorded change kinds; a second subscription of a paying account is expansion.)
- **Retention** is over the *start cohort*: the accounts with MRR > 0 at the period
  start; new customers are excluded. Each one's net change over the period (end vs start
  MRR) is expansion, contraction, or churn (end MRR 0: it loses its start MRR).
  **GRR** = (start MRR − contraction − churn) ÷ start MRR (never above 100 %),
  **NRR** = (start MRR + expansion − contraction − churn) ÷ start MRR,
  **logo churn** = churned accounts ÷ accounts at start, **revenue churn** = (churn +
  contraction) ÷ start MRR (= 1 − GRR).
- **LTV** = ARPA × gross margin ÷ monthly revenue churn, where monthly revenue churn is
  the period's revenue churn ÷ its length in months (ARPA is monthly, so the units
  agree). Not computable (null, with a note) when there was no revenue churn.
- **CAC** = sales and marketing spend in the period (``spend`` of the teams marketing,
  inside_sales and field_sales by default — customer success is not acquisition; months
  cut by the window count pro rata) ÷ new customers in the period (*new* movements;
  reactivations are not acquisitions). **LTV/CAC** = LTV ÷ CAC. **CAC payback (months)**
  = CAC ÷ (ARPA × gross margin).
- **Magic number** = (this quarter's recurring revenue − last quarter's) × 4 ÷ last
  quarter's sales and marketing spend, on fiscal quarters. A quarter's recurring revenue
  is the sum of its three month-end MRRs. Given for complete quarters: each period with
  ``--grain quarter``, and in the totals for the last complete quarter inside the window.
- Spend is company-wide: with ``--filter`` the spend-based figures are null, and slices
  (``--by segment|industry|country|company_size`` of the account) have none.
- Default window: the 12 months (or 4 fiscal quarters) up to the as-of date.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kyogyo.analytics.dimensions import NONE_LABEL, Dimension, band_expression, slicing
from kyogyo.analytics.metrics.base import Context, slice_label
from kyogyo.analytics.spec import Rate, Spec, SpecError, add_months, rounded

NAME = "saas"
HELP = "MRR, ARR, MRR movements, GRR, NRR, churn, ARPA, LTV, CAC, payback and magic number per period"
KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
DEFAULT_SPEND_TEAMS = ("marketing", "inside_sales", "field_sales")
MAX_PERIODS = 400
TOTAL_INDEX = -1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spend-teams",
        metavar="TEAMS",
        help="comma-separated teams whose spend is sales and marketing "
        f"(default {','.join(DEFAULT_SPEND_TEAMS)})",
    )


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    if not parsed.get("spend_teams"):
        return {}
    return {"spend_teams": [t.strip() for t in parsed["spend_teams"].split(",") if t.strip()]}


# --- periods on the fiscal calendar ---------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date  # inclusive, cut to the window
    end: dt.date  # inclusive, cut to the window
    full_start: dt.date  # the whole calendar period
    full_end: dt.date


def grain_start(day: dt.date, grain: str, fiscal_start_month: int) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    first = dt.date(day.year, day.month, 1)
    if grain == "quarter":
        return add_months(first, -((day.month - fiscal_start_month) % 3))
    return first


def grain_next(start: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(days=7)
    return add_months(start, 3 if grain == "quarter" else 1)


def period_label(start: dt.date, grain: str, fiscal_start_month: int) -> str:
    """``2026-04``, ``FY2026-Q1`` (fiscal years named by their start year), ``2026-W15``."""
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "quarter":
        fiscal_year = start.year if start.month >= fiscal_start_month else start.year - 1
        return f"FY{fiscal_year}-Q{(start.month - fiscal_start_month) % 12 // 3 + 1}"
    return f"{start:%Y-%m}"


def periods_between(start: dt.date, end: dt.date, grain: str, fiscal_start_month: int) -> list[Period]:
    """The calendar periods of ``grain`` overlapping [start, end], cut to it."""
    periods: list[Period] = []
    current = grain_start(start, grain, fiscal_start_month)
    while current <= end:
        following = grain_next(current, grain)
        periods.append(
            Period(
                label=period_label(current, grain, fiscal_start_month),
                start=max(current, start),
                end=min(following - dt.timedelta(days=1), end),
                full_start=current,
                full_end=following - dt.timedelta(days=1),
            )
        )
        if len(periods) > MAX_PERIODS:
            raise SpecError("too_many_periods", f"more than {MAX_PERIODS} periods: shorten the window")
        current = following
    return periods


def months_in(start: dt.date, end: dt.date) -> float:
    """The length of [start, end] in months: whole calendar months count 1, cut months
    their share of days."""
    total = 0.0
    current = dt.date(start.year, start.month, 1)
    while current <= end:
        days = calendar.monthrange(current.year, current.month)[1]
        last = current + dt.timedelta(days=days - 1)
        overlap = (min(last, end) - max(current, start)).days + 1
        total += overlap / days
        current = add_months(current, 1)
    return total


def saas_window(spec: Spec, context: Context) -> tuple[dt.date, dt.date]:
    fiscal = context.settings.fiscal_year_start_month
    end = spec.end or context.as_of.date()
    # the 12 months, or 4 quarters, up to the end
    start = spec.start or add_months(
        grain_start(end, spec.grain, fiscal), -9 if spec.grain == "quarter" else -11
    )
    if end < start:
        raise SpecError("bad_window", f"the window ends ({end}) before it starts ({start})")
    return start, end


# --- account dimensions ---------------------------------------------------------------


def _text(column: str) -> str:
    return f"COALESCE(NULLIF({column}, ''), '{NONE_LABEL}')"


def account_dimensions(company_size_edges: Sequence[int], alias: str = "a") -> dict[str, Dimension]:
    """Dimensions of the account (the ``accounts`` table under ``alias``)."""
    return {
        "segment": Dimension("segment", _text(f"{alias}.segment")),
        "industry": Dimension("industry", _text(f"{alias}.industry")),
        "country": Dimension("country", _text(f"{alias}.country")),
        "company_size": Dimension(
            "company_size", band_expression(f"{alias}.employee_count", company_size_edges)
        ),
    }


# --- MRR history as SQL ---------------------------------------------------------------

# Each account's MRR per currency after every day it changed (``after``), before it
# (``before``) and its highest MRR on earlier days (``peak_before``: has it paid before?).
LEVELS_CTE = """
sub_changes AS (
    SELECT subscription_id, occurred_on AS day, arg_max(mrr_after, id) AS level
    FROM mrr_changes GROUP BY ALL
    UNION ALL
    SELECT s.id, s.starts_on, s.mrr FROM subscriptions s
    WHERE NOT EXISTS (SELECT 1 FROM mrr_changes c WHERE c.subscription_id = s.id)
    UNION ALL
    SELECT s.id, s.ends_on, 0 FROM subscriptions s
    WHERE s.ends_on > s.starts_on AND NOT EXISTS (SELECT 1 FROM mrr_changes c WHERE c.subscription_id = s.id)
),
sub_deltas AS (
    SELECT subscription_id, day,
        level - coalesce(lag(level) OVER (PARTITION BY subscription_id ORDER BY day), 0) AS delta
    FROM sub_changes
),
account_days AS (
    SELECT s.account_id, s.currency, d.day, CAST(sum(d.delta) AS BIGINT) AS delta
    FROM sub_deltas d JOIN subscriptions s ON s.id = d.subscription_id
    GROUP BY ALL
),
running AS (
    SELECT *, CAST(sum(delta) OVER (
        PARTITION BY account_id, currency ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS BIGINT) AS after
    FROM account_days
),
levels AS (
    SELECT account_id, currency, day, after - delta AS before, after,
        coalesce(max(after) OVER (
            PARTITION BY account_id, currency ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0) AS peak_before
    FROM running
)
"""

KIND_SQL = (
    "CASE WHEN l.before = 0 THEN (CASE WHEN l.peak_before > 0 THEN 'reactivation' ELSE 'new' END) "
    "WHEN l.after = 0 THEN 'churn' WHEN l.after > l.before THEN 'expansion' ELSE 'contraction' END"
)


def _periods_cte(periods: Sequence[tuple[int, dt.date, dt.date]]) -> tuple[str, list[Any]]:
    rows = ", ".join("(?, CAST(? AS DATE), CAST(? AS DATE))" for _ in periods)
    params: list[Any] = [value for period in periods for value in period]
    return f"periods AS (SELECT * FROM (VALUES {rows}) p(idx, p_start, p_end))", params


def boundaries_sql(
    periods: Sequence[tuple[int, dt.date, dt.date]], keys: Sequence[str], joins: str, where: str
) -> tuple[str, list[Any]]:
    """Per period, currency and slice: MRR and customers at start and end, and the start
    cohort's net expansion, contraction and churn."""
    periods_cte, params = _periods_cte(periods)
    key_select = "".join(f", {k} AS k{i}" for i, k in enumerate(keys))
    sql = f"""
WITH {LEVELS_CTE}, {periods_cte},
units AS (SELECT DISTINCT account_id, currency FROM levels),
grid AS (SELECT p.idx, p.p_start, p.p_end, u.account_id, u.currency FROM periods p CROSS JOIN units u),
with_start AS (
    SELECT g.*, coalesce(l.after, 0) AS s FROM grid g ASOF LEFT JOIN levels l
    ON l.account_id = g.account_id AND l.currency = g.currency AND g.p_start > l.day
),
bounds AS (
    SELECT w.*, coalesce(l.after, 0) AS e FROM with_start w ASOF LEFT JOIN levels l
    ON l.account_id = w.account_id AND l.currency = w.currency AND w.p_end >= l.day
)
SELECT b.idx, b.currency{key_select},
    CAST(sum(b.s) AS BIGINT), CAST(sum(b.e) AS BIGINT),
    count(*) FILTER (WHERE b.s > 0), count(*) FILTER (WHERE b.e > 0),
    CAST(coalesce(sum(b.e) FILTER (WHERE b.s > 0), 0) AS BIGINT),
    CAST(coalesce(sum(b.e - b.s) FILTER (WHERE b.s > 0 AND b.e > b.s), 0) AS BIGINT),
    CAST(coalesce(sum(b.s - b.e) FILTER (WHERE b.e > 0 AND b.e < b.s), 0) AS BIGINT),
    CAST(coalesce(sum(b.s) FILTER (WHERE b.s > 0 AND b.e = 0), 0) AS BIGINT),
    count(*) FILTER (WHERE b.s > 0 AND b.e = 0)
FROM bounds b LEFT JOIN accounts a ON a.id = b.account_id {joins}
WHERE (b.s > 0 OR b.e > 0) AND {where}
GROUP BY ALL
"""
    return sql, params


def movements_sql(
    periods: Sequence[tuple[int, dt.date, dt.date]], keys: Sequence[str], joins: str, where: str
) -> tuple[str, list[Any]]:
    """Per period, currency, slice and kind: the movements' MRR and count."""
    periods_cte, params = _periods_cte(periods)
    key_select = "".join(f", {k} AS k{i}" for i, k in enumerate(keys))
    sql = f"""
WITH {LEVELS_CTE}, {periods_cte}
SELECT p.idx, l.currency{key_select}, {KIND_SQL} AS kind,
    CAST(sum(abs(l.after - l.before)) AS BIGINT), count(*)
FROM levels l JOIN periods p ON l.day BETWEEN p.p_start AND p.p_end
LEFT JOIN accounts a ON a.id = l.account_id {joins}
WHERE l.after <> l.before AND {where}
GROUP BY ALL
"""
    return sql, params


def mrr_at_sql(days: Sequence[dt.date]) -> tuple[str, list[Any]]:
    """MRR per currency at the end of each day (all accounts)."""
    rows = ", ".join("(CAST(? AS DATE))" for _ in days)
    sql = f"""
WITH {LEVELS_CTE},
days AS (SELECT * FROM (VALUES {rows}) d(day)),
units AS (SELECT DISTINCT account_id, currency FROM levels),
grid AS (SELECT d.day, u.account_id, u.currency FROM days d CROSS JOIN units u)
SELECT g.day, g.currency, CAST(sum(coalesce(l.after, 0)) AS BIGINT)
FROM grid g ASOF LEFT JOIN levels l ON l.account_id = g.account_id AND l.currency = g.currency AND g.day >= l.day
GROUP BY ALL
"""
    return sql, list(days)


# --- results --------------------------------------------------------------------------


@dataclass
class Bounds:
    mrr_start: int = 0
    mrr_end: int = 0
    customers_start: int = 0
    customers_end: int = 0
    cohort_mrr_end: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0
    churned_customers: int = 0

    def add(self, other: Bounds) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Figures:
    """One currency, slice and period (or the window's total)."""

    bounds: Bounds
    movements: dict[str, tuple[int, int]]  # kind → (MRR, count)

    def add(self, other: Figures) -> None:
        self.bounds.add(other.bounds)
        for kind, (amount, count) in other.movements.items():
            mine = self.movements.get(kind, (0, 0))
            self.movements[kind] = (mine[0] + amount, mine[1] + count)


@dataclass
class Spending:
    amount: float | None  # None: no spend recorded for the period
    new_customers: int


@dataclass
class MagicNumber:
    quarter: str
    revenue: int
    previous_revenue: int
    previous_spend: float | None

    @property
    def value(self) -> float | None:
        if not self.previous_spend:
            return None
        return (self.revenue - self.previous_revenue) * 4 / self.previous_spend

    def as_dict(self) -> dict[str, Any]:
        return {
            "quarter": self.quarter,
            "revenue": self.revenue,
            "previous_revenue": self.previous_revenue,
            "previous_spend": rounded(self.previous_spend, 2),
            "value": rounded(self.value, 4),
        }


@dataclass
class PeriodRow:
    period: str
    start: dt.date
    end: dt.date
    complete: bool
    months: float
    figures: Figures
    gross_margin: float
    small_below: int
    spending: Spending | None = None
    magic: MagicNumber | None = None

    # -- the figures -------------------------------------------------------------------

    @property
    def arpa(self) -> float | None:
        b = self.figures.bounds
        return b.mrr_end / b.customers_end if b.customers_end else None

    @property
    def revenue_churn(self) -> float | None:
        b = self.figures.bounds
        return (b.churn + b.contraction) / b.mrr_start if b.mrr_start else None

    @property
    def monthly_revenue_churn(self) -> float | None:
        churn = self.revenue_churn
        return churn / self.months if churn is not None and self.months else None

    def ltv(self) -> tuple[float | None, str | None]:
        b, monthly, arpa = self.figures.bounds, self.monthly_revenue_churn, self.arpa
        if not b.mrr_start:
            return None, "not computable: no MRR at the period start"
        if not monthly:
            return None, "not computable: no revenue churn in the period"
        if arpa is None:
            return None, "not computable: no customers at the period end"
        return arpa * self.gross_margin / monthly, None

    @property
    def cac(self) -> float | None:
        s = self.spending
        if s is None or s.amount is None or not s.new_customers:
            return None
        return s.amount / s.new_customers

    @property
    def cac_payback_months(self) -> float | None:
        cac, arpa = self.cac, self.arpa
        if cac is None or not arpa or not self.gross_margin:
            return None
        return cac / (arpa * self.gross_margin)

    def _money_rate(self, numerator: float, denominator: float) -> dict[str, Any]:
        """A share of MRR: small when the start cohort has few customers."""
        value = numerator / denominator if denominator else None
        return {
            "numerator": numerator,
            "denominator": denominator,
            "value": rounded(value, 4),
            "small": self.figures.bounds.customers_start < self.small_below,
        }

    def as_dict(self) -> dict[str, Any]:
        b = self.figures.bounds
        moves = {kind: self.figures.movements.get(kind, (0, 0)) for kind in KINDS}
        net_new = sum(m for k, (m, _) in moves.items() if k in ("new", "expansion", "reactivation")) - sum(
            m for k, (m, _) in moves.items() if k in ("contraction", "churn")
        )
        ltv, ltv_note = self.ltv()
        cac = self.cac
        return {
            "period": self.period,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "complete": self.complete,
            "months": round(self.months, 4),
            "mrr_start": b.mrr_start,
            "mrr_end": b.mrr_end,
            "arr_start": b.mrr_start * 12,
            "arr_end": b.mrr_end * 12,
            "customers_start": b.customers_start,
            "customers_end": b.customers_end,
            "movements": {kind: {"mrr": m, "count": n} for kind, (m, n) in moves.items()},
            "net_new_mrr": net_new,
            "retention": {
                "customers": b.customers_start,
                "mrr_start": b.mrr_start,
                "mrr_end": b.cohort_mrr_end,
                "expansion": b.expansion,
                "contraction": b.contraction,
                "churn": b.churn,
                "churned_customers": b.churned_customers,
            },
            "grr": self._money_rate(b.mrr_start - b.contraction - b.churn, b.mrr_start),
            "nrr": self._money_rate(b.mrr_start + b.expansion - b.contraction - b.churn, b.mrr_start),
            "logo_churn": Rate(b.churned_customers, b.customers_start, self.small_below).as_dict(),
            "revenue_churn": self._money_rate(b.churn + b.contraction, b.mrr_start),
            "arpa": rounded(self.arpa, 2),
            "ltv": {
                "value": rounded(ltv, 2),
                "arpa": rounded(self.arpa, 2),
                "gross_margin": self.gross_margin,
                "monthly_revenue_churn": rounded(self.monthly_revenue_churn, 6),
                "note": ltv_note,
            },
            "spend": rounded(self.spending.amount, 2) if self.spending else None,
            "new_customers": moves["new"][1],
            "cac": rounded(cac, 2),
            "ltv_to_cac": rounded(ltv / cac, 4) if ltv is not None and cac else None,
            "cac_payback_months": rounded(self.cac_payback_months, 2),
            "magic_number": self.magic.as_dict() if self.magic else None,
        }


@dataclass
class CurrencyBlock:
    currency: str
    periods: list[PeriodRow]
    total: PeriodRow
    slices: list[tuple[dict[str, str], list[PeriodRow], PeriodRow]] = field(default_factory=list)

    def as_dict(self, sliced: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "currency": self.currency,
            "periods": [p.as_dict() for p in self.periods],
            "total": self.total.as_dict(),
        }
        if sliced:
            data["slices"] = [
                {
                    **slice_label(keys),
                    "periods": [p.as_dict() for p in rows],
                    "total": total.as_dict(),
                }
                for keys, rows, total in self.slices
            ]
        return data


@dataclass
class SaasResult:
    spec: Spec
    start: dt.date
    end: dt.date
    gross_margin_percent: int
    spend_teams: list[str]
    currencies: list[CurrencyBlock]
    notes: list[str]
    as_of: dt.datetime
    snapshot: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": NAME,
            **self.spec.describe(),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "grain": self.spec.grain,
            "as_of": self.as_of.isoformat(),
            "gross_margin_percent": self.gross_margin_percent,
            "spend_teams": self.spend_teams,
            "currencies": [c.as_dict(bool(self.spec.by)) for c in self.currencies],
            "notes": self.notes,
            "snapshot": self.snapshot,
        }


# --- computing ------------------------------------------------------------------------

SliceKey = tuple[Any, ...]


def _spend_teams(context: Context, spec: Spec) -> list[str]:
    teams = list(spec.options.get("spend_teams") or DEFAULT_SPEND_TEAMS)
    known = {row[0] for row in context.snapshot.query("SELECT key FROM teams")}
    unknown = [t for t in teams if t not in known]
    if unknown:
        raise SpecError(
            "unknown_team",
            f"unknown team(s) for spend: {', '.join(unknown)}; choose from {', '.join(sorted(known))}",
        )
    return teams


def _figures(
    context: Context, spec: Spec, periods: Sequence[tuple[int, dt.date, dt.date]]
) -> dict[tuple[str, SliceKey, int], Figures]:
    """(currency, slice keys, period index) → figures, from two queries."""
    cut = slicing(spec, account_dimensions(context.settings.company_size_edges))
    width = len(cut.keys)
    found: dict[tuple[str, SliceKey, int], Figures] = {}
    sql, params = boundaries_sql(periods, cut.keys, cut.joins, cut.where)
    for row in context.snapshot.query(sql, [*params, *cut.params]):
        idx, currency, keys, values = row[0], row[1], tuple(row[2 : 2 + width]), row[2 + width :]
        found[(currency, keys, idx)] = Figures(Bounds(*(int(v or 0) for v in values)), {})
    sql, params = movements_sql(periods, cut.keys, cut.joins, cut.where)
    for row in context.snapshot.query(sql, [*params, *cut.params]):
        idx, currency, keys = row[0], row[1], tuple(row[2 : 2 + width])
        kind, amount, count = row[2 + width :]
        figures = found.setdefault((currency, keys, idx), Figures(Bounds(), {}))
        figures.movements[kind] = (int(amount), int(count))
    return found


def _spend_rows(context: Context, teams: Sequence[str]) -> list[tuple[dt.date, str, int]]:
    marks = ", ".join("?" for _ in teams)
    return [
        (month, currency, int(amount))
        for month, currency, amount in context.snapshot.query(
            f"SELECT month, currency, amount FROM spend WHERE team IN ({marks})", list(teams)
        )
    ]


def spend_between(
    rows: Iterable[tuple[dt.date, str, int]], currency: str, start: dt.date, end: dt.date
) -> float | None:
    """Spend of the months overlapping [start, end] (a cut month pro rata by days); None
    when no spend is recorded for any of them."""
    total, recorded = 0.0, False
    for month, row_currency, amount in rows:
        if row_currency != currency:
            continue
        days = calendar.monthrange(month.year, month.month)[1]
        last = month + dt.timedelta(days=days - 1)
        overlap = (min(last, end) - max(month, start)).days + 1
        if overlap > 0:
            total += amount * overlap / days
            recorded = True
    return total if recorded else None


def _quarter_revenue(mrr_at: dict[tuple[dt.date, str], int], quarter_start: dt.date, currency: str) -> int:
    return sum(mrr_at.get((month_end(add_months(quarter_start, i)), currency), 0) for i in range(3))


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def _magic_quarters(
    context: Context, spec: Spec, periods: Sequence[Period], start: dt.date, end: dt.date
) -> dict[int, dt.date]:
    """Period index (TOTAL_INDEX for the totals) → start of the quarter its magic number
    is for: complete quarters only."""
    fiscal, today = context.settings.fiscal_year_start_month, context.as_of.date()
    chosen: dict[int, dt.date] = {}
    if spec.grain == "quarter":
        for i, p in enumerate(periods):
            if p.full_end <= today:
                chosen[i] = p.full_start
    last_day = min(end, today)
    quarter = grain_start(last_day, "quarter", fiscal)
    if month_end(add_months(quarter, 2)) > last_day:
        quarter = add_months(quarter, -3)
    if quarter >= start:
        chosen[TOTAL_INDEX] = quarter
    return chosen


def _magic_numbers(
    context: Context,
    quarters: dict[int, dt.date],
    spend_rows: list[tuple[dt.date, str, int]],
    currencies: Iterable[str],
) -> dict[tuple[str, int], MagicNumber]:
    if not quarters:
        return {}
    days = sorted(
        {month_end(add_months(q, i)) for q in quarters.values() for i in range(-3, 3)},
    )
    sql, params = mrr_at_sql(days)
    mrr_at = {(day, currency): int(mrr) for day, currency, mrr in context.snapshot.query(sql, params)}
    fiscal = context.settings.fiscal_year_start_month
    found = {}
    for currency in currencies:
        for idx, quarter in quarters.items():
            previous = add_months(quarter, -3)
            found[(currency, idx)] = MagicNumber(
                quarter=period_label(quarter, "quarter", fiscal),
                revenue=_quarter_revenue(mrr_at, quarter, currency),
                previous_revenue=_quarter_revenue(mrr_at, previous, currency),
                previous_spend=spend_between(spend_rows, currency, previous, quarter - dt.timedelta(days=1)),
            )
    return found


def compute(context: Context, spec: Spec) -> SaasResult:
    if spec.grain not in ("month", "quarter"):
        raise SpecError("bad_grain", f"saas periods are months or quarters, not {spec.grain!r}")
    start, end = saas_window(spec, context)
    teams = _spend_teams(context, spec)
    fiscal = context.settings.fiscal_year_start_month
    periods = periods_between(start, end, spec.grain, fiscal)
    indexed = [(i, p.start, p.end) for i, p in enumerate(periods)] + [(TOTAL_INDEX, start, end)]
    found = _figures(context, spec, indexed)
    spend_rows = _spend_rows(context, teams)
    # every currency ever billed or spent in, so an empty period reads as zeros
    billed = {row[0] for row in context.snapshot.query("SELECT DISTINCT currency FROM subscriptions")}
    currencies = sorted(billed | {c for c, _, _ in found} | {c for _, c, _ in spend_rows})
    company_wide = not spec.filters
    magic = (
        _magic_numbers(context, _magic_quarters(context, spec, periods, start, end), spend_rows, currencies)
        if company_wide
        else {}
    )
    gross_margin = context.settings.gross_margin_percent / 100
    small_below = context.settings.small_denominator
    today = context.as_of.date()

    def row(currency: str, idx: int, figures: Figures, with_spend: bool) -> PeriodRow:
        if idx == TOTAL_INDEX:
            label, p_start, p_end, complete = "total", start, end, end <= today
        else:
            p = periods[idx]
            label, p_start, p_end = p.label, p.start, p.end
            complete = p.start == p.full_start and p.end == p.full_end and p.full_end <= today
        spending = None
        if with_spend:
            spending = Spending(
                spend_between(spend_rows, currency, p_start, p_end), figures.movements.get("new", (0, 0))[1]
            )
        return PeriodRow(
            period=label,
            start=p_start,
            end=p_end,
            complete=complete,
            months=months_in(p_start, p_end),
            figures=figures,
            gross_margin=gross_margin,
            small_below=small_below,
            spending=spending,
            magic=magic.get((currency, idx)) if with_spend else None,
        )

    blocks = []
    for currency in currencies:
        slice_keys = sorted({k for c, k, _ in found if c == currency}, key=lambda k: tuple(str(v) for v in k))
        totals: dict[int, Figures] = {}
        for keys in slice_keys:
            for idx, *_ in indexed:
                figures = found.get((currency, keys, idx))
                if figures is not None:
                    totals.setdefault(idx, Figures(Bounds(), {})).add(figures)
        overall = [
            row(currency, idx, totals.get(idx) or Figures(Bounds(), {}), company_wide) for idx, *_ in indexed
        ]
        block = CurrencyBlock(currency, overall[:-1], overall[-1])
        if spec.by:
            for keys in slice_keys:
                rows_ = [
                    row(currency, idx, found.get((currency, keys, idx)) or Figures(Bounds(), {}), False)
                    for idx, *_ in indexed
                ]
                labels = {name: str(v) for name, v in zip(spec.by, keys, strict=True)}
                block.slices.append((labels, rows_[:-1], rows_[-1]))
        blocks.append(block)
    notes = []
    if not company_wide:
        notes.append(
            "spend is company-wide: with filters, spend, CAC, LTV/CAC, payback and magic number are null"
        )
    if spec.by:
        notes.append("slices carry no spend-based figures (spend is not attributed to segments)")
    return SaasResult(
        spec=spec,
        start=start,
        end=end,
        gross_margin_percent=context.settings.gross_margin_percent,
        spend_teams=teams,
        currencies=blocks,
        notes=notes,
        as_of=context.as_of,
        snapshot=context.freshness(),
    )


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = [
        "currency",
        "slice",
        "period",
        "mrr_start",
        "mrr_end",
        "arr_end",
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "grr",
        "nrr",
        "logo_churn",
        "revenue_churn",
        "arpa",
        "ltv",
        "cac",
        "ltv_to_cac",
        "cac_payback_months",
        "magic_number",
    ]
    out: list[Sequence[Any]] = []
    for block in data["currencies"]:
        groups = [("(all)", block["periods"], block["total"])]
        groups += [(s["key"], s["periods"], s["total"]) for s in block.get("slices", [])]
        for key, periods, total in groups:
            for p in [*periods, total]:
                out.append(
                    [
                        block["currency"],
                        key,
                        p["period"],
                        p["mrr_start"],
                        p["mrr_end"],
                        p["arr_end"],
                        *(p["movements"][k]["mrr"] for k in KINDS),
                        p["grr"]["value"],
                        p["nrr"]["value"],
                        p["logo_churn"]["value"],
                        p["revenue_churn"]["value"],
                        p["arpa"],
                        p["ltv"]["value"],
                        p["cac"],
                        p["ltv_to_cac"],
                        p["cac_payback_months"],
                        (p["magic_number"] or {}).get("value"),
                    ]
                )
    return headers, out
