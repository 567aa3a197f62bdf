"""Scheduled jobs: registered by init, and doing their work when the worker calls them."""

from __future__ import annotations

import datetime as dt

from django.core.management import call_command
from django_q.models import Schedule

from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import classify
from kyogyo.ops import jobs, schedules
from kyogyo.testing import T0


def test_init_registers_the_schedules_once(db):
    call_command("init", "--no-input", verbosity=0)
    call_command("init", "--no-input", verbosity=0)
    names = sorted(Schedule.objects.values_list("name", flat=True))
    assert names == sorted(name for name, _, _ in schedules.JOBS)
    for name, func, minutes in schedules.JOBS:
        row = Schedule.objects.get(name=name)
        assert (row.func, row.minutes) == (func, minutes)


def test_sla_job_marks_overdue_handoffs(people, make_contact):
    contact = make_contact()
    classify(contact, "now", actor=people.marketer, at=T0)
    handoff = Handoff.objects.get(subject=contact)
    assert handoff.breached_at is None
    # T0 is far in the past, so the handoff is long overdue by now.
    assert jobs.check_slas() == 1
    handoff.refresh_from_db()
    assert handoff.breached_at == handoff.due_at
    assert jobs.check_slas() == 0


def test_rules_job_applies_time_based_rules(make_contact):
    contact = make_contact(at=T0, title="Engineer", employees=5, industry="education", country="US")
    assert contact.milestone.current_stage.key == "lead"
    moved = jobs.run_rules()  # now is long after T0 + 30 days: the idle lead goes to nurture
    assert moved == 1
    contact.milestone.refresh_from_db()
    assert contact.milestone.current_stage.key == "nurture"
    assert contact.milestone.current_since > T0 + dt.timedelta(days=30)


def test_snapshot_job_builds_then_refreshes_and_skips_while_busy(make_contact, snapshot_dir):
    from kyogyo.analytics.snapshot.store import refresh_lock

    make_contact()
    assert jobs.refresh_snapshot() == "rebuild"
    make_contact()
    assert jobs.refresh_snapshot() == "refresh"
    with refresh_lock():
        assert jobs.refresh_snapshot() == "busy"


def test_sweep_jobs_forget_old_rate_counters_and_kept_answers(people):
    from kyogyo.api.actions import create_token
    from kyogyo.api.models import IdempotentRequest
    from kyogyo.ops.models import RateCounter

    token, _ = create_token(people.marketer, name="t", scope="write", actor=people.marketer)
    RateCounter.objects.create(key="old", window_start=0, count=3)
    IdempotentRequest.objects.create(token=token, key="old", fingerprint="f", created_at=T0)
    IdempotentRequest.objects.create(token=token, key="new", fingerprint="f")
    assert jobs.sweep_rate_counters() == 1
    assert jobs.sweep_idempotency_keys() == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]
