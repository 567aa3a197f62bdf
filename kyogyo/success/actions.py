"""Subscriptions and their MRR movements, renewals, churn and NPS answers. Where the
customer's journey moves with them (expanded, renewed, churned), it moves through
``journey.actions.advance`` when the stage model allows that move from where the person is."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from kyogyo.customers.models import Account, Contact
from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import rulebook
from kyogyo.journey.machine import StageModel
from kyogyo.journey.models import Milestone, ReasonCode, Transition
from kyogyo.marketing.actions import record_activity
from kyogyo.org.models import User
from kyogyo.success.models import ExpansionHandback, NpsResponse, Subscription, SubscriptionChange


class SubscriptionError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def _check_mrr(mrr: object) -> None:
    if not isinstance(mrr, int) or isinstance(mrr, bool) or mrr < 0:
        raise SubscriptionError("bad_mrr", "MRR must be a whole, non-negative number of minor units")


def moment_of(on: dt.date) -> dt.datetime:
    """Journey time of a dated event: noon in the company's time zone (stable, mid-day)."""
    return dt.datetime.combine(on, dt.time(12, 0), tzinfo=timezone.get_default_timezone())


def _move_if_allowed(
    subject: Contact | None, stage: str, at: dt.datetime, actor: User | None, reason: ReasonCode | None = None
) -> Transition | None:
    if subject is None:
        return None
    stages = rulebook.load_stage_model()
    milestone = Milestone.objects.filter(subject=subject).first()
    current = stages.by_id[milestone.current_stage_id].key if milestone else None
    if milestone is None or current is None or stage not in stages.get(current).exits:
        return None
    via = Transition.Via.USER if actor else Transition.Via.SYSTEM
    return journey_actions.advance(
        subject,
        stage,
        via=via,
        at=max(at, milestone.current_since),
        actor=actor,
        reason=reason,
        stages=stages,
    )


@transaction.atomic
def start_subscription(
    account: Account,
    *,
    plan: str,
    mrr: int,
    starts_on: dt.date,
    currency: str = "JPY",
    billing_period: str = Subscription.BillingPeriod.MONTHLY,
    deal: Deal | None = None,
    external_id: str | None = None,
) -> Subscription:
    """A new subscription; "reactivation" when the company had churned before, else "new".
    ``external_id`` is its id in the billing system it came from (imports upsert by it)."""
    _check_mrr(mrr)
    if not plan:
        raise SubscriptionError("bad_plan", "a subscription needs a plan name")
    # A company that left and now buys again is reactivated; one that still pays for
    # another subscription simply buys more (new).
    subscriptions = Subscription.objects.filter(account=account)
    returning = (
        subscriptions.filter(status=Subscription.Status.CHURNED).exists()
        and not subscriptions.filter(status=Subscription.Status.ACTIVE).exists()
    )
    subscription = Subscription.objects.create(
        account=account,
        deal=deal,
        plan=plan,
        mrr=mrr,
        currency=currency,
        billing_period=billing_period,
        starts_on=starts_on,
        external_id=external_id or None,
    )
    kind = SubscriptionChange.Kind.REACTIVATION if returning else SubscriptionChange.Kind.NEW
    SubscriptionChange.objects.create(
        subscription=subscription, kind=kind, occurred_on=starts_on, mrr_before=0, mrr_after=mrr
    )
    if account.kind != Account.Kind.CUSTOMER:
        Account.objects.filter(pk=account.pk).update(kind=Account.Kind.CUSTOMER)
    return subscription


