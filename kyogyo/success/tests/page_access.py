"""Who may open the Customer Success pages and change subscriptions (see kyogyo/web/tests/matrix.py).
Every member reads them; Customer Success and managers (admins included) change subscriptions."""

import datetime as dt
from types import SimpleNamespace

from kyogyo.web.tests.matrix import MEMBERS, Page

CHANGERS = frozenset({"csm", "manager", "admin"})


def subscription(data: SimpleNamespace) -> list[int]:
    """A fresh active subscription of the matrix's company (one per role and method)."""
    from kyogyo.success.actions import start_subscription

    found = start_subscription(data.account, plan="Standard", mrr=100_000, starts_on=dt.date(2026, 4, 1))
    return [found.pk]


def new_customer(data: SimpleNamespace) -> list[int]:
    """A fresh customer won and handed to Customer Success, with no subscription."""
    from kyogyo.success.tests.new_customers import new_customer as make

    return [make(data.people, company="Matrix KK").pk]


START = {
    "plan": "Standard",
    "mrr": "100000",
    "billing_period": "monthly",
    "currency": "JPY",
    "starts_on": "2026-04-07",
}

PAGES = {
    "success:home": Page(read=MEMBERS),
    "success:onboarding": Page(read=MEMBERS),
    "success:start_subscription": Page(read=CHANGERS, write=CHANGERS, args=new_customer, data=START),
    "success:renewals": Page(read=MEMBERS),
    "success:risk": Page(read=MEMBERS),
    "success:nps": Page(read=MEMBERS),
    "success:movements": Page(read=MEMBERS),
    "success:subscription": Page(read=MEMBERS, args=subscription),
    "success:change_mrr": Page(write=CHANGERS, args=subscription, data={"mrr": "120000", "on": "2026-05-01"}),
    "success:renew": Page(write=CHANGERS, args=subscription, data={"renew-on": "2026-05-01"}),
    "success:churn": Page(write=CHANGERS, args=subscription, data={"churn-on": "2026-05-01"}),
    "success:hand_back": Page(
        write=CHANGERS, args=subscription, data={"expansion-amount": "50000", "expansion-note": "More seats"}
    ),
}
