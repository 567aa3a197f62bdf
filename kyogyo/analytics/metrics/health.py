"""Customer health score per account (0–100) from weighted signals, with each signal's
value and points, the trend over 30 days and the distribution over all customers.

Definitions (docs/analytics/customer-success.md):

- **customers** = accounts with a subscription active on the as-of date D (started on or
  before D, not ended by D);
- **signals** are configured in the analytics settings (``health_signals``: a list of
  ``{key, weight, target}``). Each is scored 0..1 over the 30 days ending on D (days
  D−29 … D, whole days); a person's activities count for the company they belong to:
  - ``usage``: product_usage activities; score = min(1, count ÷ target);
  - ``nps``: the latest NPS answer for the account up to the as-of time; score =
    min(1, score ÷ target); no answer yet → *no data*;
  - ``support``: support_ticket activities, fewer is better; target = the count still
    fully healthy; score = min(1, (target + 1) ÷ (tickets + 1)), so with target 0 one
    ticket scores 0.5, three 0.25 (the default target is 0, so the target cannot be the
    count at which the score reaches 0);
  - ``engagement``: distinct days with any activity; score = min(1, days ÷ target);
  - ``mrr_trend``: MRR at the end of D against 90 days before: growth or flat (a fall of
    at most ``target`` percent counts as flat; a customer that was not paying then has
    grown) = 1, contraction = 0.5, churned (MRR now 0 after paying) = 0. With several
    currencies, the worst one.
- **score** = Σ weight × signal score ÷ Σ weight × 100 over the signals with data (one
  decimal); a signal's **points** = weight × signal score ÷ Σ weight × 100, so the points
  add up to the score, and ``max_points`` what it could give.
- **trend**: the score now minus the score 30 days before the as-of time, computed the
  same way at that date (null when the account was not a customer then).
- **bands**: healthy ≥ 70, watch 40–69.9, at risk < 40. The list is worst first
  (``--limit``, default 50), or one account (``--account``); the distribution and the
  average cover every customer (``--filter`` by the account's segment, industry, country,
  company_size; ``--by`` gives the distribution per slice).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kyogyo.analytics.dimensions import slicing
from kyogyo.analytics.metrics.base import Context, slice_label
from kyogyo.analytics.metrics.saas import LEVELS_CTE, account_dimensions
from kyogyo.analytics.spec import Rate, Spec, SpecError, rounded

NAME = "health"
HELP = "customer health score per account from weighted signals, with trend and distribution"

SIGNALS = ("usage", "nps", "support", "engagement", "mrr_trend")
POSITIVE_TARGET = ("usage", "nps", "engagement")  # divided by: must be above 0
WINDOW_DAYS = 30
TREND_DAYS = 30
MRR_TREND_DAYS = 90
DEFAULT_LIMIT = 50
BANDS = (("healthy", 70.0), ("watch", 40.0), ("at_risk", float("-inf")))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", type=int, metavar="ID", help="only this account")
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"accounts listed, worst first (default {DEFAULT_LIMIT})",
    )


def options(parsed: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if parsed.get("account") is not None:
        found["account"] = parsed["account"]
    if parsed.get("limit") is not None:
        found["limit"] = parsed["limit"]
    return found


# --- the configured signals -----------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    key: str
    weight: float
    target: float


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_signals(raw: Any) -> list[Signal]:
    """The settings' list of {key, weight, target}, checked; bad entries are refused by name."""
    if not isinstance(raw, list) or not raw:
        raise SpecError("bad_signals", "health signals must be a non-empty list of {key, weight, target}")
    signals: list[Signal] = []
    for item in raw:
        if not isinstance(item, Mapping) or "key" not in item:
            raise SpecError("bad_signals", f"a health signal must be {{key, weight, target}}, not {item!r}")
        key = item["key"]
        if key not in SIGNALS:
            raise SpecError("unknown_signal", f"unknown health signal {key!r}; known: {', '.join(SIGNALS)}")
        if any(s.key == key for s in signals):
            raise SpecError("bad_signals", f"health signal {key!r} is listed twice")
        weight: Any = item.get("weight")
        target: Any = item.get("target")
        if not _number(weight) or weight < 0:
            raise SpecError(
                "bad_signals", f"health signal {key!r}: weight must be a number ≥ 0, not {weight!r}"
            )
        if not _number(target) or target < 0 or (key in POSITIVE_TARGET and target == 0):
            need = "> 0" if key in POSITIVE_TARGET else "≥ 0"
            raise SpecError(
                "bad_signals", f"health signal {key!r}: target must be a number {need}, not {target!r}"
            )
        signals.append(Signal(key, float(weight), float(target)))
    if not sum(s.weight for s in signals):
        raise SpecError("bad_signals", "the health signals' weights add up to 0")
    return signals


