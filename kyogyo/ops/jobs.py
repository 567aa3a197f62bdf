"""Background jobs (called by the scheduler; each also has a CLI command)."""

from __future__ import annotations

from kyogyo.handoffs.actions import mark_breaches
from kyogyo.journey.evaluation import run_rules_for_all


def check_slas() -> int:
    return mark_breaches()


def run_rules() -> int:
    return run_rules_for_all().moved