@transaction.atomic
def start_first_subscription(
    contact: Contact,
    *,
    plan: str,
    mrr: int,
    starts_on: dt.date,
    currency: str = "JPY",
    billing_period: str = Subscription.BillingPeriod.MONTHLY,
    deal: Deal | None = None,
) -> Subscription:
    """A new customer's subscription, started by Customer Success from the onboarding list:
    ``start_subscription`` for the person's company once it is checked, under a lock of the
    company, that the person is still handed to CS and nobody started one meanwhile. The
    journey stays where it is: onboarding ends when the customer is live (the stage rules),
    not when billing starts."""
    from kyogyo.success import onboarding

    if contact.account_id is None:
        raise SubscriptionError("no_company", "a subscription is a company's; the person has none")
    account = Account.objects.select_for_update().get(pk=contact.account_id)
    if Subscription.objects.filter(account=account, status=Subscription.Status.ACTIVE).exists():
        raise SubscriptionError("already_subscribed", "the company already has an active subscription")
    if not onboarding.waiting(account.pk).filter(subject=contact).exists():
        raise SubscriptionError(
            "not_onboarding", "the person is not a new customer handed to Customer Success"
        )
    if deal is not None and deal.account_id != account.pk:
        raise SubscriptionError("wrong_deal", "the deal is another company's")
    return start_subscription(
        account,
        plan=plan,
        mrr=mrr,
        starts_on=starts_on,
        currency=currency,
        billing_period=billing_period,
        deal=deal,
    )


@transaction.atomic
def change_mrr(
    subscription: Subscription,
    mrr: int,
    *,
    on: dt.date,
    subject: Contact | None = None,
    actor: User | None = None,
) -> SubscriptionChange:
    """Expansion or contraction; an expansion moves the customer's journey to "expanded"."""
    _check_mrr(mrr)
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.status != Subscription.Status.ACTIVE:
        raise SubscriptionError("not_active", "only an active subscription can change")
    if mrr == locked.mrr:
        raise SubscriptionError("no_change", "the MRR is unchanged")
    if mrr == 0:
        raise SubscriptionError("use_churn", "an MRR of zero is a churn; use churn instead")
    kind = SubscriptionChange.Kind.EXPANSION if mrr > locked.mrr else SubscriptionChange.Kind.CONTRACTION
    change = SubscriptionChange.objects.create(
        subscription=locked, kind=kind, occurred_on=on, mrr_before=locked.mrr, mrr_after=mrr
    )
    locked.mrr = mrr
    locked.save(update_fields=["mrr"])
    if kind == SubscriptionChange.Kind.EXPANSION:
        _move_if_allowed(subject, "expanded", moment_of(on), actor)
    return change


@transaction.atomic
def renew(
    subscription: Subscription, *, on: dt.date, subject: Contact | None = None, actor: User | None = None
) -> Transition | None:
    """The contract renews (MRR unchanged); the customer's journey records "renewed"."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.status != Subscription.Status.ACTIVE:
        raise SubscriptionError("not_active", "only an active subscription can renew")
    return _move_if_allowed(subject, "renewed", moment_of(on), actor)


@transaction.atomic
def churn(
    subscription: Subscription, *, on: dt.date, subject: Contact | None = None, actor: User | None = None
) -> SubscriptionChange:
    locked = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if locked.status != Subscription.Status.ACTIVE:
        raise SubscriptionError("not_active", "the subscription is not active")
    if on < locked.starts_on:
        raise SubscriptionError("bad_date", "a subscription cannot end before it starts")
    change = SubscriptionChange.objects.create(
        subscription=locked,
        kind=SubscriptionChange.Kind.CHURN,
        occurred_on=on,
        mrr_before=locked.mrr,
        mrr_after=0,
    )
    locked.status, locked.ends_on, locked.mrr = Subscription.Status.CHURNED, on, 0
    locked.save(update_fields=["status", "ends_on", "mrr"])
    _move_if_allowed(subject, "churned", moment_of(on), actor)
    return change


def record_nps(
    contact: Contact, score: int, *, comment: str = "", at: dt.datetime | None = None
) -> NpsResponse:
    """An NPS answer (0–10), also recorded as a survey-answer activity on the timeline."""
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
        raise SubscriptionError("bad_score", "an NPS score is a whole number from 0 to 10")
    at = at or timezone.now()
    with transaction.atomic():
        response = NpsResponse.objects.create(
            contact=contact, account_id=contact.account_id, score=score, comment=comment, answered_at=at
        )
        record_activity(contact, "survey_answer", at, source="nps", payload={"nps": score})
    return response


# --- expansion handed back to sales ----------------------------------------------------

EXPANSION_STAGE = "expansion"


def _expansion_subject(subscription: Subscription, stages: StageModel) -> Contact | None:
    """Whose journey carries the expansion: the person of the deal the subscription was won
    with, else the company's first person whose stage may move on to an expansion."""
    candidates: list[Contact] = []
    if subscription.deal_id and subscription.deal and subscription.deal.contact:
        candidates.append(subscription.deal.contact)
    candidates += list(
        Contact.objects.filter(account_id=subscription.account_id, milestone__isnull=False).order_by("id")[
            :50
        ]
    )
    milestones = {
        m.subject_id: m for m in Milestone.objects.filter(subject_id__in=[c.pk for c in candidates])
    }
    for contact in candidates:
        milestone = milestones.get(contact.pk)
        if milestone and EXPANSION_STAGE in stages.by_id[milestone.current_stage_id].exits:
            return contact
    return None


