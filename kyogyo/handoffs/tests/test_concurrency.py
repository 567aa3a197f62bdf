"""Concurrency on PostgreSQL: real threads, each with its own connection, acting on the same
handoff, deal or person at the same moment. Exactly one wins each race, the others are
refused cleanly, and the journey's invariants hold afterwards.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres``; skipped on SQLite
(which serialises writers anyway).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count

from kyogyo.customers.models import Contact
from kyogyo.deals.actions import DealError, move_deal, qualify, win_deal
from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.handoffs.actions import HandoffError, accept_handoff, reject_handoff
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import advance, apply_rules
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import Milestone, ReasonCode, Transition
from kyogyo.marketing.actions import ActivityError, ActivityInput, record_activities, record_activity
from kyogyo.marketing.models import Activity
from kyogyo.ops import invariants
from kyogyo.testing import T0

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MINUTE = dt.timedelta(minutes=1)
REFUSALS = (JourneyError, HandoffError, DealError, ActivityError)


def run_together(*actions: Callable[[], Any], timeout: float = 60) -> list[tuple[str, Any]]:
    """Run each action in its own thread, released at the same moment by a barrier.
    Returns ("ok", result) or ("error", exception) per action, in order."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[tuple[str, Any]] = [("missing", None)] * len(actions)

    def work(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = ("ok", action())
        except BaseException as exc:
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return outcomes


def _wait_for_blocked_backends(count: int, timeout: float = 20) -> None:
    """Wait until ``count`` sessions on the test database wait for a lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_stat_activity is a per-transaction snapshot unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"fewer than {count} sessions ended up waiting for a lock")


def queued_behind(hold: Callable[[], Any], *actions: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run ``hold`` in a transaction here, start ``actions`` together in threads, wait until
    they all wait for a lock, then commit: a deterministic "at the same moment"."""
    outcomes: list[tuple[str, Any]] = []
    runner = threading.Thread(target=lambda: outcomes.extend(run_together(*actions)))
    with transaction.atomic():
        hold()
        runner.start()
        _wait_for_blocked_backends(len(actions))
    runner.join(60)
    assert not runner.is_alive(), "a thread hung (deadlock?)"
    return outcomes


def assert_invariants() -> None:
    report = invariants.check()
    assert report.ok, report.violations
    open_per_subject = (
        Handoff.objects.filter(status=Handoff.Status.OPEN)
        .values("subject_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert list(open_per_subject) == []
    last: dict[int, dt.datetime] = {}
    for subject_id, at in Transition.objects.order_by("subject_id", "seq").values_list("subject_id", "at"):
        assert at >= last.get(subject_id, at)
        last[subject_id] = at


def stage_of(contact: Contact) -> str:
    return Milestone.objects.select_related("current_stage").get(subject=contact).current_stage.key


def open_handoff_of(contact: Contact) -> Handoff:
    return Handoff.objects.get(subject=contact, status=Handoff.Status.OPEN)


def an_mql(make_contact, people, at: dt.datetime = T0) -> tuple[Contact, Handoff]:
    contact = make_contact()
    advance(contact, "mql", actor=people.marketer, at=at)
    return contact, open_handoff_of(contact)


# ------------------------------------------------------------------ the same handoff


@pytest.mark.parametrize("round_", range(3))
def test_two_accepts_of_the_same_handoff_one_wins(make_contact, people, round_):
    contact, handoff = an_mql(make_contact, people)

    outcomes = run_together(
        lambda: accept_handoff(handoff, actor=people.is_rep, at=T0 + MINUTE),
        lambda: accept_handoff(handoff, actor=people.is_rep2, at=T0 + 2 * MINUTE),
    )

    winners = [value for kind, value in outcomes if kind == "ok"]
    losers = [value for kind, value in outcomes if kind == "error"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], HandoffError) and losers[0].code == "already_acted"
    assert "already accepted" in str(losers[0])
    stored = Handoff.objects.get(pk=handoff.pk)
    assert stored.status == Handoff.Status.ACCEPTED
    assert stored.acted_by_id == winners[0].acted_by_id
    resolutions = Transition.objects.filter(subject=contact, via=Transition.Via.HANDOFF)
    assert resolutions.count() == 1
    assert resolutions.get().to_stage.key == "sal"
    assert stored.resolution_id == resolutions.get().pk
    assert stage_of(contact) == "sal"
    assert_invariants()


@pytest.mark.parametrize("round_", range(3))
def test_an_accept_and_a_reject_of_the_same_handoff_one_wins(make_contact, people, round_):
    contact, handoff = an_mql(make_contact, people)
    no_budget = ReasonCode.objects.get(kind="reject", key="no_budget")

    outcomes = run_together(
        lambda: accept_handoff(handoff, actor=people.is_rep, at=T0 + MINUTE),
        lambda: reject_handoff(handoff, actor=people.manager, reason=no_budget, at=T0 + MINUTE),
    )

    kinds = [kind for kind, _ in outcomes]
    assert sorted(kinds) == ["error", "ok"], outcomes
    loser = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(loser, HandoffError) and loser.code == "already_acted"
    stored = Handoff.objects.get(pk=handoff.pk)
    accepted = kinds[0] == "ok"
    assert stored.status == (Handoff.Status.ACCEPTED if accepted else Handoff.Status.REJECTED)
    resolutions = Transition.objects.filter(subject=contact, via=Transition.Via.HANDOFF)
    assert resolutions.count() == 1
    assert resolutions.get().to_stage.key == ("sal" if accepted else "nurture")
    assert stored.resolution_id == resolutions.get().pk
    assert_invariants()


# ------------------------------------------------------------------ the same deal


def test_two_qualifies_of_the_same_person_open_one_deal(make_contact, people):
    contact, handoff = an_mql(make_contact, people)
    accept_handoff(handoff, actor=people.is_rep, at=T0 + MINUTE)

    outcomes = run_together(
        *[
            lambda: qualify(contact, actor=people.is_rep, name="A", amount=1, at=T0 + 2 * MINUTE)
            for _ in range(4)
        ]
    )

    assert [kind for kind, _ in outcomes].count("ok") == 1, outcomes
    for kind, value in outcomes:
        if kind == "error":
            assert isinstance(value, JourneyError), value
    assert Deal.objects.filter(contact=contact).count() == 1
    assert Handoff.objects.filter(subject=contact, stage__key="sql").count() == 1
    assert_invariants()


def an_opportunity(make_contact, people) -> tuple[Contact, Deal]:
    contact, handoff = an_mql(make_contact, people)
    accept_handoff(handoff, actor=people.is_rep, at=T0 + MINUTE)
    deal = qualify(contact, actor=people.is_rep, name="A", amount=1, at=T0 + 2 * MINUTE)
    accept_handoff(open_handoff_of(contact), actor=people.fs_rep, at=T0 + 3 * MINUTE)
    return contact, deal


def test_two_wins_of_the_same_deal_close_it_once(make_contact, people):
    contact, deal = an_opportunity(make_contact, people)

    # Both wins queue on the deal row (held here), then race for it.
    outcomes = queued_behind(
        lambda: Deal.objects.select_for_update().get(pk=deal.pk),
        lambda: win_deal(deal, actor=people.fs_rep, at=T0 + 4 * MINUTE),
        lambda: win_deal(deal, actor=people.fs_rep2, at=T0 + 4 * MINUTE),
    )

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    loser = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(loser, DealError) and loser.code == "closed", repr(loser)
    assert Deal.objects.get(pk=deal.pk).version == 2
    assert Transition.objects.filter(subject=contact, to_stage__key="won").count() == 1
    assert Handoff.objects.filter(subject=contact, stage__key="won").count() == 1
    assert_invariants()


def test_a_win_waiting_for_a_pipeline_move_still_wins(make_contact, people):
    contact, deal = an_opportunity(make_contact, people)

    outcomes = queued_behind(
        lambda: move_deal(deal, PipelineStage.objects.get(key="proposal"), actor=people.fs_rep),
        lambda: win_deal(deal, actor=people.fs_rep, at=T0 + 4 * MINUTE),
    )

    assert [kind for kind, _ in outcomes] == ["ok"], outcomes
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.status, stored.version) == (Deal.Status.WON, 3)
    assert stage_of(contact) == "won"
    assert_invariants()


# ------------------------------------------------------------------ the same person


def test_twenty_threads_changing_one_person_keep_the_invariants(make_contact, people):
    contact = make_contact()  # fit 100: engaging touches make an MQL
    no_need = ReasonCode.objects.get(kind="reject", key="no_need_now")
    student = ReasonCode.objects.get(kind="disqualify", key="student")
    moves = [
        ("mql", people.marketer, None),
        ("nurture", people.marketer, None),
        ("disqualified", people.manager, student),
        ("lead", people.marketer, None),
        ("mql", people.marketer, None),
        ("sal", people.is_rep, None),
    ]

    def move(i: int) -> Callable[[], Any]:
        to, actor, why = moves[i % len(moves)]
        return lambda: advance(contact, to, actor=actor, reason=why, at=T0 + i * MINUTE)

    def touch(i: int) -> Callable[[], Any]:
        kind = ("demo", "event", "form_submission", "web_visit")[i % 4]
        return lambda: record_activity(contact, kind, T0 + i * MINUTE, external_id=f"t{i}")

    def batch(i: int) -> Callable[[], Any]:
        return lambda: record_activities(
            [
                ActivityInput(contact.pk, "content_download", T0 + i * MINUTE),
                ActivityInput(contact.pk, "email_click", T0 + i * MINUTE, external_id=f"t{i}"),
            ]
        )

    def act(i: int) -> Callable[[], Any]:
        def run():
            handoff = Handoff.objects.filter(subject=contact, status=Handoff.Status.OPEN).first()
            if handoff is None:
                return None
            if i % 2:
                return accept_handoff(handoff, actor=people.manager, at=T0 + i * MINUTE)
            return reject_handoff(handoff, actor=people.manager, reason=no_need, at=T0 + i * MINUTE)

        return run

    def rules(i: int) -> Callable[[], Any]:
        return lambda: apply_rules(
            [Contact.objects.select_related("account").get(pk=contact.pk)],
            at=T0 + i * MINUTE,
        )

    makers = [move, touch, batch, act, rules]
    actions = [makers[i % len(makers)](i + 1) for i in range(20)]

    outcomes = run_together(*actions)

    unexpected = [v for k, v in outcomes if k == "error" and not isinstance(v, REFUSALS)]
    assert unexpected == [], unexpected
    assert [k for k, _ in outcomes].count("ok") >= 5, outcomes
    assert_invariants()
    # Every touch that was accepted is stored exactly once.
    touches = sum(
        1 if isinstance(v, Activity) else len(v.created)
        for k, v in outcomes
        if k == "ok" and (isinstance(v, Activity) or hasattr(v, "created"))
    )
    assert Activity.objects.filter(contact=contact).count() == touches
    assert Transition.objects.filter(subject=contact).count() == (
        Milestone.objects.get(subject=contact).transition_count
    )


# ------------------------------------------------------------------ the same external id


def test_concurrent_batches_with_the_same_external_id_store_it_once(make_contact):
    contact = make_contact()

    # Holding the person's row lets both batches pass their duplicate check and queue up.
    outcomes = queued_behind(
        lambda: Contact.objects.select_for_update().get(pk=contact.pk),
        lambda: record_activities([ActivityInput(contact.pk, "web_visit", T0, external_id="crm-1")]),
        lambda: record_activities(
            [
                ActivityInput(contact.pk, "web_visit", T0, external_id="crm-1"),
                ActivityInput(contact.pk, "call", T0, source="other item"),
            ]
        ),
    )

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(result.duplicates for _, result in outcomes) == 1
    assert Activity.objects.filter(external_id="crm-1").count() == 1
    assert Activity.objects.filter(source="other item").count() == 1
    assert_invariants()


def test_a_hundred_parallel_stage_changes_keep_log_milestones_and_handoffs_consistent(make_contact, people):
    """100 stage changes, accepts and rejects over ten people, 25 at a time (each thread its own
    connection): every accepted move is in the log once, milestones equal the log, at most one
    handoff is open per person, and every cross-team move has its handoff."""
    from concurrent.futures import ThreadPoolExecutor

    contacts = [make_contact() for _ in range(10)]
    no_need = ReasonCode.objects.get(kind="reject", key="no_need_now")
    route = ["mql", "accept", "sql", "nurture", "lead", "mql", "reject", "mql", "accept", "nurture"]

    def change(i: int) -> tuple[str, Any]:
        contact = contacts[i % len(contacts)]
        step = route[(i // len(contacts)) % len(route)]
        at = T0 + i * MINUTE
        try:
            if step in ("accept", "reject"):
                handoff = Handoff.objects.filter(subject=contact, status=Handoff.Status.OPEN).first()
                if handoff is None:
                    return ("skipped", None)
                if step == "accept":
                    return ("ok", accept_handoff(handoff, actor=people.manager, at=at))
                return ("ok", reject_handoff(handoff, actor=people.manager, reason=no_need, at=at))
            return ("ok", advance(contact, step, actor=people.manager, at=at))
        except REFUSALS as exc:
            return ("refused", exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=25) as pool:
        outcomes = list(pool.map(change, range(100)))

    # which moves the journey allows depends on the order the threads ran in; what matters is
    # that whatever was accepted is consistent
    assert [k for k, _ in outcomes].count("ok") >= 10, outcomes
    assert_invariants()
    for contact in contacts:
        assert Transition.objects.filter(subject=contact).count() == (
            Milestone.objects.get(subject=contact).transition_count
        )
