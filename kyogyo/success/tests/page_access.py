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


PAGES = {
    "success:home": Page(read=MEMBERS),
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
