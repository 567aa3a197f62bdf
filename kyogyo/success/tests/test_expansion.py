"""Expansion handed back to sales, end to end: a CSM hands it back from the subscription page,
the handoff lands in Field Sales' queue like any other, Field Sales accepts it on their home
page and an expansion deal is open; refusals and rejects."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kyogyo.deals.models import Deal
from kyogyo.handoffs.actions import accept_handoff, reject_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import Milestone, ReasonCode
from kyogyo.success.actions import SubscriptionError, hand_back_expansion, start_subscription
from kyogyo.success.models import ExpansionHandback

PATH = ["mql", "sal", "sql", "opportunity", "won", "onboarding", "active"]


@pytest.fixture
def customer(people, make_contact, walk):
    start = timezone.now() - dt.timedelta(days=60)
    contact = make_contact(at=start, first_name="Keiko", last_name="Mori")
    walk(contact, [(stage, start + dt.timedelta(hours=i)) for i, stage in enumerate(PATH)])
    subscription = start_subscription(contact.account, plan="Pro", mrr=100_000, starts_on=start.date())
    return contact, subscription


def stage_of(contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def test_csm_hands_back_field_sales_accepts_and_a_deal_is_open(client, people, customer):
    contact, subscription = customer
    client.force_login(people.csm)
    response = client.post(
        reverse("success:hand_back", args=[subscription.pk]),
        {"expansion-amount": "600000", "expansion-note": "Wants 20 more seats"},
    )
    assert response.status_code == 302
    handback = ExpansionHandback.objects.get(subscription=subscription)
    handoff = handback.handoff
    assert stage_of(contact) == "expansion"
    assert handoff.status == Handoff.Status.OPEN and handoff.to_team.key == "field_sales"
    assert handoff.assigned_to in (people.fs_rep, people.fs_rep2)
    # it waits in the field-sales rep's queue on their home page, like any handoff
    rep = handoff.assigned_to
    client.force_login(rep)
    assert f'id="handoff-{handoff.pk}"' in client.get("/").content.decode()
    response = client.post(reverse("handoffs:accept", args=[handoff.pk]), {"next": "/"})
    assert response.status_code == 302
    handback.refresh_from_db()
    deal = handback.deal
    assert deal is not None and deal.status == Deal.Status.OPEN
    assert deal.owner == rep and deal.amount == 600_000 and deal.account_id == subscription.account_id
    assert stage_of(contact) == "active"
    page = client.get(reverse("success:subscription", args=[subscription.pk])).content.decode()
    assert "Wants 20 more seats" in page and "Expansion: " in page


def test_a_rejected_expansion_goes_back_to_customer_success(people, customer):
    contact, subscription = customer
    handback = hand_back_expansion(subscription, by=people.csm, note="upsell", amount=1)
    reason = ReasonCode.objects.get(kind=ReasonCode.Kind.REJECT, key="incomplete_info")
    reject_handoff(handback.handoff, actor=handback.handoff.assigned_to, reason=reason)
    handback.refresh_from_db()
    assert handback.deal is None
    assert stage_of(contact) == "active"
    # and it can be handed back again
    hand_back_expansion(subscription, by=people.csm, note="again", amount=1)


def test_one_open_expansion_at_a_time_and_only_for_customer_success(people, customer):
    _contact, subscription = customer
    with pytest.raises(SubscriptionError) as refused:
        hand_back_expansion(subscription, by=people.fs_rep, note="", amount=1)
    assert refused.value.code == "forbidden"
    hand_back_expansion(subscription, by=people.csm, note="", amount=1)
    with pytest.raises(SubscriptionError) as refused:
        hand_back_expansion(subscription, by=people.csm, note="", amount=1)
    assert refused.value.code == "expansion_open"
    accept_handoff(ExpansionHandback.objects.get().handoff, actor=people.fs_rep)
    assert Deal.objects.filter(expansion_handback__isnull=False).count() == 1


def test_a_company_without_a_customer_journey_is_refused(client, people, make_contact):
    contact = make_contact()
    subscription = start_subscription(contact.account, plan="Pro", mrr=1, starts_on=dt.date(2026, 4, 1))
    client.force_login(people.csm)
    response = client.post(
        reverse("success:hand_back", args=[subscription.pk]), {"expansion-amount": "1", "expansion-note": "x"}
    )
    assert response.status_code == 400
    assert "nobody whose journey" in response.content.decode()
    response = client.post(
        reverse("success:hand_back", args=[subscription.pk]), {"expansion-amount": "-1", "expansion-note": ""}
    )
    assert response.status_code == 400
    assert not ExpansionHandback.objects.exists()
