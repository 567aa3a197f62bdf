"""``kyogyo report … --format xlsx --output FILE``: the same rows as CSV, numbers as numbers,
and a slice named like a formula is neutralised in both formats."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from kyogyo.customers.actions import create_account, create_contact
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)


def report(*args: str) -> str:
    out = io.StringIO()
    call_command("report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def journeys(make_contact, walk):
    account = create_account(at=T0, name="Poisoned", domain="poisoned.example.jp", segment="=1+1")
    poisoned = create_contact(at=T0, account=account, email="p@poisoned.example.jp")
    walk(poisoned, [("mql", T0 + DAY), ("sal", T0 + 2 * DAY)])
    walk(make_contact(at=T0), [("mql", T0 + 3 * DAY)])


def test_xlsx_has_the_csv_rows_and_no_formula(journeys, tmp_path):
    args = ["waterfall", "--by", "segment", "--from", "2026-04-01", "--to", "2026-04-30"]
    csv_rows = list(csv.reader(io.StringIO(report(*args, "--format", "csv"))))
    path = tmp_path / "waterfall.xlsx"
    report(*args, "--format", "xlsx", "--output", str(path))
    sheet = load_workbook(path).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    xlsx_rows = [["" if c.value is None else c.value for c in row] for row in sheet.iter_rows()]
    assert xlsx_rows[0] == csv_rows[0]
    assert len(xlsx_rows) == len(csv_rows)
    slices = {row[0] for row in csv_rows[1:]}
    assert "'=1+1" in slices and not any(s.startswith("=") for s in slices)
    assert {row[0] for row in xlsx_rows[1:]} == slices
    entered = csv_rows[0].index("entered")
    assert all(isinstance(row[entered], int) for row in xlsx_rows[1:])
    assert [str(row[entered]) for row in xlsx_rows[1:]] == [row[entered] for row in csv_rows[1:]]


def test_output_writes_text_formats_to_a_file(journeys, tmp_path):
    path = tmp_path / "waterfall.csv"
    assert report("waterfall", "--format", "csv", "--output", str(path)) == ""
    assert path.read_text(encoding="utf-8") == report("waterfall", "--format", "csv")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--format", "xlsx"], "output_required"),
        (["--format", "xlsx", "--output", "/nonexistent/dir/w.xlsx"], "bad_output"),
    ],
)
def test_refusals(defaults, args, code):
    with pytest.raises(CommandError, match=code):
        report("waterfall", *args)
