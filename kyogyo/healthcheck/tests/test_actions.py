"""Making and editing assessments: who may, what is refused (with its code), the history
kept, the evidence stored with each, scores and priorities."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kyogyo.healthcheck import actions
from kyogyo.healthcheck.actions import HealthCheckError
from kyogyo.healthcheck.models import Assessment
from kyogyo.healthcheck.reading import read
from kyogyo.healthcheck.scores import category_scores, overall_score

DAY = dt.date(2026, 11, 1)


def make(actor, marks, **extra):
    return actions.create_assessment(actor=actor, assessed_on=extra.pop("on", DAY), marks=marks, **extra)


def test_an_assessment_keeps_marks_notes_and_the_evidence(people):
    assessment = make(
        people.manager,
        {
            "kpi.linked": ("not_yet", "  no shared funnel  "),
            "organisation.cooperation": ("partly", ""),
            "tools.introduced": ("", ""),
        },
        summary="first look",
    )
    marks = {m.item: (m.value, m.note) for m in assessment.marks.all()}
    assert marks == {
        "kpi.linked": ("not_yet", "no shared funnel"),
        "organisation.cooperation": ("partly", ""),
    }
    assert assessment.author == people.manager and assessment.summary == "first look"
    assert assessment.evidence["organisation.four_departments"]["n"] == 4  # measured on creation
    assert assessment.evidence["kpi.linked"]["kind"] == "linked_targets"


def test_each_assessment_is_kept_and_edits_keep_the_evidence(people):
    first = make(people.manager, {"kpi.linked": ("not_yet", "")})
    second = make(people.admin, {"kpi.linked": ("partly", "")}, on=DAY + dt.timedelta(days=30))
    assert Assessment.objects.count() == 2
    measured = first.evidence
    actions.update_assessment(
        first, actor=people.admin, assessed_on=DAY, marks={"kpi.linked": ("done", "fixed")}
    )
    first.refresh_from_db()
    assert [(m.item, m.value, m.note) for m in first.marks.all()] == [("kpi.linked", "done", "fixed")]
    assert first.evidence == measured
    assert second.marks.get().value == "partly"


@pytest.mark.parametrize(
    ("marks", "on", "code"),
    [
        ({"kpi.nope": ("done", "")}, DAY, "unknown_item"),
        ({"kpi.linked": ("maybe", "")}, DAY, "bad_mark"),
        ({"kpi.linked": ("done", "x" * 2001)}, DAY, "note_too_long"),
        ({"kpi.linked": ("", "a note without a mark")}, DAY, "mark_needed"),
        ({"kpi.linked": ("", "")}, DAY, "nothing_marked"),
        ({}, DAY, "nothing_marked"),
        ({"kpi.linked": ("done", "")}, dt.date(2999, 1, 1), "future_date"),
    ],
)
def test_refusals_have_codes(people, marks, on, code):
    with pytest.raises(HealthCheckError) as refused:
        make(people.manager, marks, on=on)
    assert refused.value.code == code
    assert Assessment.objects.count() == 0


@pytest.mark.parametrize("role", ["marketer", "is_rep", "csm", "outsider"])
def test_only_managers_and_admins_assess(people, role):
    with pytest.raises(HealthCheckError) as refused:
        make(getattr(people, role), {"kpi.linked": ("done", "")})
    assert refused.value.code == "forbidden"


def test_a_too_long_summary_is_refused(people):
    with pytest.raises(HealthCheckError) as refused:
        make(people.manager, {"kpi.linked": ("done", "")}, summary="s" * 4001)
    assert refused.value.code == "too_long"


def test_scores_by_category():
    scores = category_scores(
        {
            "kpi.set_per_department": "done",
            "kpi.linked": "partly",
            "kpi.reviewed": "not_yet",
            "data.design": "done",
        }
    )
    assert scores["kpi"] == pytest.approx(0.5)
    assert scores["data"] == 1.0  # over the marked items only
    assert scores["organisation"] is None
    assert overall_score(scores) == pytest.approx(0.75)


def test_improvements_put_x_before_triangle_weighted_by_category_and_data(people):
    assessment = make(
        people.manager,
        {
            "organisation.four_departments": ("done", ""),
            "organisation.roles_defined": ("done", ""),
            "organisation.cooperation": ("partly", ""),  # category 5/6 → gap 1/6
            "kpi.set_per_department": ("partly", ""),  # kpi: (0.5 + 0 + 0.5) / 3 = 1/3 → gap 2/3
            "kpi.linked": ("not_yet", ""),
            "kpi.reviewed": ("partly", ""),
            "leadership.support": ("not_yet", ""),  # leadership: gap 1, not measurable
            "education.training": ("done", ""),
        },
        now=timezone.now(),
    )
    assessment.evidence["kpi.linked"] = {
        "kind": "linked_targets",
        "n": 0,
        "d": 3,
        "value": 0.0,
        "suggested": "not_yet",
    }
    assessment.evidence["kpi.set_per_department"] = {
        "kind": "team_targets",
        "n": 1,
        "d": 4,
        "value": 0.25,
        "suggested": "not_yet",
    }
    assessment.evidence["kpi.reviewed"] = {
        "kind": "snapshot_fresh",
        "n": None,
        "d": None,
        "value": 3.0,
        "suggested": "partly",
    }
    assessment.evidence["organisation.cooperation"] = {
        "kind": "handoff_sla",
        "n": 0,
        "d": 0,
        "value": None,
        "suggested": None,
    }
    ranked = [(i.entry.item.key, i.weight) for i in read(assessment).improvements]
    assert ranked == [
        ("kpi.linked", round(2 / 3 + 1.0, 3)),  # × in a weak category, the data agrees
        ("leadership.support", 1.0),  # ×, a category with nothing in place
        ("kpi.set_per_department", round(2 / 3 + 0.75, 3)),  # △ with a wide measured gap
        ("kpi.reviewed", round(2 / 3 + 0.5, 3)),
        ("organisation.cooperation", round(1 / 6, 3)),
    ]
    top = read(assessment).improvements[0]
    assert [s.key for s in top.solutions] == ["company_kpi"]  # the article's advice for KPIs
