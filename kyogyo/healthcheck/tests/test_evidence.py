"""Evidence from the data, on small hand-built records whose figures can be checked by
hand: n of d, the share and the mark it suggests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from kyogyo.analytics.models import SavedPlan, Target
from kyogyo.handoffs.models import Handoff
from kyogyo.healthcheck import evidence
from kyogyo.healthcheck.evidence import describe, measure, measure_all, share
from kyogyo.journey.models import ReasonCode
from kyogyo.marketing.models import Activity
from kyogyo.org.models import Team
from kyogyo.success.models import NpsResponse, Subscription

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def figures(kind: str, now: dt.datetime = NOW) -> tuple:
    found = measure(kind, now)
    return found["n"], found["d"], found["value"], found["suggested"]


def test_a_share_suggests_a_mark():
    assert share(9, 10)["suggested"] == "done"
    assert share(5, 10)["suggested"] == "partly"
    assert share(4, 10)["suggested"] == "not_yet"
    assert share(0, 0) == {"n": 0, "d": 0, "value": None, "suggested": None}
    assert share(1, 3)["value"] == 0.3333


def test_the_default_configuration(defaults):
    # prospect + customer stages: lead, mql, sal, sql, opportunity, won, onboarding, active
    assert figures("stage_owners") == (8, 8, 1.0, "done")
    # mql, sal, sql, opportunity after the entry stage; only mql is entered by a rule
    assert figures("stage_rules") == (1, 4, 0.25, "not_yet")
    # stall limits on lead, sal, opportunity of the 5 prospect stages
    assert figures("stall_limits") == (3, 5, 0.6, "partly")
    assert figures("stage_meanings") == (14, 14, 1.0, "done")  # 13 + expansion
    assert figures("scoring_configured") == (2, 2, 1.0, "done")
    assert figures("saved_plans") == (0, 0, None, "not_yet")
    # nothing has happened yet: nothing to measure, no suggestion
    assert figures("handoff_sla") == (0, 0, None, None)
    assert figures("reject_reasons") == (0, 0, None, None)


def test_teams_staffed(people):
    assert figures("teams_staffed") == (4, 4, 1.0, "done")
    people.csm.is_active = False
    people.csm.save()
    assert figures("teams_staffed") == (3, 4, 0.75, "partly")


def test_targets_per_team_and_linked_across_boundaries(defaults):
    teams = {t.key: t for t in Team.objects.all()}
    today = timezone.localdate(NOW)
    year = {"starts_on": today - 30 * DAY, "ends_on": today + 30 * DAY}
    past = {"starts_on": today - 90 * DAY, "ends_on": today - 31 * DAY}
    Target.objects.create(metric="entered:mql", team=teams[Team.MARKETING], value=100, **year)
    Target.objects.create(metric="entered:sql", team=teams[Team.INSIDE_SALES], value=40, **past)
    Target.objects.create(metric="entered:won", value=10, **year)  # the company's
    assert figures("team_targets") == (1, 4, 0.25, "not_yet")
    # handoff stages mql, sql, won, expansion: current targets on entering mql and won
    assert figures("linked_targets") == (2, 4, 0.5, "partly")


def _handoffs(make_contact, walk, count: int) -> list[Handoff]:
    for _ in range(count):
        walk(make_contact(at=NOW - 100 * DAY), [("mql", NOW - 100 * DAY)])
    return list(Handoff.objects.order_by("id"))


def test_handoff_sla(people, make_contact, walk):
    h = _handoffs(make_contact, walk, 6)
    due = NOW - 10 * DAY
    Handoff.objects.filter(pk=h[0].pk).update(due_at=due, acted_at=due - DAY, status="accepted")  # met
    Handoff.objects.filter(pk=h[1].pk).update(due_at=due, acted_at=due, status="accepted")  # met, on time
    Handoff.objects.filter(pk=h[2].pk).update(due_at=due, acted_at=due + DAY, status="accepted")  # late
    Handoff.objects.filter(pk=h[3].pk).update(due_at=due, acted_at=None, status="open")  # open overdue
    Handoff.objects.filter(pk=h[4].pk).update(due_at=NOW + DAY)  # not yet due
    Handoff.objects.filter(pk=h[5].pk).update(due_at=NOW - 91 * DAY)  # before the window
    assert figures("handoff_sla") == (2, 4, 0.5, "partly")


def test_reject_reasons_and_boundaries_crossed(people, make_contact, walk):
    h = _handoffs(make_contact, walk, 4)
    reason = ReasonCode.objects.filter(kind=ReasonCode.Kind.REJECT).first()
    acted = NOW - 5 * DAY
    rejected = Handoff.objects.filter(pk__in=[h[0].pk, h[1].pk, h[2].pk])
    rejected.update(status="rejected", acted_at=acted, reason=reason)
    Handoff.objects.filter(pk=h[2].pk).update(reason=None)
    Handoff.objects.filter(pk=h[3].pk).update(status="rejected", acted_at=NOW - 100 * DAY, reason=None)
    assert figures("reject_reasons") == (2, 3, 0.6667, "partly")
    # all were created 100 days ago: no boundary crossed in the last 90 days
    assert figures("boundaries_crossed") == (0, 4, 0.0, "not_yet")  # mql, sql, won, expansion
    Handoff.objects.filter(pk=h[0].pk).update(created_at=NOW - 3 * DAY)
    assert figures("boundaries_crossed") == (1, 4, 0.25, "not_yet")


def test_activities_recorded_and_teams_active(people, make_contact, walk):
    contacts = [make_contact(at=NOW - 40 * DAY) for _ in range(4)]
    Activity.objects.all().delete()
    Activity.objects.create(
        contact=contacts[0], type="call", occurred_at=NOW - 2 * DAY, actor=people.marketer
    )
    Activity.objects.create(contact=contacts[0], type="demo", occurred_at=NOW - 2 * DAY)
    Activity.objects.create(
        contact=contacts[1], type="web_visit", occurred_at=NOW - 60 * DAY, actor=people.csm
    )
    assert figures("activities_recorded") == (2, 4, 0.5, "partly")
    # marketing logged a call within 30 days; the CSM's touch is older; inside sales accepts a handoff
    walk(contacts[2], [("mql", NOW - 3 * DAY), ("sal", NOW - 2 * DAY)])
    assert figures("teams_active") == (2, 4, 0.5, "partly")


def test_nps_collected(people, make_contact):
    people_ = [make_contact(at=NOW - 400 * DAY) for _ in range(3)]
    for contact in people_[:2]:
        Subscription.objects.create(
            account=contact.account, plan="pro", mrr=1000, starts_on=dt.date(2026, 1, 1)
        )
    NpsResponse.objects.create(contact=people_[0], score=9, answered_at=NOW - 10 * DAY)
    NpsResponse.objects.create(
        contact=people_[1], account=people_[1].account, score=3, answered_at=NOW - 200 * DAY
    )
    NpsResponse.objects.create(contact=people_[2], score=10, answered_at=NOW - DAY)  # not a customer
    assert figures("nps_collected") == (1, 2, 0.5, "done")


def test_saved_plans(people):
    def plan(at: dt.datetime) -> None:
        SavedPlan.objects.create(
            name="FY", starts_on=dt.date(2026, 4, 1), ends_on=dt.date(2027, 3, 31), target=1, created_at=at
        )

    plan(NOW - 120 * DAY)
    assert figures("saved_plans") == (0, 1, None, "partly")
    plan(NOW - 5 * DAY)
    assert figures("saved_plans") == (1, 2, None, "done")


def test_snapshot_freshness(people, analytics):
    assert measure("snapshot_fresh")["missing"] is True
    assert measure("snapshot_fresh")["suggested"] == "not_yet"
    analytics()
    assert measure("snapshot_fresh")["suggested"] == "done"
    three_days_on = timezone.now() + 3 * DAY
    assert figures("snapshot_fresh", three_days_on)[2:] == (3.0, "partly")


def test_measure_all_covers_every_measurable_item(defaults):
    found = measure_all(NOW)
    assert set(found) == {key for key, kind in _measurable().items()}
    assert all(found[key]["kind"] == kind for key, kind in _measurable().items())


def _measurable() -> dict[str, str]:
    from kyogyo.healthcheck.sheet import load

    return {item.key: item.evidence for item in load().items if item.evidence}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_figure_reads_as_a_sentence(defaults, language):
    with translation.override(language):
        for kind in evidence.EVIDENCE:
            sentence = describe({"kind": kind, "n": 2, "d": 4, "value": 0.5, "suggested": "partly"})
            assert sentence and "%(" not in sentence
        text = describe({"kind": "handoff_sla", "n": 2, "d": 4, "value": 0.5})
        assert "2" in text and "4" in text and "50%" in text
        assert describe({"kind": "snapshot_fresh", "missing": True})


def test_measuring_costs_a_fixed_number_of_queries(people, make_contact, walk, django_assert_max_num_queries):
    for _ in range(5):
        walk(make_contact(at=NOW - 10 * DAY), [("mql", NOW - 10 * DAY)])
    with django_assert_max_num_queries(30) as few:
        measure_all(NOW)
    for _ in range(10):
        walk(make_contact(at=NOW - 10 * DAY), [("mql", NOW - 10 * DAY)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        measure_all(NOW)
