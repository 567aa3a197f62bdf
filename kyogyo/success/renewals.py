"""Renewal dates. A subscription has no stored renewal date: it renews at the end of each
billing term counted from its start (monthly, annual or weekly anniversaries of
``starts_on``), so the next renewal is the first anniversary on or after a day."""

from __future__ import annotations

import calendar
import datetime as dt
import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from kyogyo.org.models import User
from kyogyo.success.models import Subscription

TERM_MONTHS: dict[str, int] = {Subscription.BillingPeriod.MONTHLY: 1, Subscription.BillingPeriod.ANNUAL: 12}
DEFAULT_DAYS = 90
MAX_DAYS = 366


def months_later(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, the month's last day where it is shorter (31 Jan → 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def next_renewal(subscription: Subscription, on_or_after: dt.date) -> dt.date:
    """The first end of a billing term on or after ``on_or_after`` (never the start day itself)."""
    return renewal_after(subscription.starts_on, subscription.billing_period, on_or_after)


def renewal_after(start: dt.date, billing_period: str, on_or_after: dt.date) -> dt.date:
    """``next_renewal`` from a subscription's start and billing period alone."""
    if billing_period == Subscription.BillingPeriod.WEEKLY:
        weeks = max(1, -(-(on_or_after - start).days // 7))
        return start + dt.timedelta(weeks=weeks)
    months = TERM_MONTHS.get(billing_period, 1)
    terms = max(1, ((on_or_after.year - start.year) * 12 + on_or_after.month - start.month) // months)
    day = months_later(start, terms * months)
    while day < on_or_after:
        terms += 1
        day = months_later(start, terms * months)
    return day


@dataclass(frozen=True)
class Renewal:
    on: dt.date
    subscription: Subscription


def active_subscriptions(owner: User | None = None) -> QuerySet[Subscription]:
    """Active subscriptions with their company; with ``owner``, those of companies where
    the owner owns someone (a subscription has no owner of its own)."""
    rows = Subscription.objects.filter(status=Subscription.Status.ACTIVE).select_related("account")
    if owner is not None:
        rows = rows.filter(account__contacts__owner=owner).distinct()
    return rows.order_by("id")


def upcoming(
    subscriptions: Iterable[Subscription], today: dt.date, days: int = DEFAULT_DAYS
) -> list[Renewal]:
    """Each subscription's next renewal within ``days`` from ``today``, soonest first."""
    until = today + dt.timedelta(days=days)
    found = [Renewal(next_renewal(s, today), s) for s in subscriptions]
    return sorted((r for r in found if r.on <= until), key=lambda r: (r.on, r.subscription.pk))


def soonest(today: dt.date, days: int, limit: int) -> list[Renewal]:
    """The first ``limit`` of ``upcoming(active_subscriptions(), today, days)`` — the same
    renewals in the same order — without making every active subscription a model instance
    (at 23,000 of them that took a second): each one's next renewal is worked out from its
    start and billing period, and only the chosen ones are read whole."""
    until = today + dt.timedelta(days=days)
    terms = active_subscriptions().values_list("id", "starts_on", "billing_period")
    dates = [(on, pk) for pk, start, period in terms if (on := renewal_after(start, period, today)) <= until]
    chosen = heapq.nsmallest(limit, dates)
    found = Subscription.objects.select_related("account").in_bulk([pk for _, pk in chosen])
    return [Renewal(on, found[pk]) for on, pk in chosen if pk in found]


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def grouped(renewals: list[Renewal], grain: str) -> list[tuple[dt.date, list[Renewal]]]:
    """Renewals by the month (first day) or week (Monday) they fall in, in order."""
    groups: dict[dt.date, list[Renewal]] = {}
    for renewal in renewals:
        key = week_start(renewal.on) if grain == "week" else renewal.on.replace(day=1)
        groups.setdefault(key, []).append(renewal)
    return sorted(groups.items())