# --- signal values as SQL -------------------------------------------------------------


def customers_sql(keys: Sequence[str] = (), joins: str = "", where: str = "TRUE") -> str:
    """Accounts with a subscription active on day ? (given twice): id, name, segment and
    the slice keys."""
    key_select = "".join(f", {k}" for k in keys)
    return (
        f"SELECT a.id, a.name, a.segment{key_select} FROM accounts a {joins} "
        "WHERE a.id IN (SELECT account_id FROM subscriptions "
        "WHERE starts_on <= ? AND (ends_on IS NULL OR ends_on > ?)) "
        f"AND {where} ORDER BY a.id"
    )


ACTIVITY_SQL = (
    "SELECT s.account_id, "
    "coalesce(sum(x.n) FILTER (WHERE x.type = 'product_usage'), 0), "
    "coalesce(sum(x.n) FILTER (WHERE x.type = 'support_ticket'), 0), "
    "count(DISTINCT x.day) "
    "FROM activity_days x JOIN subjects s ON s.subject_id = x.contact_id "
    "WHERE x.day > ? AND x.day <= ? AND s.account_id IN (SELECT unnest(?)) GROUP BY 1"
)

LATEST_NPS_SQL = (
    "SELECT COALESCE(n.account_id, s.account_id) AS account, arg_max(n.score, n.answered_at) "
    "FROM nps n LEFT JOIN subjects s ON s.subject_id = n.contact_id "
    "WHERE n.answered_at <= ? AND COALESCE(n.account_id, s.account_id) IN (SELECT unnest(?)) GROUP BY 1"
)

MRR_SQL = f"""
WITH {LEVELS_CTE},
units AS (SELECT DISTINCT account_id, currency FROM levels WHERE account_id IN (SELECT unnest(?))),
at_days AS (SELECT * FROM (VALUES (0, CAST(? AS DATE)), (1, CAST(? AS DATE))) d(which, day)),
grid AS (SELECT d.which, d.day, u.account_id, u.currency FROM at_days d CROSS JOIN units u)
SELECT g.account_id, g.currency, g.which, coalesce(l.after, 0)
FROM grid g ASOF LEFT JOIN levels l ON l.account_id = g.account_id AND l.currency = g.currency AND g.day >= l.day
"""


@dataclass
class Raw:
    """What the signals are scored from, for one account at one time."""

    usage: int = 0
    support: int = 0
    active_days: int = 0
    nps: int | None = None
    mrr: dict[str, tuple[int, int]] = field(default_factory=dict)  # currency → (now, 90 days before)


def raw_values(context: Context, accounts: Sequence[int], at: dt.datetime) -> dict[int, Raw]:
    day = at.date()
    found = {account: Raw() for account in accounts}
    if not accounts:
        return found
    ids = list(accounts)
    query = context.snapshot.query
    for account, usage, support, days in query(
        ACTIVITY_SQL, [day - dt.timedelta(days=WINDOW_DAYS), day, ids]
    ):
        found[account].usage, found[account].support, found[account].active_days = (
            int(usage),
            int(support),
            int(days),
        )
    for account, score in query(LATEST_NPS_SQL, [at, ids]):
        found[account].nps = int(score)
    for account, currency, which, mrr in query(MRR_SQL, [ids, day, day - dt.timedelta(days=MRR_TREND_DAYS)]):
        now, before = found[account].mrr.get(currency, (0, 0))
        found[account].mrr[currency] = (int(mrr), before) if which == 0 else (now, int(mrr))
    return found


# --- scoring --------------------------------------------------------------------------


def _trend_of(now: int, before: int, tolerance_percent: float) -> tuple[float, str, float | None]:
    change = (now - before) / before if before else None
    if before and not now:
        return 0.0, "churned", change
    if not before or now >= before or (change is not None and -change * 100 <= tolerance_percent):
        return 1.0, "growth" if now > before else "flat", change
    return 0.5, "contraction", change


