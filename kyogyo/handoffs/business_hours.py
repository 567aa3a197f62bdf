"""Business-hours arithmetic for SLA clocks: working weekdays, working hours,
public holidays (from the maintained ``holidays`` package, e.g. Japan's 祝日)
and company exceptions. Pure: no database access."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data

MAX_SEARCH_DAYS = 3660


class CalendarError(ValueError):
    pass


@lru_cache(maxsize=8)
def _public_holidays(country: str) -> holiday_data.HolidayBase:
    try:
        return holiday_data.country_holidays(country)
    except NotImplementedError as exc:
        raise CalendarError(f"no public-holiday data for country {country!r}") from exc


@dataclass(frozen=True)
class WorkingCalendar:
    time_zone: str = "Asia/Tokyo"
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(18, 0)
    holiday_country: str = "JP"
    closed_days: frozenset[dt.date] = field(default_factory=frozenset)
    extra_working_days: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.weekdays and not self.extra_working_days:
            raise CalendarError("a business calendar needs at least one working weekday")
        if any(not isinstance(d, int) or d not in range(7) for d in self.weekdays):
            raise CalendarError("working weekdays are numbered 0 (Monday) to 6 (Sunday)")
        if self.day_end <= self.day_start:
            raise CalendarError("the working day must end after it starts")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise CalendarError(f"unknown time zone {self.time_zone!r}") from exc
        if self.holiday_country:
            _public_holidays(self.holiday_country)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def hours_per_day(self) -> float:
        start = dt.datetime.combine(dt.date(2000, 1, 1), self.day_start)
        end = dt.datetime.combine(dt.date(2000, 1, 1), self.day_end)
        return (end - start).total_seconds() / 3600

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.closed_days or day.weekday() not in self.weekdays:
            return False
        return not (self.holiday_country and day in _public_holidays(self.holiday_country))

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The day's working window in UTC. Arithmetic is done in UTC because Python
        subtracts and adds aware datetimes sharing a tzinfo on the wall clock, which
        is wrong by an hour across a daylight-saving change."""
        zone = self.zone
        return (
            dt.datetime.combine(day, self.day_start, tzinfo=zone).astimezone(dt.UTC),
            dt.datetime.combine(day, self.day_end, tzinfo=zone).astimezone(dt.UTC),
        )

    def add_business_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment ``hours`` working hours after ``start`` (aware datetime)."""
        _require_aware(start, "start")
        if not math.isfinite(hours):
            raise CalendarError("hours must be a finite number")
        if hours < 0:
            raise CalendarError("hours cannot be negative")
        try:
            remaining = dt.timedelta(hours=hours)
        except OverflowError as exc:
            raise CalendarError(f"{hours} hours is too many") from exc
        moment = start.astimezone(dt.UTC)
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(moment, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(start.tzinfo)
                    remaining -= available
            day += dt.timedelta(days=1)
        raise CalendarError(f"no working time within {MAX_SEARCH_DAYS} days of {start.isoformat()}")

    def business_hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working hours from ``start`` to ``end``; negative when ``end`` is earlier."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end < start:
            return -self.business_hours_between(end, start)
        utc_start, utc_end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        first_day = start.astimezone(self.zone).date()
        last_day = end.astimezone(self.zone).date()
        total = self._hours_on(first_day, utc_start, utc_end)
        if last_day > first_day:
            total += self._hours_on(last_day, utc_start, utc_end)
        # the days in between are worked whole: summed by year, not walked day by day (a
        # list of handoffs overdue for two years would walk 700 days per row)
        between = last_day.toordinal() - first_day.toordinal() - 1
        if between > 0:
            total += _working_seconds(self, first_day + dt.timedelta(days=1), between)
        return total / 3600

    def _hours_on(self, day: dt.date, utc_start: dt.datetime, utc_end: dt.datetime) -> float:
        """Seconds of ``day``'s working window inside [utc_start, utc_end]."""
        if not self.is_working_day(day):
            return 0.0
        opens, closes = self._window(day)
        begin, finish = max(opens, utc_start), min(closes, utc_end)
        return max(0.0, (finish - begin).total_seconds())

    def _day_seconds(self, day: dt.date) -> float:
        """The length of ``day``'s whole working window (0 on a day off)."""
        if not self.is_working_day(day):
            return 0.0
        opens, closes = self._window(day)
        return (closes - opens).total_seconds()


@lru_cache(maxsize=64)
def _year_prefix(calendar: WorkingCalendar, year: int) -> tuple[float, ...]:
    """Working seconds of ``year``'s days before each day: entry i is the sum over its first
    i days (so the last entry is the year's total). One year per calendar is worked out once."""
    day = dt.date(year, 1, 1)
    sums = [0.0]
    while day.year == year:
        sums.append(sums[-1] + calendar._day_seconds(day))
        day += dt.timedelta(days=1)
    return tuple(sums)


def _working_seconds(calendar: WorkingCalendar, first: dt.date, days: int) -> float:
    """Working seconds of the whole days ``first`` … ``first + days - 1``."""
    last = first + dt.timedelta(days=days - 1)
    total = 0.0
    for year in range(first.year, last.year + 1):
        sums = _year_prefix(calendar, year)
        begin = (first - dt.date(year, 1, 1)).days if year == first.year else 0
        end = (last - dt.date(year, 1, 1)).days + 1 if year == last.year else len(sums) - 1
        total += sums[end] - sums[begin]
    return total


def _require_aware(moment: dt.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CalendarError(f"{name} must be timezone-aware")
