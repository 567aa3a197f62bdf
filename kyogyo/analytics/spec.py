"""What every metric takes in (a ``Spec``: window, slices, filters) and the small value
types every metric gives out (``Rate`` with its numerator and denominator).

Windows are local calendar dates, both ends inclusive, in the company's time zone; the
snapshot stores local times, so a window is compared with ``>= start`` and ``< end + 1 day``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class SpecError(ValueError):
    """Input a metric cannot answer; ``code`` is stable, the message says what to fix."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Spec:
    start: dt.date | None = None
    end: dt.date | None = None
    by: tuple[str, ...] = ()
    filters: Mapping[str, str] = field(default_factory=dict)
    unit: str = "person"  # person | account
    view: str = "cohort"  # cohort | period
    horizon_days: int | None = None
    grain: str = "month"  # week | month | quarter (time series)
    as_of: dt.datetime | None = None  # local time "now" for maturity; default: the snapshot's
    options: Mapping[str, Any] = field(default_factory=dict)  # metric-specific inputs

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise SpecError("bad_window", f"the window ends ({self.end}) before it starts ({self.start})")
        if self.unit not in ("person", "account"):
            raise SpecError("bad_unit", f"unit must be person or account, not {self.unit!r}")
        if self.view not in ("cohort", "period"):
            raise SpecError("bad_view", f"view must be cohort or period, not {self.view!r}")
        if self.grain not in ("week", "month", "quarter"):
            raise SpecError("bad_grain", f"grain must be week, month or quarter, not {self.grain!r}")
        if self.horizon_days is not None and self.horizon_days <= 0:
            raise SpecError("bad_horizon", "the horizon must be a positive number of days")

    @property
    def end_exclusive(self) -> dt.date | None:
        return self.end + dt.timedelta(days=1) if self.end else None

    def window_sql(self, column: str) -> tuple[str, list[Any]]:
        """A condition (and its parameters) keeping ``column`` inside the window."""
        parts, params = [], []
        if self.start:
            parts.append(f"{column} >= ?")
            params.append(dt.datetime.combine(self.start, dt.time()))
        if self.end_exclusive:
            parts.append(f"{column} < ?")
            params.append(dt.datetime.combine(self.end_exclusive, dt.time()))
        return (" AND ".join(parts) or "TRUE"), params

    def describe(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "by": list(self.by),
            "filters": dict(self.filters),
        }


@dataclass(frozen=True)
class Rate:
    """A share with what it is a share of. ``value`` is None when nothing was counted."""

    numerator: float
    denominator: float
    small_below: int = 30

    @property
    def value(self) -> float | None:
        if not self.denominator:
            return None
        return self.numerator / self.denominator

    @property
    def small(self) -> bool:
        return self.denominator < self.small_below

    def as_dict(self, digits: int = 4) -> dict[str, Any]:
        value = self.value
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": None if value is None else round(value, digits),
            "small": self.small,
        }


def rounded(value: float | None, digits: int = 2) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


# --- periods on the company's fiscal calendar -------------------------------------

_QUARTER = re.compile(r"^(?:FY)?(\d{4})-?Q([1-4])$", re.IGNORECASE)
_FISCAL_YEAR = re.compile(r"^FY(\d{4})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def fiscal_year_start(fiscal_year: int, start_month: int) -> dt.date:
    """FY2026 with an April start runs 2026-04-01 … 2027-03-31 (named by its start year,
    as Japanese companies do: 2026年度)."""
    return dt.date(fiscal_year, start_month, 1)


def parse_period(text: str, start_month: int) -> tuple[dt.date, dt.date]:
    """``2026-04`` (a month), ``FY2026`` (a fiscal year), ``FY2026-Q1`` / ``2026Q1`` (a fiscal
    quarter), ``2026`` (a calendar year) → (first day, last day)."""
    value = text.strip()
    if m := _MONTH.match(value):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise SpecError("bad_period", f"{text!r}: month must be 01–12")
        first = dt.date(year, month, 1)
        return first, _add_months(first, 1) - dt.timedelta(days=1)
    if m := _QUARTER.match(value):
        first = _add_months(fiscal_year_start(int(m[1]), start_month), 3 * (int(m[2]) - 1))
        return first, _add_months(first, 3) - dt.timedelta(days=1)
    if m := _FISCAL_YEAR.match(value):
        first = fiscal_year_start(int(m[1]), start_month)
        return first, _add_months(first, 12) - dt.timedelta(days=1)
    if m := _YEAR.match(value):
        return dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31)
    raise SpecError(
        "bad_period",
        f"{text!r} is not a period: use YYYY-MM, YYYY (calendar year), FYYYYY or FYYYYY-Qn (fiscal)",
    )


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the months from ``start``'s month to ``end``'s month, inclusive."""
    months, current = [], dt.date(start.year, start.month, 1)
    while current <= end:
        months.append(current)
        current = _add_months(current, 1)
    return months


def month_start(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    return _add_months(day, months)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (the same definition DuckDB's quantile_cont uses)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
