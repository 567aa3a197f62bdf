"""The journey engine through its actions: starting a journey, refused moves, milestones,
the append-only log and the invariants ``kyogyo check`` verifies."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from kyogyo.handoffs import actions as handoff_actions
from kyogyo.handoffs.models import Handoff
from kyogyo.journey import actions, machine
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import Milestone, ReasonCode, Rule, Stage, Transition
from kyogyo.marketing.actions import record_activity
from kyogyo.ops import invariants
from kyogyo.testing import T0

HOUR = dt.timedelta(hours=1)


def stage_of(contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def snapshot(contact) -> tuple:
    """Everything a refused move must leave untouched."""
    milestone = Milestone.objects.get(subject=contact)
    return (
        Transition.objects.count(),
        Handoff.objects.count(),
        list(Transition.objects.filter(subject=contact).values_list("seq", "to_stage__key", "hash")),
        (
            milestone.current_stage_id,
            milestone.current_since,
            milestone.first_entered,
            milestone.entries,
            milestone.reentry_count,
            milestone.transition_count,
            milestone.last_hash,
        ),
    )


def downloads(contact, start: dt.datetime, n: int) -> None:
    for i in range(n):
        record_activity(contact, "content_download", occurred_at=start + dt.timedelta(minutes=i))


def reject_reason(key: str) -> ReasonCode:
    return ReasonCode.objects.get(kind=ReasonCode.Kind.REJECT, key=key)


# ------------------------------------------------------------------ starting


def test_new_contact_starts_as_lead_via_system(make_contact):
    contact = make_contact()
    rows = list(Transition.objects.filter(subject=contact))
    assert len(rows) == 1
    first = rows[0]
    assert (first.seq, first.from_stage_id, first.to_stage.key) == (1, None, "lead")
    assert first.via == Transition.Via.SYSTEM
    assert first.actor_id is None
    assert first.at == T0
    assert not first.is_reentry
    milestone = Milestone.objects.get(subject=contact)
    assert milestone.current_stage.key == "lead"
    assert milestone.current_since == T0
    assert milestone.first_entered == {"lead": machine.timestamp_text(T0)}
    assert milestone.entries == {"lead": 1}
    assert milestone.reentry_count == 0
    assert milestone.transition_count == 1
    assert milestone.last_hash == first.hash


def test_a_journey_cannot_start_twice_in_lead(make_contact):
    contact = make_contact()
    before = snapshot(contact)
    with pytest.raises(JourneyError) as info:
        actions.start_journey(contact, at=T0 + HOUR)
    assert info.value.code == "same_stage"
    assert snapshot(contact) == before


# ------------------------------------------------------------------ refused moves


@pytest.mark.parametrize(
    ("to_stage", "kwargs", "code", "words"),
    [
        ("pipeline", {"via": "system"}, "unknown_stage", ["'pipeline'", "lead", "mql"]),
        ("sal", {"via": "system"}, "move_not_allowed", ["'lead'", "'sal'", "mql, nurture"]),
        ("won", {"via": "system"}, "move_not_allowed", ["'lead'", "'won'"]),
        ("nurture", {"via": "system", "at": T0 - HOUR}, "time_backwards", ["go backwards"]),
        ("disqualified", {"via": "system"}, "reason_required", ["'disqualified'", "reason"]),
        ("nurture", {"via": "user"}, "actor_required", ["acting user"]),
        ("nurture", {}, "actor_required", ["acting user"]),
        ("nurture", {"via": "telepathy"}, "bad_via", ["'telepathy'"]),
        ("nurture", {"via": "system", "note": "x" * 5001}, "note_too_long", ["5000"]),
        ("lead", {"via": "system"}, "same_stage", ["already in 'lead'"]),
    ],
    ids=[
        "unknown-stage",
        "not-allowed-sal",
        "not-allowed-won",
        "time-backwards",
        "dq-without-reason",
        "user-without-actor",
        "default-via-is-user",
        "bad-via",
        "note-too-long",
        "same-stage",
    ],
)
def test_advance_refuses_and_writes_nothing(make_contact, to_stage, kwargs, code, words):
    contact = make_contact()
    before = snapshot(contact)
    kwargs = {"at": T0 + HOUR, **kwargs}
    with pytest.raises(JourneyError) as info:
        actions.advance(contact, to_stage, **kwargs)
    assert info.value.code == code
    for word in words:
        assert word in str(info.value)
    assert snapshot(contact) == before


def test_time_backwards_message_names_both_times(make_contact):
    contact = make_contact()
    with pytest.raises(JourneyError) as info:
        actions.advance(contact, "nurture", via="system", at=T0 - dt.timedelta(minutes=5))
    message = str(info.value)
    assert (T0 - dt.timedelta(minutes=5)).isoformat() in message
    assert machine.timestamp_text(T0)[:19] in message  # the last move, in UTC


def test_rule_move_without_a_rule_version_is_refused(make_contact):
    contact = make_contact()
    before = snapshot(contact)
    with pytest.raises(JourneyError) as info:
        actions.advance(contact, "nurture", via="rule", at=T0 + HOUR)
    assert info.value.code == "rule_version_required"
    assert snapshot(contact) == before


def test_naive_time_is_refused(make_contact):
    contact = make_contact()
    before = snapshot(contact)
    with pytest.raises(JourneyError) as info:
        actions.advance(contact, "nurture", via="system", at=dt.datetime(2026, 4, 7, 10, 0))  # noqa: DTZ001
    assert info.value.code == "naive_time"
    assert snapshot(contact) == before


def test_disqualified_with_reason_and_user_move_with_actor_are_allowed(make_contact, people):
    contact = make_contact()
    competitor = ReasonCode.objects.get(kind="disqualify", key="competitor")
    row = actions.advance(
        contact,
        "disqualified",
        at=T0 + HOUR,
        actor=people.marketer,
        reason=competitor,
        note="Works at a rival.",
    )
    assert (row.via, row.actor_id, row.reason_id, row.note) == (
        "user",
        people.marketer.pk,
        competitor.pk,
        "Works at a rival.",
    )
    assert stage_of(contact) == "disqualified"
    # the same time as the last move is not "backwards"
    actions.advance(contact, "nurture", at=T0 + HOUR, actor=people.marketer)
    assert stage_of(contact) == "nurture"


def test_expect_current_guards_against_stale_facts(make_contact, people):
    contact = make_contact()
    before = snapshot(contact)
    with pytest.raises(JourneyError) as info:
        actions.advance(contact, "nurture", at=T0 + HOUR, actor=people.marketer, expect_current="mql")
    assert info.value.code == "stale"
    assert snapshot(contact) == before


# ------------------------------------------------------------------ milestones


def test_milestones_count_entries_and_reentries(make_contact, people):
    contact = make_contact()
    downloads(contact, T0 + HOUR, 4)
    assert stage_of(contact) == "mql"
    first_mql = Transition.objects.get(subject=contact, seq=2)
    assert first_mql.to_stage.key == "mql"
    assert first_mql.via == Transition.Via.RULE
    assert not first_mql.is_reentry

    handoff = Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)
    handoff_actions.reject_handoff(
        handoff, actor=people.is_rep, reason=reject_reason("not_reachable"), at=T0 + dt.timedelta(days=1)
    )
    assert stage_of(contact) == "nurture"

    downloads(contact, T0 + dt.timedelta(days=2), 1)
    assert stage_of(contact) == "mql"
    second_mql = Transition.objects.filter(subject=contact).order_by("-seq").first()
    assert second_mql.seq == 4
    assert (second_mql.from_stage.key, second_mql.to_stage.key) == ("nurture", "mql")
    assert second_mql.via == Transition.Via.RULE
    assert second_mql.rule_version == Rule.objects.get(key="mql-fit-engagement").current_version
    assert second_mql.is_reentry

    milestone = Milestone.objects.get(subject=contact)
    assert milestone.entries == {"lead": 1, "mql": 2, "nurture": 1}
    assert milestone.reentry_count == 1
    assert milestone.transition_count == 4
    assert milestone.current_since == T0 + dt.timedelta(days=2)
    # first_entered keeps the first time of each stage
    assert milestone.first_entered == {
        "lead": machine.timestamp_text(T0),
        "mql": machine.timestamp_text(first_mql.at),
        "nurture": machine.timestamp_text(T0 + dt.timedelta(days=1)),
    }
    assert milestone.last_hash == second_mql.hash
    assert Handoff.objects.filter(subject=contact).count() == 2
    assert invariants.check().ok


# ------------------------------------------------------------------ the log is append-only


def test_database_refuses_update_of_a_transition(make_contact):
    contact = make_contact()
    row = Transition.objects.get(subject=contact)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE journey_transition SET note = 'edited' WHERE id = %s", [row.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Transition.objects.filter(pk=row.pk).update(via="user")
    fresh = Transition.objects.get(pk=row.pk)
    assert (fresh.note, fresh.via, fresh.hash) == ("", "system", row.hash)


def test_model_refuses_save_and_delete(make_contact):
    contact = make_contact()
    row = Transition.objects.get(subject=contact)
    row.note = "edited"
    with pytest.raises(ValidationError):
        row.save()
    with pytest.raises(ValidationError):
        row.delete()
    assert Transition.objects.get(pk=row.pk).note == ""


@pytest.mark.postgres
def test_postgres_refuses_delete_of_a_transition(make_contact):
    contact = make_contact()
    row = Transition.objects.get(subject=contact)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM journey_transition WHERE id = %s", [row.pk])
    assert Transition.objects.filter(pk=row.pk).exists()


# ------------------------------------------------------------------ invariants


@pytest.fixture
def journeys(make_contact, people):
    """A few journeys: a lead, an MQL (open handoff), an accepted SAL, one nurtured then
    disqualified by a user."""
    lead = make_contact()
    mql = make_contact()
    actions.advance(mql, "mql", via="system", at=T0 + HOUR)
    sal = make_contact()
    actions.advance(sal, "mql", via="system", at=T0 + HOUR)
    handoff_actions.accept_handoff(Handoff.objects.get(subject=sal), actor=people.is_rep, at=T0 + 2 * HOUR)
    dq = make_contact()
    actions.advance(dq, "nurture", at=T0 + HOUR, actor=people.marketer)
    actions.advance(
        dq,
        "disqualified",
        at=T0 + 2 * HOUR,
        actor=people.marketer,
        reason=ReasonCode.objects.get(kind="disqualify", key="partner"),
    )
    return {"lead": lead, "mql": mql, "sal": sal, "dq": dq}


def _insert(row: Transition, **changes) -> None:
    """Put a transition row back (INSERT is allowed), with ``changes``."""
    values = {f.attname: getattr(row, f.attname) for f in Transition._meta.concrete_fields}
    Transition.objects.bulk_create([Transition(**{**values, **changes})])


def _delete(row: Transition) -> None:
    """Remove a transition behind the app's back. SQLite allows DELETE; on PostgreSQL the
    trigger is switched off inside the test's transaction (rolled back afterwards)."""
    trigger = "journey_transition_no_change"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no pending checks
            cursor.execute(f"ALTER TABLE journey_transition DISABLE TRIGGER {trigger}")
        cursor.execute("DELETE FROM journey_transition WHERE id = %s", [row.pk])
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE journey_transition ENABLE TRIGGER {trigger}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_invariants_hold_after_journeys(journeys):
    report = invariants.check()
    assert report.ok, report.violations
    assert report.subjects == 4
    assert report.transitions == 1 + 2 + 3 + 3
    assert report.handoffs == 2


