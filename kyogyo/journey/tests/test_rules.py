"""Stage rules through the actions: the default rules firing on data and activities,
publishing new versions, refusing invalid rules, and previewing a rule without applying it."""

from __future__ import annotations

import datetime as dt

import pytest

from kyogyo.handoffs import actions as handoff_actions
from kyogyo.handoffs.models import Handoff
from kyogyo.journey import actions, evaluation, rulefile
from kyogyo.journey.criteria import RuleError
from kyogyo.journey.evaluation import Candidate
from kyogyo.journey.models import Milestone, ReasonCode, Rule, RuleVersion, Transition, ValueList
from kyogyo.marketing.actions import record_activity
from kyogyo.testing import T0

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

MQL_V1 = {
    "all": [
        {"metric": "fit_score", "op": "gte", "value": 50},
        {"metric": "engagement_score", "op": "gte", "value": 30},
        {
            "count": ["content_download", "form_submission", "event", "demo"],
            "within_days": 30,
            "op": "gte",
            "value": 1,
        },
    ]
}


def mql_candidate(engagement: float, **changes) -> Candidate:
    condition = {
        "all": [
            {"metric": "fit_score", "op": "gte", "value": 50},
            {"metric": "engagement_score", "op": "gte", "value": engagement},
            {"count": ["content_download"], "within_days": 30, "op": "gte", "value": 1},
        ]
    }
    values = {
        "key": "mql-fit-engagement",
        "stage": "mql",
        "from_stages": ("lead", "nurture"),
        "condition": condition,
        "priority": 50,
        **changes,
    }
    return Candidate(**values)


def stage_of(contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def last_transition(contact) -> Transition:
    return Transition.objects.filter(subject=contact).order_by("-seq").first()


def downloads(contact, start: dt.datetime, n: int) -> None:
    for i in range(n):
        record_activity(contact, "content_download", occurred_at=start + dt.timedelta(minutes=i))


def version(key: str, number: int = 1) -> RuleVersion:
    return RuleVersion.objects.get(rule__key=key, number=number)


def poor_fit(make_contact):
    return make_contact(employees=10, industry="education", country="US", title="Engineer")


# ------------------------------------------------------------------ the MQL rule


def test_mql_rule_fires_on_content_downloads_for_a_good_fit(make_contact):
    contact = make_contact()
    contact.refresh_from_db()
    assert contact.fit_score == 100
    downloads(contact, T0 + HOUR, 3)  # 3 × 8 points: not engaged enough yet
    assert stage_of(contact) == "lead"
    record_activity(contact, "content_download", occurred_at=T0 + 2 * HOUR)
    assert stage_of(contact) == "mql"
    row = last_transition(contact)
    assert (row.from_stage.key, row.to_stage.key, row.via) == ("lead", "mql", "rule")
    assert row.rule_version == version("mql-fit-engagement")
    assert row.at == T0 + 2 * HOUR  # judged at the time of the activity
    assert row.actor_id is None and row.reason_id is None
    assert Handoff.objects.filter(transition=row, status=Handoff.Status.OPEN).count() == 1


def test_mql_rule_does_not_fire_for_a_poor_fit(make_contact):
    contact = poor_fit(make_contact)
    contact.refresh_from_db()
    assert contact.fit_score < 50
    downloads(contact, T0 + HOUR, 6)
    assert stage_of(contact) == "lead"


def test_mql_rule_needs_a_qualifying_activity_type(make_contact):
    contact = make_contact()
    for i in range(12):  # 12 × 3 points of email clicks: engaged, but no download/form/event/demo
        record_activity(contact, "email_click", occurred_at=T0 + HOUR + dt.timedelta(minutes=i))
    assert stage_of(contact) == "lead"
    record_activity(contact, "form_submission", occurred_at=T0 + 2 * HOUR)
    assert stage_of(contact) == "mql"


# ------------------------------------------------------------------ disqualification at creation


@pytest.mark.parametrize(
    ("kwargs", "rule", "reason"),
    [
        ({"kind": "competitor"}, "dq-competitor", "competitor"),
        ({"email": "spy@rival.example"}, "dq-competitor", "competitor"),
        ({"kind": "partner"}, "dq-partner", "partner"),
        ({"title": "Student"}, "dq-student", "student"),
        ({"title": "大学院生（学生）"}, "dq-student", "student"),
        ({"email": "taro@u-tokyo.ac.jp"}, "dq-student", "student"),
        ({"email": "someone@MIT.edu"}, "dq-student", "student"),
        ({"account": False, "email": "someone@gmail.com"}, "dq-free-mail", "free_mail"),
        ({"account": False, "email": "someone@yahoo.co.jp"}, "dq-free-mail", "free_mail"),
        ({"kind": "competitor", "title": "Student"}, "dq-competitor", "competitor"),  # priority 10 < 12
    ],
    ids=[
        "competitor-kind",
        "competitor-domain",
        "partner",
        "student-title",
        "student-title-ja",
        "ac-jp",
        "edu",
        "gmail-no-company",
        "yahoo-no-company",
        "competitor-before-student",
    ],
)
def test_disqualification_rules_fire_at_creation(make_contact, kwargs, rule, reason):
    ValueList.objects.filter(key="competitor_domains").update(values=["rival.example"])
    contact = make_contact(**kwargs)
    assert stage_of(contact) == "disqualified"
    rows = list(Transition.objects.filter(subject=contact).order_by("seq"))
    assert [r.to_stage.key for r in rows] == ["lead", "disqualified"]
    row = rows[1]
    assert row.via == "rule"
    assert row.at == T0
    assert row.rule_version == version(rule)
    assert row.reason == ReasonCode.objects.get(kind="disqualify", key=reason)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"email": "someone@gmail.com"}, {"title": "Studio Manager"}, {"email": "x@academy.jp"}],
    ids=["plain", "free-mail-with-company", "studio-is-not-student", "not-ac-jp"],
)
def test_ordinary_people_stay_leads(make_contact, kwargs):
    contact = make_contact(**kwargs)
    assert stage_of(contact) == "lead"
    assert Transition.objects.filter(subject=contact).count() == 1


