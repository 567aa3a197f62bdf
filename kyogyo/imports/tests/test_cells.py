"""Cell conversion shortcuts judged against what they stand for: the usual date formats
matched without ``strptime`` must match exactly what ``strptime`` matches, and email
addresses must be judged exactly as Django's ``validate_email`` judges them."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from kyogyo.customers import emails
from kyogyo.imports.mappings import DEFAULT_DATES, _parse_time, _time_pattern

FORMATS = [
    *DEFAULT_DATES,
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%Y%m%d",
    "%Y%m%d%H%M",
    "%Y.%m.%d",
    "%Y-%m-%dT%H:%M",
    "%Y(%m)%d",
    "%Y年%m月%d日",
    "%d %b %Y",  # not one of the shortcut's: strptime itself
    "%Y-%m-%d %%",
]
TRICKY = [
    "2025-01-06 09:00",
    "2025-1-6",
    "2025/12/31 23:59:59",
    "2025-02-29",
    "2024-02-29",
    "2025-01-06  09:00",
    "2025-01-06\t9:5",
    " 2025-01-06",
    "2025-01-06 ",
    "２０２５-01-06",
    "20251231",
    "2025123",
    "2025111",
    "202511",
    "2025-13-01",
    "2025-00-10",
    "2025-01-06 24:00",
    "2025/01/06 12:00:60",
    "2025/01/06 12:00:61",
    "2025-01-06t09:00",
    "2025(1)2",
    "2025年1月6日",
    "06 Jan 2025",
    "2025-01-06 %",
    "",
]


def strptime_or_none(text: str, fmt: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, fmt)  # noqa: DTZ007 — compared as strptime gives it
    except ValueError:
        return None


def parse_or_none(text: str, fmt: str) -> dt.datetime | None:
    try:
        return _parse_time(text, fmt)
    except ValueError:
        return None


def generated(count: int) -> list[str]:
    rng = random.Random(7)
    texts = []
    for _ in range(count):
        year = rng.choice(["2025", "1999", "0001", "20250", "25"])
        month, day = str(rng.randint(0, 14)), str(rng.randint(0, 33))
        month = month.zfill(2) if rng.random() < 0.5 else month
        day = day.zfill(2) if rng.random() < 0.5 else day
        sep = rng.choice(["-", "/", "", ".", " ", "  "])
        time = rng.choice(
            [
                "",
                f" {rng.randint(0, 25)}:{rng.randint(0, 61):02d}",
                f" {rng.randint(0, 9)}:{rng.randint(0, 62)}:0",
            ]
        )
        texts.append(f"{year}{sep}{month}{sep}{day}{time}")
    return texts


@pytest.mark.parametrize("fmt", FORMATS)
def test_usual_formats_match_exactly_what_strptime_matches(fmt):
    for text in [*TRICKY, *generated(3000)]:
        assert parse_or_none(text, fmt) == strptime_or_none(text, fmt), (text, fmt)


def test_only_plain_numeric_formats_take_the_shortcut():
    assert _time_pattern("%Y-%m-%d %H:%M") is not None
    assert _time_pattern("%d %b %Y") is None  # month names: strptime's locale
    assert _time_pattern("%Y-%m-%d %%") is None
    assert _time_pattern("%Y-%m-%d %Y") is None  # strptime refuses a repeated directive
    assert _time_pattern("%H:%M") is None  # no date: strptime's 1900-01-01


ADDRESSES = [
    "taro@example.jp",
    "Taro.Yamada+news@mail.example.co.jp",
    "a@b",
    "a@localhost",
    "a@[127.0.0.1]",
    "a@[::1]",
    "a@[300.1.1.1]",
    "a..b@example.jp",
    ".a@example.jp",
    "a@-example.jp",
    "a@example-.jp",
    "a@example.j",
    "a@example.123",
    '"quoted user"@example.jp',
    "user@xn--fsq.jp",
    "ユーザー@example.jp",
    "user@例え.jp",
    "a@@example.jp",
    "@example.jp",
    "user@",
    "x" * 64 + "@example.jp",
    "x" * 300 + "@example.jp",
    "user@" + "a" * 64 + ".jp",
    "",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_email_addresses_judged_as_validate_email_judges_them(address):
    try:
        validate_email(address)
        accepted = True
    except ValidationError:
        accepted = False
    assert emails.is_valid(address) is accepted
    assert emails.is_valid(address) is accepted  # and again, remembered
