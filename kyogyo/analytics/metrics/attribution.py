"""Attribution of pipeline and revenue to campaigns and to sources, by four models.

Definitions (docs/analytics/attribution.md):

- **pipeline**: deals *created* in the window, at their amount; **revenue**: deals *won*
  (closed won) in the window, at their amount. Filters are the deal's (see ``deals``).
- **touches** of a deal: the days on which its primary contact had an activity with a
  campaign (campaign touch) or a source (source touch), on or before the day the deal was
  created (for revenue too). One touch per day and campaign (or source), however many
  activities that day. Touches are ordered by day, then by campaign id (source name).
- **positions**: *first* = the first touch; *lead creation* = the last touch on or before
  the day of the contact's first MQL entry (none when there is no such touch); *opportunity
  creation* = the last touch on or before the deal's creation, i.e. the last touch.
- **models** (shares of one deal):
  - ``first_touch``: 100 % to the first touch; ``last_touch``: 100 % to the last touch;
  - ``linear``: the same share to every touch;
  - ``w_shaped``: 30 % first, 30 % lead creation, 30 % opportunity creation, 10 % spread
    evenly over the other touches. Where positions coincide their weights add (a single
    touch gets all); a missing lead-creation touch, or no other touches, leaves its share
    ungiven and the weights are scaled back to 100 % (e.g. touches first, lead, last only:
    a third each; first = lead, then last: two thirds and one third).
  A campaign touched on several days collects the shares of all its touches.
- **credits** are whole minor units: each deal's amount is split by its shares, rounded
  down, and the leftover units go to the largest remainders (ties: by key), so every
  model's credits add up to exactly the total amount. A deal without touches credits
  ``(none)`` in full.
- per key: ``deals`` = Σ the deal's share (adds up to the number of deals), ``touched_deals``
  = deals that gave it any credit, ``amount`` = Σ credits. Sorted by amount, largest first.
- amounts are per currency, never added across currencies.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kyogyo.analytics.dimensions import NONE_LABEL
from kyogyo.analytics.metrics import deals
from kyogyo.analytics.metrics.base import Context, stage_column
from kyogyo.analytics.spec import Spec, SpecError

NAME = "attribution"
HELP = "pipeline and revenue credited to campaigns and sources: first touch, last touch, linear, W-shaped"
MEASURES = ("pipeline", "revenue")
TOUCHES = ("campaign", "source")
MODELS = ("first_touch", "last_touch", "linear", "w_shaped")
LEAD_STAGE = "mql"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--measure", choices=MEASURES, help="only pipeline or only revenue (default both)")
    parser.add_argument(
        "--touch", choices=TOUCHES, help="only campaign or only source touches (default both)"
    )
    deals.add_currency_argument(parser)


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    found = deals.currency_option(parsed)
    for name in ("measure", "touch"):
        if parsed.get(name):
            found[name] = parsed[name]
    return found


def _chosen(spec: Spec, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    value = spec.options.get(name)
    if value is None:
        return allowed
    if value not in allowed:
        raise SpecError(f"bad_{name}", f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return (value,)


@dataclass
class Credit:
    key: str
    id: int | None
    deals: float
    touched_deals: int
    amount: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "id": self.id,
            "deals": round(self.deals, 4),
            "touched_deals": self.touched_deals,
            "amount": self.amount,
        }


@dataclass
class Attribution:
    """One measure, one kind of touch, one currency: the credits of every model."""

    measure: str
    touch: str
    currency: str | None
    deals: int
    amount: int
    unattributed_deals: int
    models: dict[str, list[Credit]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "touch": self.touch,
            "currency": self.currency,
            "deals": self.deals,
            "amount": self.amount,
            "unattributed_deals": self.unattributed_deals,
            "models": {name: [c.as_dict() for c in credits] for name, credits in self.models.items()},
        }


@dataclass
class AttributionResult:
    spec: Spec
    results: list[Attribution]
    snapshot: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": NAME,
            **self.spec.describe(),
            "currency": self.spec.options.get("currency"),
            "models": list(MODELS),
            "results": [r.as_dict() for r in self.results],
            "snapshot": self.snapshot,
        }


# --- the query ----------------------------------------------------------------------

TOUCH_KEY = {"campaign": "t.campaign_id", "source": "NULLIF(t.source, '')"}


def _shares(model: str) -> str:
    """A touch's share of its deal (over ``positioned``: pos, k = touches, lpos)."""
    if model == "first_touch":
        return "CASE WHEN pos = 1 THEN 1 ELSE 0 END"
    if model == "last_touch":
        return "CASE WHEN pos = k THEN 1 ELSE 0 END"
    if model == "linear":
        return "1"
    # W-shaped in whole shares: each position 3·max(m, 1), each other touch 1, where m is the
    # number of other touches — 30 : 30 : 30 : 10 when there are other touches, else equal
    others = (
        "(k - 1 - CAST(k > 1 AS INTEGER) - CAST(lpos IS NOT NULL AND lpos <> 1 AND lpos <> k AS INTEGER))"
    )
    position = f"3 * greatest({others}, 1)"
    hits = (
        "(CAST(pos = 1 AS INTEGER) + CAST(pos = k AS INTEGER) + CAST(COALESCE(pos = lpos, FALSE) AS INTEGER))"
    )
    return f"CASE WHEN {hits} > 0 THEN {position} * {hits} ELSE 1 END"


