"""Deals: win rate, deal size, sales cycle, loss reasons, sales velocity, the open pipeline
and its coverage of a target — per currency, sliced by the deal's owner, team, company,
campaign or source.

Definitions (docs/metrics.md; docs/analytics/deals-bands.md):

- *closed in the window*: won or lost deals whose ``closed_at`` falls in the window; open
  deals are never in a win rate.
- **win rate** = won ÷ (won + lost). "No decision" is a loss: it is in ``lost``, among the
  loss reasons, and counted apart as ``no_decision``.
- **average deal size** = mean amount of the won deals; the median is shown beside it.
- **sales cycle** = days from the deal's creation (the SQL moment) to its close, over the
  won deals: median, 80th percentile (linear interpolation) and mean.
- **loss reasons**: per reason, lost deals and their share of all lost deals; a loss
  without a reason is ``(none)``.
- **open pipeline**: deals open in the snapshot and created at or before ``as_of``: count,
  amount, and weighted amount = Σ amount × probability ÷ 100 (the deal's effective
  probability: its own, else its pipeline stage's). It is the pipeline as it stands, not a
  reconstruction of an earlier one.
- **sales velocity** (per day) = open deals × win rate × average deal size ÷ mean sales
  cycle in days; null when any factor is unknown (no closed deal, no won deal, a zero cycle).
- **coverage** (the totals, when a target is known — ``--target``, else a company-wide
  ``revenue`` target whose period is exactly the window): pipeline for the period = open
  deals expected to close by the window's end (or without an expected close date);
  remaining target = target − amount won in the window (not below 0); coverage =
  pipeline ÷ remaining target; required coverage = 1 ÷ win rate; ``enough`` = coverage ≥
  required.
- **money** is integer minor units of its currency (JPY has none) and is never added across
  currencies: every figure is given per currency (``--currency`` keeps one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kyogyo.analytics.dimensions import NONE_LABEL, Dimension, Slicing, band_expression, slicing
from kyogyo.analytics.metrics.base import Context, slice_label
from kyogyo.analytics.spec import Rate, Spec, SpecError, rounded

NAME = "deals"
HELP = "win rate, deal size, sales cycle, loss reasons, velocity, open pipeline and coverage, per currency"
SECONDS_PER_DAY = 86400.0
NO_DECISION = "no_decision"
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# --- the dimensions of a deal (SQL over ``deals d``) ----------------------------------

ACCOUNT = "LEFT JOIN accounts a ON a.id = d.account_id"
OWNER = "LEFT JOIN users du ON du.id = d.owner_id"
CAMPAIGN = "LEFT JOIN campaigns dc ON dc.id = d.campaign_id"
CONTACT = "LEFT JOIN subjects s ON s.subject_id = d.contact_id"


def _text(column: str) -> str:
    return f"COALESCE(NULLIF(CAST({column} AS VARCHAR), ''), '{NONE_LABEL}')"


def deal_dimensions(company_size_edges: Sequence[int]) -> dict[str, Dimension]:
    """owner and team: the deal's owner and the owner's team; segment, industry, country,
    company_size: of the deal's account; campaign: the deal's campaign; source: the primary
    contact's lead source."""
    return {
        "owner": Dimension("owner", _text("du.username"), OWNER),
        "team": Dimension("team", _text("du.team"), OWNER),
        "segment": Dimension("segment", _text("a.segment"), ACCOUNT),
        "industry": Dimension("industry", _text("a.industry"), ACCOUNT),
        "country": Dimension("country", _text("a.country"), ACCOUNT),
        "company_size": Dimension(
            "company_size", band_expression("a.employee_count", company_size_edges), ACCOUNT
        ),
        "campaign": Dimension("campaign", _text("dc.name"), CAMPAIGN),
        "source": Dimension("source", _text("s.source"), CONTACT),
    }


def deal_slicing(context: Context, spec: Spec) -> Slicing:
    return slicing(spec, deal_dimensions(context.settings.company_size_edges))


# --- options shared by the deal reports -----------------------------------------------


def add_currency_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--currency", metavar="CODE", help="keep only deals in this currency, e.g. JPY")


def currency_option(parsed: dict[str, Any]) -> dict[str, Any]:
    return {"currency": parsed["currency"]} if parsed.get("currency") else {}


def chosen_currency(spec: Spec) -> str | None:
    code = spec.options.get("currency")
    if code is None:
        return None
    if not isinstance(code, str) or not _CURRENCY.match(code):
        raise SpecError(
            "bad_currency", f"currency must be a three-letter ISO 4217 code such as JPY, not {code!r}"
        )
    return code


