"""Unit and property tests for SLA business-hours arithmetic
(``kyogyo.handoffs.business_hours``). Pure: no database."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyogyo.handoffs.business_hours import CalendarError, WorkingCalendar

JST = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
CAL = WorkingCalendar()  # Tokyo, Monday to Friday, 9:00-18:00, Japanese public holidays

# The company's year-end break, plus one Saturday worked to make up for it.
YEAR_END = frozenset(dt.date(2026, 12, 29) + dt.timedelta(days=i) for i in range(6))
COMPANY = WorkingCalendar(closed_days=YEAR_END, extra_working_days=frozenset({dt.date(2026, 3, 7)}))


def jst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=JST)


# ================================================================ the calendar itself


def test_defaults() -> None:
    assert CAL.time_zone == "Asia/Tokyo"
    assert CAL.hours_per_day == 9.0
    assert CAL.zone == JST
    assert WorkingCalendar(day_start=dt.time(9, 30), day_end=dt.time(17, 45)).hours_per_day == 8.25


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2026, 3, 6), True),  # Friday
        (dt.date(2026, 3, 7), False),  # Saturday
        (dt.date(2026, 3, 8), False),  # Sunday
        (dt.date(2026, 3, 9), True),  # Monday
        (dt.date(2026, 3, 20), False),  # Vernal Equinox Day (Friday)
        (dt.date(2026, 5, 1), True),  # Friday between Showa Day and Golden Week
        (dt.date(2026, 5, 4), False),  # Greenery Day
        (dt.date(2026, 5, 5), False),  # Children's Day
        (dt.date(2026, 5, 6), False),  # substitute holiday for Constitution Day (a Sunday)
        (dt.date(2026, 5, 7), True),
        (dt.date(2026, 9, 22), False),  # 国民の休日 sandwiched between two holidays
        (dt.date(2026, 12, 31), True),  # not a public holiday
        (dt.date(2027, 1, 1), False),  # New Year's Day
        (dt.date(2027, 1, 4), True),
    ],
)
def test_is_working_day_with_japanese_public_holidays(day: dt.date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_without_a_holiday_country_public_holidays_are_working_days() -> None:
    calendar = WorkingCalendar(holiday_country="")
    assert calendar.is_working_day(dt.date(2026, 5, 4))
    assert calendar.is_working_day(dt.date(2027, 1, 1))
    assert not calendar.is_working_day(dt.date(2026, 5, 3))  # still a Sunday


def test_company_closed_days_and_extra_working_days() -> None:
    assert not COMPANY.is_working_day(dt.date(2026, 12, 29))  # a Tuesday
    assert not COMPANY.is_working_day(dt.date(2027, 1, 3))
    assert COMPANY.is_working_day(dt.date(2027, 1, 4))
    assert COMPANY.is_working_day(dt.date(2026, 3, 7))  # the Saturday worked
    assert not COMPANY.is_working_day(dt.date(2026, 3, 14))  # other Saturdays are not


def test_an_extra_working_day_wins_over_a_public_holiday() -> None:
    calendar = WorkingCalendar(extra_working_days=frozenset({dt.date(2026, 5, 4)}))
    assert calendar.is_working_day(dt.date(2026, 5, 4))


def test_custom_weekdays() -> None:
    calendar = WorkingCalendar(weekdays=frozenset({5, 6}), holiday_country="")
    assert calendar.is_working_day(dt.date(2026, 3, 7))
    assert not calendar.is_working_day(dt.date(2026, 3, 9))


# ================================================================ invalid calendars


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weekdays": frozenset()}, "at least one working weekday"),
        ({"weekdays": frozenset({0, 7})}, "0 (Monday) to 6 (Sunday)"),
        ({"weekdays": frozenset({-1})}, "0 (Monday) to 6 (Sunday)"),
        ({"day_start": dt.time(18), "day_end": dt.time(9)}, "end after it starts"),
        ({"day_start": dt.time(9), "day_end": dt.time(9)}, "end after it starts"),
        ({"time_zone": "Asia/Tokio"}, "unknown time zone 'Asia/Tokio'"),
        ({"time_zone": ""}, "unknown time zone"),
        ({"time_zone": "../etc/passwd"}, "unknown time zone"),
        ({"holiday_country": "XX"}, "no public-holiday data for country 'XX'"),
    ],
)
def test_invalid_calendars_raise_calendar_error(kwargs: dict, message: str) -> None:
    with pytest.raises(CalendarError, match=message.replace("(", r"\(").replace(")", r"\)")):
        WorkingCalendar(**kwargs)


def test_calendar_error_is_a_value_error() -> None:
    assert issubclass(CalendarError, ValueError)


def test_extra_working_days_alone_make_a_valid_calendar() -> None:
    only_day = dt.date(2026, 3, 7)
    calendar = WorkingCalendar(weekdays=frozenset(), extra_working_days=frozenset({only_day}))
    assert calendar.add_business_hours(jst(2026, 3, 1), 1) == jst(2026, 3, 7, 10)


# ================================================================ add_business_hours


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (jst(2026, 3, 6, 17), 2, jst(2026, 3, 9, 10)),  # Friday 17:00 + 2h → Monday 10:00
        (jst(2026, 3, 9, 7, 30), 1, jst(2026, 3, 9, 10)),  # before opening
        (jst(2026, 3, 9, 19), 1, jst(2026, 3, 10, 10)),  # after closing
        (jst(2026, 3, 9, 23, 59), 0.5, jst(2026, 3, 10, 9, 30)),
        (jst(2026, 3, 7, 11), 1, jst(2026, 3, 9, 10)),  # Saturday
        (jst(2026, 3, 8, 8), 3, jst(2026, 3, 9, 12)),  # Sunday
        (jst(2026, 3, 9, 17), 1, jst(2026, 3, 9, 18)),  # fills the day exactly: same day
        (jst(2026, 3, 9, 9), 9, jst(2026, 3, 9, 18)),
        (jst(2026, 3, 9, 9), 10, jst(2026, 3, 10, 10)),
        (jst(2026, 3, 9, 9), 45, jst(2026, 3, 13, 18)),  # a whole working week
        (jst(2026, 3, 9, 9), 46, jst(2026, 3, 16, 10)),
        (jst(2026, 3, 9, 9), 0.25, jst(2026, 3, 9, 9, 15)),
        (jst(2026, 3, 9, 9), 1 / 60, jst(2026, 3, 9, 9, 1)),
        (jst(2026, 3, 19, 17), 2, jst(2026, 3, 23, 10)),  # Friday 20th is Vernal Equinox Day
        (jst(2026, 5, 1, 17), 2, jst(2026, 5, 7, 10)),  # Golden Week: 2nd-6th skipped
        (jst(2026, 4, 30, 12), 15, jst(2026, 5, 1, 18)),
        (jst(2026, 4, 30, 12), 16, jst(2026, 5, 7, 10)),
        (jst(2026, 12, 31, 17), 2, jst(2027, 1, 4, 10)),  # New Year's Day, then a weekend
    ],
)
def test_add_business_hours(start: dt.datetime, hours: float, due: dt.datetime) -> None:
    assert CAL.add_business_hours(start, hours) == due
    assert CAL.business_hours_between(start, due) == pytest.approx(hours, abs=1e-6)


def test_zero_hours_inside_working_time_is_the_start() -> None:
    start = jst(2026, 3, 9, 11, 23)
    assert CAL.add_business_hours(start, 0) == start
    assert CAL.add_business_hours(jst(2026, 3, 9, 9), 0) == jst(2026, 3, 9, 9)


@pytest.mark.parametrize(
    "start",
    [jst(2026, 3, 6, 18), jst(2026, 3, 6, 20), jst(2026, 3, 7, 12), jst(2026, 3, 9, 6)],
)
def test_zero_hours_outside_working_time_is_the_next_opening(start: dt.datetime) -> None:
    assert CAL.add_business_hours(start, 0) == jst(2026, 3, 9, 9)


def test_company_year_end_break_is_skipped() -> None:
    assert COMPANY.add_business_hours(jst(2026, 12, 28, 17), 2) == jst(2027, 1, 4, 10)
    assert COMPANY.business_hours_between(jst(2026, 12, 28, 17), jst(2027, 1, 4, 10)) == 2.0
    # Without the company break the 29th and 30th are ordinary working days.
    assert CAL.add_business_hours(jst(2026, 12, 28, 17), 2) == jst(2026, 12, 29, 10)


def test_an_extra_working_saturday_is_used() -> None:
    assert COMPANY.add_business_hours(jst(2026, 3, 6, 17), 2) == jst(2026, 3, 7, 10)
    assert COMPANY.add_business_hours(jst(2026, 3, 6, 17), 11) == jst(2026, 3, 9, 10)


def test_utc_start_is_converted_and_the_result_keeps_the_callers_zone() -> None:
    start = dt.datetime(2026, 3, 6, 8, 0, tzinfo=dt.UTC)  # Friday 17:00 in Tokyo
    due = CAL.add_business_hours(start, 2)
    assert due == jst(2026, 3, 9, 10)
    assert due.tzinfo is dt.UTC
    assert due == dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC)


def test_a_utc_start_on_the_previous_utc_day_uses_the_tokyo_date() -> None:
    # Sunday 23:30 UTC is already Monday 08:30 in Tokyo.
    start = dt.datetime(2026, 3, 8, 23, 30, tzinfo=dt.UTC)
    assert CAL.add_business_hours(start, 1) == jst(2026, 3, 9, 10)


def test_fixed_offset_result_keeps_its_offset() -> None:
    minus_five = dt.timezone(dt.timedelta(hours=-5))
    start = dt.datetime(2026, 3, 6, 3, 0, tzinfo=minus_five)  # Friday 17:00 in Tokyo
    due = CAL.add_business_hours(start, 2)
    assert due.tzinfo is minus_five
    assert due == jst(2026, 3, 9, 10)
    assert (due.hour, due.day) == (20, 8)


@pytest.mark.parametrize("hours", [-1, -0.001, math.nan, math.inf])
def test_negative_or_non_finite_hours_raise(hours: float) -> None:
    with pytest.raises(CalendarError):
        CAL.add_business_hours(jst(2026, 3, 9, 10), hours)


def test_naive_datetimes_raise() -> None:
    naive = dt.datetime(2026, 3, 9, 10)  # noqa: DTZ001 - naive on purpose
    with pytest.raises(CalendarError, match="timezone-aware"):
        CAL.add_business_hours(naive, 1)
    with pytest.raises(CalendarError, match="start must be timezone-aware"):
        CAL.business_hours_between(naive, jst(2026, 3, 9, 12))
    with pytest.raises(CalendarError, match="end must be timezone-aware"):
        CAL.business_hours_between(jst(2026, 3, 9, 12), naive)


def test_no_working_time_in_reach_raises() -> None:
    calendar = WorkingCalendar(weekdays=frozenset(), extra_working_days=frozenset({dt.date(2020, 1, 6)}))
    with pytest.raises(CalendarError, match="no working time"):
        calendar.add_business_hours(jst(2026, 3, 9), 1)


# ================================================================ business_hours_between


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (jst(2026, 3, 6, 17), jst(2026, 3, 9, 10), 2.0),
        (jst(2026, 3, 9, 10), jst(2026, 3, 9, 10), 0.0),
        (jst(2026, 3, 9, 10), jst(2026, 3, 9, 10, 30), 0.5),
        (jst(2026, 3, 7, 0), jst(2026, 3, 8, 23, 59), 0.0),  # a weekend
        (jst(2026, 3, 9, 18), jst(2026, 3, 10, 9), 0.0),  # overnight
        (jst(2026, 3, 9, 0), jst(2026, 3, 14, 0), 45.0),
        (jst(2026, 5, 1, 0), jst(2026, 5, 8, 0), 18.0),  # Golden Week: only 1st and 7th
        (jst(2026, 12, 31, 12), jst(2027, 1, 4, 12), 9.0),
    ],
)
def test_business_hours_between(start: dt.datetime, end: dt.datetime, hours: float) -> None:
    assert CAL.business_hours_between(start, end) == hours
    assert CAL.business_hours_between(end, start) == -hours


def test_business_hours_between_mixed_zones() -> None:
    start = dt.datetime(2026, 3, 6, 8, 0, tzinfo=dt.UTC)  # Friday 17:00 JST
    assert CAL.business_hours_between(start, jst(2026, 3, 9, 10)) == 2.0


# ================================================================ daylight saving time


def test_working_time_spanning_a_daylight_saving_change_counts_real_hours() -> None:
    # A round-the-clock desk in New York: on 2026-03-08 clocks jump from 02:00 to 03:00,
    # so the day's 00:00-23:00 window holds 22 real hours; on 2026-11-01 it holds 24.
    desk = WorkingCalendar(
        time_zone="America/New_York",
        weekdays=frozenset(range(7)),
        day_start=dt.time(0, 0),
        day_end=dt.time(23, 0),
        holiday_country="",
    )
    spring = dt.datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)
    assert desk.business_hours_between(spring, spring.replace(hour=23)) == 22.0
    assert desk.add_business_hours(spring, 22) == spring.replace(hour=23)
    assert desk.add_business_hours(spring, 3) == spring.replace(hour=4)  # 01:00 EST + 3h

    autumn = dt.datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    assert desk.business_hours_between(autumn, autumn.replace(hour=23)) == 24.0
    assert desk.add_business_hours(autumn, 23) == autumn.replace(hour=22)


# ================================================================ property tests

CALENDARS = [
    CAL,
    COMPANY,
    WorkingCalendar(
        time_zone="America/New_York",
        weekdays=frozenset({0, 2, 4, 5}),
        day_start=dt.time(8, 15),
        day_end=dt.time(12, 45),
        holiday_country="US",
    ),
]

calendars = st.sampled_from(CALENDARS)
moments = st.datetimes(
    # Hypothesis takes naive bounds and attaches the time zones itself.
    min_value=dt.datetime(2026, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([JST, dt.UTC, NEW_YORK]),
)
hours = st.floats(min_value=0, max_value=400, allow_nan=False, allow_infinity=False)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


def utc(moment: dt.datetime) -> dt.datetime:
    """Compare in UTC: Python compares datetimes sharing a tzinfo on the wall clock."""
    return moment.astimezone(dt.UTC)


def in_working_time(calendar: WorkingCalendar, moment: dt.datetime) -> bool:
    local = moment.astimezone(calendar.zone)
    return calendar.is_working_day(local.date()) and (calendar.day_start <= local.time() < calendar.day_end)


@PROPERTY_SETTINGS
@given(calendar=calendars, start=moments, h=hours)
def test_between_undoes_add(calendar: WorkingCalendar, start: dt.datetime, h: float) -> None:
    due = calendar.add_business_hours(start, h)
    assert utc(due) >= utc(start)
    assert due.tzinfo is start.tzinfo
    assert calendar.business_hours_between(start, due) == pytest.approx(h, abs=1 / 3600)


@PROPERTY_SETTINGS
@given(calendar=calendars, start=moments, h=hours)
def test_due_time_falls_in_working_time(calendar: WorkingCalendar, start: dt.datetime, h: float) -> None:
    due = calendar.add_business_hours(start, h).astimezone(calendar.zone)
    assert calendar.is_working_day(due.date())
    assert calendar.day_start <= due.time() <= calendar.day_end
    if in_working_time(calendar, start):
        assert utc(calendar.add_business_hours(start, 0)) == utc(start)


@PROPERTY_SETTINGS
@given(calendar=calendars, start=moments, a=hours, b=hours)
def test_add_is_monotonic_in_hours(calendar: WorkingCalendar, start: dt.datetime, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert utc(calendar.add_business_hours(start, low)) <= utc(calendar.add_business_hours(start, high))


@PROPERTY_SETTINGS
@given(calendar=calendars, start=moments, a=hours, b=hours)
def test_add_composes(calendar: WorkingCalendar, start: dt.datetime, a: float, b: float) -> None:
    once = calendar.add_business_hours(start, a + b)
    twice = calendar.add_business_hours(calendar.add_business_hours(start, a), b)
    assert calendar.business_hours_between(once, twice) == pytest.approx(0, abs=1 / 3600)


@PROPERTY_SETTINGS
@given(calendar=calendars, a=moments, b=moments, c=moments)
def test_between_is_antisymmetric_and_additive(
    calendar: WorkingCalendar, a: dt.datetime, b: dt.datetime, c: dt.datetime
) -> None:
    ab = calendar.business_hours_between(a, b)
    assert ab == -calendar.business_hours_between(b, a)
    assert (ab >= 0) is (utc(b) >= utc(a)) or ab == 0
    ac = calendar.business_hours_between(a, c)
    bc = calendar.business_hours_between(b, c)
    assert ab + bc == pytest.approx(ac, abs=1e-6)
    assert abs(ab) <= abs((utc(b) - utc(a)).total_seconds()) / 3600 + 1e-9


def walked_hours(calendar: WorkingCalendar, start: dt.datetime, end: dt.datetime) -> float:
    """The reference: every day from start to end walked, its window clipped to the span."""
    total = dt.timedelta(0)
    day, last = start.astimezone(calendar.zone).date(), end.astimezone(calendar.zone).date()
    while day <= last:
        if calendar.is_working_day(day):
            zone = calendar.zone
            opens = dt.datetime.combine(day, calendar.day_start, tzinfo=zone).astimezone(dt.UTC)
            closes = dt.datetime.combine(day, calendar.day_end, tzinfo=zone).astimezone(dt.UTC)
            begin, finish = max(opens, utc(start)), min(closes, utc(end))
            total += max(dt.timedelta(0), finish - begin)
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600


long_spans = st.datetimes(
    min_value=dt.datetime(2023, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2028, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([JST, dt.UTC, NEW_YORK]),
)


@PROPERTY_SETTINGS
@given(calendar=calendars, a=long_spans, b=long_spans)
def test_between_over_years_is_the_day_by_day_sum(
    calendar: WorkingCalendar, a: dt.datetime, b: dt.datetime
) -> None:
    start, end = sorted((a, b), key=utc)
    assert calendar.business_hours_between(start, end) == pytest.approx(
        walked_hours(calendar, start, end), abs=1e-6
    )


def test_between_over_two_years_counts_every_working_day() -> None:
    # 2024: 262 weekdays, 14 of them public holidays; 2025: 261 and 15. The ends fall on
    # days off (2023-12-31 is a Sunday, 2026-01-01 a holiday): 248 + 246 days of 9 hours
    assert CAL.business_hours_between(jst(2023, 12, 31, 12), jst(2026, 1, 1, 12)) == (248 + 246) * 9
