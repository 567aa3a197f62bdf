"""Numbers, money and percentages as the pages show them: rounded half up (never cut) and
grouped the way the reader's language writes them."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from django.utils import translation

from kyogyo.web.templatetags.web import money, number, percent


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [
        (0.9996, 1, "100.0%"),  # cut, this would read 99.9%
        (Fraction(2, 3), 1, "66.7%"),
        (Fraction(1, 8), 1, "12.5%"),
        (0.00049, 1, "0.0%"),
        (Decimal("0.12345"), 2, "12.35%"),
        (1, 0, "100%"),
    ],
)
def test_percent_rounds_half_up(value, digits, shown):
    with translation.override("en"):
        assert percent(value, digits) == shown


def test_numbers_and_money_round_and_group():
    with translation.override("en"):
        assert number(1234.5) == "1,235"
        assert number(Fraction(10, 3), 2) == "3.33"
        assert number(2.675, 2) == "2.68"  # float 2.675 is 2.67499…; shown as written
        assert money(1234567.5) == "¥1,234,568"
        assert money(None) == "–"
    with translation.override("ja"):
        assert money(1234567) == "¥1,234,567"
        assert percent(Fraction(1, 3)) == "33.3%"
