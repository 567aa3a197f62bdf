"""Background jobs (called by the scheduler; each also has a CLI command)."""

from __future__ import annotations

from kyogyo.handoffs.actions import mark_breaches
from kyogyo.journey.evaluation import run_rules_for_all


def check_slas() -> int:
    return mark_breaches()


def run_rules() -> int:
    return run_rules_for_all().moved


def refresh_snapshot() -> str:
    """Bring the analytics snapshot up to date; a refresh already running is left to finish."""
    from kyogyo.analytics import snapshot

    try:
        return snapshot.refresh(wait_seconds=0).kind
    except snapshot.SnapshotError as exc:
        if exc.code == "busy":
            return "busy"
        raise


def deliver_webhooks() -> int:
    """Send the webhook deliveries that are due (first attempts and retries)."""
    from kyogyo.webhooks.delivery import deliver_due

    return deliver_due().attempted


def sweep_rate_counters() -> int:
    """Forget rate-limit counters of windows long past."""
    from kyogyo.ops.ratelimit import sweep

    return sweep()


def sweep_idempotency_keys() -> int:
    """Forget the kept answers of API writes older than a day."""
    from kyogyo.api.idempotency import sweep

    return sweep()


def sweep_inbound_messages() -> int:
    """Forget inbound webhook messages whose timestamps would be refused anyway (replays)."""
    from kyogyo.intake.hooks import sweep_seen

    return sweep_seen()
