"""`kyogyo report waterfall` through the command line: the documented JSON shape, the
table and CSV, periods on the fiscal calendar, and clear refusals."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.analytics.models import AnalyticsSettings
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def journeys(make_contact, walk):
    walk(make_contact(at=T0), [("mql", T0 + DAY), ("sal", T0 + 2 * DAY)])
    walk(make_contact(at=T0), [("mql", T0 + 3 * DAY)])
    make_contact(at=T0)


def test_json_has_the_documented_shape(journeys):
    data = json.loads(report("waterfall", "--format", "json", "--from", "2026-04-01", "--to", "2026-04-30"))
    assert data["metric"] == "waterfall" and data["view"] == "cohort" and data["unit"] == "person"
    assert [s["stage"] for s in data["stages"]][:3] == ["lead", "mql", "sal"]
    lead = data["stages"][0]
    assert set(lead) >= {"stage", "entered", "advanced", "conversion_rate", "median_days_to_next"}
    assert (lead["entered"], lead["advanced"], lead["conversion_rate"]) == (3, 2, 0.6667)
    assert data["snapshot"]["generation"] == 1  # built on first use
    assert "slices" not in data


def test_by_gives_slices(journeys):
    data = json.loads(report("waterfall", "--format", "json", "--by", "segment", "--by", "month"))
    assert {s["key"] for s in data["slices"]} == {"(none) / 2026-04"}
    assert data["slices"][0]["keys"] == {"segment": "(none)", "month": "2026-04"}


def test_table_and_csv(journeys):
    table = report("waterfall")
    assert table.splitlines()[0].split()[:3] == ["slice", "stage", "entered"]
    rows = list(csv.DictReader(io.StringIO(report("waterfall", "--format", "csv"))))
    assert rows[0]["stage"] == "lead" and rows[0]["entered"] == "3" and rows[0]["conversion_rate"] == "0.6667"


def test_fiscal_periods(journeys):
    settings = AnalyticsSettings.load()
    settings.save()
    fy = json.loads(report("waterfall", "--format", "json", "--period", "FY2026"))
    assert (fy["from"], fy["to"]) == ("2026-04-01", "2027-03-31")
    assert fy["stages"][0]["entered"] == 3
    q4 = json.loads(report("waterfall", "--format", "json", "--period", "FY2025-Q4"))
    assert (q4["from"], q4["to"]) == ("2026-01-01", "2026-03-31")
    assert q4["stages"][0]["entered"] == 0
    settings.fiscal_year_start_month = 1
    settings.save()
    q2 = json.loads(report("waterfall", "--format", "json", "--period", "2026Q2"))
    assert (q2["from"], q2["to"]) == ("2026-04-01", "2026-06-30")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "shoe_size"], "unknown_dimension: cannot slice by 'shoe_size'"),
        (["--period", "2026-13"], "bad_period: '2026-13': month must be 01–12"),
        (["--period", "spring"], "bad_period: 'spring' is not a period"),
        (["--period", "2026-04", "--from", "2026-04-01"], "bad_window: give either --period or --from/--to"),
        (["--from", "2026-05-01", "--to", "2026-04-01"], "bad_window: the window ends (2026-04-01) before"),
        (["--stages", "lead,nope"], "unknown_stage: unknown stage(s): nope"),
    ],
)
def test_bad_input_is_refused_by_name(defaults, args, message):
    with pytest.raises(CommandError) as caught:
        report("waterfall", *args)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("args", [["--from", "20.04.2026"], ["--filter", "segment"], ["--view", "weekly"]])
def test_malformed_arguments_are_refused(defaults, args):
    with pytest.raises(CommandError):
        report("waterfall", *args)


def test_refresh_option_takes_new_data(journeys, make_contact):
    report("waterfall")
    make_contact(at=T0)
    assert (
        json.loads(report("waterfall", "--format", "json"))["stages"][0]["entered"] == 3
    )  # not yet refreshed
    data = json.loads(report("waterfall", "--format", "json", "--refresh"))
    assert data["stages"][0]["entered"] == 4 and data["snapshot"]["generation"] == 2
