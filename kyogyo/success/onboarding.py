"""New customers waiting for their subscription: people Customer Success has been handed
(the stage that hands to CS — "won" — and the stage CS accepts into — "onboarding") whose
company pays for no active subscription yet. Each page of them is one indexed query over the
milestones (the (current stage, since) index) plus one query for their won deals and one
for their handoffs to CS, whatever the size of the company."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from kyogyo.customers.models import Contact
from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import Milestone, Stage
from kyogyo.org.models import Team, User
from kyogyo.success.models import Subscription

PREVIEW = 10  # on the overview and the CS home; the full list pages by 25
PER_PAGE = 25
MONTHS_A_YEAR = 12


def _handed_to_success() -> QuerySet[Stage]:
    """The stages that hand a customer to Customer Success and the stages CS accepts them
    into (won and onboarding in the default stage model)."""
    handing = Stage.objects.filter(hands_to__key=Team.CUSTOMER_SUCCESS)
    return Stage.objects.filter(Q(pk__in=handing.values("pk")) | Q(pk__in=handing.values("accept_to_id")))


def onboarding_stage_ids() -> list[int]:
    return sorted(_handed_to_success().values_list("pk", flat=True))


def may_be_waiting(stage: Stage) -> bool:
    """Whether a person in ``stage`` can be a new customer at all, from the stage alone
    (loaded with its teams): it hands to Customer Success, or it is Customer Success's."""
    hands_to = stage.hands_to.key if stage.hands_to_id and stage.hands_to else None
    team = stage.team.key if stage.team_id and stage.team else None
    return Team.CUSTOMER_SUCCESS in (hands_to, team)


def _active_subscription() -> Exists:
    return Exists(
        Subscription.objects.filter(
            account_id=OuterRef("subject__account_id"), status=Subscription.Status.ACTIVE
        )
    )


def waiting(account_id: int | None = None, stage_ids: list[int] | None = None) -> QuerySet[Milestone]:
    """The people handed to Customer Success whose company has no active subscription,
    longest waiting first. (People without a company are left out: a subscription is a
    company's.)"""
    stages = (
        Q(current_stage__in=_handed_to_success()) if stage_ids is None else Q(current_stage_id__in=stage_ids)
    )
    rows = Milestone.objects.filter(stages, subject__account_id__isnull=False)
    if account_id is not None:
        rows = rows.filter(subject__account_id=account_id)
    return (
        rows.filter(~_active_subscription())
        .select_related("subject__account", "subject__owner", "current_stage")
        .order_by("current_since", "subject_id")
    )


def _waiting_keys(count: int, stage_ids: list[int]) -> list[tuple[dt.datetime, int]]:
    """The (since, person) keys of the first ``count`` waiting people. One query per stage,
    each walking the (stage, since) index in order and stopping after ``count`` rows, merged
    here: one query over both stages would sort all their people first (PostgreSQL reads an
    index in order for one value of its first column, not for a list of them)."""
    per_stage = [
        list(waiting(stage_ids=[stage]).values_list("current_since", "subject_id")[:count])
        for stage in stage_ids
    ]
    return list(itertools.islice(heapq.merge(*per_stage), count))


@dataclass(frozen=True)
class NewCustomer:
    contact: Contact
    milestone: Milestone
    deal: Deal | None  # the won deal they came from (the newest)
    handoff: Handoff | None  # their latest handoff to Customer Success

    @property
    def since(self) -> dt.datetime:
        return self.milestone.current_since

    @property
    def owner(self) -> User | None:
        """Who looks after them: the CSM who took the handoff, else the one it is assigned to
        while it waits, else the person's owner."""
        if self.handoff is not None and (self.handoff.acted_by or self.handoff.assigned_to):
            return self.handoff.acted_by or self.handoff.assigned_to
        return self.contact.owner

    @property
    def waits_for_accept(self) -> bool:
        return self.handoff is not None and self.handoff.status == Handoff.Status.OPEN


def won_deals(contact_ids: list[int]) -> dict[int, Deal]:
    """Each person's newest won deal, in one query."""
    found: dict[int, Deal] = {}
    rows = Deal.objects.filter(contact_id__in=contact_ids, status=Deal.Status.WON).order_by(
        "contact_id", "-closed_at", "-id"
    )
    for deal in rows:
        assert deal.contact_id is not None
        found.setdefault(deal.contact_id, deal)
    return found


def handoffs_to_success(contact_ids: list[int]) -> dict[int, Handoff]:
    """Each person's latest handoff to Customer Success, in one query."""
    found: dict[int, Handoff] = {}
    rows = (
        Handoff.objects.filter(subject_id__in=contact_ids, to_team__key=Team.CUSTOMER_SUCCESS)
        .select_related("acted_by", "assigned_to")
        .order_by("subject_id", "-created_at", "-id")
    )
    for handoff in rows:
        found.setdefault(handoff.subject_id, handoff)
    return found


def described(milestones: list[Milestone]) -> list[NewCustomer]:
    ids = [m.subject_id for m in milestones]
    deals, handoffs = won_deals(ids), handoffs_to_success(ids)
    return [
        NewCustomer(
            contact=m.subject, milestone=m, deal=deals.get(m.subject_id), handoff=handoffs.get(m.subject_id)
        )
        for m in milestones
    ]


def page(number: int, per_page: int = PER_PAGE) -> tuple[list[NewCustomer], bool]:
    """One page of the new customers and whether another follows (one row more is read)."""
    start = (number - 1) * per_page
    stage_ids = onboarding_stage_ids()
    keys = _waiting_keys(start + per_page + 1, stage_ids)[start:]
    shown = [subject for _, subject in keys[:per_page]]
    found = {m.subject_id: m for m in waiting(stage_ids=stage_ids).filter(subject_id__in=shown)}
    return described([found[s] for s in shown if s in found]), len(keys) > per_page


def preview(limit: int = PREVIEW) -> tuple[list[NewCustomer], bool]:
    return page(1, limit)


def of_account(account_id: int) -> NewCustomer | None:
    """The company's first person waiting for its subscription, if any (its page's form)."""
    first = waiting(account_id).first()
    return described([first])[0] if first else None


def of_contact(contact: Contact) -> NewCustomer | None:
    found = waiting().filter(subject=contact).first()
    return described([found])[0] if found else None


# --- what the start form is prefilled with ---------------------------------------------


def monthly_of_yearly(amount: int) -> int:
    """A year's amount as MRR: ÷ 12, rounded half up to the minor unit (¥1,200,000 → ¥100,000)."""
    return (amount * 2 + MONTHS_A_YEAR) // (2 * MONTHS_A_YEAR)


def prefill(customer: NewCustomer, today: dt.date | None = None) -> dict[str, Any]:
    """The start form's first values: a deal's amount is the contract's yearly value (as
    the demo and imports write it; ARR = MRR × 12), so the MRR is a twelfth of it; the
    currency is the deal's; the subscription starts the day the deal was won."""
    today = today or timezone.localdate()
    deal = customer.deal
    initial: dict[str, Any] = {
        "billing_period": Subscription.BillingPeriod.MONTHLY,
        "currency": "JPY",
        "starts_on": today,
    }
    if deal is not None:
        initial["currency"] = deal.currency
        if deal.amount:
            initial["mrr"] = monthly_of_yearly(deal.amount)
        if deal.closed_at is not None:
            initial["starts_on"] = timezone.localdate(deal.closed_at)
    return initial
