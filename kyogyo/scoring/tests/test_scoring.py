"""Fit and engagement scores: hand-checkable values with the default rules, their
explanations, and re-scoring (plus the stage rules) when a company changes.

Default fit rules: 50+ employees 20, 300+ employees 10, target industry 20, based in Japan 15,
decision-maker title 25, business email 10 (sum clamped to 0–100). Default engagement
weights include content_download 8, form_submission 10, event 12, web_visit 1; half-life 30 days.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.models import Contact
from kyogyo.journey.models import Milestone, Transition
from kyogyo.marketing.actions import ActivityInput, record_activities
from kyogyo.scoring.actions import explain_engagement, explain_fit, rescore_fit
from kyogyo.scoring.engine import Contribution, add_touch, decayed, fit_score
from kyogyo.scoring.models import FitRule
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)
ALL_FIT = [
    ("50+ employees", 20),
    ("300+ employees", 10),
    ("Target industry", 20),
    ("Based in Japan", 15),
    ("Decision-maker title", 25),
    ("Business email", 10),
]


def lines(contributions: list[Contribution]) -> list[tuple[str, float]]:
    return [(c.source, c.points) for c in contributions]


def refresh(contact: Contact) -> Contact:
    return Contact.objects.select_related("account").get(pk=contact.pk)


def stage_of(contact: Contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


# ------------------------------------------------------------------ fit


def test_a_perfect_fit_scores_100_and_every_rule_is_explained(make_contact):
    contact = make_contact(employees=500, industry="software", country="JP", title="IT Manager", email=None)
    assert contact.fit_score == 100
    assert refresh(contact).fit_score == 100
    assert lines(explain_fit(refresh(contact))) == ALL_FIT


def test_no_rule_holds_for_a_small_foreign_education_company_with_free_mail(make_contact):
    contact = make_contact(
        employees=10, industry="education", country="US", title="Engineer", email="pat@gmail.com"
    )
    assert refresh(contact).fit_score == 0
    assert explain_fit(refresh(contact)) == []


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        (
            {"employees": 120, "industry": "retail", "country": "US", "title": "Sales Director"},
            ["50+ employees", "Target industry", "Decision-maker title", "Business email"],
        ),
        (
            {"employees": 300, "industry": "Manufacturing", "country": "JP", "title": "営業部長"},
            [label for label, _ in ALL_FIT],
        ),
        (
            {"employees": 49, "industry": "education", "country": "jp", "title": "engineer"},
            ["Based in Japan", "Business email"],
        ),
        (
            {"employees": None, "industry": "", "country": "", "title": "Head of IT"},
            ["Decision-maker title", "Business email"],
        ),
    ],
)
def test_fit_is_the_sum_of_the_rules_that_hold(make_contact, attrs, expected):
    contact = make_contact(**attrs)
    points = dict(ALL_FIT)
    assert lines(explain_fit(refresh(contact))) == [(label, points[label]) for label in expected]
    assert refresh(contact).fit_score == sum(points[label] for label in expected)


def test_a_person_without_a_company_scores_on_their_own_data(make_contact):
    contact = make_contact(account=False, title="Marketing Manager", email="a@acme.example.jp")
    assert refresh(contact).fit_score == 35
    assert lines(explain_fit(refresh(contact))) == [
        ("Decision-maker title", 25),
        ("Business email", 10),
    ]


def test_fit_is_clamped_to_0_100_while_the_explanation_keeps_every_line(make_contact):
    FitRule.objects.create(
        label="Strategic industry",
        condition={"field": "account.industry", "op": "eq", "value": "software"},
        points=30,
        order=10,
    )
    FitRule.objects.create(
        label="Free mail penalty",
        condition={"field": "contact.email_domain", "op": "in_list", "value": "free_mail"},
        points=-40,
        order=11,
    )
    top = make_contact()
    assert refresh(top).fit_score == 100
    explained = explain_fit(refresh(top))
    assert lines(explained) == [*ALL_FIT, ("Strategic industry", 30)]
    assert sum(c.points for c in explained) == 130

    low = make_contact(
        employees=10, industry="education", country="US", title="Director", email="d@gmail.com"
    )
    assert lines(explain_fit(refresh(low))) == [
        ("Decision-maker title", 25),
        ("Free mail penalty", -40),
    ]
    assert refresh(low).fit_score == 0

    assert fit_score([Contribution("a", 49.5), Contribution("b", 0.6)]) == 50
    assert fit_score([]) == 0


def test_inactive_fit_rules_do_not_count(make_contact):
    FitRule.objects.filter(label="Based in Japan").update(active=False)
    contact = make_contact()
    assert refresh(contact).fit_score == 85
    assert "Based in Japan" not in [c.source for c in explain_fit(refresh(contact))]


def test_changing_a_person_rescores_their_fit(make_contact):
    contact = make_contact(title="Engineer")
    assert refresh(contact).fit_score == 75
    customer_actions.update_contact(refresh(contact), title="CTO / Chief Architect")
    assert refresh(contact).fit_score == 100
    customer_actions.update_contact(refresh(contact), email="cto@gmail.com")
    assert refresh(contact).fit_score == 90
    assert rescore_fit([refresh(contact)]) == []  # already current: nothing to write


# ------------------------------------------------------------------ engagement


def test_engagement_arithmetic():
    assert decayed(8.0, T0, T0 + 30 * DAY, 30) == pytest.approx(4.0)
    assert decayed(8.0, T0, T0 - DAY, 30) == 8.0  # no growth backwards
    assert decayed(0.0, None, T0, 30) == 0.0
    score, at = add_touch(0.0, None, T0, 8, 30)
    score, at = add_touch(score, at, T0 + 30 * DAY, 10, 30)
    assert (score, at) == (pytest.approx(14.0), T0 + 30 * DAY)
    # A touch older than the reference adds its weight decayed to the reference time.
    score, at = add_touch(10.0, T0 + 30 * DAY, T0, 8, 30)
    assert (score, at) == (pytest.approx(14.0), T0 + 30 * DAY)


def test_explain_engagement_gives_decayed_points_per_type_largest_first(make_contact):
    contact = make_contact(title="Engineer")
    now = T0 + 60 * DAY
    record_activities(
        [
            ActivityInput(contact.pk, "content_download", T0),
            ActivityInput(contact.pk, "content_download", T0 + 30 * DAY),
            ActivityInput(contact.pk, "form_submission", T0 + 30 * DAY),
            ActivityInput(contact.pk, "web_visit", T0 + 60 * DAY),
            ActivityInput(contact.pk, "web_visit", T0 + 60 * DAY),
            ActivityInput(contact.pk, "note", T0 + 60 * DAY),
            ActivityInput(contact.pk, "event", T0 + 61 * DAY),  # after `now`: not yet counted
        ],
        now=T0 + 90 * DAY,
    )
    explained = explain_engagement(refresh(contact), at=now)
    assert [c.source for c in explained] == ["content_download", "form_submission", "web_visit"]
    points = dict(lines(explained))
    assert points["content_download"] == pytest.approx(6.0)  # 8 × ¼ + 8 × ½
    assert points["form_submission"] == pytest.approx(5.0)  # 10 × ½
    assert points["web_visit"] == pytest.approx(2.0)
    assert "note" not in points  # weight 0

    later = dict(lines(explain_engagement(refresh(contact), at=T0 + 61 * DAY)))
    assert later["event"] == pytest.approx(12.0)
    stored = refresh(contact)
    assert sum(later.values()) == pytest.approx(
        decayed(stored.engagement_score, stored.engagement_at, T0 + 61 * DAY, 30)
    )


def test_explain_engagement_of_a_person_without_touches_is_empty(make_contact):
    assert explain_engagement(make_contact(), at=T0) == []


# ------------------------------------------------------------------ update_account


def test_update_account_rescores_its_people_and_runs_the_rules(make_contact):
    now = timezone.now()
    start = now - dt.timedelta(hours=6)
    engaged = make_contact(at=start, employees=10, title="Engineer")  # 15 + 20 + 10 = 45
    quiet = make_contact(at=start, employees=10, title="Engineer")
    colleague = customer_actions.create_contact(
        at=start,
        account=engaged.account,
        email="boss@" + engaged.account.domain,
        title="Director",
        first_name="B",
        last_name="Oss",
    )  # 45 + 25 = 70
    record_activities(
        [
            ActivityInput(engaged.pk, "form_submission", now - dt.timedelta(hours=3)),
            ActivityInput(engaged.pk, "content_download", now - dt.timedelta(hours=2)),
            ActivityInput(engaged.pk, "event", now - dt.timedelta(hours=1)),
            ActivityInput(engaged.pk, "demo", now - dt.timedelta(hours=1)),
        ]
    )
    assert refresh(engaged).fit_score == 45
    assert stage_of(engaged) == "lead"  # engaged, but does not fit yet

    customer_actions.update_account(refresh(engaged).account, employee_count=500)

    assert refresh(engaged).fit_score == 75
    assert refresh(colleague).fit_score == 100
    assert refresh(quiet).fit_score == 45  # another company: untouched
    assert stage_of(engaged) == "mql"  # fits and engages now
    moved = Transition.objects.get(subject=engaged, to_stage__key="mql")
    assert moved.via == Transition.Via.RULE
    assert moved.rule_version.rule.key == "mql-fit-engagement"
    assert stage_of(colleague) == "lead"  # fits, but has not engaged


def test_update_account_to_competitor_disqualifies_its_leads_with_the_reason(make_contact):
    start = timezone.now() - dt.timedelta(hours=1)
    contact = make_contact(at=start)
    customer_actions.update_account(refresh(contact).account, kind="competitor")
    assert stage_of(contact) == "disqualified"
    moved = Transition.objects.get(subject=contact, to_stage__key="disqualified")
    assert moved.reason.key == "competitor"
    assert moved.rule_version.rule.key == "dq-competitor"


def test_update_account_without_a_change_does_nothing(make_contact):
    contact = make_contact(at=timezone.now() - dt.timedelta(hours=1))
    transitions = Transition.objects.count()
    account = refresh(contact).account
    assert customer_actions.update_account(account, employee_count=account.employee_count) is account
    assert Transition.objects.count() == transitions