def check_unit(spec: Spec, name: str) -> None:
    """Deal reports count deals (each belongs to one account): ``--unit account`` is refused."""
    if spec.unit != "person":
        raise SpecError(
            "bad_unit", f"{name} counts deals, each of one account; --unit account does not apply"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        type=int,
        metavar="AMOUNT",
        help="revenue target of the window in minor units: adds pipeline coverage",
    )
    add_currency_argument(parser)


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    found = currency_option(parsed)
    if parsed.get("target") is not None:
        found["target"] = parsed["target"]
    return found


def _target_option(spec: Spec) -> int | None:
    target = spec.options.get("target")
    if target is None:
        return None
    if not isinstance(target, int) or isinstance(target, bool) or target <= 0:
        raise SpecError(
            "bad_target", f"the target must be a positive whole amount in minor units, not {target!r}"
        )
    return target


# --- the result ---------------------------------------------------------------------


@dataclass
class LossReason:
    reason: str
    label: str
    count: int
    share: Rate

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "label": self.label,
            "count": self.count,
            "share": self.share.as_dict(),
        }


@dataclass
class Cycle:
    deals: int
    median: float | None
    p80: float | None
    mean: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "deals": self.deals,
            "median": rounded(self.median),
            "p80": rounded(self.p80),
            "mean": rounded(self.mean),
        }


@dataclass
class Pipeline:
    count: int
    amount: int
    weighted_amount: float

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "amount": self.amount, "weighted_amount": rounded(self.weighted_amount)}


@dataclass
class Figures:
    """Every deal figure of one currency (and one slice)."""

    currency: str | None
    won: int
    lost: int
    no_decision: int
    win_rate: Rate
    won_amount: int
    average_deal_size: float | None
    median_deal_size: float | None
    cycle: Cycle
    loss_reasons: list[LossReason]
    open_pipeline: Pipeline
    period_pipeline: Pipeline  # open deals expected to close by the window's end

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def sales_velocity_per_day(self) -> float | None:
        rate, size, days = self.win_rate.value, self.average_deal_size, self.cycle.mean
        if rate is None or size is None or not days:
            return None
        return self.open_pipeline.count * rate * size / days

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "closed": self.closed,
            "won": self.won,
            "lost": self.lost,
            "no_decision": self.no_decision,
            "win_rate": self.win_rate.as_dict(),
            "won_amount": self.won_amount,
            "average_deal_size": rounded(self.average_deal_size),
            "median_deal_size": rounded(self.median_deal_size),
            "cycle_days": self.cycle.as_dict(),
            "loss_reasons": [r.as_dict() for r in self.loss_reasons],
            "open_pipeline": self.open_pipeline.as_dict(),
            "sales_velocity_per_day": rounded(self.sales_velocity_per_day),
        }


@dataclass
class Coverage:
    currency: str | None
    target: int
    target_source: str  # option | targets
    won_amount: int
    pipeline: Pipeline
    win_rate: Rate

    @property
    def remaining_target(self) -> int:
        return max(self.target - self.won_amount, 0)

    @property
    def value(self) -> float | None:
        if not self.remaining_target:
            return None
        return self.pipeline.amount / self.remaining_target

    @property
    def required(self) -> float | None:
        rate = self.win_rate.value
        return 1 / rate if rate else None

    @property
    def enough(self) -> bool | None:
        if self.value is None or self.required is None:
            return None
        return self.value >= self.required - 1e-9  # equal, up to the float error of 1 ÷ rate

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "target": self.target,
            "target_source": self.target_source,
            "won_amount": self.won_amount,
            "remaining_target": self.remaining_target,
            "target_met": self.remaining_target == 0,
            "pipeline": self.pipeline.as_dict(),
            "coverage": rounded(self.value, 4),
            "required_coverage": rounded(self.required, 4),
            "enough": self.enough,
        }


@dataclass
class DealsResult:
    spec: Spec
    totals: list[Figures]
    slices: list[tuple[dict[str, str], Figures]] = field(default_factory=list)
    coverage: Coverage | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)
    as_of: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": NAME,
            **self.spec.describe(),
            "currency": self.spec.options.get("currency"),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "totals": [f.as_dict() for f in self.totals],
            "coverage": self.coverage.as_dict() if self.coverage else None,
            "snapshot": self.snapshot,
        }
        if self.spec.by:
            data["slices"] = [{**slice_label(keys), **figures.as_dict()} for keys, figures in self.slices]
        return data


# --- the queries --------------------------------------------------------------------


