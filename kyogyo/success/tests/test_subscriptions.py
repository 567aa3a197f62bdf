"""Subscriptions and their MRR history; the customer's journey moving with expansions,
renewals and churn; NPS answers recorded as answers and as timeline activities."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.customers.models import Account, Contact
from kyogyo.deals.actions import qualify, win_deal
from kyogyo.handoffs.actions import accept_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import advance
from kyogyo.journey.models import Milestone, Transition
from kyogyo.marketing.models import Activity
from kyogyo.ops import invariants
from kyogyo.success.actions import (
    SubscriptionError,
    change_mrr,
    churn,
    moment_of,
    record_nps,
    renew,
    start_subscription,
)
from kyogyo.success.models import NpsResponse, Subscription, SubscriptionChange
from kyogyo.testing import T0, TOKYO

HOUR = dt.timedelta(hours=1)
START = dt.date(2026, 4, 10)


@pytest.fixture(autouse=True)
def _invariants_hold_afterwards(db):
    yield
    report = invariants.check()
    assert report.ok, report.violations


def stage_of(contact: Contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def open_handoff_of(contact: Contact) -> Handoff:
    return Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)


def changes(subscription: Subscription) -> list[tuple]:
    return [
        (c.kind, c.occurred_on, c.mrr_before, c.mrr_after, c.delta)
        for c in SubscriptionChange.objects.filter(subscription=subscription)
    ]


def fresh(subscription: Subscription) -> Subscription:
    return Subscription.objects.get(pk=subscription.pk)


def snapshot() -> tuple:
    return (
        list(Subscription.objects.order_by("pk").values()),
        list(SubscriptionChange.objects.order_by("pk").values()),
        Transition.objects.count(),
        list(Milestone.objects.order_by("pk").values()),
        NpsResponse.objects.count(),
        Activity.objects.count(),
    )


@pytest.fixture
def customer(make_contact, people) -> Contact:
    """A person walked through the real actions to ``active`` (a live customer)."""
    contact = make_contact()
    advance(contact, "mql", actor=people.marketer, at=T0)
    accept_handoff(open_handoff_of(contact), actor=people.is_rep, at=T0 + HOUR)
    deal = qualify(contact, actor=people.is_rep, name="Pilot", amount=1_000_000, at=T0 + 2 * HOUR)
    accept_handoff(open_handoff_of(contact), actor=deal.owner, at=T0 + 3 * HOUR)
    win_deal(deal, actor=deal.owner, at=T0 + 4 * HOUR)
    accept_handoff(open_handoff_of(contact), actor=people.csm, at=T0 + 5 * HOUR)
    advance(contact, "active", actor=people.csm, at=T0 + 6 * HOUR)
    assert stage_of(contact) == "active"
    return Contact.objects.select_related("account").get(pk=contact.pk)


# ------------------------------------------------------------------ start


def test_start_subscription_records_a_new_change_and_makes_the_company_a_customer(make_contact):
    contact = make_contact()
    account = contact.account
    assert account.kind == Account.Kind.PROSPECT

    sub = start_subscription(account, plan="Pro", mrr=50_000, starts_on=START)

    sub = fresh(sub)
    assert (sub.plan, sub.mrr, sub.currency, sub.status, sub.starts_on, sub.ends_on) == (
        "Pro",
        50_000,
        "JPY",
        Subscription.Status.ACTIVE,
        START,
        None,
    )
    assert changes(sub) == [("new", START, 0, 50_000, 50_000)]
    assert Account.objects.get(pk=account.pk).kind == Account.Kind.CUSTOMER


def test_a_second_subscription_of_a_live_customer_is_new(make_contact):
    account = make_contact().account
    start_subscription(account, plan="Pro", mrr=50_000, starts_on=START)
    addon = start_subscription(account, plan="Add-on", mrr=5_000, starts_on=START)
    assert [c[0] for c in changes(addon)] == ["new"]


def test_a_subscription_after_churn_is_a_reactivation(make_contact):
    account = make_contact().account
    first = start_subscription(account, plan="Pro", mrr=50_000, starts_on=START)
    churn(first, on=dt.date(2026, 6, 30))

    back = start_subscription(account, plan="Pro", mrr=40_000, starts_on=dt.date(2026, 9, 1))

    assert changes(back) == [("reactivation", dt.date(2026, 9, 1), 0, 40_000, 40_000)]
    other = make_contact().account
    assert [c[0] for c in changes(start_subscription(other, plan="Pro", mrr=1, starts_on=START))] == ["new"]


def test_a_new_subscription_while_another_is_still_active_is_not_a_reactivation(make_contact):
    account = make_contact().account
    main = start_subscription(account, plan="Pro", mrr=50_000, starts_on=START)
    addon = start_subscription(account, plan="Add-on", mrr=5_000, starts_on=START)
    churn(addon, on=dt.date(2026, 6, 30))  # the company never left: "Pro" is still paid
    assert fresh(main).status == Subscription.Status.ACTIVE

    other = start_subscription(account, plan="Add-on 2", mrr=8_000, starts_on=dt.date(2026, 7, 1))

    assert [c[0] for c in changes(other)] == ["new"]


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"mrr": -1}, "bad_mrr"),
        ({"mrr": 10.5}, "bad_mrr"),
        ({"mrr": 1000.0}, "bad_mrr"),
        ({"mrr": True}, "bad_mrr"),
        ({"mrr": "1000"}, "bad_mrr"),
        ({"plan": ""}, "bad_plan"),
    ],
)
def test_start_subscription_refuses_bad_input_and_writes_nothing(make_contact, values, code):
    account = make_contact().account
    before = snapshot()
    with pytest.raises(SubscriptionError) as caught:
        start_subscription(account, **{"plan": "Pro", "mrr": 1000, "starts_on": START, **values})
    assert caught.value.code == code
    assert snapshot() == before
    assert Account.objects.get(pk=account.pk).kind == Account.Kind.PROSPECT


# ------------------------------------------------------------------ change_mrr


def test_change_mrr_records_expansions_and_contractions_with_their_deltas(make_contact):
    sub = start_subscription(make_contact().account, plan="Pro", mrr=50_000, starts_on=START)

    up = change_mrr(sub, 80_000, on=dt.date(2026, 5, 1))
    down = change_mrr(sub, 60_000, on=dt.date(2026, 6, 1))

    assert (up.kind, up.mrr_before, up.mrr_after, up.delta) == ("expansion", 50_000, 80_000, 30_000)
    assert (down.kind, down.mrr_before, down.mrr_after, down.delta) == (
        "contraction",
        80_000,
        60_000,
        -20_000,
    )
    assert fresh(sub).mrr == 60_000
    assert changes(sub) == [
        ("new", START, 0, 50_000, 50_000),
        ("expansion", dt.date(2026, 5, 1), 50_000, 80_000, 30_000),
        ("contraction", dt.date(2026, 6, 1), 80_000, 60_000, -20_000),
    ]
    # The history adds up to the current MRR.
    assert sum(c[4] for c in changes(sub)) == fresh(sub).mrr


def test_an_expansion_moves_an_active_customer_to_expanded(customer, people):
    sub = start_subscription(customer.account, plan="Pro", mrr=50_000, starts_on=START)

    change_mrr(sub, 70_000, on=dt.date(2026, 5, 1), subject=customer, actor=people.csm)

    assert stage_of(customer) == "expanded"
    row = Transition.objects.filter(subject=customer).order_by("-seq").first()
    assert (row.from_stage.key, row.to_stage.key, row.via, row.actor, row.at) == (
        "active",
        "expanded",
        Transition.Via.USER,
        people.csm,
        dt.datetime(2026, 5, 1, 12, 0, tzinfo=TOKYO),
    )

    # A contraction does not move the journey; a further expansion from expanded neither
    # (expanded → expanded is no move).
    transitions = Transition.objects.count()
    change_mrr(sub, 65_000, on=dt.date(2026, 5, 15), subject=customer, actor=people.csm)
    change_mrr(sub, 90_000, on=dt.date(2026, 5, 20), subject=customer)
    assert Transition.objects.count() == transitions
    assert stage_of(customer) == "expanded"


def test_an_expansion_without_an_actor_is_recorded_as_a_system_move(customer):
    sub = start_subscription(customer.account, plan="Pro", mrr=50_000, starts_on=START)
    change_mrr(sub, 70_000, on=dt.date(2026, 5, 1), subject=customer)
    row = Transition.objects.filter(subject=customer).order_by("-seq").first()
    assert (row.to_stage.key, row.via, row.actor) == ("expanded", Transition.Via.SYSTEM, None)


def test_an_expansion_during_onboarding_leaves_the_journey_alone(make_contact, people, customer):
    # ``customer`` is active; walk a second person only to onboarding via the same steps.
    contact = make_contact()
    advance(contact, "mql", actor=people.marketer, at=T0)
    accept_handoff(open_handoff_of(contact), actor=people.is_rep, at=T0 + HOUR)
    deal = qualify(contact, actor=people.is_rep, name="P", amount=1, at=T0 + 2 * HOUR)
    accept_handoff(open_handoff_of(contact), actor=deal.owner, at=T0 + 3 * HOUR)
    win_deal(deal, actor=deal.owner, at=T0 + 4 * HOUR)
    accept_handoff(open_handoff_of(contact), actor=people.csm, at=T0 + 5 * HOUR)
    assert stage_of(contact) == "onboarding"

    sub = start_subscription(contact.account, plan="Pro", mrr=50_000, starts_on=START)
    transitions = Transition.objects.count()
    change = change_mrr(sub, 70_000, on=dt.date(2026, 5, 1), subject=contact, actor=people.csm)
    assert change.kind == "expansion"
    assert stage_of(contact) == "onboarding"
    assert Transition.objects.count() == transitions


@pytest.mark.parametrize(
    ("mrr", "code"),
    [
        (0, "use_churn"),
        (50_000, "no_change"),
        (-10, "bad_mrr"),
        (55_000.0, "bad_mrr"),
        (False, "bad_mrr"),
    ],
)
def test_change_mrr_refuses_bad_amounts_and_writes_nothing(make_contact, mrr, code):
    sub = start_subscription(make_contact().account, plan="Pro", mrr=50_000, starts_on=START)
    before = snapshot()
    with pytest.raises(SubscriptionError) as caught:
        change_mrr(sub, mrr, on=dt.date(2026, 5, 1))
    assert caught.value.code == code
    assert snapshot() == before


# ------------------------------------------------------------------ renew


def test_renew_records_renewed_on_the_journey_and_keeps_the_mrr(customer, people):
    sub = start_subscription(customer.account, plan="Pro", mrr=50_000, starts_on=START)
    row = renew(sub, on=dt.date(2027, 4, 10), subject=customer, actor=people.csm)
    assert row is not None
    assert (row.from_stage.key, row.to_stage.key, row.at) == (
        "active",
        "renewed",
        moment_of(dt.date(2027, 4, 10)),
    )
    assert stage_of(customer) == "renewed"
    assert fresh(sub).mrr == 50_000
    assert [c[0] for c in changes(sub)] == ["new"]


# ------------------------------------------------------------------ churn


def test_churn_ends_the_subscription_and_moves_the_customer_to_churned(customer, people):
    sub = start_subscription(customer.account, plan="Pro", mrr=50_000, starts_on=START)
    change_mrr(sub, 70_000, on=dt.date(2026, 5, 1), subject=customer, actor=people.csm)

    change = churn(sub, on=dt.date(2026, 8, 31), subject=customer, actor=people.csm)

    assert (change.kind, change.mrr_before, change.mrr_after, change.delta) == (
        "churn",
        70_000,
        0,
        -70_000,
    )
    stored = fresh(sub)
    assert (stored.status, stored.ends_on, stored.mrr) == (
        Subscription.Status.CHURNED,
        dt.date(2026, 8, 31),
        0,
    )
    assert stage_of(customer) == "churned"
    row = Transition.objects.filter(subject=customer).order_by("-seq").first()
    assert (row.from_stage.key, row.at) == ("expanded", moment_of(dt.date(2026, 8, 31)))
    assert sum(c[4] for c in changes(sub)) == 0


def test_churn_before_the_start_is_refused(make_contact):
    sub = start_subscription(make_contact().account, plan="Pro", mrr=50_000, starts_on=START)
    before = snapshot()
    with pytest.raises(SubscriptionError) as caught:
        churn(sub, on=START - dt.timedelta(days=1))
    assert caught.value.code == "bad_date"
    assert snapshot() == before


def test_a_churned_subscription_cannot_change_renew_or_churn_again(customer, people):
    sub = start_subscription(customer.account, plan="Pro", mrr=50_000, starts_on=START)
    churn(sub, on=dt.date(2026, 8, 31), subject=customer, actor=people.csm)
    sub = fresh(sub)
    before = snapshot()
    for act in (
        lambda: change_mrr(sub, 60_000, on=dt.date(2026, 9, 1), subject=customer),
        lambda: churn(sub, on=dt.date(2026, 9, 1), subject=customer),
        lambda: renew(sub, on=dt.date(2026, 9, 1), subject=customer),
    ):
        with pytest.raises(SubscriptionError) as caught:
            act()
        assert caught.value.code == "not_active"
    assert snapshot() == before


def test_renew_refuses_a_subscription_churned_since_it_was_read(make_contact):
    sub = start_subscription(make_contact().account, plan="Pro", mrr=50_000, starts_on=START)
    churn(Subscription.objects.get(pk=sub.pk), on=dt.date(2026, 8, 31))
    assert sub.status == Subscription.Status.ACTIVE  # the caller's copy is stale
    with pytest.raises(SubscriptionError) as caught:
        renew(sub, on=dt.date(2026, 9, 1))
    assert caught.value.code == "not_active"


# ------------------------------------------------------------------ NPS


@pytest.mark.parametrize("score", [11, -1, 3.5, True, "9", None])
def test_record_nps_rejects_scores_outside_0_to_10(make_contact, score):
    contact = make_contact()
    before = snapshot()
    with pytest.raises(SubscriptionError) as caught:
        record_nps(contact, score, at=T0)
    assert caught.value.code == "bad_score"
    assert snapshot() == before


@pytest.mark.parametrize(("score", "category"), [(0, "detractor"), (7, "passive"), (10, "promoter")])
def test_record_nps_stores_the_answer_and_a_survey_activity(make_contact, score, category):
    contact = make_contact()
    at = T0 + dt.timedelta(days=3)

    response = record_nps(contact, score, comment="すばらしい", at=at)

    stored = NpsResponse.objects.get(pk=response.pk)
    assert (stored.contact_id, stored.account_id, stored.score, stored.comment, stored.answered_at) == (
        contact.pk,
        contact.account_id,
        score,
        "すばらしい",
        at,
    )
    assert stored.category == category
    activity = Activity.objects.get(contact=contact)
    assert (activity.type, activity.occurred_at, activity.source, activity.payload) == (
        "survey_answer",
        at,
        "nps",
        {"nps": score},
    )
    refreshed = Contact.objects.get(pk=contact.pk)
    assert refreshed.last_activity_at == at
    assert refreshed.engagement_score == pytest.approx(2.0)  # survey_answer weight


def test_record_nps_with_a_bad_time_writes_neither_row(make_contact):
    contact = make_contact()
    before = snapshot()
    with pytest.raises(ValueError):
        record_nps(contact, 9, at=dt.datetime(2999, 1, 1, tzinfo=TOKYO))
    assert snapshot() == before
