"""The scheduled jobs, run by the background worker (``kyogyo worker``) on the database."""

from __future__ import annotations

from django_q.models import Schedule

JOBS = [
    # name, function, minutes between runs
    ("SLA check", "kyogyo.ops.jobs.check_slas", 5),
    ("Stage rules", "kyogyo.ops.jobs.run_rules", 60),
    ("Analytics snapshot", "kyogyo.ops.jobs.refresh_snapshot", 5),
    ("Webhook delivery", "kyogyo.ops.jobs.deliver_webhooks", 1),
    ("Rate-limit sweep", "kyogyo.ops.jobs.sweep_rate_counters", 60),
    ("API idempotency sweep", "kyogyo.ops.jobs.sweep_idempotency_keys", 60),
    ("Inbound replay sweep", "kyogyo.ops.jobs.sweep_inbound_messages", 10),
]


def register() -> None:
    """Create or update the schedule rows (idempotent)."""
    for name, func, minutes in JOBS:
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes},
        )
