"""Reading a moment given on the command line."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def parse_moment(text: str) -> dt.datetime:
    """An ISO date or date-time; naive values are in the company's time zone."""
    value = parse_datetime(text) or (parse_datetime(text + "T00:00:00") if len(text) == 10 else None)
    if value is None:
        raise CommandError(
            f"--at: {text!r} is not an ISO date or date-time (e.g. 2026-04-01 or 2026-04-01T09:00)"
        )
    return timezone.make_aware(value) if timezone.is_naive(value) else value