# ------------------------------------------------------------------ time-based rules


def test_nurture_idle_lead_fires_after_30_days_not_29(make_contact):
    contact = make_contact()
    assert actions.apply_rules([contact], at=T0 + 29 * DAY) == []
    assert actions.apply_rules([contact], at=T0 + 30 * DAY - dt.timedelta(seconds=1)) == []
    assert stage_of(contact) == "lead"
    moved = actions.apply_rules([contact], at=T0 + 30 * DAY)
    assert len(moved) == 1
    row = moved[0]
    assert (row.from_stage.key, row.to_stage.key, row.via, row.at) == (
        "lead",
        "nurture",
        "rule",
        T0 + 30 * DAY,
    )
    assert row.rule_version == version("nurture-idle-lead")
    assert stage_of(contact) == "nurture"
    # nothing moves a nurtured, idle person on
    assert actions.apply_rules([contact], at=T0 + 90 * DAY) == []


def test_scheduled_run_applies_rules_to_everyone(make_contact):
    old = [make_contact() for _ in range(3)]
    young = make_contact(at=T0 + 10 * DAY)
    run = evaluation.run_rules_for_all(at=T0 + 30 * DAY)
    assert (run.evaluated, run.moved) == (4, 3)
    assert [stage_of(c) for c in old] == ["nurture"] * 3
    assert stage_of(young) == "lead"
    assert run.by_rule == {str(version("nurture-idle-lead").pk): 3}
    again = evaluation.run_rules_for_all(at=T0 + 30 * DAY)
    assert again.moved == 0


def test_rules_do_not_judge_the_past(make_contact):
    contact = make_contact(at=T0 + 40 * DAY)
    assert actions.apply_rules([contact], at=T0 + 35 * DAY) == []
    assert stage_of(contact) == "lead"


# ------------------------------------------------------------------ publishing