def test_invariants_detect_a_deleted_transition(journeys):
    row = Transition.objects.get(subject=journeys["dq"], seq=2)
    _delete(row)
    report = invariants.check()
    assert not report.ok
    text = "\n".join(report.violations)
    assert f"subject {journeys['dq'].pk}, transition 3: sequence gap" in text
    assert "hash chain broken" in text


def test_invariants_detect_a_deleted_last_transition(journeys):
    row = Transition.objects.get(subject=journeys["dq"], seq=3)
    _delete(row)
    report = invariants.check()
    assert not report.ok
    text = "\n".join(report.violations)
    assert f"subject {journeys['dq'].pk}: milestones current stage is 'disqualified'" in text
    assert "milestones transitions is 3, the log implies 2" in text


def test_invariants_detect_a_milestone_moved_to_another_stage(journeys):
    Milestone.objects.filter(subject=journeys["lead"]).update(current_stage=Stage.objects.get(key="nurture"))
    report = invariants.check()
    assert not report.ok
    assert any(
        v.startswith(f"subject {journeys['lead'].pk}: milestones current stage is 'nurture'")
        and "'lead'" in v
        for v in report.violations
    ), report.violations


def test_invariants_detect_an_open_handoff_whose_subject_left(journeys):
    Milestone.objects.filter(subject=journeys["mql"]).update(current_stage=Stage.objects.get(key="sal"))
    report = invariants.check()
    assert not report.ok
    handoff = Handoff.objects.get(subject=journeys["mql"])
    assert f"handoff {handoff.pk}: still open although its subject left the stage" in report.violations


