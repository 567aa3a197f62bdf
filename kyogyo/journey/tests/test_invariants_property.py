"""Property test: random sequences of real events keep the journey's invariants.

A Hypothesis rule-based state machine drives the live actions — people created, activities
recorded (moving forward, sometimes back-dated, sometimes bad or duplicated), stage rules
run at later times, handoffs accepted or rejected by the right or the wrong people, users
moving people to arbitrary stages, deals qualified, won and lost. Refusals (``JourneyError``,
``HandoffError``, ``DealError``, ``ActivityError``) are expected and must write nothing.
After every step that changed the journey (so also at the end of each example)
``kyogyo.ops.invariants.check()`` must report no violations, each subject's log must be in
time order, every transition into a handoff stage must have exactly one handoff and no
subject may wait on more than one open handoff.

Each example runs inside a savepoint that is rolled back at the end, so every example starts
from the same database: the defaults and the named users of the ``people`` fixture.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

from django.db import transaction
from django.db.models import Count
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.models import Contact
from kyogyo.deals.actions import DealError, lose_deal, qualify, win_deal
from kyogyo.deals.models import Deal
from kyogyo.handoffs.actions import HandoffError, accept_handoff, reject_handoff
from kyogyo.handoffs.models import Handoff, RoutingCursor
from kyogyo.journey import evaluation
from kyogyo.journey.actions import advance, apply_rules
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import Milestone, ReasonCode, Stage, Transition
from kyogyo.journey.rulebook import load_stage_model
from kyogyo.marketing.actions import ActivityError, ActivityInput, record_activities
from kyogyo.marketing.models import Activity, ActivityType
from kyogyo.ops import invariants
from kyogyo.testing import T0

HANDOFF_STAGES = ("mql", "sql", "won", "expansion")  # the stages that open a handoff
REFUSALS = (JourneyError, HandoffError, DealError, ActivityError)

PROFILES = {
    # fit 100: becomes an MQL once engaged
    "fit": dict(employees=500, industry="software", country="JP", title="IT Manager"),
    # fit 0 with free mail; a company, so not disqualified by rule
    "poor": dict(employees=10, industry="education", country="US", title="Engineer", free=True),
    "competitor": dict(kind="competitor"),
    "partner": dict(kind="partner"),
    "student": dict(title="Student"),
    # free mail and no company: disqualified by rule
    "freemail": dict(account=False, free=True),
}

# Mostly people who fit, so examples get deep into the journey.
PROFILE_NAMES = st.one_of(st.just("fit"), st.sampled_from(sorted(PROFILES)))

USER_NAMES = (
    "marketer", "is_rep", "is_rep2", "fs_rep", "fs_rep2", "csm", "manager", "admin", "outsider",
)  # fmt: skip

TICKS = st.sampled_from(
    [
        dt.timedelta(0),
        dt.timedelta(microseconds=1),
        dt.timedelta(minutes=17, microseconds=250),
        dt.timedelta(hours=3),
        dt.timedelta(days=1, seconds=7),
        dt.timedelta(days=6),
        dt.timedelta(days=31),
    ]
)
BACKDATES = st.sampled_from(
    [dt.timedelta(0)] * 4 + [dt.timedelta(hours=2), dt.timedelta(days=3), dt.timedelta(days=40)]
)


def snapshot() -> tuple:
    """Everything a refused action must leave as it was."""
    return (
        list(Transition.objects.order_by("pk").values_list("pk", flat=True)),
        list(Milestone.objects.order_by("pk").values()),
        list(Handoff.objects.order_by("pk").values()),
        list(Deal.objects.order_by("pk").values()),
        list(Activity.objects.order_by("pk").values_list("pk", flat=True)),
        list(Contact.objects.order_by("pk").values()),
        list(RoutingCursor.objects.order_by("pk").values()),
    )


class JourneyMachine(RuleBasedStateMachine):
    # Set by the test before running: the named users and configuration rows.
    people: SimpleNamespace
    reasons: list[ReasonCode]
    stage_keys: list[str]
    exits: dict[str, frozenset[str]]

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.clock = T0
        self.contact_ids: list[int] = []
        self.serial = 0
        self.refused: Counter[str] = Counter()
        self.moved = 0
        self.checked: tuple | None = None

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)
        STATS["examples"] += 1
        STATS["transitions"] += self.moved
        STATS["refused"] += sum(self.refused.values())

    # ------------------------------------------------------------------ helpers

    def user(self, name: str):
        return getattr(self.people, name)

    def contact(self, pk: int) -> Contact:
        return Contact.objects.select_related("account").get(pk=pk)

    def stage_key(self, pk: int) -> str | None:
        milestone = Milestone.objects.filter(subject_id=pk).select_related("current_stage").first()
        return milestone.current_stage.key if milestone else None

    def in_stage(self, key: str) -> list[int]:
        return [pk for pk in self.contact_ids if self.stage_key(pk) == key]

    def draw_reason(self, data: st.DataObject, kind: str) -> ReasonCode:
        """Mostly a reason of the right kind, sometimes any reason (to be refused)."""
        fitting = [r for r in self.reasons if r.kind == kind]
        return data.draw(st.one_of(st.sampled_from(fitting), st.sampled_from(self.reasons)))

    def attempt(self, label: str, action):
        """Run ``action``; a refusal must leave the database exactly as it was."""
        before = snapshot()
        transitions = Transition.objects.count()
        try:
            result = action()
        except REFUSALS as exc:
            assert snapshot() == before, f"{label} was refused ({exc}) but wrote something"
            self.refused[f"{label}:{getattr(exc, 'code', type(exc).__name__)}"] += 1
            return None
        self.moved += Transition.objects.count() - transitions
        return result

    # ------------------------------------------------------------------ rules

    @initialize(profiles=st.lists(PROFILE_NAMES, min_size=1, max_size=3))
    def start(self, profiles: list[str]) -> None:
        for profile in profiles:
            self.create_contact(profile=profile, start_journey=True)

    @precondition(lambda self: len(self.contact_ids) < 5)
    @rule(profile=PROFILE_NAMES, start_journey=st.booleans())
    def create_contact(self, profile: str, start_journey: bool) -> None:
        spec = dict(PROFILES[profile])
        self.serial += 1
        n = self.serial
        company = None
        if spec.pop("account", True):
            company = customer_actions.create_account(
                at=self.clock,
                name=f"Company {n}",
                domain=f"company{n}.example.jp",
                industry=spec.get("industry", "software"),
                employee_count=spec.get("employees", 200),
                country=spec.get("country", "JP"),
                kind=spec.get("kind", "prospect"),
            )
        email = f"p{n}@gmail.com" if spec.get("free") else f"p{n}@company{n}.example.jp"
        contact = customer_actions.create_contact(
            at=self.clock,
            account=company,
            email=email,
            first_name="P",
            last_name=str(n),
            title=spec.get("title", "Manager"),
            start_journey=start_journey,
        )
        self.contact_ids.append(contact.pk)

    @rule(delta=TICKS)
    def tick(self, delta: dt.timedelta) -> None:
        self.clock += delta

    @precondition(lambda self: self.contact_ids)
    @rule(
        data=st.data(),
        size=st.integers(min_value=1, max_value=4),
        future=st.booleans(),
    )
    def record(self, data: st.DataObject, size: int, future: bool) -> None:
        items = []
        for _ in range(size):
            pk = data.draw(st.sampled_from(self.contact_ids), label="contact")
            kind = data.draw(st.sampled_from(["bogus", *ActivityType.values]), label="type")
            at = self.clock - data.draw(BACKDATES, label="backdate")
            if future and data.draw(st.booleans(), label="in future"):
                at = self.clock + dt.timedelta(hours=1)
            external_id = data.draw(
                st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3"])), label="external id"
            )
            items.append(ActivityInput(pk, kind, at, external_id=external_id))
        transitions = Transition.objects.count()
        activities = Activity.objects.count()

        result = record_activities(items, now=self.clock)

        bad = {e.index for e in result.errors}
        assert len(result.created) + result.duplicates + len(bad) == len(items)
        assert Activity.objects.count() == activities + len(result.created)
        assert Transition.objects.count() == transitions + len(result.transitions)
        for row in result.transitions:
            assert row.at <= self.clock
        self.moved += len(result.transitions)

    @precondition(lambda self: self.contact_ids)
    @rule(everyone=st.booleans(), data=st.data())
    def run_rules(self, everyone: bool, data: st.DataObject) -> None:
        if everyone:
            evaluation.run_rules_for_all(at=self.clock)
            return
        ids = data.draw(st.lists(st.sampled_from(self.contact_ids), min_size=1, unique=True))
        moved = apply_rules([self.contact(pk) for pk in ids], at=self.clock)
        assert all(row.at == self.clock and row.via == Transition.Via.RULE for row in moved)
        self.moved += len(moved)

    @precondition(lambda self: Handoff.objects.filter(status=Handoff.Status.OPEN).exists())
    @rule(data=st.data(), accept=st.booleans(), backdate=BACKDATES)
    def act_on_handoff(self, data: st.DataObject, accept: bool, backdate: dt.timedelta) -> None:
        handoff = data.draw(
            st.sampled_from(list(Handoff.objects.filter(status=Handoff.Status.OPEN))),
            label="handoff",
        )
        receivers = [u for u in USER_NAMES if self.user(u).team_id == handoff.to_team_id]
        actor = self.user(
            data.draw(st.one_of(st.sampled_from(receivers), st.sampled_from(USER_NAMES)), label="actor")
        )
        at = self.clock - backdate
        if accept:
            self.attempt("accept", lambda: accept_handoff(handoff, actor=actor, at=at))
        else:
            why = self.draw_reason(data, ReasonCode.Kind.REJECT)
            self.attempt("reject", lambda: reject_handoff(handoff, actor=actor, reason=why, at=at))
        closed = Handoff.objects.get(pk=handoff.pk)
        if not closed.is_open:
            assert closed.resolution is not None and closed.resolution.via == "handoff"
            # Acting again on a closed handoff is refused.
            self.attempt("accept-again", lambda: accept_handoff(handoff, actor=self.people.admin))

    @precondition(lambda self: self.contact_ids)
    @rule(data=st.data(), backdate=BACKDATES)
    def user_move(self, data: st.DataObject, backdate: dt.timedelta) -> None:
        pk = data.draw(st.sampled_from(self.contact_ids), label="contact")
        current = self.stage_key(pk)
        exits = sorted(self.exits[current]) if current else ["lead"]
        to = data.draw(st.one_of(st.sampled_from(exits), st.sampled_from(self.stage_keys)), label="to")
        actor = self.user(data.draw(st.sampled_from(USER_NAMES), label="actor"))
        why = data.draw(st.one_of(st.none(), st.sampled_from(self.reasons)), label="reason")
        at = self.clock - backdate
        self.attempt("move", lambda: advance(self.contact(pk), to, actor=actor, reason=why, at=at))

    @precondition(lambda self: self.contact_ids)
    @rule(
        data=st.data(),
        amount=st.one_of(st.sampled_from([1_000_000, 0]), st.sampled_from([-1, 2.5, True])),
    )
    def qualify_deal(self, data: st.DataObject, amount) -> None:
        candidates = self.in_stage("sal") or self.contact_ids
        pk = data.draw(
            st.one_of(st.sampled_from(candidates), st.sampled_from(self.contact_ids)),
            label="contact",
        )
        contact = self.contact(pk)
        deal = self.attempt(
            "qualify",
            lambda: qualify(contact, actor=self.people.is_rep, name="D", amount=amount, at=self.clock),
        )
        if deal is not None:
            # The person is an SQL with exactly one open deal (a new one, or the one still open
            # from an earlier qualification), owned by the Field Sales rep the handoff went to.
            handoff = Handoff.objects.get(subject_id=pk, status=Handoff.Status.OPEN)
            assert handoff.stage.key == "sql"
            open_deals = Deal.objects.filter(contact_id=pk, status=Deal.Status.OPEN)
            assert list(open_deals.values_list("pk", flat=True)) == [deal.pk]
            assert deal.owner_id == handoff.assigned_to_id
            assert (deal.amount, deal.name) == (amount, "D")

    @precondition(lambda self: Deal.objects.exists())
    @rule(data=st.data(), win=st.booleans())
    def close_deal(self, data: st.DataObject, win: bool, deal: Deal | None = None) -> None:
        if deal is None:
            deals = list(Deal.objects.order_by("pk"))
            open_deals = [d for d in deals if d.status == Deal.Status.OPEN] or deals
            deal = data.draw(st.one_of(st.sampled_from(open_deals), st.sampled_from(deals)), label="deal")
        actor = self.user(data.draw(st.sampled_from(["fs_rep", "fs_rep2", "manager"])))
        if win:
            closed = self.attempt("win", lambda: win_deal(deal, actor=actor, at=self.clock))
            if closed is not None:
                assert closed.status == Deal.Status.WON
                assert Milestone.objects.get(subject_id=deal.contact_id).current_stage.key == "won"
        else:
            why = self.draw_reason(data, ReasonCode.Kind.LOSS)
            closed = self.attempt("lose", lambda: lose_deal(deal, actor=actor, reason=why, at=self.clock))
            if closed is not None:
                assert why.kind == ReasonCode.Kind.LOSS
                assert closed.status == Deal.Status.LOST and closed.loss_reason == why

    @precondition(lambda self: self.contact_ids)
    @rule(data=st.data())
    def progress(self, data: st.DataObject) -> None:
        """The natural next step for someone, as the responsible team would take it (so that
        examples reach the later stages, not only the refusals)."""
        pk = data.draw(st.sampled_from(self.contact_ids), label="contact")
        current = self.stage_key(pk)
        handoff = Handoff.objects.filter(subject_id=pk, status=Handoff.Status.OPEN).first()
        deal = Deal.objects.filter(contact_id=pk, status=Deal.Status.OPEN).first()
        if handoff is not None:
            actor = handoff.assigned_to or self.people.manager
            self.attempt("accept", lambda: accept_handoff(handoff, actor=actor, at=self.clock))
        elif current in (None, "lead", "nurture"):
            contact, marketer = self.contact(pk), self.people.marketer
            self.attempt("to-mql", lambda: advance(contact, "mql", actor=marketer, at=self.clock))
        elif current == "sal":
            self.qualify_deal(data=data, amount=1_000_000)
        elif current == "opportunity" and deal is not None:
            self.close_deal(data=data, win=data.draw(st.booleans(), label="win"), deal=deal)
        else:
            exits = sorted(self.exits[current])
            to = data.draw(st.sampled_from(exits), label="to")
            why = self.draw_reason(data, ReasonCode.Kind.DISQUALIFY)
            contact, csm = self.contact(pk), self.people.csm
            self.attempt("step", lambda: advance(contact, to, actor=csm, reason=why, at=self.clock))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def journey_invariants_hold(self) -> None:
        """Checked after every step that changed the journey tables (a step that wrote
        nothing there cannot break them; skipping those keeps the test fast)."""
        state = fingerprint()
        if state == self.checked:
            return
        self.checked = state

        report = invariants.check()
        assert report.ok, report.violations
        assert report.violations == []

        # Each subject's log is numbered 1..n and its times never go backwards.
        last: dict[int, tuple[int, dt.datetime]] = {}
        for subject_id, seq, at in Transition.objects.order_by("subject_id", "seq").values_list(
            "subject_id", "seq", "at"
        ):
            prev_seq, prev_at = last.get(subject_id, (0, at))
            assert seq == prev_seq + 1, f"subject {subject_id}: transition {seq} out of sequence"
            assert at >= prev_at, f"subject {subject_id}: transition {seq} goes back in time"
            last[subject_id] = (seq, at)

        # Every transition into a handoff stage has exactly one handoff, and no other has one.
        entries = Transition.objects.filter(to_stage__key__in=HANDOFF_STAGES).annotate(n=Count("handoff"))
        assert [row.pk for row in entries if row.n != 1] == []
        assert Handoff.objects.count() == len(entries)

        # Nobody waits on more than one open handoff.
        open_per_subject = Counter(
            Handoff.objects.filter(status=Handoff.Status.OPEN).values_list("subject_id", flat=True)
        )
        assert [s for s, n in open_per_subject.items() if n > 1] == []


def fingerprint() -> tuple:
    """What the journey invariants depend on: the log (append-only), milestones, handoffs."""
    return (
        Transition.objects.count(),
        tuple(
            Milestone.objects.order_by("pk").values_list(
                "pk", "current_stage_id", "current_since", "transition_count", "last_hash"
            )
        ),
        tuple(Handoff.objects.order_by("pk").values_list("pk", "status", "resolution_id")),
    )


STATS: Counter[str] = Counter()


def test_random_event_sequences_keep_the_journey_invariants(people):
    JourneyMachine.people = people
    JourneyMachine.reasons = list(ReasonCode.objects.order_by("kind", "key"))
    JourneyMachine.stage_keys = list(Stage.objects.order_by("order").values_list("key", flat=True))
    model = load_stage_model()
    JourneyMachine.exits = {key: spec.exits for key, spec in model.stages.items()}
    STATS.clear()
    run_state_machine_as_test(
        JourneyMachine,
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # The machine really exercised the journey (not only refusals).
    assert STATS["examples"] >= 25
    assert STATS["transitions"] > STATS["examples"]
