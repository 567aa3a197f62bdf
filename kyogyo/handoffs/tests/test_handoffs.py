"""Handoffs through the actions: opened by entering a handoff stage, due in business hours,
routed round-robin (or by routing rule), accepted or rejected by the receiving team,
breaches marked by the scheduled check."""

from __future__ import annotations

import datetime as dt
from itertools import cycle

import pytest

from kyogyo.handoffs import actions as handoff_actions
from kyogyo.handoffs.actions import HandoffError
from kyogyo.handoffs.models import BusinessCalendar, CalendarException, Handoff, RoutingRule
from kyogyo.journey import actions
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import Milestone, ReasonCode, Transition
from kyogyo.ops import invariants
from kyogyo.org.models import Team, User
from kyogyo.testing import T0, TOKYO

HOUR = dt.timedelta(hours=1)


def tokyo(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def stage_of(contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def to_mql(contact, at: dt.datetime = T0 + HOUR) -> Handoff:
    row = actions.advance(contact, "mql", via="system", at=at)
    return Handoff.objects.get(transition=row)


def reason(key: str, kind: str = ReasonCode.Kind.REJECT) -> ReasonCode:
    return ReasonCode.objects.get(kind=kind, key=key)


def team(key: str) -> Team:
    return Team.objects.get(key=key)


def is_members() -> list[int]:
    return list(
        User.objects.filter(team__key=Team.INSIDE_SALES, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# ------------------------------------------------------------------ opening


def test_entering_mql_opens_one_handoff_to_inside_sales(make_contact, people):
    contact = make_contact()
    at = tokyo(2026, 4, 10, 16, 0)  # Friday 16:00
    row = actions.advance(contact, "mql", via="system", at=at)
    handoffs = list(Handoff.objects.filter(subject=contact))
    assert len(handoffs) == 1
    handoff = handoffs[0]
    assert handoff.transition_id == row.pk
    assert handoff.stage.key == "mql"
    assert handoff.from_team.key == Team.MARKETING
    assert handoff.to_team.key == Team.INSIDE_SALES
    assert handoff.status == Handoff.Status.OPEN
    assert handoff.created_at == at
    # Fri 16:00–18:00 is 2 h; the weekend is skipped; Mon 09:00 + 6 h
    assert handoff.due_at == tokyo(2026, 4, 13, 15, 0)
    assert handoff.assigned_to_id in is_members()
    assert (handoff.acted_at, handoff.acted_by, handoff.breached_at, handoff.resolution) == (
        None,
        None,
        None,
        None,
    )


def test_due_time_skips_golden_week(make_contact, people):
    contact = make_contact()
    handoff = to_mql(contact, tokyo(2026, 5, 1, 17, 0))  # Friday 17:00
    # 1 h on Friday; 5/2 Sat, 5/3 Sun (憲法記念日), 5/4 みどりの日, 5/5 こどもの日, 5/6 振替休日
    assert handoff.due_at == tokyo(2026, 5, 7, 16, 0)


def test_due_time_skips_company_holidays(make_contact, people):
    calendar = BusinessCalendar.objects.get(pk=1)
    for day in (29, 30, 31):  # 年末年始; 1/1 is a public holiday, 1/2–1/3 a weekend
        CalendarException.objects.create(calendar=calendar, date=dt.date(2026, 12, day), name="年末年始")
    handoff = to_mql(make_contact(), tokyo(2026, 12, 28, 17, 0))  # Monday 17:00
    assert handoff.due_at == tokyo(2027, 1, 4, 16, 0)


def test_a_team_without_active_members_gets_an_unassigned_handoff(make_contact, people):
    User.objects.filter(team__key=Team.INSIDE_SALES).update(is_active=False)
    handoff = to_mql(make_contact())
    assert handoff.assigned_to is None
    assert handoff.to_team.key == Team.INSIDE_SALES


def test_leaving_a_stage_without_a_handoff_opens_none(make_contact, people):
    contact = make_contact()
    actions.advance(contact, "nurture", at=T0 + HOUR, actor=people.marketer)
    assert not Handoff.objects.filter(subject=contact).exists()


# ------------------------------------------------------------------ routing


def test_round_robin_over_inside_sales_in_ascending_user_id(make_contact, people):
    members = is_members()
    assert members == sorted([people.is_rep.pk, people.is_rep2.pk, people.manager.pk])
    assignees = [to_mql(make_contact()).assigned_to_id for _ in range(7)]
    expected = cycle(members)
    assert assignees == [next(expected) for _ in range(7)]


def test_inactive_members_are_skipped(make_contact, people):
    people.is_rep2.is_active = False
    people.is_rep2.save(update_fields=["is_active"])
    assignees = [to_mql(make_contact()).assigned_to_id for _ in range(4)]
    assert people.is_rep2.pk not in assignees
    assert sorted(set(assignees)) == sorted([people.is_rep.pk, people.manager.pk])


def test_routing_rule_sends_big_accounts_to_its_pool(make_contact, people):
    rule = RoutingRule.objects.create(
        team=team(Team.INSIDE_SALES),
        name="Enterprise",
        priority=10,
        condition={"field": "account.employee_count", "op": "gte", "value": 1000},
    )
    rule.users.set([people.is_rep2])
    big = [to_mql(make_contact(employees=n)).assigned_to_id for n in (1000, 5000, 20000)]
    small = [to_mql(make_contact(employees=n)).assigned_to_id for n in (999, 20)]
    assert big == [people.is_rep2.pk] * 3
    # the team-wide rotation is separate from the rule's pool
    assert small == is_members()[:2]
    no_company = to_mql(make_contact(account=False)).assigned_to_id
    assert no_company == is_members()[2]


def test_routing_rule_without_active_users_falls_back_to_the_team(make_contact, people):
    rule = RoutingRule.objects.create(
        team=team(Team.INSIDE_SALES),
        name="Enterprise",
        priority=10,
        condition={"field": "account.employee_count", "op": "gte", "value": 1000},
    )
    rule.users.set([people.is_rep2])
    people.is_rep2.is_active = False
    people.is_rep2.save(update_fields=["is_active"])
    assert to_mql(make_contact(employees=5000)).assigned_to_id == is_members()[0]


# ------------------------------------------------------------------ accept


def test_accept_moves_to_sal_and_closes_the_handoff(make_contact, people):
    contact = make_contact()
    handoff = to_mql(contact, tokyo(2026, 4, 10, 16, 0))
    at = tokyo(2026, 4, 13, 10, 0)
    handoff_actions.accept_handoff(handoff, actor=people.is_rep, at=at, note="Calling today.")
    assert stage_of(contact) == "sal"
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.ACCEPTED
    assert (handoff.acted_by, handoff.acted_at, handoff.note) == (people.is_rep, at, "Calling today.")
    assert handoff.breached_at is None
    assert handoff.reason is None
    resolution = handoff.resolution
    assert resolution == Transition.objects.filter(subject=contact).order_by("-seq").first()
    assert (resolution.from_stage.key, resolution.to_stage.key) == ("mql", "sal")
    assert (resolution.via, resolution.actor, resolution.at) == ("handoff", people.is_rep, at)
    assert invariants.check().ok


def test_accept_exactly_at_due_time_is_not_a_breach(make_contact, people):
    handoff = to_mql(make_contact())
    handoff_actions.accept_handoff(handoff, actor=people.is_rep, at=handoff.due_at)
    handoff.refresh_from_db()
    assert handoff.breached_at is None


def test_accept_after_due_time_records_the_breach_at_due_time(make_contact, people):
    handoff = to_mql(make_contact())
    handoff_actions.accept_handoff(handoff, actor=people.is_rep, at=handoff.due_at + dt.timedelta(minutes=1))
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.ACCEPTED
    assert handoff.breached_at == handoff.due_at


# ------------------------------------------------------------------ reject


@pytest.mark.parametrize(
    ("key", "destination"),
    [
        ("not_reachable", "nurture"),
        ("no_budget", "nurture"),
        ("not_a_fit", "disqualified"),
        ("duplicate", "disqualified"),
        ("incomplete_info", "lead"),
    ],
)
def test_reject_goes_where_the_reason_says(make_contact, people, key, destination):
    contact = make_contact()
    handoff = to_mql(contact)
    code = reason(key)
    at = T0 + 3 * HOUR
    handoff_actions.reject_handoff(handoff, actor=people.is_rep2, reason=code, at=at, note="why")
    assert stage_of(contact) == destination
    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.REJECTED
    assert (handoff.reason, handoff.acted_by, handoff.acted_at, handoff.note) == (
        code,
        people.is_rep2,
        at,
        "why",
    )
    row = handoff.resolution
    assert (row.from_stage.key, row.to_stage.key, row.via) == ("mql", destination, "handoff")
    assert (row.reason, row.actor, row.note) == (code, people.is_rep2, "why")
    assert row.is_reentry == (destination == "lead")
    assert invariants.check().ok


def test_reject_needs_a_reject_reason(make_contact, people):
    contact = make_contact()
    handoff = to_mql(contact)
    with pytest.raises(HandoffError) as info:
        handoff_actions.reject_handoff(
            handoff, actor=people.is_rep, reason=reason("competitor", "disqualify"), at=T0 + 2 * HOUR
        )
    assert info.value.code == "bad_reason"
    retired = reason("no_budget")
    retired.active = False
    retired.save(update_fields=["active"])
    with pytest.raises(HandoffError) as info:
        handoff_actions.reject_handoff(handoff, actor=people.is_rep, reason=retired, at=T0 + 2 * HOUR)
    assert info.value.code == "bad_reason"
    handoff.refresh_from_db()
    assert handoff.is_open
    assert stage_of(contact) == "mql"


# ------------------------------------------------------------------ who may act, and once


@pytest.mark.parametrize("second", ["accept", "reject"])
def test_acting_twice_is_refused(make_contact, people, second):
    contact = make_contact()
    handoff = to_mql(contact)
    handoff_actions.accept_handoff(handoff, actor=people.is_rep, at=T0 + 2 * HOUR)
    transitions = Transition.objects.count()
    with pytest.raises(HandoffError) as info:
        if second == "accept":
            handoff_actions.accept_handoff(handoff, actor=people.is_rep2, at=T0 + 3 * HOUR)
        else:
            handoff_actions.reject_handoff(
                handoff, actor=people.is_rep2, reason=reason("not_reachable"), at=T0 + 3 * HOUR
            )
    assert info.value.code == "already_acted"
    assert "already accepted by is_rep" in str(info.value)
    assert Transition.objects.count() == transitions
    assert stage_of(contact) == "sal"
    handoff.refresh_from_db()
    assert (handoff.status, handoff.acted_by) == (Handoff.Status.ACCEPTED, people.is_rep)


@pytest.mark.parametrize("who", ["fs_rep", "marketer", "csm", "outsider"])
def test_someone_outside_the_receiving_team_cannot_act(make_contact, people, who):
    contact = make_contact()
    handoff = to_mql(contact)
    actor = getattr(people, who)
    with pytest.raises(HandoffError) as info:
        handoff_actions.accept_handoff(handoff, actor=actor, at=T0 + 2 * HOUR)
    assert info.value.code == "not_receiving_team"
    with pytest.raises(HandoffError) as info:
        handoff_actions.reject_handoff(handoff, actor=actor, reason=reason("not_a_fit"), at=T0 + 2 * HOUR)
    assert info.value.code == "not_receiving_team"
    handoff.refresh_from_db()
    assert handoff.is_open
    assert stage_of(contact) == "mql"


def test_a_manager_of_another_team_can_act(make_contact, people):
    fs_manager = User.objects.create_user(
        username="fs_manager", team=team(Team.FIELD_SALES), role=User.Role.MANAGER
    )
    first = to_mql(make_contact())
    handoff_actions.accept_handoff(first, actor=fs_manager, at=T0 + 2 * HOUR)
    first.refresh_from_db()
    assert (first.status, first.acted_by) == (Handoff.Status.ACCEPTED, fs_manager)
    second = to_mql(make_contact())
    handoff_actions.reject_handoff(
        second, actor=people.admin, reason=reason("not_reachable"), at=T0 + 2 * HOUR
    )
    second.refresh_from_db()
    assert (second.status, second.acted_by) == (Handoff.Status.REJECTED, people.admin)


# ------------------------------------------------------------------ breaches


def test_mark_breaches_marks_only_open_overdue_handoffs_and_is_idempotent(make_contact, people):
    early = to_mql(make_contact(), tokyo(2026, 4, 6, 10, 0))  # 8 h → due Mon 18:00
    late = to_mql(make_contact(), tokyo(2026, 4, 8, 10, 0))  # due Wed 18:00
    closed = to_mql(make_contact(), tokyo(2026, 4, 6, 10, 0))  # due Mon 18:00, accepted in time
    handoff_actions.accept_handoff(closed, actor=people.is_rep, at=tokyo(2026, 4, 6, 11, 0))
    assert early.due_at == tokyo(2026, 4, 6, 18, 0)
    assert late.due_at == tokyo(2026, 4, 8, 18, 0)

    assert handoff_actions.mark_breaches(early.due_at) == 0  # due, not yet past due
    now = tokyo(2026, 4, 8, 12, 0)
    assert handoff_actions.mark_breaches(now) == 1
    assert handoff_actions.mark_breaches(now) == 0
    assert handoff_actions.mark_breaches(now + HOUR) == 0
    states = {h.pk: h.breached_at for h in Handoff.objects.all()}
    assert states == {early.pk: early.due_at, late.pk: None, closed.pk: None}

    assert handoff_actions.mark_breaches(tokyo(2026, 4, 20, 12, 0)) == 1
    late.refresh_from_db()
    early.refresh_from_db()
    assert late.breached_at == late.due_at
    assert early.breached_at == early.due_at  # unchanged by the later run
    # accepting a handoff already marked keeps the breach time
    handoff_actions.accept_handoff(early, actor=people.is_rep, at=tokyo(2026, 4, 21, 9, 0))
    early.refresh_from_db()
    assert early.breached_at == early.due_at


# ------------------------------------------------------------------ the handoff is the only way out


@pytest.mark.parametrize("target", ["nurture", "sal", "lead"])
def test_advance_out_of_a_stage_with_an_open_handoff_is_refused(make_contact, people, target):
    contact = make_contact()
    to_mql(contact)
    before = Transition.objects.count()
    with pytest.raises(JourneyError) as info:
        actions.advance(contact, target, at=T0 + 2 * HOUR, actor=people.manager)
    assert info.value.code == "handoff_open"
    assert "'mql'" in str(info.value)
    assert Transition.objects.count() == before
    assert stage_of(contact) == "mql"


def test_rules_leave_a_subject_waiting_on_a_handoff_alone(make_contact, people):
    contact = make_contact()
    to_mql(contact)
    assert actions.apply_rules([contact], at=T0 + dt.timedelta(days=90)) == []
    assert stage_of(contact) == "mql"