def hand_back_expansion(
    subscription: Subscription,
    *,
    by: User,
    note: str,
    amount: int,
    at: dt.datetime | None = None,
) -> ExpansionHandback:
    """Customer Success sees room to grow and hands it back to Field Sales: the customer's
    journey moves to "expansion", which opens a handoff to Field Sales (routed and timed like
    any other). When Field Sales accepts it, an expansion deal is opened (``open_expansion_deal``)."""
    from kyogyo.org import access

    if not access.can_change_subscription(by, subscription):
        raise SubscriptionError("forbidden", "only Customer Success or a manager can hand back an expansion")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise SubscriptionError(
            "bad_amount", "the amount must be a whole, non-negative number of minor units"
        )
    at = at or timezone.now()
    stages = rulebook.load_stage_model()
    if EXPANSION_STAGE not in stages.stages:
        raise SubscriptionError("no_expansion_stage", "the stage model has no expansion stage")
    with transaction.atomic():
        locked = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("deal__contact")
            .get(pk=subscription.pk)
        )
        if locked.status != Subscription.Status.ACTIVE:
            raise SubscriptionError("not_active", "only an active subscription can expand")
        if ExpansionHandback.objects.filter(
            subscription=locked, handoff__status=Handoff.Status.OPEN
        ).exists():
            raise SubscriptionError("expansion_open", "an expansion of this subscription already waits")
        subject = _expansion_subject(locked, stages)
        if subject is None:
            raise SubscriptionError("no_contact", "nobody of this company is in a stage that can expand")
        row = journey_actions.advance(
            subject, EXPANSION_STAGE, via=Transition.Via.USER, at=at, actor=by, note=note, stages=stages
        )
        return ExpansionHandback.objects.create(
            subscription=locked,
            handoff=row.handoff,
            amount=amount,
            currency=locked.currency,
            note=note,
            created_by=by,
            created_at=at,
        )


def open_expansion_deal(handback: ExpansionHandback) -> Deal:
    """Field Sales accepted the expansion: a deal for it, owned by whoever accepted, in the
    first open pipeline stage. It carries no person, so winning it does not send a paying
    customer back through "won"; Customer Success records the new MRR (an expansion)."""
    from kyogyo.deals.models import PipelineStage

    first_stage = PipelineStage.objects.filter(is_won=False, is_lost=False).order_by("order").first()
    if first_stage is None:
        raise SubscriptionError("no_pipeline", "no open pipeline stage is configured")
    handoff = handback.handoff
    subscription = handback.subscription
    deal = Deal.objects.create(
        name=f"Expansion: {subscription.account.name} — {subscription.plan}"[:200],
        account_id=subscription.account_id,
        contact=None,
        amount=handback.amount,
        currency=handback.currency,
        pipeline_stage=first_stage,
        created_at=handoff.acted_at or timezone.now(),
        owner_id=handoff.acted_by_id or handoff.assigned_to_id,
    )
    handback.deal = deal
    handback.save(update_fields=["deal"])
    return deal