def signal_value(signal: Signal, raw: Raw) -> tuple[Any, float | None]:
    """(the value shown, the signal's score 0..1 or None without data)."""
    if signal.key == "usage":
        return raw.usage, min(1.0, raw.usage / signal.target)
    if signal.key == "engagement":
        return raw.active_days, min(1.0, raw.active_days / signal.target)
    if signal.key == "support":
        return raw.support, min(1.0, (signal.target + 1) / (raw.support + 1))
    if signal.key == "nps":
        return raw.nps, None if raw.nps is None else min(1.0, raw.nps / signal.target)
    # mrr_trend: the worst currency
    trends = [
        (currency, *_trend_of(now, before, signal.target)) for currency, (now, before) in raw.mrr.items()
    ]
    if not trends:
        return {"currency": None, "mrr": 0, "mrr_90_days_before": 0, "change": None, "trend": "flat"}, 1.0
    currency, score, label, change = min(trends, key=lambda t: (t[1], t[0]))
    now, before = raw.mrr[currency]
    value = {
        "currency": currency,
        "mrr": now,
        "mrr_90_days_before": before,
        "change": rounded(change, 4),
        "trend": label,
    }
    return value, score


@dataclass
class SignalScore:
    key: str
    weight: float
    target: float
    value: Any
    score: float | None
    points: float | None
    max_points: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "weight": self.weight,
            "target": self.target,
            "value": self.value,
            "score": rounded(self.score, 4),
            "points": rounded(self.points, 1),
            "max_points": rounded(self.max_points, 1),
        }


def health_score(signals: Sequence[Signal], raw: Raw) -> tuple[float | None, list[SignalScore]]:
    """The 0–100 score over the signals with data, and each signal's share of it."""
    scored = [(s, *signal_value(s, raw)) for s in signals]
    weight = sum(s.weight for s, _, score in scored if score is not None)
    parts = []
    for s, value, score in scored:
        has = score is not None and weight > 0
        parts.append(
            SignalScore(
                key=s.key,
                weight=s.weight,
                target=s.target,
                value=value,
                score=score,
                points=s.weight * score / weight * 100 if has and score is not None else None,
                max_points=s.weight / weight * 100 if has else None,
            )
        )
    if not weight:
        return None, parts
    return sum(p.points or 0.0 for p in parts), parts


def band(score: float | None) -> str:
    if score is None:
        return "no_data"
    return next(name for name, low in BANDS if score >= low)


# --- results --------------------------------------------------------------------------


@dataclass
class AccountHealth:
    account_id: int
    name: str
    segment: str
    score: float | None
    signals: list[SignalScore]
    score_before: float | None = None
    was_customer: bool = False

    def as_dict(self) -> dict[str, Any]:
        trend = None
        if self.score is not None and self.score_before is not None:
            trend = self.score - self.score_before
        return {
            "account_id": self.account_id,
            "name": self.name,
            "segment": self.segment,
            "score": rounded(self.score, 1),
            "band": band(self.score),
            "score_30_days_before": rounded(self.score_before, 1),
            "trend": rounded(trend, 1),
            "signals": [s.as_dict() for s in self.signals],
        }


def distribution(scores: Sequence[float | None], small_below: int) -> dict[str, Any]:
    counted = [band(s) for s in scores]
    known = [s for s in scores if s is not None]
    return {
        "customers": len(scores),
        "average_score": rounded(sum(known) / len(known), 1) if known else None,
        "bands": {
            name: Rate(counted.count(name), len(scores), small_below).as_dict()
            for name in ("healthy", "watch", "at_risk", "no_data")
        },
    }


@dataclass
class HealthResult:
    spec: Spec
    as_of: dt.datetime
    signals: list[Signal]
    overall: dict[str, Any]
    accounts: list[AccountHealth]
    limit: int
    slices: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": NAME,
            "by": list(self.spec.by),
            "filters": dict(self.spec.filters),
            "as_of": self.as_of.isoformat(),
            "trend_from": (self.as_of - dt.timedelta(days=TREND_DAYS)).isoformat(),
            "signals": [{"key": s.key, "weight": s.weight, "target": s.target} for s in self.signals],
            "account": self.spec.options.get("account"),
            "limit": self.limit,
            **self.overall,
            "accounts": [a.as_dict() for a in self.accounts],
            "snapshot": self.snapshot,
        }
        if self.spec.by:
            data["slices"] = [{**slice_label(keys), **dist} for keys, dist in self.slices]
        return data