def attribution_sql(measure_where: str, touch: str, lead_day: str, base: str) -> str:
    key = TOUCH_KEY[touch]
    models = ", ".join(f"('{m}')" for m in MODELS)
    shares = " UNION ALL ".join(
        f"SELECT '{m}' AS model, deal, key, {_shares(m)} AS share FROM positioned" for m in MODELS
    )
    return (
        f"WITH d AS ({base}), "
        f"chosen AS (SELECT id, currency, amount, contact_id, created_at, {lead_day} AS lead_day "
        f"FROM d WHERE {measure_where}), "
        f"touches AS (SELECT DISTINCT c.id AS deal, t.day, {key} AS key FROM chosen c "
        f"JOIN activity_days t ON t.contact_id = c.contact_id AND t.day <= CAST(c.created_at AS DATE) "
        f"WHERE {key} IS NOT NULL), "
        "ordered AS (SELECT t.deal, t.key, t.day <= c.lead_day AS by_lead, "
        "row_number() OVER (PARTITION BY t.deal ORDER BY t.day, t.key) AS pos, "
        "count(*) OVER (PARTITION BY t.deal) AS k FROM touches t JOIN chosen c ON c.id = t.deal), "
        "positioned AS (SELECT deal, key, pos, k, "
        "max(CASE WHEN by_lead THEN pos END) OVER (PARTITION BY deal) AS lpos FROM ordered), "
        f"shares AS ({shares} UNION ALL "
        f"SELECT m.model, c.id, NULL, 1 FROM chosen c CROSS JOIN (VALUES {models}) m(model) "
        "WHERE c.id NOT IN (SELECT deal FROM touches)), "
        "per_key AS (SELECT model, deal, key, sum(share) AS share FROM shares WHERE share > 0 GROUP BY ALL), "
        "split AS (SELECT p.model, p.deal, p.key, c.currency, c.amount, p.share, "
        "sum(p.share) OVER (PARTITION BY p.model, p.deal) AS total FROM per_key p JOIN chosen c ON c.id = p.deal), "
        "floored AS (SELECT *, CAST(amount AS HUGEINT) * share // total AS floor_credit, "
        "CAST(amount AS HUGEINT) * share % total AS remainder FROM split), "
        "credited AS (SELECT *, floor_credit + CAST(row_number() OVER (PARTITION BY model, deal "
        "ORDER BY remainder DESC, key NULLS LAST) <= amount - sum(floor_credit) OVER (PARTITION BY model, deal) "
        "AS INTEGER) AS credit FROM floored) "
        "SELECT model, currency, key, sum(share / total), count(*), sum(credit) "
        "FROM credited GROUP BY ALL"
    )


