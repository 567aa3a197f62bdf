"""`--at` for the scheduled commands: judge or check as of a given moment."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.handoffs.models import Handoff
from kyogyo.journey.actions import classify
from kyogyo.testing import T0


def test_sla_check_at_a_moment_marks_only_what_was_due_by_then(people, make_contact, capsys):
    contact = make_contact()
    classify(contact, "now", actor=people.marketer, at=T0)  # due 8 business hours later: Tuesday 09:00
    call_command("sla", "check", "--at", "2026-04-06T17:00", "--format", "json")
    assert json.loads(capsys.readouterr().out)["newly_breached"] == 0
    call_command("sla", "check", "--at", "2026-04-07T10:00", "--format", "json")
    assert json.loads(capsys.readouterr().out)["newly_breached"] == 1
    assert Handoff.objects.get(subject=contact).breached_at is not None


def test_rules_run_at_a_moment(make_contact, capsys):
    contact = make_contact(title="Engineer", employees=5, industry="education", country="US")
    call_command("rules", "run", "--at", (T0 + dt.timedelta(days=29)).isoformat(), "--format", "json")
    assert json.loads(capsys.readouterr().out)["moved"] == 0
    call_command("rules", "run", "--at", (T0 + dt.timedelta(days=30)).isoformat(), "--format", "json")
    assert json.loads(capsys.readouterr().out)["moved"] == 1
    contact.milestone.refresh_from_db()
    assert contact.milestone.current_stage.key == "nurture"
    assert contact.milestone.current_since == T0 + dt.timedelta(days=30)


@pytest.mark.parametrize("command", [("sla", "check"), ("rules", "run")])
def test_a_bad_moment_is_refused_clearly(db, command):
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command(*command, "--at", "next tuesday")