def base_deals_sql(
    context: Context, spec: Spec, cut: Slicing, columns: str = "", joins: Sequence[str] = ()
) -> tuple[str, list[Any]]:
    """The deals a report looks at (filters and ``--currency`` applied) with their slice
    keys ``k0, k1, …`` and the flags ``closed_in`` (closed in the window), ``open_now``
    (open, created by ``as_of``) and ``due_in`` (open now and expected to close by the end
    of the window, or without a date); ``columns`` (``, expr AS name``) and the ``joins``
    they need are added."""
    keys = "".join(f", {k} AS k{i}" for i, k in enumerate(cut.keys)) + columns
    all_joins = " ".join([cut.joins, *(j for j in joins if j not in cut.joins)])
    window, window_params = spec.window_sql("d.closed_at")
    due = "TRUE"
    due_params: list[Any] = []
    if spec.end:
        due, due_params = "(d.expected_close IS NULL OR d.expected_close <= ?)", [spec.end]
    where, params = cut.where, list(cut.params)
    currency = chosen_currency(spec)
    if currency:
        where += " AND d.currency = ?"
        params.append(currency)
    sql = (
        "SELECT d.id, d.currency, d.amount, d.status, d.loss_reason, d.probability, d.created_at, "
        "d.closed_at, d.contact_id, d.account_id, "
        f"(d.status IN ('won', 'lost') AND d.closed_at IS NOT NULL AND {window}) AS closed_in, "
        "(d.status = 'open' AND d.created_at <= ?) AS open_now, "
        f"(d.status = 'open' AND d.created_at <= ? AND {due}) AS due_in{keys} "
        f"FROM deals d {all_joins} WHERE {where}"
    )
    as_of = context.as_of
    return sql, [*window_params, as_of, as_of, *due_params, *params]


def _grouping(key_names: list[str]) -> tuple[str, str]:
    """GROUP BY clause (slices and per-currency totals) and the expression telling a total."""
    if not key_names:
        return "currency", "TRUE"
    return (
        f"GROUPING SETS ((currency, {', '.join(key_names)}), (currency))",
        f"grouping({', '.join(key_names)}) > 0",
    )


def _figures_query(base: str, key_names: list[str]) -> str:
    group, is_total = _grouping(key_names)
    won = "closed_in AND status = 'won'"
    cycle = f"date_diff('second', created_at, closed_at) / {SECONDS_PER_DAY}"
    keys = "".join(f", {k}" for k in key_names)
    return (
        f"WITH d AS ({base}) SELECT currency, {is_total} AS total{keys}, "
        f"count(*) FILTER (WHERE {won}), "
        "count(*) FILTER (WHERE closed_in AND status = 'lost'), "
        f"count(*) FILTER (WHERE closed_in AND status = 'lost' AND loss_reason = '{NO_DECISION}'), "
        f"COALESCE(sum(amount) FILTER (WHERE {won}), 0), avg(amount) FILTER (WHERE {won}), "
        f"median(amount) FILTER (WHERE {won}), median({cycle}) FILTER (WHERE {won}), "
        f"quantile_cont({cycle}, 0.8) FILTER (WHERE {won}), avg({cycle}) FILTER (WHERE {won}), "
        "count(*) FILTER (WHERE open_now), COALESCE(sum(amount) FILTER (WHERE open_now), 0), "
        "COALESCE(sum(amount * probability) FILTER (WHERE open_now), 0) / 100.0, "
        "count(*) FILTER (WHERE due_in), COALESCE(sum(amount) FILTER (WHERE due_in), 0), "
        "COALESCE(sum(amount * probability) FILTER (WHERE due_in), 0) / 100.0 "
        f"FROM d WHERE closed_in OR open_now GROUP BY {group}"
    )


def _reasons_query(base: str, key_names: list[str]) -> str:
    group, is_total = _grouping(key_names)
    keys = "".join(f", {k}" for k in key_names)
    group = group.replace("currency", "currency, reason")
    return (
        f"WITH d AS ({base}) SELECT currency, {is_total} AS total{keys}, "
        f"COALESCE(loss_reason, '{NONE_LABEL}') AS reason, count(*) "
        f"FROM d WHERE closed_in AND status = 'lost' GROUP BY {group}"
    )


Slot = tuple[Any, ...]  # (currency, slice keys…); the totals' keys are empty


def _reason_labels(context: Context) -> dict[str, str]:
    rows = context.snapshot.query("SELECT key, label FROM reasons WHERE kind = 'loss'")
    return {NONE_LABEL: "(no reason given)", **{key: label for key, label in rows}}


def _loss_reasons(
    context: Context, base: str, params: list[Any], key_names: list[str]
) -> dict[Slot, list[tuple[str, int]]]:
    found: dict[Slot, list[tuple[str, int]]] = {}
    for row in context.snapshot.query(_reasons_query(base, key_names), params):
        slot = (row[0],) if row[1] else (row[0], *row[2 : 2 + len(key_names)])
        found.setdefault(slot, []).append((row[-2], int(row[-1])))
    return found