def totals_sql(measure_where: str, touch: str, base: str) -> str:
    """Per currency: the deals, their amount, and how many have no touch."""
    touched = (
        "SELECT 1 FROM activity_days t WHERE t.contact_id = d.contact_id "
        f"AND t.day <= CAST(d.created_at AS DATE) AND {TOUCH_KEY[touch]} IS NOT NULL"
    )
    return (
        f"WITH d AS ({base}) SELECT currency, count(*), COALESCE(sum(amount), 0), "
        f"count(*) FILTER (WHERE NOT EXISTS ({touched})) "
        f"FROM d WHERE {measure_where} GROUP BY currency ORDER BY currency"
    )


def _measure_where(spec: Spec, measure: str) -> tuple[str, list[Any]]:
    if measure == "pipeline":
        return spec.window_sql("created_at")
    window, params = spec.window_sql("closed_at")
    return f"status = 'won' AND closed_at IS NOT NULL AND {window}", params


def _campaign_names(context: Context) -> dict[int, str]:
    return {cid: name for cid, name in context.snapshot.query("SELECT id, name FROM campaigns")}


def compute(context: Context, spec: Spec) -> AttributionResult:
    deals.check_unit(spec, NAME)
    if spec.by:
        raise SpecError(
            "unsupported", "attribution is itself sliced by campaign or source: use --filter, not --by"
        )
    measures = _chosen(spec, "measure", MEASURES)
    touches = _chosen(spec, "touch", TOUCHES)
    cut = deals.deal_slicing(context, spec)
    lead_join = "LEFT JOIN subjects ms ON ms.subject_id = d.contact_id"
    lead = (
        f", CAST(ms.{stage_column(LEAD_STAGE)} AS DATE) AS lead_day"
        if context.stage(LEAD_STAGE)
        else ", NULL::DATE AS lead_day"
    )
    base, params = deals.base_deals_sql(context, spec, cut, lead, [lead_join])
    names = _campaign_names(context)
    chosen_currency = deals.chosen_currency(spec)
    results = []
    for measure in measures:
        where, where_params = _measure_where(spec, measure)
        for touch in touches:
            totals = context.snapshot.query(totals_sql(where, touch, base), [*params, *where_params])
            credits: dict[str, dict[str, list[Credit]]] = {}
            sql = attribution_sql(where, touch, "lead_day", base)
            for model, currency, key, share, touched, amount in context.snapshot.query(
                sql, [*params, *where_params]
            ):
                credits.setdefault(currency, {m: [] for m in MODELS})[model].append(
                    _credit(touch, key, share, touched, amount, names)
                )
            for currency, n, amount, unattributed in totals or [(chosen_currency, 0, 0, 0)]:
                per_model = credits.get(currency, {m: [] for m in MODELS})
                results.append(
                    Attribution(
                        measure=measure,
                        touch=touch,
                        currency=currency,
                        deals=int(n),
                        amount=int(amount),
                        unattributed_deals=int(unattributed),
                        models={m: sorted(per_model[m], key=lambda c: (-c.amount, c.key)) for m in MODELS},
                    )
                )
    return AttributionResult(spec, results, context.freshness())


def _credit(touch: str, key: Any, share: float, touched: int, amount: int, names: dict[int, str]) -> Credit:
    if key is None:
        return Credit(NONE_LABEL, None, float(share), int(touched), int(amount))
    if touch == "campaign":
        return Credit(names.get(key, f"campaign {key}"), int(key), float(share), int(touched), int(amount))
    return Credit(str(key), None, float(share), int(touched), int(amount))


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    headers = ["measure", "touch", "currency", "model", "key", "deals", "touched_deals", "amount"]
    out: list[Sequence[Any]] = []
    for block in data["results"]:
        for model, credits in block["models"].items():
            for c in credits:
                out.append(
                    [
                        block["measure"],
                        block["touch"],
                        block["currency"],
                        model,
                        c["key"],
                        c["deals"],
                        c["touched_deals"],
                        c["amount"],
                    ]
                )
    return headers, out
