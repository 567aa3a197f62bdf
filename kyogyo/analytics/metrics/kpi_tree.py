"""The KPI tree: the company's revenue target at the top, each team's KPI beneath it, each
with its target and actual.

Definitions (docs/analytics/planning.md):

- Window: the spec's, by default the fiscal year that contains "now".
- Targets come from the ``targets`` rows (metric, team, starts_on, ends_on, value). A row
  counts with the share of its days that lies inside the window (a row wholly inside counts
  whole); a share (GRR) is instead the day-weighted mean of the rows touching the window. A
  team's target is the sum over its own rows, else over the rows without a team (except
  ``revenue``, whose rows without a team are the company's); the company's is the rows
  without a team, else the sum over all teams' rows.
- Nodes (key = the target's metric name):
  ``revenue`` (company): amount of the deals closed as won in the window (``--currency``);
  ``entered:mql`` (marketing) and ``entered:sql`` (inside_sales): people whose first entry into
  the stage falls in the window; ``wins`` (field_sales): deals closed as won in the window;
  ``revenue`` (field_sales): their amount; ``grr`` (customer_success): gross revenue
  retention over the window on the customers (accounts) with MRR at its start — starting MRR
  per account is the sum of its subscriptions' MRR after their last change before the first
  day, ending MRR the same after the last day; GRR = Σ min(ending, starting) ÷ Σ starting (never
  above 100 %). Its target is a ``grr`` row holding a share (0.9 = 90 %).
- Derived targets: without a row, a team's target is worked backwards from the company's
  revenue target (kyogyo plan's chain, rates and deal size measured over the 12 months before
  the window, no lags): wins = ⌈target ÷ deal size⌉, SQLs and MQLs = ⌈exact(stage)⌉, field
  sales' revenue = the company's; ``target_source`` says ``set``, ``derived`` or ``none`` (and
  ``note`` why, when it cannot be derived). GRR is never derived.
- attainment = actual ÷ target with numerator and denominator (GRR: retained MRR ÷ the
  retained MRR the target asks for, i.e. GRR ÷ target); none without a target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from kyogyo.analytics.metrics import plan
from kyogyo.analytics.metrics.base import Context, stage_column
from kyogyo.analytics.spec import Rate, Spec, SpecError, add_months, rounded

NAME = "kpi-tree"
HELP = "the revenue target with each team's KPI beneath it: target (set or derived), actual, attainment"

LOOKBACK_MONTHS = plan.DEFAULT_LOOKBACK_MONTHS
TEAM_STAGES = {"marketing": "mql", "inside_sales": "sql"}
COMPANY_METRIC = "revenue"  # its rows without a team are the company's target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--currency", default=plan.DEFAULT_CURRENCY, help="currency of the deals (default JPY)"
    )


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    return {"currency": parsed.get("currency") or plan.DEFAULT_CURRENCY}


@dataclass
class Node:
    key: str
    team: str | None
    label: str
    unit: str  # money | count | share
    target: float | None
    target_source: str  # set | derived | none
    actual: float | None
    attainment: Rate | None
    note: str | None = None
    detail: dict[str, Any] | None = None
    children: list[Node] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "team": self.team,
            "label": self.label,
            "unit": self.unit,
            "target": number(self.target),
            "target_source": self.target_source,
            "actual": number(self.actual),
            "attainment": self.attainment.as_dict() if self.attainment else None,
            "note": self.note,
            "children": [c.as_dict() for c in self.children],
        }
        if self.detail is not None:
            data["detail"] = self.detail
        return data


@dataclass
class KpiTreeResult:
    spec: Spec
    root: Node
    currency: str
    as_of: dt.datetime
    snapshot: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": NAME,
            "from": self.spec.start.isoformat() if self.spec.start else None,
            "to": self.spec.end.isoformat() if self.spec.end else None,
            "currency": self.currency,
            "as_of": self.as_of.isoformat(),
            "tree": self.root.as_dict(),
            "snapshot": self.snapshot,
        }


@dataclass(frozen=True)
class TargetRow:
    metric: str
    team: str | None
    starts_on: dt.date
    ends_on: dt.date
    value: float

    def overlap_days(self, start: dt.date, end: dt.date) -> int:
        return max(0, (min(self.ends_on, end) - max(self.starts_on, start)).days + 1)

    def inside(self, start: dt.date, end: dt.date) -> float:
        """The value times the share of the row's days inside [start, end]."""
        length = (self.ends_on - self.starts_on).days + 1
        return self.value * self.overlap_days(start, end) / length if length > 0 else 0.0