def test_publish_creates_version_2_and_later_transitions_name_it(make_contact, people):
    early = make_contact()
    downloads(early, T0 + HOUR, 4)
    v1 = version("mql-fit-engagement")
    assert last_transition(early).rule_version == v1

    v2 = actions.publish_rule(
        mql_candidate(15), actor=people.admin, note="two downloads are enough", at=T0 + DAY
    )
    assert v2.number == 2
    assert (v2.note, v2.created_by, v2.created_at) == ("two downloads are enough", people.admin, T0 + DAY)
    rule = Rule.objects.get(key="mql-fit-engagement")
    assert rule.current_version == v2
    assert list(rule.versions.order_by("number").values_list("number", flat=True)) == [1, 2]
    v1.refresh_from_db()
    assert v1.definition == MQL_V1  # version 1 is kept as it was

    late = make_contact(at=T0 + DAY)
    downloads(late, T0 + 2 * DAY, 2)  # 16 points: enough under v2 only
    assert stage_of(late) == "mql"
    assert last_transition(late).rule_version == v2
    assert last_transition(early).rule_version == v1  # history still names v1

    v3 = actions.publish_rule(mql_candidate(20), at=T0 + 3 * DAY)
    assert v3.number == 3
    assert RuleVersion.objects.filter(rule=rule).count() == 3


def test_publish_a_new_rule_starts_at_version_1(make_contact):
    candidate = Candidate(
        key="dq-gov",
        stage="disqualified",
        from_stages=("lead",),
        priority=14,
        condition={"field": "contact.email_domain", "op": "ends_with", "value": ".go.jp"},
        reason="invalid_data",
    )
    created = actions.publish_rule(candidate, name="Government", at=T0)
    assert created.number == 1
    assert created.reason == ReasonCode.objects.get(kind="disqualify", key="invalid_data")
    rule = Rule.objects.get(key="dq-gov")
    assert (rule.name, rule.stage.key, rule.priority, rule.current_version) == (
        "Government",
        "disqualified",
        14,
        created,
    )
    contact = make_contact(email="tanaka@meti.go.jp")
    assert stage_of(contact) == "disqualified"
    assert last_transition(contact).rule_version == created


def test_publish_refuses_a_rule_moving_to_another_stage(defaults):
    before = RuleVersion.objects.count()
    with pytest.raises(RuleError) as info:
        actions.publish_rule(mql_candidate(30, stage="nurture", from_stages=("lead",)))
    assert [p.path for p in info.value.problems] == ["stage"]
    assert "'mql'" in str(info.value)
    assert RuleVersion.objects.count() == before


# ------------------------------------------------------------------ invalid rules


def paths(error: RuleError) -> list[str]:
    return [p.path for p in error.problems]


