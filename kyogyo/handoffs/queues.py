"""A person's queue of handoffs to act on: their team's open ones (assigned to them or to
nobody; a manager sees the whole team's), overdue first, with the time left in business
hours so the countdown means what the SLA means."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from kyogyo.handoffs.actions import load_calendar
from kyogyo.handoffs.business_hours import WorkingCalendar
from kyogyo.handoffs.models import Handoff
from kyogyo.org import access
from kyogyo.org.models import User


@dataclass(frozen=True)
class QueueItem:
    handoff: Handoff
    hours_left: float  # business hours until due; negative once overdue

    @property
    def overdue(self) -> bool:
        return self.hours_left < 0


def queue_for(user: User) -> QuerySet[Handoff]:
    """Open handoffs this person is expected to act on, earliest due first."""
    if user.team_id is None and not access.is_manager(user):
        return Handoff.objects.none()
    open_ones = Handoff.objects.filter(status=Handoff.Status.OPEN).select_related(
        "subject", "subject__account", "stage", "from_team", "to_team", "assigned_to"
    )
    if user.team_id is not None:
        open_ones = open_ones.filter(to_team_id=user.team_id)
    if not access.is_manager(user):
        open_ones = open_ones.filter(Q(assigned_to=user) | Q(assigned_to__isnull=True))
    return open_ones.order_by("due_at", "id")


def with_countdown(
    handoffs: list[Handoff], now: dt.datetime | None = None, calendar: WorkingCalendar | None = None
) -> list[QueueItem]:
    now = now or timezone.now()
    calendar = calendar or load_calendar()
    return [QueueItem(h, calendar.business_hours_between(now, h.due_at)) for h in handoffs]