def default_window(spec: Spec, context: Context) -> Spec:
    if spec.start and spec.end:
        return spec
    month = context.settings.fiscal_year_start_month
    today = context.as_of.date()
    first = dt.date(today.year if today.month >= month else today.year - 1, month, 1)
    start = spec.start or first
    end = spec.end or add_months(start, 12) - dt.timedelta(days=1)
    return replace(spec, start=start, end=end)


def target_for(
    rows: Sequence[TargetRow],
    metric: str,
    team: str | None,
    start: dt.date,
    end: dt.date,
    share: bool = False,
) -> float | None:
    """The target of ``metric`` for ``team`` (None: the company) over the window, or None.
    Amounts and counts add up by the days inside the window; a share (``share``) is the
    day-weighted mean of the rows' values."""
    own = [r for r in rows if r.metric == metric and r.team == team]
    if not own and team is not None and metric != COMPANY_METRIC:
        own = [r for r in rows if r.metric == metric and r.team is None]
    if not own and team is None:
        own = [r for r in rows if r.metric == metric]
    touching = [r for r in own if r.starts_on <= end and r.ends_on >= start]
    if not touching:
        return None
    if share:
        days = [r.overlap_days(start, end) for r in touching]
        return sum(r.value * d for r, d in zip(touching, days, strict=True)) / sum(days)
    return sum(r.inside(start, end) for r in touching)


def compute(context: Context, spec: Spec) -> KpiTreeResult:
    if spec.by or spec.filters:
        raise SpecError(
            "no_slices", "the KPI tree is company-wide (targets are not sliced): drop --by and --filter"
        )
    spec = default_window(spec, context)
    assert spec.start is not None and spec.end is not None
    start, end = spec.start, spec.end
    currency = spec.options.get("currency", plan.DEFAULT_CURRENCY)
    targets = _targets(context)
    deals = plan.won_deals(context, start, end, currency)
    revenue_target = target_for(targets, "revenue", None, start, end)
    derived, why = _derived(context, revenue_target, start, currency)
    entered = _entered(context, [k for k in TEAM_STAGES.values() if context.stage(k)], start, end)

    def node(key: str, team: str, label: str, unit: str, actual: float | None, derive_key: str) -> Node:
        set_target = target_for(targets, key, team, start, end)
        if set_target is not None:
            target, source, note = set_target, "set", None
        elif derive_key in derived:
            target, source, note = derived[derive_key], "derived", why
        else:
            target, source, note = None, "none", why if revenue_target is not None else "no target set"
        return Node(
            key, team, label, unit, target, source, actual, _attainment(context, actual, target), note
        )

    children = [
        node(f"entered:{stage}", team, f"{stage.upper()}s", "count", entered.get(stage), stage)
        for team, stage in TEAM_STAGES.items()
    ]
    children.append(node("wins", "field_sales", "Wins (deals won)", "count", deals.won_deals, "wins"))
    children.append(node("revenue", "field_sales", "Won revenue", "money", deals.total, "revenue"))
    children.append(_grr_node(context, targets, start, end))
    root = Node(
        key="revenue",
        team=None,
        label="Revenue (deals won)",
        unit="money",
        target=revenue_target,
        target_source="set" if revenue_target is not None else "none",
        actual=deals.total,
        attainment=_attainment(context, deals.total, revenue_target),
        note=None if revenue_target is not None else "no revenue target set for the window",
        children=children,
    )
    return KpiTreeResult(spec, root, currency, context.as_of, context.freshness())


def _attainment(context: Context, actual: float | None, target: float | None) -> Rate | None:
    if actual is None or target is None:
        return None
    return context.rate(number(actual), number(target))