def test_invalid_candidate_lists_every_problem_with_its_path(defaults):
    candidate = Candidate(
        key="mql-fit-engagement",
        stage="sal",
        from_stages=("mql", "lead", "ghost"),
        priority=50,
        condition={
            "all": [
                {"field": "account.size", "op": "gte", "value": 1},
                {"metric": "fit_score", "op": "between", "value": "high"},
                {"count": ["download"], "within_days": 30, "op": "gte", "value": 1},
            ]
        },
    )
    before = (Rule.objects.count(), RuleVersion.objects.count())
    with pytest.raises(RuleError) as info:
        actions.publish_rule(candidate)
    assert paths(info.value) == [
        "when.all[0].field",
        "when.all[1].op",
        "when.all[1].value",
        "when.all[2].count[0]",
        "stage",  # the key belongs to the MQL rule: another stage needs another rule
        "from[0]",
        "from[1]",
        "from[2]",
    ]
    messages = {p.path: p.message for p in info.value.problems}
    assert "account.size" in messages["when.all[0].field"]
    assert "'mql'" in messages["from[0]"] and "receiving team" in messages["from[0]"]
    assert "'lead' → 'sal'" in messages["from[1]"]
    assert "'ghost'" in messages["from[2]"]
    assert (Rule.objects.count(), RuleVersion.objects.count()) == before
    # preview refuses the same candidate with the same problems
    with pytest.raises(RuleError) as again:
        evaluation.preview(candidate, at=T0)
    assert paths(again.value) == paths(info.value)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"stage": "pipeline"}, ["stage"]),
        ({"from_stages": ()}, ["from"]),
        # (the MQL rule's key cannot move people to another stage: "stage" is reported too)
        ({"stage": "disqualified", "from_stages": ("lead",)}, ["stage", "reason"]),
        ({"stage": "disqualified", "from_stages": ("lead",), "reason": "bored"}, ["stage", "reason"]),
        ({"from_stages": ("lead", "sal")}, ["from[1]"]),
        ({"condition": {"field": "contact.email_domain", "op": "in_list", "value": "nope"}}, ["when.value"]),
        ({"condition": {"metric": "fit_score", "op": "gte"}}, ["when"]),
        ({"condition": "fit_score > 50"}, ["when"]),
    ],
    ids=[
        "unknown-stage",
        "no-from",
        "dq-without-reason",
        "unknown-reason",
        "disallowed-move",
        "unknown-list",
        "missing-value",
        "not-an-object",
    ],
)
def test_invalid_candidates(defaults, changes, expected):
    before = RuleVersion.objects.count()
    with pytest.raises(RuleError) as info:
        actions.publish_rule(mql_candidate(30, **changes))
    assert paths(info.value) == expected
    assert RuleVersion.objects.count() == before


def test_invalid_rule_key_is_refused(defaults):
    with pytest.raises(RuleError) as info:
        actions.publish_rule(mql_candidate(30, key="My MQL rule!"))
    assert paths(info.value) == ["key"]


def test_rule_file_lists_every_problem_with_its_path(defaults):
    data = {
        "rules": [
            {"key": "a", "stage": "mql", "from": "lead", "when": MQL_V1, "colour": "red"},
            {"key": "b", "stage": "mql", "when": MQL_V1},
            {"key": "c", "stage": "mql", "from": ["lead"], "when": MQL_V1, "priority": -1},
            "just text",
        ]
    }
    with pytest.raises(RuleError) as info:
        rulefile.parse(data)
    assert paths(info.value) == ["rules[0]", "rules[1]", "rules[2].priority", "rules[3]"]
    assert "unexpected key 'colour'" in str(info.value)
    assert "missing key 'from'" in str(info.value)


# ------------------------------------------------------------------ preview


@pytest.fixture
def base(make_contact, people):
    """Subjects in lead and nurture, with and without engagement."""
    engaged = make_contact()  # good fit, 16 points: lead
    downloads(engaged, T0 + HOUR, 2)
    idle = make_contact()  # good fit, no activity: lead
    poor = poor_fit(make_contact)  # poor fit, 16 points: lead
    downloads(poor, T0 + HOUR, 2)
    rejected = make_contact()  # 32 points, MQL, rejected to nurture
    downloads(rejected, T0 + HOUR, 4)
    handoff_actions.reject_handoff(
        Handoff.objects.get(subject=rejected),
        actor=people.is_rep,
        reason=ReasonCode.objects.get(kind="reject", key="not_reachable"),
        at=T0 + 2 * HOUR,
    )
    waiting = make_contact()  # 32 points, MQL: waits on the handoff
    downloads(waiting, T0 + HOUR, 4)
    assert [stage_of(c) for c in (engaged, idle, poor, rejected, waiting)] == [
        "lead",
        "lead",
        "lead",
        "nurture",
        "mql",
    ]
    return {"engaged": engaged, "idle": idle, "poor": poor, "rejected": rejected, "waiting": waiting}


def written() -> tuple[int, ...]:
    return (
        Transition.objects.count(),
        Handoff.objects.count(),
        RuleVersion.objects.count(),
        Milestone.objects.filter(current_stage__key="mql").count(),
    )