def test_invariants_detect_an_edited_milestone_hash(journeys):
    Milestone.objects.filter(subject=journeys["sal"]).update(last_hash="0" * 32)
    report = invariants.check()
    assert not report.ok
    assert any("milestones last hash" in v for v in report.violations), report.violations


def test_invariants_detect_an_edited_transition_hash(journeys):
    row = Transition.objects.get(subject=journeys["lead"], seq=1)
    _delete(row)
    _insert(row, hash="f" * 32)
    report = invariants.check()
    assert not report.ok
    assert f"subject {journeys['lead'].pk}, transition 1: hash chain broken — the row was edited" in (
        report.violations
    )


def test_invariants_detect_a_row_rewritten_with_its_old_hash(journeys, people):
    row = Transition.objects.get(subject=journeys["dq"], seq=3)
    _delete(row)
    _insert(row, actor_id=people.admin.pk)  # pin the move on someone else, keep the hash
    report = invariants.check()
    assert not report.ok
    assert f"subject {journeys['dq'].pk}, transition 3: hash chain broken — the row was edited" in (
        report.violations
    )


def test_check_reports_a_missing_append_only_trigger(db, on_postgres):
    from django.db import connection

    from kyogyo.ops import invariants

    assert invariants.check().ok
    drop = (
        "DROP TRIGGER journey_transition_no_change ON journey_transition"
        if on_postgres
        else "DROP TRIGGER journey_transition_no_update"
    )
    with connection.cursor() as cursor:
        cursor.execute(drop)
    report = invariants.check()
    assert not report.ok
    assert "append-only trigger" in report.violations[0]
