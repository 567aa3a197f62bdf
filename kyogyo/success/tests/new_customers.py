"""New customers made as the teams make them: a person walked through the real actions
(MQL → SAL → SQL with a deal → opportunity → won), handed to Customer Success and, unless
asked otherwise, accepted there (onboarding). Shared by the Customer Success tests and the
page matrix."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

from kyogyo.customers import actions as customers
from kyogyo.customers.models import Contact
from kyogyo.deals.actions import qualify, win_deal
from kyogyo.handoffs.actions import accept_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import advance
from kyogyo.testing import T0

HOUR = dt.timedelta(hours=1)
_numbers = itertools.count(1)


def _accept(contact: Contact, actor, at: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    handoff = Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)
    accept_handoff(handoff, actor=actor, at=at)


def new_customer(
    people: SimpleNamespace,
    *,
    company: str = "Acme KK",
    first_name: str = "Hanako",
    last_name: str = "Sato",
    deal_name: str = "Acme — Kyogyo",
    amount: int = 1_200_000,
    accepted: bool = True,
    at: dt.datetime = T0,
) -> Contact:
    """A won customer: in onboarding (accepted by the CSM ``people.csm``) or, with
    ``accepted=False``, in won with the handoff to Customer Success still open."""
    account = customers.create_account(at=at, name=company, employee_count=500, country="JP")
    contact = customers.create_contact(
        at=at,
        account=account,
        email=f"customer{next(_numbers)}@example.jp",
        first_name=first_name,
        last_name=last_name,
        title="IT Manager",
    )
    advance(contact, "mql", actor=people.marketer, at=at)
    _accept(contact, people.is_rep, at + HOUR)
    deal = qualify(contact, actor=people.is_rep, name=deal_name, amount=amount, at=at + 2 * HOUR)
    _accept(contact, deal.owner, at + 3 * HOUR)
    deal.refresh_from_db()
    win_deal(deal, actor=deal.owner, at=at + 4 * HOUR)
    if accepted:
        _accept(contact, people.csm, at + 5 * HOUR)
    return Contact.objects.select_related("account").get(pk=contact.pk)
