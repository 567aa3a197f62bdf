"""Deals through their life: qualified by Inside Sales (SQL, handed to Field Sales),
edited with optimistic locking, moved along the pipeline, won (handed to Customer
Success) or lost with a reason that decides where the person goes next."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.customers.models import Contact
from kyogyo.deals.actions import (
    DealConflict,
    DealError,
    lose_deal,
    move_deal,
    qualify,
    update_deal,
    win_deal,
)
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.handoffs.actions import accept_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import advance
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import Milestone, ReasonCode, Transition
from kyogyo.ops import invariants
from kyogyo.testing import T0

HOUR = dt.timedelta(hours=1)


def stage_of(contact: Contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def open_handoff_of(contact: Contact) -> Handoff:
    return Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)


def reason(kind: str, key: str) -> ReasonCode:
    return ReasonCode.objects.get(kind=kind, key=key)


def pipeline(key: str) -> PipelineStage:
    return PipelineStage.objects.get(key=key)


def snapshot() -> tuple:
    return (
        Transition.objects.count(),
        Handoff.objects.count(),
        list(Handoff.objects.order_by("pk").values_list("pk", "status")),
        list(Deal.objects.order_by("pk").values()),
        list(Milestone.objects.order_by("pk").values()),
    )


def to_sal(contact: Contact, people, at: dt.datetime = T0) -> None:
    """lead → mql (the marketer) → sal (Inside Sales accepts)."""
    advance(contact, "mql", actor=people.marketer, at=at)
    accept_handoff(open_handoff_of(contact), actor=people.is_rep, at=at + HOUR)


def to_opportunity(contact: Contact, people, amount: int = 1_200_000) -> Deal:
    """… → sql with a deal → opportunity (Field Sales accepts)."""
    to_sal(contact, people)
    deal = qualify(contact, actor=people.is_rep, name="Pilot", amount=amount, at=T0 + 2 * HOUR)
    handoff = open_handoff_of(contact)
    accept_handoff(handoff, actor=handoff.assigned_to, at=T0 + 3 * HOUR)
    return Deal.objects.get(pk=deal.pk)


@pytest.fixture(autouse=True)
def _invariants_hold_afterwards(db):
    yield
    report = invariants.check()
    assert report.ok, report.violations


# ------------------------------------------------------------------ qualify


def test_qualify_needs_an_account(make_contact, people):
    contact = make_contact(account=False)
    advance(contact, "mql", actor=people.marketer, at=T0)
    accept_handoff(open_handoff_of(contact), actor=people.is_rep, at=T0 + HOUR)
    before = snapshot()
    with pytest.raises(DealError) as caught:
        qualify(contact, actor=people.is_rep, name="Pilot", amount=100, at=T0 + 2 * HOUR)
    assert caught.value.code == "no_account"
    assert "company" in str(caught.value)
    assert snapshot() == before
    assert stage_of(contact) == "sal"


def test_qualify_makes_an_sql_and_opens_a_deal_owned_by_the_routed_field_rep(make_contact, people):
    first, second = make_contact(), make_contact()
    to_sal(first, people)
    to_sal(second, people)

    deal = qualify(
        first,
        actor=people.is_rep,
        name="Pilot 2026",
        amount=1_200_000,
        expected_close=dt.date(2026, 6, 30),
        at=T0 + 2 * HOUR,
        note="budget confirmed",
    )
    other = qualify(second, actor=people.is_rep2, name="Rollout", amount=5, at=T0 + 2 * HOUR)

    assert stage_of(first) == "sql" and stage_of(second) == "sql"
    row = Transition.objects.get(subject=first, to_stage__key="sql")
    assert (row.via, row.actor, row.at, row.note) == (
        Transition.Via.USER,
        people.is_rep,
        T0 + 2 * HOUR,
        "budget confirmed",
    )
    handoff = open_handoff_of(first)
    assert handoff.transition == row
    assert handoff.to_team == people.fs_rep.team
    assert deal.owner == handoff.assigned_to
    assert other.owner == open_handoff_of(second).assigned_to
    # Round-robin over the field-sales team: both reps get one.
    assert {deal.owner, other.owner} == {people.fs_rep, people.fs_rep2}

    deal = Deal.objects.get(pk=deal.pk)
    assert (deal.name, deal.amount, deal.currency, deal.status) == (
        "Pilot 2026",
        1_200_000,
        "JPY",
        Deal.Status.OPEN,
    )
    assert deal.account_id == first.account_id and deal.contact_id == first.pk
    assert deal.pipeline_stage.key == "discovery"
    assert (deal.created_at, deal.expected_close, deal.version) == (
        T0 + 2 * HOUR,
        dt.date(2026, 6, 30),
        1,
    )


def test_qualify_outside_sal_is_refused_and_opens_no_deal(make_contact, people):
    contact = make_contact()  # a lead
    before = snapshot()
    with pytest.raises(JourneyError) as caught:
        qualify(contact, actor=people.is_rep, name="Too early", amount=1, at=T0)
    assert caught.value.code == "move_not_allowed"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        (-1, "JPY", "bad_amount"),
        (1000.0, "JPY", "bad_amount"),
        (12.5, "JPY", "bad_amount"),
        (True, "JPY", "bad_amount"),
        ("1000", "JPY", "bad_amount"),
        (None, "JPY", "bad_amount"),
        (1000, "jpy", "bad_currency"),
        (1000, "JP", "bad_currency"),
        (1000, "JPYY", "bad_currency"),
        (1000, "J1Y", "bad_currency"),
        (1000, None, "bad_currency"),
    ],
)
def test_qualify_refuses_bad_money_and_writes_nothing(make_contact, people, amount, currency, code):
    contact = make_contact()
    to_sal(contact, people)
    before = snapshot()
    with pytest.raises(DealError) as caught:
        qualify(contact, actor=people.is_rep, name="X", amount=amount, currency=currency, at=T0 + HOUR)
    assert caught.value.code == code
    assert snapshot() == before
    assert stage_of(contact) == "sal"


@pytest.mark.parametrize("name", ["", "x" * 201])
def test_qualify_refuses_a_bad_name(make_contact, people, name):
    contact = make_contact()
    to_sal(contact, people)
    before = snapshot()
    with pytest.raises(DealError) as caught:
        qualify(contact, actor=people.is_rep, name=name, amount=1, at=T0 + 2 * HOUR)
    assert caught.value.code == "bad_name"
    assert snapshot() == before


# ------------------------------------------------------------------ update_deal


def test_update_deal_with_a_stale_version_raises_a_conflict_and_changes_nothing(make_contact, people):
    deal = to_opportunity(make_contact(), people)
    stale = Deal.objects.get(pk=deal.pk)
    assert stale.version == 1

    saved = update_deal(deal, expected_version=1, amount=2_000_000, probability=40)
    assert (saved.version, saved.amount, saved.probability) == (2, 2_000_000, 40)

    before = snapshot()
    with pytest.raises(DealConflict) as caught:
        update_deal(stale, expected_version=stale.version, amount=1, name="Overwritten")
    assert caught.value.code == "conflict"
    assert "version 2" in str(caught.value)
    current = caught.value.current
    assert (current.pk, current.version, current.amount, current.name) == (
        deal.pk,
        2,
        2_000_000,
        "Pilot",
    )
    assert snapshot() == before

    # Re-applied on the current version it goes through.
    again = update_deal(stale, expected_version=current.version, name="Pilot (revised)")
    assert (again.version, again.name, again.amount) == (3, "Pilot (revised)", 2_000_000)


def test_update_deal_refuses_unknown_fields_and_bad_values(make_contact, people):
    deal = to_opportunity(make_contact(), people)
    before = snapshot()
    with pytest.raises(DealError) as caught:
        update_deal(deal, status="won")
    assert caught.value.code == "unknown_field"
    with pytest.raises(DealError) as caught:
        update_deal(deal, amount=-5)
    assert caught.value.code == "bad_amount"
    with pytest.raises(DealError) as caught:
        update_deal(deal, currency="usd")
    assert caught.value.code == "bad_currency"
    with pytest.raises(DealError) as caught:
        update_deal(deal, name="")
    assert caught.value.code == "invalid"
    assert snapshot() == before


def test_update_deal_refuses_a_probability_above_100(make_contact, people):
    deal = to_opportunity(make_contact(), people)
    with pytest.raises(DealError):
        update_deal(deal, probability=150)
    assert Deal.objects.get(pk=deal.pk).probability is None


# ------------------------------------------------------------------ move_deal


def test_move_deal_moves_along_open_stages_and_refuses_closed_ones(make_contact, people):
    deal = to_opportunity(make_contact(), people)
    moved = move_deal(deal, pipeline("proposal"), actor=deal.owner, expected_version=1)
    assert (moved.pipeline_stage.key, moved.version) == ("proposal", 2)
    assert moved.effective_probability == 50
    assert moved.weighted_amount == 600_000

    before = snapshot()
    for closed in ("closed_won", "closed_lost"):
        with pytest.raises(DealError) as caught:
            move_deal(moved, pipeline(closed), actor=deal.owner)
        assert caught.value.code == "use_win_or_lose"
    with pytest.raises(DealConflict):
        move_deal(deal, pipeline("negotiation"), expected_version=1)
    assert snapshot() == before


def test_move_deal_refuses_a_closed_deal(make_contact, people):
    deal = to_opportunity(make_contact(), people)
    win_deal(deal, actor=deal.owner, at=T0 + 4 * HOUR)
    before = snapshot()
    with pytest.raises(DealError) as caught:
        move_deal(deal, pipeline("proposal"))
    assert caught.value.code == "closed"
    assert snapshot() == before


# ------------------------------------------------------------------ win_deal


def test_win_deal_moves_the_journey_to_won_and_hands_to_customer_success(make_contact, people):
    contact = make_contact()
    deal = to_opportunity(contact, people)
    assert stage_of(contact) == "opportunity"

    won = win_deal(deal, actor=deal.owner, at=T0 + 5 * HOUR, expected_version=1)

    assert (won.status, won.closed_at, won.pipeline_stage.key, won.version) == (
        Deal.Status.WON,
        T0 + 5 * HOUR,
        "closed_won",
        2,
    )
    assert stage_of(contact) == "won"
    row = Transition.objects.get(subject=contact, to_stage__key="won")
    assert (row.from_stage.key, row.at, row.actor) == ("opportunity", T0 + 5 * HOUR, deal.owner)
    handoff = open_handoff_of(contact)
    assert handoff.transition == row
    assert handoff.to_team == people.csm.team
    assert handoff.assigned_to == people.csm

    before = snapshot()
    with pytest.raises(DealError) as caught:
        win_deal(won, actor=deal.owner, at=T0 + 6 * HOUR)
    assert caught.value.code == "closed"
    assert snapshot() == before

    accept_handoff(handoff, actor=people.csm, at=T0 + 6 * HOUR)
    assert stage_of(contact) == "onboarding"


def test_win_deal_before_field_sales_accepted_is_refused(make_contact, people):
    contact = make_contact()
    to_sal(contact, people)
    deal = qualify(contact, actor=people.is_rep, name="Pilot", amount=1, at=T0 + 2 * HOUR)
    before = snapshot()
    with pytest.raises(JourneyError) as caught:
        win_deal(deal, actor=people.fs_rep, at=T0 + 3 * HOUR)
    assert caught.value.code == "handoff_open"
    assert snapshot() == before
    assert Deal.objects.get(pk=deal.pk).status == Deal.Status.OPEN


# ------------------------------------------------------------------ lose_deal


@pytest.mark.parametrize(
    ("key", "stage"),
    [
        ("no_decision", "nurture"),
        ("price", "nurture"),
        ("competitor_chosen", "nurture"),
        ("no_fit", "disqualified"),
    ],
)
def test_lose_deal_records_the_reason_and_moves_the_person(make_contact, people, key, stage):
    contact = make_contact()
    deal = to_opportunity(contact, people)
    loss = reason("loss", key)

    lost = lose_deal(deal, actor=deal.owner, reason=loss, at=T0 + 5 * HOUR, note="went quiet")

    assert (lost.status, lost.closed_at, lost.pipeline_stage.key, lost.loss_reason) == (
        Deal.Status.LOST,
        T0 + 5 * HOUR,
        "closed_lost",
        loss,
    )
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.status, stored.loss_reason_id, stored.version) == (Deal.Status.LOST, loss.pk, 2)
    assert stage_of(contact) == stage
    row = Transition.objects.filter(subject=contact).order_by("-seq").first()
    assert (row.from_stage.key, row.to_stage.key, row.reason, row.note, row.actor) == (
        "opportunity",
        stage,
        loss,
        "went quiet",
        deal.owner,
    )
    assert not Handoff.objects.filter(subject=contact, status=Handoff.Status.OPEN).exists()


@pytest.mark.parametrize(("kind", "key"), [("reject", "not_a_fit"), ("disqualify", "competitor")])
def test_lose_deal_refuses_a_reason_that_is_not_a_loss_reason(make_contact, people, kind, key):
    contact = make_contact()
    deal = to_opportunity(contact, people)
    before = snapshot()
    with pytest.raises(DealError) as caught:
        lose_deal(deal, actor=deal.owner, reason=reason(kind, key), at=T0 + 5 * HOUR)
    assert caught.value.code == "bad_reason"
    assert key in str(caught.value)
    assert snapshot() == before
    assert stage_of(contact) == "opportunity"


def test_a_lost_deal_cannot_be_won_or_lost_again(make_contact, people):
    deal = to_opportunity(make_contact(), people)
    lose_deal(deal, actor=deal.owner, reason=reason("loss", "timing"), at=T0 + 5 * HOUR)
    before = snapshot()
    with pytest.raises(DealError) as caught:
        win_deal(deal, actor=deal.owner, at=T0 + 6 * HOUR)
    assert caught.value.code == "closed"
    with pytest.raises(DealError) as caught:
        lose_deal(deal, actor=deal.owner, reason=reason("loss", "price"), at=T0 + 6 * HOUR)
    assert caught.value.code == "closed"
    assert snapshot() == before


def test_a_deal_can_still_be_lost_after_its_person_left_the_opportunity_stage(make_contact, people):
    contact = make_contact()
    deal = to_opportunity(contact, people)
    advance(contact, "nurture", actor=deal.owner, at=T0 + 4 * HOUR)

    lost = lose_deal(deal, actor=deal.owner, reason=reason("loss", "no_decision"), at=T0 + 5 * HOUR)

    assert lost.status == Deal.Status.LOST
    assert lost.loss_reason.key == "no_decision"
    assert stage_of(contact) == "nurture"
