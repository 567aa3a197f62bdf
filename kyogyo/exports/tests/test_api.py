"""Exports over the API: the same files as ``kyogyo export``, no cell readable as a formula,
clear errors for bad options, members only."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from kyogyo.exports.spreadsheet import is_dangerous


@pytest.fixture
def poisoned(make_contact):
    return [
        make_contact(title=payload, email=f"p{n}@example.jp")
        for n, payload in enumerate(["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x", " =HYPERLINK(1)", "\x00=1"])
        if "\x00" not in payload
    ]


def test_a_contacts_csv_with_no_formula(api, people, poisoned):
    response = api(people.marketer).get("/exports/contacts", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="contacts.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "external_id", "email"] and len(rows) == 1 + len(poisoned)
    assert not [cell for row in rows[1:] for cell in row if is_dangerous(cell)]
    assert {row[rows[0].index("title")] for row in rows[1:]} >= {"'=1+1", "'+SUM(A1)"}


def test_an_xlsx_with_no_formula_and_a_filter(api, people, poisoned):
    response = api(people.marketer).get("/exports/contacts", {"format": "xlsx", "filter": "stage=lead"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = [cell for row in book.active.iter_rows() for cell in row]
    assert not [c for c in cells if c.data_type == "f"]
    assert book.active.max_row == 1 + len(poisoned)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"filter": "colour=red"}, "unknown_filter"),
        ({"filter": "nonsense"}, "bad_filter"),
        ({"format": "pdf"}, "invalid"),
    ],
)
def test_bad_options_are_clear_errors(api, people, params, code):
    response = api(people.marketer).get("/exports/contacts", params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_outsiders_cannot_export_and_unknown_lists_are_refused(api, people):
    assert api(people.outsider).get("/exports/contacts").status_code == 403
    assert api(people.marketer).get("/exports/users").status_code == 422
