"""A small book of subscriptions with hand-checkable MRR movements, dated from today (the
pages read the snapshot as of its refresh time, which is now)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from kyogyo.analytics import snapshot
from kyogyo.analytics.spec import add_months
from kyogyo.success.actions import change_mrr, churn, record_nps, start_subscription


@pytest.fixture
def book(people, make_contact):
    """Four companies billed before the 12-month window (A 100,000, B 200,000, C 50,000 —
    350,000 at its start) and one new in it: last month on the 5th A expands to 150,000,
    B churns, C contracts to 40,000 and D starts at 30,000. So over the window GRR =
    (350 − 10 − 200) ÷ 350 = 40.0 %, NRR = (350 + 50 − 10 − 200) ÷ 350 = 54.3 %, and the MRR
    now is 150 + 40 + 30 = 220,000."""
    first = timezone.localdate().replace(day=1)
    long_ago = add_months(first, -14)
    last_month = add_months(first, -1) + dt.timedelta(days=4)
    contacts = [make_contact(at=timezone.now(), first_name=n, last_name="Tanaka") for n in "ABCD"]
    for contact, name in zip(contacts, ("Alpha", "Beta", "Gamma", "Delta"), strict=True):
        contact.account.name = f"{name} KK"
        contact.account.save(update_fields=["name"])
    a, b, c = (
        start_subscription(contact.account, plan="Pro", mrr=mrr, starts_on=long_ago)
        for contact, mrr in zip(contacts, (100_000, 200_000, 50_000), strict=False)
    )
    change_mrr(a, 150_000, on=last_month)
    churn(b, on=last_month)
    change_mrr(c, 40_000, on=last_month)
    d = start_subscription(
        contacts[3].account, plan="Starter", mrr=30_000, starts_on=last_month, billing_period="annual"
    )
    answered = timezone.now() - dt.timedelta(days=3)
    record_nps(contacts[0], 10, comment="Great support", at=answered)
    record_nps(contacts[2], 3, comment="Too slow", at=answered)
    record_nps(contacts[3], 8, at=answered)
    snapshot.refresh()
    return SimpleNamespace(
        a=a, b=b, c=c, d=d, contacts=contacts, people=people, last_month=last_month, long_ago=long_ago
    )
