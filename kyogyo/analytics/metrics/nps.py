"""Net Promoter Score of the answers in the window, per period and per slice.

Definitions (docs/metrics.md; docs/analytics/customer-success.md):

- every **response** answered in the window counts (a person answering twice counts
  twice); **promoters** scored 9–10, **passives** 7–8, **detractors** 0–6;
- **NPS** = % promoters − % detractors = (promoters − detractors) ÷ responses × 100, from
  −100 to 100, one decimal; null when there is no response. The promoter and detractor
  shares are given as rates (numerator, denominator) and ``small`` flags fewer responses
  than the *small denominator* setting;
- periods follow ``--grain`` (week, month, fiscal quarter) over the window; without a
  window, from the start of the first answer's period up to the as-of date;
- slices and filters: the account's ``segment``, ``industry``, ``country``,
  ``company_size`` (the company the answer was given for, else the person's company now),
  and the answering person's ``source``, ``owner`` and ``team``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kyogyo.analytics.dimensions import NONE_LABEL, Dimension, slicing
from kyogyo.analytics.metrics.base import Context, slice_label
from kyogyo.analytics.metrics.saas import Period, account_dimensions, periods_between
from kyogyo.analytics.spec import Rate, Spec, SpecError, rounded

NAME = "nps"
HELP = "Net Promoter Score (promoters 9–10 minus detractors 0–6) per period and slice, with counts"

PERSON = "LEFT JOIN subjects s ON s.subject_id = n.contact_id"
ACCOUNT = "LEFT JOIN accounts a ON a.id = COALESCE(n.account_id, s.account_id)"
OWNER = "LEFT JOIN users ou ON ou.id = s.owner_id"


def _text(column: str) -> str:
    return f"COALESCE(NULLIF({column}, ''), '{NONE_LABEL}')"


def nps_dimensions(company_size_edges: Sequence[int]) -> dict[str, Dimension]:
    return {
        **account_dimensions(company_size_edges, "a"),
        "source": Dimension("source", _text("s.source")),
        "team": Dimension("team", _text("s.owner_team")),
        "owner": Dimension("owner", _text("ou.username"), OWNER),
    }


def period_start_sql(column: str, grain: str, fiscal_start_month: int) -> str:
    """The first day of the period (of ``grain``) a local time falls in."""
    if grain == "week":
        return f"CAST(date_trunc('week', {column}) AS DATE)"
    if grain == "quarter":
        shift = f"((month({column}) - {int(fiscal_start_month)} + 12) % 3)"
        return f"CAST(date_trunc('month', {column}) - to_months({shift}) AS DATE)"
    return f"CAST(date_trunc('month', {column}) AS DATE)"


@dataclass
class Counts:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> float | None:
        if not self.responses:
            return None
        return (self.promoters - self.detractors) / self.responses * 100

    def add(self, other: Counts) -> None:
        self.promoters += other.promoters
        self.passives += other.passives
        self.detractors += other.detractors

    def as_dict(self, small_below: int) -> dict[str, Any]:
        return {
            "responses": self.responses,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "nps": rounded(self.nps, 1),
            "promoter_share": Rate(self.promoters, self.responses, small_below).as_dict(),
            "detractor_share": Rate(self.detractors, self.responses, small_below).as_dict(),
            "small": self.responses < small_below,
        }


@dataclass
class Series:
    total: Counts
    periods: list[tuple[Period, Counts]]

    def as_dict(self, small_below: int) -> dict[str, Any]:
        return {
            "total": self.total.as_dict(small_below),
            "periods": [
                {
                    "period": p.label,
                    "from": p.start.isoformat(),
                    "to": p.end.isoformat(),
                    **c.as_dict(small_below),
                }
                for p, c in self.periods
            ],
        }


@dataclass
class NpsResult:
    spec: Spec
    start: dt.date | None
    end: dt.date
    overall: Series
    small_below: int
    as_of: dt.datetime
    slices: list[tuple[dict[str, str], Series]] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": NAME,
            **self.spec.describe(),
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat(),
            "grain": self.spec.grain,
            "as_of": self.as_of.isoformat(),
            **self.overall.as_dict(self.small_below),
            "snapshot": self.snapshot,
        }
        if self.spec.by:
            data["slices"] = [
                {**slice_label(keys), **series.as_dict(self.small_below)} for keys, series in self.slices
            ]
        return data


def counts_sql(spec: Spec, context: Context, end: dt.date) -> tuple[str, list[Any], int]:
    """Promoters, passives and detractors per period start and slice keys."""
    cut = slicing(spec, nps_dimensions(context.settings.company_size_edges))
    joins = " ".join(j for j in (PERSON, ACCOUNT, cut.joins) if j)
    keys = "".join(f", {k} AS k{i}" for i, k in enumerate(cut.keys))
    window, window_params = spec.window_sql("n.answered_at")
    period = period_start_sql("n.answered_at", spec.grain, context.settings.fiscal_year_start_month)
    sql = (
        f"SELECT {period} AS period{keys}, "
        "count(*) FILTER (WHERE n.score >= 9), count(*) FILTER (WHERE n.score BETWEEN 7 AND 8), "
        "count(*) FILTER (WHERE n.score <= 6) "
        f"FROM nps n {joins} WHERE {window} AND n.answered_at < ? AND {cut.where} GROUP BY ALL"
    )
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    return sql, [*window_params, until, *cut.params], len(cut.keys)


def compute(context: Context, spec: Spec) -> NpsResult:
    fiscal = context.settings.fiscal_year_start_month
    end = spec.end or context.as_of.date()
    if spec.start and end < spec.start:
        raise SpecError("bad_window", f"the window ends ({end}) before it starts ({spec.start})")
    sql, params, width = counts_sql(spec, context, end)
    found: dict[tuple, dict[dt.date, Counts]] = {}
    for row in context.snapshot.query(sql, params):
        keys = tuple(row[1 : 1 + width])
        found.setdefault(keys, {})[row[0]] = Counts(*(int(v) for v in row[1 + width :]))
    first_answer = min((day for per in found.values() for day in per), default=None)
    start = spec.start or first_answer
    periods = periods_between(start, end, spec.grain, fiscal) if start and start <= end else []

    def series(per_period: dict[dt.date, Counts]) -> Series:
        total = Counts()
        for counts in per_period.values():
            total.add(counts)
        return Series(total, [(p, per_period.get(p.full_start, Counts())) for p in periods])

    merged: dict[dt.date, Counts] = {}
    for per_period in found.values():
        for day, counts in per_period.items():
            merged.setdefault(day, Counts()).add(counts)
    result = NpsResult(
        spec=spec,
        start=start,
        end=end,
        overall=series(merged),
        small_below=context.settings.small_denominator,
        as_of=context.as_of,
        snapshot=context.freshness(),
    )
    if spec.by:
        for keys in sorted(found, key=lambda k: tuple(str(v) for v in k)):
            labels = {name: str(v) for name, v in zip(spec.by, keys, strict=True)}
            result.slices.append((labels, series(found[keys])))
    return result


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = ["slice", "period", "responses", "promoters", "passives", "detractors", "nps", "small"]
    out: list[Sequence[Any]] = []
    groups = [("(all)", data)] + [(s["key"], s) for s in data.get("slices", [])]
    for key, group in groups:
        for p in [*group["periods"], {"period": "total", **group["total"]}]:
            out.append(
                [
                    key,
                    p["period"],
                    p["responses"],
                    p["promoters"],
                    p["passives"],
                    p["detractors"],
                    p["nps"],
                    p["small"],
                ]
            )
    return headers, out
