"""Deal-size and company-size bands: how deals close in each band, and whether Inside Sales
can close the band alone or it needs Field Sales.

Definitions (docs/analytics/deals-bands.md):

- the deals are those *closed* (won or lost) in the window; ``--dimension deal_size`` bands
  them by amount (edges: the analytics setting *deal-size band edges*, or ``--edges``),
  ``--dimension company_size`` by the employee count of the deal's account (edges: *company-
  size band edges*, or ``--edges``). A band ``<a`` holds values below ``a``; ``a–b`` holds
  ``a`` to ``b`` inclusive; ``c+`` holds ``c`` and above; unknown employee counts are
  ``(none)``.
- per band: closed deals, won, **win rate** = won ÷ closed ("no decision" is a loss),
  **median cycle** = median days from creation to close of the won deals, **won value**
  (total) and **average won value**.
- **recommendation**: ``insufficient_data`` when the band has fewer closed deals than the
  *small denominator* setting; otherwise ``inside_sales`` when the median cycle is at most
  *Inside Sales closes alone up to (cycle days)* **and** the win rate is at least *… and a
  win rate of at least %*; otherwise ``field_sales``. ``reason`` says in words which
  threshold decided.
- amounts are minor units of one currency: deals in several currencies are refused unless
  ``--currency`` picks one.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kyogyo.analytics.dimensions import NONE_LABEL, band_expression, band_labels
from kyogyo.analytics.metrics import deals
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.spec import Rate, Spec, SpecError, rounded

NAME = "bands"
HELP = "deal-size or company-size bands: win rate, cycle, won value and who should cover each band"
DIMENSIONS = ("deal_size", "company_size")
INSIDE_SALES = "inside_sales"
FIELD_SALES = "field_sales"
INSUFFICIENT = "insufficient_data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dimension", choices=DIMENSIONS, default="deal_size", help="band deals by amount or by company size"
    )
    parser.add_argument(
        "--edges", metavar="A,B,…", help="band edges instead of the setting, e.g. 1000000,5000000"
    )
    deals.add_currency_argument(parser)


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "dimension": parsed.get("dimension") or "deal_size",
        **deals.currency_option(parsed),
    }
    if parsed.get("edges"):
        found["edges"] = parse_edges(parsed["edges"])
    return found


def parse_edges(text: str) -> list[int]:
    try:
        edges = [int(part.strip().replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError("bad_edges", f"{text!r}: edges are whole numbers separated by commas") from None
    return check_edges(edges)


def check_edges(edges: Any) -> list[int]:
    if (
        not isinstance(edges, list | tuple)
        or not edges
        or not all(isinstance(e, int) and not isinstance(e, bool) and e > 0 for e in edges)
    ):
        raise SpecError("bad_edges", f"band edges must be positive whole numbers, got {edges!r}")
    if list(edges) != sorted(set(edges)):
        raise SpecError("bad_edges", f"band edges must be strictly increasing, got {list(edges)!r}")
    return list(edges)


@dataclass
class Band:
    band: str
    closed: int
    won: int
    win_rate: Rate
    median_cycle_days: float | None
    won_amount: int
    average_won_amount: float | None
    recommendation: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "band": self.band,
            "closed": self.closed,
            "won": self.won,
            "win_rate": self.win_rate.as_dict(),
            "median_cycle_days": rounded(self.median_cycle_days),
            "won_amount": self.won_amount,
            "average_won_amount": rounded(self.average_won_amount),
            "recommendation": self.recommendation,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Thresholds:
    min_closed: int
    max_cycle_days: int
    min_win_rate_percent: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_closed": self.min_closed,
            "inside_sales_max_cycle_days": self.max_cycle_days,
            "inside_sales_min_win_rate_percent": self.min_win_rate_percent,
        }


@dataclass
class BandsResult:
    spec: Spec
    dimension: str
    edges: list[int]
    currency: str | None
    thresholds: Thresholds
    bands: list[Band]
    snapshot: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": NAME,
            **self.spec.describe(),
            "dimension": self.dimension,
            "edges": self.edges,
            "currency": self.currency,
            "thresholds": self.thresholds.as_dict(),
            "bands": [b.as_dict() for b in self.bands],
            "snapshot": self.snapshot,
        }


def recommend(
    closed: int, win_rate: float | None, median_cycle: float | None, thresholds: Thresholds
) -> tuple[str, str]:
    """(recommendation, the reason in words)."""
    if closed < thresholds.min_closed:
        return INSUFFICIENT, (
            f"only {closed} closed deal{'s' if closed != 1 else ''}, fewer than the "
            f"{thresholds.min_closed} needed to judge"
        )
    percent = 100 * (win_rate or 0.0)
    win_ok = percent >= thresholds.min_win_rate_percent
    win_words = f"win rate {percent:.1f}% {'≥' if win_ok else '<'} {thresholds.min_win_rate_percent}%"
    if median_cycle is None:
        return FIELD_SALES, f"no won deal to measure a cycle ({win_words})"
    cycle_ok = median_cycle <= thresholds.max_cycle_days
    cycle_words = (
        f"median cycle {median_cycle:.1f} days {'≤' if cycle_ok else '>'} {thresholds.max_cycle_days}"
    )
    if cycle_ok and win_ok:
        return INSIDE_SALES, f"Inside Sales can close alone: {cycle_words} and {win_words}"
    failed = [words for ok, words in ((cycle_ok, cycle_words), (win_ok, win_words)) if not ok]
    return FIELD_SALES, "needs Field Sales: " + " and ".join(failed)


def _edges(context: Context, spec: Spec, dimension: str) -> list[int]:
    if spec.options.get("edges") is not None:
        return check_edges(spec.options["edges"])
    if dimension == "deal_size":
        return list(context.settings.deal_size_edges)
    return list(context.settings.company_size_edges)


def _dimension(spec: Spec) -> str:
    dimension = spec.options.get("dimension", "deal_size")
    if dimension not in DIMENSIONS:
        raise SpecError("bad_dimension", f"--dimension must be deal_size or company_size, not {dimension!r}")
    return dimension


def _currency(context: Context, spec: Spec, base: str, params: list[Any]) -> str | None:
    """The one currency of the closed deals (refusing a mix)."""
    chosen = deals.chosen_currency(spec)
    found = [
        row[0]
        for row in context.snapshot.query(
            f"WITH d AS ({base}) SELECT DISTINCT currency FROM d WHERE closed_in ORDER BY 1", params
        )
    ]
    if len(found) > 1:
        raise SpecError(
            "mixed_currencies",
            f"the closed deals are in {', '.join(found)}: amounts cannot be banded together; "
            "choose one with --currency",
        )
    return found[0] if found else chosen


def compute(context: Context, spec: Spec) -> BandsResult:
    deals.check_unit(spec, NAME)
    if spec.by:
        raise SpecError("unsupported", "bands are themselves the slices: use --filter instead of --by")
    dimension = _dimension(spec)
    edges = _edges(context, spec, dimension)
    cut = deals.deal_slicing(context, spec)
    value, joins = ("d.amount", []) if dimension == "deal_size" else ("a.employee_count", [deals.ACCOUNT])
    base, params = deals.base_deals_sql(
        context, spec, cut, f", {band_expression(value, edges)} AS band", joins
    )
    currency = _currency(context, spec, base, params)
    won = "status = 'won'"
    cycle = f"date_diff('second', created_at, closed_at) / {deals.SECONDS_PER_DAY}"
    sql = (
        f"WITH d AS ({base}) SELECT band, count(*), count(*) FILTER (WHERE {won}), "
        f"median({cycle}) FILTER (WHERE {won}), COALESCE(sum(amount) FILTER (WHERE {won}), 0), "
        f"avg(amount) FILTER (WHERE {won}) FROM d WHERE closed_in GROUP BY band"
    )
    found = {row[0]: row[1:] for row in context.snapshot.query(sql, params)}
    settings = context.settings
    thresholds = Thresholds(
        settings.small_denominator, settings.inside_sales_max_cycle_days, settings.inside_sales_min_win_rate
    )
    labels = band_labels(edges) + ([NONE_LABEL] if NONE_LABEL in found else [])
    bands = []
    for label in labels:
        closed, won_n, median_cycle, won_amount, average = found.get(label, (0, 0, None, 0, None))
        rate = context.rate(int(won_n), int(closed))
        recommendation, reason = recommend(int(closed), rate.value, median_cycle, thresholds)
        bands.append(
            Band(
                label,
                int(closed),
                int(won_n),
                rate,
                median_cycle,
                int(won_amount),
                average,
                recommendation,
                reason,
            )
        )
    return BandsResult(spec, dimension, edges, currency, thresholds, bands, context.freshness())


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = [
        "band",
        "closed",
        "won",
        "win_rate",
        "median_cycle_days",
        "won_amount",
        "average_won_amount",
        "recommendation",
        "reason",
    ]
    return headers, [
        [
            b["band"],
            b["closed"],
            b["won"],
            b["win_rate"]["value"],
            b["median_cycle_days"],
            b["won_amount"],
            b["average_won_amount"],
            b["recommendation"],
            b["reason"],
        ]
        for b in data["bands"]
    ]
