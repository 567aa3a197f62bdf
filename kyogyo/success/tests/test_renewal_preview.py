"""The overview's next renewals: the first of the renewals calendar's list (same renewals,
same order), read without loading every active subscription, in a bounded number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kyogyo.success import renewals
from kyogyo.success.actions import churn, start_subscription

TODAY = dt.date(2026, 6, 10)


@pytest.fixture
def subscriptions(make_contact):
    """Monthly ones started on different days (two on the same day: ties go by id), an annual
    one renewing in 20 days, a weekly one, an annual one renewing past the 90 days, a churned one."""
    made = []
    terms = [
        (dt.date(2025, 1, 15), "monthly"),  # 2026-06-15
        (dt.date(2025, 3, 12), "monthly"),  # 2026-06-12
        (dt.date(2025, 3, 12), "monthly"),  # 2026-06-12, after the one above
        (dt.date(2025, 6, 30), "annual"),  # 2026-06-30
        (dt.date(2026, 5, 29), "weekly"),  # 2026-06-12
        (dt.date(2025, 12, 1), "annual"),  # 2026-12-01: outside 90 days
        (dt.date(2026, 1, 31), "monthly"),  # 2026-06-30
    ]
    for start, period in terms:
        account = make_contact(at=timezone.now()).account
        made.append(
            start_subscription(account, plan="Pro", mrr=10_000, starts_on=start, billing_period=period)
        )
    gone = start_subscription(
        make_contact(at=timezone.now()).account, plan="Pro", mrr=10_000, starts_on=dt.date(2025, 1, 11)
    )
    churn(gone, on=dt.date(2026, 5, 1))
    return made


def listed(found: list[renewals.Renewal]) -> list[tuple[dt.date, int]]:
    return [(r.on, r.subscription.pk) for r in found]


@pytest.mark.parametrize("limit", [1, 3, 5, 10])
def test_the_soonest_renewals_are_the_calendars_first(subscriptions, limit):
    everything = renewals.upcoming(renewals.active_subscriptions(), TODAY, renewals.DEFAULT_DAYS)
    assert listed(renewals.soonest(TODAY, renewals.DEFAULT_DAYS, limit)) == listed(everything[:limit])


def test_the_soonest_renewals_by_hand(subscriptions):
    s = subscriptions
    assert listed(renewals.soonest(TODAY, renewals.DEFAULT_DAYS, 10)) == [
        (dt.date(2026, 6, 12), s[1].pk),
        (dt.date(2026, 6, 12), s[2].pk),
        (dt.date(2026, 6, 12), s[4].pk),
        (dt.date(2026, 6, 15), s[0].pk),
        (dt.date(2026, 6, 30), s[3].pk),
        (dt.date(2026, 6, 30), s[6].pk),
    ]
    assert renewals.soonest(TODAY, renewals.DEFAULT_DAYS, 1)[0].subscription.account.name


@pytest.mark.parametrize("extra", [0, 6])
def test_the_overview_reads_a_bounded_number_of_queries(
    client, people, make_contact, django_assert_max_num_queries, extra
):
    from kyogyo.analytics import snapshot

    for n in range(2 + extra):
        account = make_contact(at=timezone.now()).account
        start_subscription(account, plan="Pro", mrr=1_000 * (n + 1), starts_on=dt.date(2025, 1, 1 + n))
    snapshot.refresh()
    client.force_login(people.csm)
    client.get(reverse("success:home"))  # the reports are worked out once per snapshot
    with django_assert_max_num_queries(14):  # 12, and the new customers waiting (two stages)
        response = client.get(reverse("success:home"))
    assert response.status_code == 200
    assert len(response.context["renewals"]) == 2 + extra