def _figures(
    context: Context,
    currency: str | None,
    row: Sequence[Any],
    reasons: list[tuple[str, int]],
    labels: dict[str, str],
) -> Figures:
    (won, lost, no_decision, won_amount, average, median, cycle_median, cycle_p80, cycle_mean) = row[:9]
    open_count, open_amount, open_weighted, due_count, due_amount, due_weighted = row[9:15]
    lost = int(lost)
    ordered = sorted(reasons, key=lambda r: (-r[1], r[0]))
    return Figures(
        currency=currency,
        won=int(won),
        lost=lost,
        no_decision=int(no_decision),
        win_rate=context.rate(int(won), int(won) + lost),
        won_amount=int(won_amount),
        average_deal_size=average,
        median_deal_size=median,
        cycle=Cycle(int(won), cycle_median, cycle_p80, cycle_mean),
        loss_reasons=[LossReason(key, labels.get(key, key), n, context.rate(n, lost)) for key, n in ordered],
        open_pipeline=Pipeline(int(open_count), int(open_amount), float(open_weighted)),
        period_pipeline=Pipeline(int(due_count), int(due_amount), float(due_weighted)),
    )


EMPTY_ROW = (0, 0, 0, 0, None, None, None, None, None, 0, 0, 0.0, 0, 0, 0.0)


def compute(context: Context, spec: Spec) -> DealsResult:
    check_unit(spec, NAME)
    target = _target_option(spec)
    cut = deal_slicing(context, spec)
    base, params = base_deals_sql(context, spec, cut)
    key_names = [f"k{i}" for i in range(len(cut.keys))]
    reasons = _loss_reasons(context, base, params, key_names)
    labels = _reason_labels(context)
    totals: dict[str, Figures] = {}
    slices: list[tuple[dict[str, str], Figures]] = []
    for row in context.snapshot.query(_figures_query(base, key_names), params):
        currency, is_total = row[0], row[1]
        keys = tuple(row[2 : 2 + len(key_names)])
        slot = (currency,) if is_total else (currency, *keys)
        figures = _figures(context, currency, row[2 + len(key_names) :], reasons.get(slot, []), labels)
        if is_total:
            totals[currency] = figures
        else:
            slices.append((dict(zip(spec.by, keys, strict=True)), figures))
    if not totals:  # nothing closed in the window and nothing open: a clear zero, not an empty answer
        currency = chosen_currency(spec)
        totals[currency or ""] = _figures(context, currency, EMPTY_ROW, [], labels)
    ordered_totals = [totals[c] for c in sorted(totals)]
    slices.sort(key=lambda s: (tuple(s[0].values()), s[1].currency or ""))
    return DealsResult(
        spec=spec,
        totals=ordered_totals,
        slices=slices,
        coverage=_coverage(context, spec, target, ordered_totals),
        snapshot=context.freshness(),
        as_of=context.as_of,
    )


def _known_target(context: Context, spec: Spec) -> float | None:
    """A company-wide revenue target whose period is exactly the window."""
    if not (spec.start and spec.end):
        return None
    rows = context.snapshot.query(
        "SELECT sum(value) FROM targets WHERE metric = 'revenue' AND team IS NULL "
        "AND starts_on = ? AND ends_on = ?",
        [spec.start, spec.end],
    )
    return rows[0][0] if rows and rows[0][0] is not None else None


def _coverage(context: Context, spec: Spec, target: int | None, totals: list[Figures]) -> Coverage | None:
    source = "option"
    if target is None:
        known = _known_target(context, spec)
        if known is None:
            return None
        target, source = round(known), "targets"
    if len(totals) > 1:
        raise SpecError(
            "mixed_currencies",
            f"a target is one amount but the deals are in {', '.join(str(f.currency) for f in totals)}: "
            "choose one with --currency",
        )
    figures = totals[0]
    return Coverage(
        currency=figures.currency,
        target=target,
        target_source=source,
        won_amount=figures.won_amount,
        pipeline=figures.period_pipeline,
        win_rate=figures.win_rate,
    )


HEADERS = [
    "slice",
    "currency",
    "closed",
    "won",
    "lost",
    "no_decision",
    "win_rate",
    "won_amount",
    "average_deal_size",
    "median_deal_size",
    "median_cycle_days",
    "p80_cycle_days",
    "open_count",
    "open_amount",
    "weighted_amount",
    "velocity_per_day",
]


def _row(key: str, f: dict[str, Any]) -> list[Any]:
    return [
        key,
        f["currency"],
        f["closed"],
        f["won"],
        f["lost"],
        f["no_decision"],
        f["win_rate"]["value"],
        f["won_amount"],
        f["average_deal_size"],
        f["median_deal_size"],
        f["cycle_days"]["median"],
        f["cycle_days"]["p80"],
        f["open_pipeline"]["count"],
        f["open_pipeline"]["amount"],
        f["open_pipeline"]["weighted_amount"],
        f["sales_velocity_per_day"],
    ]


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    out: list[Sequence[Any]] = [_row("(all)", f) for f in data["totals"]]
    out += [_row(s["key"], s) for s in data.get("slices", [])]
    return HEADERS, out
