"""What the Customer Success pages show, gathered in a few queries each (the views stay thin)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count
from django.utils import timezone

from kyogyo.analytics.spec import SpecError
from kyogyo.success import numbers, renewals
from kyogyo.success.models import ExpansionHandback, NpsResponse, Subscription, SubscriptionChange

RISK_PREVIEW = 5
RENEWAL_PREVIEW = 10
NPS_PREVIEW = 5
MAX_SORTED = 500  # the risk list sorts by trend or name among the 500 least healthy
RISK_SORTS = ("score", "trend", "name")


def today() -> dt.date:
    return timezone.localdate()


def has_subscriptions() -> bool:
    return Subscription.objects.exists()


def subscriptions_of(account_ids: list[int]) -> dict[int, Subscription]:
    """Each account's current subscription (the newest active one, else the newest) in one query."""
    found: dict[int, Subscription] = {}
    rows = Subscription.objects.filter(account_id__in=account_ids).order_by("status", "-starts_on", "-id")
    for subscription in rows:  # "active" sorts before "churned"
        found.setdefault(subscription.account_id, subscription)
    return found


def with_subscriptions(accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    subscriptions = subscriptions_of([a["account_id"] for a in accounts])
    return [{**a, "subscription": subscriptions.get(a["account_id"])} for a in accounts]


def risk_rows(number: int, per_page: int, sort: str) -> tuple[list[dict[str, Any]], bool, dict[str, Any]]:
    """One page of the health list (worst first, or by trend or name), whether there is a
    next page, and the report (for its distribution)."""
    if sort == "score":
        data = numbers.health(limit=number * per_page + 1)
        ranked = data["accounts"]
    else:
        data = numbers.health(limit=MAX_SORTED)
        if sort == "trend":
            ranked = sorted(data["accounts"], key=lambda a: (a["trend"] is None, a["trend"] or 0.0))
        else:
            ranked = sorted(data["accounts"], key=lambda a: (a["name"].casefold(), a["account_id"]))
    start = (number - 1) * per_page
    chosen = ranked[start : start + per_page + 1]
    return with_subscriptions(chosen[:per_page]), len(chosen) > per_page, data


def account_health(subscription: Subscription) -> dict[str, Any] | None:
    """The health of the subscription's company, or None when it is no customer in the snapshot."""
    try:
        data = numbers.health(limit=1, account=subscription.account_id)
    except SpecError:
        return None
    return data["accounts"][0] if data["accounts"] else None


def history(subscription: Subscription) -> list[SubscriptionChange]:
    return list(subscription.changes.order_by("occurred_on", "id"))


def mrr_history_figure(changes: list[SubscriptionChange], label: str) -> dict[str, Any]:
    """The subscription's MRR after each change, as steps."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "line": {"shape": "hv", "color": "#2f6fdf"},
                "name": label,
                "x": [c.occurred_on.isoformat() for c in changes],
                "y": [c.mrr_after for c in changes],
                "hovertemplate": "%{x}: %{y:,}<extra></extra>",
            }
        ],
        "layout": {
            "height": 260,
            "margin": {"t": 10, "r": 20, "l": 70, "b": 40},
            "xaxis": {"type": "date", "tickformat": "%Y-%m-%d", "hoverformat": "%Y-%m-%d"},
            "yaxis": {"tickformat": ",.0f", "rangemode": "tozero"},
        },
    }


def score_counts() -> list[int]:
    """Answers per score 0–10 (the distribution bars)."""
    counts = dict(NpsResponse.objects.values_list("score").annotate(n=Count("id")).values_list("score", "n"))
    return [counts.get(score, 0) for score in range(11)]


def upcoming_renewals(days: int, owner: Any = None) -> list[renewals.Renewal]:
    return renewals.upcoming(renewals.active_subscriptions(owner), today(), days)


def soonest_renewals(days: int, limit: int) -> list[renewals.Renewal]:
    return renewals.soonest(today(), days, limit)


def handbacks(subscription: Subscription) -> list[ExpansionHandback]:
    """The subscription's expansions handed back, newest first, with their handoff and deal."""
    return list(
        subscription.expansion_handbacks.select_related(
            "handoff", "handoff__assigned_to", "handoff__acted_by", "handoff__reason", "deal", "created_by"
        )
    )