def _customers(context: Context, spec: Spec, day: dt.date) -> list[tuple[int, str, str, tuple]]:
    """(id, name, segment, slice keys) of the customers on ``day`` that the filters keep."""
    cut = slicing(spec, account_dimensions(context.settings.company_size_edges))
    sql = customers_sql(cut.keys, cut.joins, cut.where)
    return [
        (row[0], row[1] or "", row[2] or "", tuple(row[3:]))
        for row in context.snapshot.query(sql, [day, day, *cut.params])
    ]


def _limit(spec: Spec) -> int:
    limit = spec.options.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise SpecError("bad_limit", f"--limit must be a whole number ≥ 1, not {limit!r}")
    return limit


def _one_account(context: Context, account: Any, customers: set[int], day: dt.date) -> None:
    if not isinstance(account, int) or isinstance(account, bool):
        raise SpecError("bad_account", f"--account must be an account id, not {account!r}")
    if not context.snapshot.query("SELECT 1 FROM accounts WHERE id = ?", [account]):
        raise SpecError("unknown_account", f"there is no account {account}")
    if account not in customers:
        raise SpecError(
            "not_a_customer",
            f"account {account} has no active subscription on {day} (or the filters leave it out)",
        )


def compute(context: Context, spec: Spec) -> HealthResult:
    signals = parse_signals(spec.options.get("signals") or context.settings.health_signals)
    limit = _limit(spec)
    now = context.as_of
    before = now - dt.timedelta(days=TREND_DAYS)
    customers = _customers(context, spec, now.date())
    ids = [c[0] for c in customers]
    account = spec.options.get("account")
    if account is not None:
        _one_account(context, account, set(ids), now.date())
    raws = raw_values(context, ids, now)
    scored = {i: health_score(signals, raws[i]) for i in ids}
    small_below = context.settings.small_denominator
    ranked = sorted(customers, key=lambda c: (scored[c[0]][0] is None, scored[c[0]][0] or 0.0, c[0]))
    chosen = [c for c in ranked if c[0] == account] if account is not None else ranked[:limit]
    listed = [AccountHealth(c[0], c[1], c[2], *scored[c[0]]) for c in chosen]
    _add_trend(context, spec, listed, signals, before)
    result = HealthResult(
        spec=spec,
        as_of=now,
        signals=signals,
        overall=distribution([scored[i][0] for i in ids], small_below),
        accounts=listed,
        limit=limit,
        snapshot=context.freshness(),
    )
    if spec.by:
        groups: dict[tuple, list[float | None]] = {}
        for c in customers:
            groups.setdefault(c[3], []).append(scored[c[0]][0])
        for keys in sorted(groups, key=lambda k: tuple(str(v) for v in k)):
            labels = {name: str(v) for name, v in zip(spec.by, keys, strict=True)}
            result.slices.append((labels, distribution(groups[keys], small_below)))
    return result


def _add_trend(
    context: Context, spec: Spec, listed: list[AccountHealth], signals: list[Signal], before: dt.datetime
) -> None:
    """The listed accounts' scores 30 days earlier, where they were customers then."""
    then = {row[0] for row in context.snapshot.query(customers_sql(), [before.date(), before.date()])}
    ids = [a.account_id for a in listed if a.account_id in then]
    raws = raw_values(context, ids, before)
    for a in listed:
        if a.account_id in then:
            a.was_customer = True
            a.score_before = health_score(signals, raws[a.account_id])[0]


def rows(data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]:
    keys = [s["key"] for s in data["signals"]]
    headers = ["account_id", "name", "score", "band", "trend", *(f"{k}_points" for k in keys)]
    out: list[Sequence[Any]] = []
    for a in data["accounts"]:
        points = {s["key"]: s["points"] for s in a["signals"]}
        out.append(
            [a["account_id"], a["name"], a["score"], a["band"], a["trend"], *(points[k] for k in keys)]
        )
    return headers, out
