"""Changes to what the metrics depend on (Settings → targets and fiscal year): the
company-wide analytics settings (fiscal year, bands, thresholds) and the KPI targets.
The reports read them from the snapshot, so they show after its next refresh (targets are
reloaded whole at every refresh)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from kyogyo.analytics.models import AnalyticsSettings, Target
from kyogyo.org import access
from kyogyo.org.models import Team, User

PLAIN_METRICS = ("revenue", "new_mrr", "wins", "grr")
ENTERED = re.compile(r"^entered:([a-z0-9_-]{1,40})$")
MAX_TARGET = 1e15


class AnalyticsError(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None):
        self.code, self.field = code, field
        super().__init__(message)


def _check_admin(actor: User) -> None:
    if not access.can_manage_settings(actor):
        raise AnalyticsError("forbidden", "only admins change targets and analytics settings")


@transaction.atomic
def save_settings(
    *,
    actor: User,
    fiscal_year_start_month: int,
    deal_size_edges: Sequence[int],
    company_size_edges: Sequence[int],
    small_denominator: int,
    gross_margin_percent: int,
) -> AnalyticsSettings:
    _check_admin(actor)
    row = AnalyticsSettings.load()
    if not 1 <= fiscal_year_start_month <= 12:
        raise AnalyticsError(
            "bad_month", "the fiscal year starts in a month from 1 to 12", "fiscal_year_start_month"
        )
    if not 0 <= gross_margin_percent <= 100:
        raise AnalyticsError("bad_percent", "a percentage is from 0 to 100", "gross_margin_percent")
    if small_denominator < 1:
        raise AnalyticsError("bad_number", "the small denominator is at least 1", "small_denominator")
    row.fiscal_year_start_month = fiscal_year_start_month
    row.deal_size_edges, row.company_size_edges = list(deal_size_edges), list(company_size_edges)
    row.small_denominator, row.gross_margin_percent = small_denominator, gross_margin_percent
    try:
        row.clean()
    except ValidationError as exc:
        field, problems = next(iter(exc.message_dict.items()))
        raise AnalyticsError("bad_edges", " ".join(problems), field) from exc
    row.save()
    return row


def check_metric(metric: str) -> str:
    from kyogyo.journey.models import Stage

    metric = (metric or "").strip()
    if metric in PLAIN_METRICS:
        return metric
    entered = ENTERED.match(metric)
    if entered and Stage.objects.filter(key=entered.group(1)).exists():
        return metric
    raise AnalyticsError(
        "bad_metric",
        f"{metric!r} is not a KPI: use {', '.join(PLAIN_METRICS)} or entered:<stage key>",
        "metric",
    )


@transaction.atomic
def create_target(
    *, actor: User, metric: str, team: Team | None, starts_on: dt.date, ends_on: dt.date, value: float
) -> Target:
    _check_admin(actor)
    metric = check_metric(metric)
    if ends_on < starts_on:
        raise AnalyticsError("bad_period", "the period ends before it starts", "ends_on")
    if not 0 <= value <= MAX_TARGET:
        raise AnalyticsError("bad_value", "a target is a number from 0 up", "value")
    if metric == "grr" and value > 1:
        raise AnalyticsError("bad_share", "a GRR target is a share from 0 to 1 (0.9 = 90%)", "value")
    return Target.objects.create(metric=metric, team=team, starts_on=starts_on, ends_on=ends_on, value=value)


@transaction.atomic
def delete_target(target: Target, *, actor: User) -> None:
    """Targets are plans, not records of what happened: removing one loses no history."""
    _check_admin(actor)
    target.delete()


def save_plan(*, actor: User, name: str, inputs: Any, result: Any) -> Any:
    """Store a computed plan (its assumptions and result) to follow it as the period runs."""
    from kyogyo.analytics.metrics import plan

    if not access.can_save_plans(actor):
        raise AnalyticsError("forbidden", "only managers and admins save plans")
    name = (name or "").strip()
    if not name or len(name) > 150:
        raise AnalyticsError("bad_plan_name", "a saved plan needs a name of at most 150 characters", "name")
    with transaction.atomic():
        saved = plan.save_plan(name, inputs, result)
        saved.created_by = actor
        saved.save(update_fields=["created_by"])
    return saved
