"""Events raised by the real actions (advance, handoffs, deals, churn, the SLA check)
become deliveries in the action's transaction — and only if it commits."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction

from kyogyo.deals.actions import lose_deal, qualify, win_deal
from kyogyo.handoffs.actions import accept_handoff, mark_breaches, reject_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import advance
from kyogyo.journey.models import ReasonCode
from kyogyo.success.actions import churn, start_subscription
from kyogyo.testing import T0
from kyogyo.webhooks.actions import create_endpoint
from kyogyo.webhooks.models import Delivery

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def hook(db):
    return create_endpoint(
        "https://hooks.example.com/in",
        ["*"],
        secret="s3cret-s3cret-s3cret",
        resolver=lambda h, p: ["8.8.8.8"],
    )


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what the actions leave for after commit, as a real commit would."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def sent(event_type: str | None = None) -> list[dict]:
    rows = Delivery.objects.order_by("pk")
    if event_type:
        rows = rows.filter(event_type=event_type)
    return [json.loads(d.body) for d in rows]


def types() -> list[str]:
    return [d["type"] for d in sent()]


def open_handoff_of(contact) -> Handoff:
    return Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)


def test_a_stage_change_and_the_handoff_it_opens_are_events(hook, committed, make_contact, people):
    contact = make_contact()
    Delivery.objects.all().delete()

    committed(advance, contact, "mql", actor=people.marketer, at=T0)

    assert sorted(types()) == ["handoff.created", "stage.changed"]
    [moved] = sent("stage.changed")
    assert moved["data"] == {
        "transition_id": moved["data"]["transition_id"],
        "subject_id": contact.pk,
        "email": contact.email,
        "account_id": contact.account_id,
        "from_stage": "lead",
        "to_stage": "mql",
        "at": utc(T0),
        "via": "user",
        "actor": "marketer",
        "reason": None,
        "is_reentry": False,
    }
    [created] = sent("handoff.created")
    assert (created["data"]["stage"], created["data"]["to_team"], created["data"]["status"]) == (
        "mql",
        "inside_sales",
        "open",
    )
    assert {d.endpoint_id for d in Delivery.objects.all()} == {hook.pk}
    assert all(d.status == "pending" and d.attempts == 0 for d in Delivery.objects.all())


def test_accepting_and_rejecting_handoffs_are_events(hook, committed, make_contact, people):
    taken, refused = make_contact(), make_contact()
    advance(taken, "mql", actor=people.marketer, at=T0)
    advance(refused, "mql", actor=people.marketer, at=T0)
    Delivery.objects.all().delete()

    committed(accept_handoff, open_handoff_of(taken), actor=people.is_rep, at=T0 + HOUR)
    reason = ReasonCode.objects.get(kind="reject", key="no_budget")
    committed(reject_handoff, open_handoff_of(refused), actor=people.is_rep, reason=reason, at=T0 + HOUR)

    assert types() == ["stage.changed", "handoff.accepted", "stage.changed", "handoff.rejected"]
    accepted, rejected = sent("handoff.accepted")[0]["data"], sent("handoff.rejected")[0]["data"]
    assert (accepted["subject_id"], accepted["status"], accepted["acted_by"]) == (
        taken.pk,
        "accepted",
        "is_rep",
    )
    assert (rejected["subject_id"], rejected["status"], rejected["reason"]) == (
        refused.pk,
        "rejected",
        "no_budget",
    )
    assert sent("stage.changed")[1]["data"]["to_stage"] == "nurture"


def test_breaches_marked_by_the_sla_check_are_one_event_per_handoff(hook, committed, make_contact, people):
    first, second = make_contact(), make_contact()
    advance(first, "mql", actor=people.marketer, at=T0)
    advance(second, "mql", actor=people.marketer, at=T0)
    Delivery.objects.all().delete()

    assert committed(mark_breaches, T0 + dt.timedelta(days=30)) == 2

    breached = sent("handoff.breached")
    assert sorted(b["data"]["subject_id"] for b in breached) == sorted([first.pk, second.pk])
    assert all(b["data"]["breached_at"] for b in breached)
    assert len({b["id"] for b in breached}) == 2


def to_opportunity(contact, people):
    advance(contact, "mql", actor=people.marketer, at=T0)
    accept_handoff(open_handoff_of(contact), actor=people.is_rep, at=T0 + HOUR)
    deal = qualify(contact, actor=people.is_rep, name="Pilot", amount=1_200_000, at=T0 + 2 * HOUR)
    accept_handoff(open_handoff_of(contact), actor=deal.owner, at=T0 + 3 * HOUR)
    return deal


def test_winning_a_deal_and_churning_are_events(hook, committed, make_contact, people):
    contact = make_contact()
    deal = to_opportunity(contact, people)
    Delivery.objects.all().delete()

    committed(win_deal, deal, actor=deal.owner, at=T0 + 4 * HOUR)

    assert "deal.won" in types() and "stage.changed" in types()
    [won] = sent("deal.won")
    assert (
        won["data"]["deal_id"],
        won["data"]["status"],
        won["data"]["amount"],
        won["data"]["currency"],
    ) == (
        deal.pk,
        "won",
        1_200_000,
        "JPY",
    )
    assert won["data"]["closed_at"] == utc(T0 + 4 * HOUR)

    accept_handoff(open_handoff_of(contact), actor=people.csm, at=T0 + 5 * HOUR)
    advance(contact, "active", actor=people.csm, at=T0 + 6 * HOUR)
    subscription = start_subscription(contact.account, plan="Pro", mrr=50_000, starts_on=dt.date(2026, 5, 1))
    Delivery.objects.all().delete()
    committed(churn, subscription, on=dt.date(2026, 9, 30), subject=contact, actor=people.csm)

    assert sorted(types()) == ["stage.changed", "subscription.churned"]
    [left] = sent("subscription.churned")
    assert left["data"] == {
        "subscription_id": subscription.pk,
        "account_id": contact.account_id,
        "plan": "Pro",
        "currency": "JPY",
        "mrr_before": 50_000,
        "churned_on": "2026-09-30",
    }


def test_losing_a_deal_is_an_event(hook, committed, make_contact, people):
    deal = to_opportunity(make_contact(), people)
    Delivery.objects.all().delete()
    reason = ReasonCode.objects.get(kind="loss", key="price")

    committed(lose_deal, deal, actor=deal.owner, reason=reason, at=T0 + 4 * HOUR)

    [lost] = sent("deal.lost")
    assert (lost["data"]["deal_id"], lost["data"]["loss_reason"]) == (deal.pk, "price")


def test_an_action_that_rolls_back_raises_no_event(hook, committed, make_contact, people):
    contact = make_contact()
    deal = to_opportunity(contact, people)
    Delivery.objects.all().delete()

    def win_then_fail():
        with transaction.atomic():
            win_deal(deal, actor=deal.owner, at=T0 + 4 * HOUR)
            raise RuntimeError("something later in the same transaction failed")

    with pytest.raises(RuntimeError):
        committed(win_then_fail)
    assert types() == []


def test_only_subscribed_endpoints_get_events_and_without_endpoints_nothing_is_written(
    committed, make_contact, people
):
    contact = make_contact()
    committed(advance, contact, "mql", actor=people.marketer, at=T0)
    assert not Delivery.objects.exists()

    deals_only = create_endpoint("https://crm.example.com/", ["deal.won"], resolver=lambda h, p: ["8.8.8.8"])
    deal = to_opportunity(make_contact(), people)
    committed(win_deal, deal, actor=deal.owner, at=T0 + 4 * HOUR)
    assert types() == ["deal.won"]
    assert Delivery.objects.get().endpoint == deals_only


def test_a_failure_while_recording_an_event_never_reaches_the_action(hook, caplog):
    from kyogyo.journey.models import Transition
    from kyogyo.journey.signals import stage_changed

    # a transition that is gone by the time the receiver reads it
    stage_changed.send(sender=Transition, transition=Transition(pk=987654))

    assert not Delivery.objects.exists()
    assert "could not record the stage.changed webhook event" in caplog.text