def test_preview_counts_without_writing(base):
    before = written()
    result = evaluation.preview(mql_candidate(15), at=T0 + 3 * HOUR)
    assert written() == before
    assert result.evaluated == 4  # lead and nurture; the MQL waiting on a handoff is not judged
    assert result.qualifying == 2  # engaged (16 ≥ 15) and rejected (32)
    assert result.changing == 2
    assert result.qualifying_now == 1  # rejected qualifies under v1 already
    assert (result.newly_qualifying, result.no_longer_qualifying) == (1, 0)
    assert dict(result.moves) == {("lead", "mql"): 1, ("nurture", "mql"): 1}
    assert sorted(s["subject"] for s in result.sample) == sorted([base["engaged"].pk, base["rejected"].pk])
    data = result.as_dict()
    assert (data["would_qualify"], data["would_change_stage"]) == (2, 2)
    assert data["qualify_under_current_version"] == 1


def test_preview_of_the_current_version_matches_it(base):
    v1 = evaluation.candidate_from_rule(Rule.objects.get(key="mql-fit-engagement"))
    result = evaluation.preview(v1, at=T0 + 3 * HOUR)
    assert (result.qualifying, result.qualifying_now) == (1, 1)
    assert (result.newly_qualifying, result.no_longer_qualifying) == (0, 0)


def test_preview_of_a_stricter_version(base):
    before = written()
    result = evaluation.preview(mql_candidate(100), at=T0 + 3 * HOUR)
    assert (result.qualifying, result.changing, result.qualifying_now) == (0, 0, 1)
    assert result.no_longer_qualifying == 1
    assert written() == before


def test_preview_qualifying_is_not_changing_when_a_higher_rule_wins(base):
    # after the fact, the engaged lead's domain turns out to be a competitor's
    ValueList.objects.filter(key="competitor_domains").update(values=[base["engaged"].email_domain])
    result = evaluation.preview(mql_candidate(15), at=T0 + 3 * HOUR)
    assert result.qualifying == 2
    assert result.changing == 1  # dq-competitor (priority 10) would move the engaged lead instead
    assert dict(result.moves) == {("nurture", "mql"): 1}


def test_preview_of_a_new_rule(base):
    candidate = Candidate(
        key="nurture-cold",
        stage="nurture",
        from_stages=("lead",),
        priority=80,
        condition={"metric": "engagement_score", "op": "lt", "value": 1},
    )
    result = evaluation.preview(candidate, at=T0 + 3 * HOUR)
    assert result.evaluated == 3
    assert (result.qualifying, result.changing, result.qualifying_now) == (1, 1, 0)
    assert result.sample == [
        {"subject": base["idle"].pk, "email": base["idle"].email, "from": "lead", "to": "nurture"}
    ]
    assert not Rule.objects.filter(key="nurture-cold").exists()


def test_preview_predicts_the_scheduled_run(base):
    at = T0 + 3 * HOUR
    result = evaluation.preview(mql_candidate(15), at=at)
    v2 = actions.publish_rule(mql_candidate(15), at=at)
    run = evaluation.run_rules_for_all(at=at)
    assert run.by_rule == {str(v2.pk): result.changing}
    assert result.changing == 2
    assert stage_of(base["engaged"]) == stage_of(base["rejected"]) == "mql"


def test_preview_in_the_past_agrees_with_the_engine(make_contact):
    make_contact(at=T0 + 10 * DAY)
    candidate = Candidate(
        key="nurture-fit",
        stage="nurture",
        from_stages=("lead",),
        priority=80,
        condition={"metric": "fit_score", "op": "gte", "value": 50},
    )
    result = evaluation.preview(candidate, at=T0)
    actions.publish_rule(candidate, at=T0)
    assert evaluation.run_rules_for_all(at=T0).moved == 0
    assert result.changing == 0


def test_preview_refuses_what_publish_refuses(defaults):
    candidate = mql_candidate(30, stage="nurture", from_stages=("lead",))
    with pytest.raises(RuleError) as info:
        evaluation.preview(candidate, at=T0)
    assert paths(info.value) == ["stage"]
