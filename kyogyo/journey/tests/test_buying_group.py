"""The account view and the now/later/never classification."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.customers import actions as customer_actions
from kyogyo.handoffs.actions import accept_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import classification_of, classify
from kyogyo.journey.buying_group import account_journey
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import ReasonCode
from kyogyo.testing import T0


def test_account_view_takes_the_first_entries_and_the_most_advanced_person(people, make_contact):
    champion = make_contact(at=T0)
    colleague = customer_actions.create_contact(
        at=T0 + dt.timedelta(days=2),
        account=champion.account,
        email="colleague@company.example.jp",
        title="Engineer",
    )
    classify(champion, "now", actor=people.marketer, at=T0 + dt.timedelta(days=5))
    accept_handoff(
        Handoff.objects.get(subject=champion), actor=people.is_rep, at=T0 + dt.timedelta(days=5, hours=1)
    )
    classify(colleague, "later", actor=people.marketer, at=T0 + dt.timedelta(days=6))

    view = account_journey(champion.account_id)

    assert view.people == 2
    assert view.current_stage == "sal"  # the champion's stage; the colleague in nurture doesn't outrank it
    assert view.first_entered["lead"] == T0  # the champion came first
    assert view.first_entered["nurture"] == T0 + dt.timedelta(days=6)
    assert view.people_by_stage == {"sal": 1, "nurture": 1}


def test_an_account_with_nobody_in_a_journey_has_no_stage(defaults):
    account = customer_actions.create_account(at=T0, name="Quiet Co")
    view = account_journey(account.pk)
    assert (view.people, view.current_stage, view.first_entered) == (0, None, {})


def test_classify_now_later_never(people, make_contact):
    now, later, never = make_contact(), make_contact(), make_contact()
    at = T0 + dt.timedelta(hours=1)
    classify(now, "now", actor=people.marketer, at=at)
    classify(later, "later", actor=people.marketer, at=at)
    student = ReasonCode.objects.get(kind="disqualify", key="student")
    classify(never, "never", actor=people.marketer, reason=student, at=at)

    assert now.milestone.current_stage.key == "mql"
    assert Handoff.objects.filter(subject=now, status="open").count() == 1
    assert later.milestone.current_stage.key == "nurture"
    assert never.transitions.last().reason == student
    assert [classification_of(k) for k in ("lead", "nurture", "mql", "won", "disqualified")] == [
        "later",
        "later",
        "now",
        "now",
        "never",
    ]


def test_classify_refuses_nonsense_and_never_without_reason(people, make_contact):
    contact = make_contact()
    with pytest.raises(JourneyError) as bad:
        classify(contact, "someday", actor=people.marketer)
    assert bad.value.code == "bad_class"
    with pytest.raises(JourneyError) as no_reason:
        classify(contact, "never", actor=people.marketer, at=T0 + dt.timedelta(hours=1))
    assert no_reason.value.code == "reason_required"
    assert contact.transitions.count() == 1  # only the journey's start