def number(value: float | None) -> Any:
    """Whole numbers as integers (counts, yen), others rounded to 4 places."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return rounded(value, 4) if isinstance(value, float) else value


def _targets(context: Context) -> list[TargetRow]:
    rows = context.snapshot.query("SELECT metric, team, starts_on, ends_on, value FROM targets")
    return [TargetRow(m, t, s, e, float(v)) for m, t, s, e, v in rows if s and e and v is not None]


def _entered(context: Context, stages: list[str], start: dt.date, end: dt.date) -> dict[str, int]:
    if not stages:
        return {}
    window, params = Spec(start=start, end=end).window_sql("__col__")
    columns = ", ".join(
        f"count(*) FILTER (WHERE {window.replace('__col__', stage_column(s))})" for s in stages
    )
    row = context.snapshot.query(f"SELECT {columns} FROM subjects", params * len(stages))[0]
    return {s: int(n) for s, n in zip(stages, row, strict=True)}


def _derived(
    context: Context, revenue_target: float | None, start: dt.date, currency: str
) -> tuple[dict[str, float], str | None]:
    """Team targets worked backwards from the company's revenue target (measured rates)."""
    if revenue_target is None:
        return {}, None
    lookback = add_months(start, -LOOKBACK_MONTHS), start - dt.timedelta(days=1)
    try:
        path = plan.plan_path(context)
        measured = plan.measure(context, *lookback, currency)
        rates = plan.resolve_rates(path, {}, measured)
        deal_size = measured.deal_size.mean
        if not deal_size:
            raise SpecError("no_deal_size", f"no deal won in {currency} over {lookback[0]}–{lookback[1]}")
    except SpecError as exc:
        return {}, f"cannot derive from the revenue target: {exc}"
    target = Fraction(revenue_target).limit_denominator(10**6)
    exact = plan.chain(target, deal_size, [rates[s][0] for s in plan.steps(path)])
    by_stage = {s.key: math.ceil(x) for s, x in zip(path, exact, strict=True)}
    derived = {"wins": float(by_stage[path[-1].key]), "revenue": float(revenue_target)}
    derived.update({k: float(by_stage[k]) for k in TEAM_STAGES.values() if k in by_stage})
    note = (
        f"worked back from the revenue target {revenue_target:,.0f} at a deal size of {float(deal_size):,.0f} and "
        f"the conversions measured over {lookback[0]}–{lookback[1]}"
    )
    return derived, note


def _grr_node(context: Context, targets: Sequence[TargetRow], start: dt.date, end: dt.date) -> Node:
    grr = gross_retention(context, start, end)
    target = target_for(targets, "grr", "customer_success", start, end, share=True)
    value = grr["grr"]
    attainment = None
    if target is not None and value is not None:
        attainment = context.rate(grr["retained_mrr"], number(target * grr["starting_mrr"]))
    return Node(
        key="grr",
        team="customer_success",
        label="Gross revenue retention",
        unit="share",
        target=target,
        target_source="set" if target is not None else "none",
        actual=value,
        attainment=attainment,
        note=None if target is not None else "no grr target set (a share, e.g. 0.9)",
        detail=grr,
    )


def gross_retention(context: Context, start: dt.date, end: dt.date) -> dict[str, Any]:
    """GRR over [start, end] on the accounts with MRR before ``start`` (see the docstring)."""
    row = context.snapshot.query(
        "WITH subs AS (SELECT subscription_id, any_value(account_id) AS account_id, "
        "COALESCE(arg_max(mrr_after, (occurred_on, id)) FILTER (WHERE occurred_on < ?), 0) AS s, "
        "COALESCE(arg_max(mrr_after, (occurred_on, id)) FILTER (WHERE occurred_on <= ?), 0) AS e "
        "FROM mrr_changes WHERE occurred_on <= ? GROUP BY subscription_id), "
        "accounts AS (SELECT account_id, sum(s) AS s, sum(e) AS e FROM subs GROUP BY account_id HAVING sum(s) > 0) "
        "SELECT count(*), COALESCE(sum(s), 0)::BIGINT, COALESCE(sum(least(s, e)), 0)::BIGINT, "
        "COALESCE(sum(s) FILTER (WHERE e = 0), 0)::BIGINT FROM accounts",
        [start, end, end],
    )[0]
    customers, starting, retained, churned = (int(v) for v in row)
    return {
        "customers": customers,
        "starting_mrr": starting,
        "retained_mrr": retained,
        "churned_mrr": churned,
        "contraction_mrr": starting - retained - churned,
        "grr": round(retained / starting, 4) if starting else None,
    }


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = ["node", "team", "target", "target_source", "actual", "attainment"]
    out: list[Sequence[Any]] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        attainment = node["attainment"]["value"] if node["attainment"] else None
        out.append(
            [
                "  " * depth + node["label"],
                node["team"] or "(company)",
                node["target"],
                node["target_source"],
                node["actual"],
                attainment,
            ]
        )
        for child in node["children"]:
            walk(child, depth + 1)

    walk(data["tree"], 0)
    return headers, out
