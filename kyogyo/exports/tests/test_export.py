"""Export tests prove no exported cell can be read as a formula: a corpus of injection
payloads is stored in names and notes, exported as CSV and XLSX through ``kyogyo export``,
read back with the csv module and openpyxl, and every cell checked."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import unicodedata
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from kyogyo.customers import actions as customers
from kyogyo.exports import spreadsheet
from kyogyo.marketing.actions import record_activity
from kyogyo.testing import T0

PAYLOADS = [
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "  =1",
    "\x01=1",
    "\u200b=1",  # zero-width space (format character)
    "\u3000=1",  # ideographic space
    "\uff1d1",  # full-width ＝
    "\uff0b1",
    "\uff0d1",
    "\uff201",
    "=cmd|' /C notepad'!'A1'",
    '=DDE("cmd";"/C calc";"!A0")A0',
    "@cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","click")',
    "-",
    "\t",
    "\r",
    "\n=1",
]
SAFE = ["Acme", "株式会社テスト", "3+4", "a=b", "'=already", "", "  plain"]
TRIGGERS = "=+-@\uff1d\uff0b\uff0d\uff20"


def _stripped(text: str) -> str:
    return "".join(c for c in text if not (c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zs")))


def assert_safe(value: object) -> None:
    """A text cell is safe when it starts with ' or its first visible character is no trigger."""
    if not isinstance(value, str) or value.startswith("'"):
        return
    assert value[:1] not in ("\t", "\r"), repr(value)
    first = _stripped(value)[:1]
    assert not first or first not in TRIGGERS, repr(value)


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def read_xlsx(path: Path) -> list[list[object]]:
    sheet = load_workbook(path).active
    table = []
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
        table.append([cell.value for cell in row])
    return table


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_writer_neutralises_every_payload(tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    rows = [[p, 1] for p in [*PAYLOADS, "\x00=1", *SAFE]]
    with path.open("wb") as f:
        assert spreadsheet.write(fmt, f, ["text", "n"], rows) == len(rows)
    table = read_csv(path) if fmt == "csv" else read_xlsx(path)
    for value in (v for row in table for v in row):
        assert_safe(value)
    texts = [str(row[0] or "") for row in table[1:]]
    for payload, text in zip(PAYLOADS, texts, strict=False):
        assert text.startswith("'"), repr(payload)
    if fmt == "csv":  # CSV keeps the text exactly, behind the quote
        assert texts[: len(PAYLOADS)] == ["'" + p for p in PAYLOADS]
        assert texts[-len(SAFE) :] == SAFE


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_numbers_stay_numbers(tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    when = dt.datetime(2026, 4, 6, 1, 0, tzinfo=dt.UTC)
    with path.open("wb") as f:
        spreadsheet.write(fmt, f, ["a", "b", "c", "d", "e"], [[-5, -2.5, "-5", None, when]])
    table = read_csv(path) if fmt == "csv" else read_xlsx(path)
    if fmt == "csv":
        assert table[1] == ["-5", "-2.5", "'-5", "", "2026-04-06T10:00:00+09:00"]
    else:
        assert table[1][:4] == [-5, -2.5, "'-5", None]
        assert isinstance(table[1][4], dt.datetime)
        assert table[1][4].isoformat() == "2026-04-06T10:00:00"


def test_excel_bom(tmp_path):
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    with plain.open("wb") as f:
        spreadsheet.write("csv", f, ["名前"], [["テスト"]])
    with bom.open("wb") as f:
        spreadsheet.write("csv", f, ["名前"], [["テスト"]], excel_bom=True)
    assert plain.read_bytes() == "名前\r\nテスト\r\n".encode()
    assert bom.read_bytes() == b"\xef\xbb\xbf" + plain.read_bytes()


@pytest.fixture
def poisoned(people, make_contact, walk, on_postgres):
    """Every payload in account and contact names, deal names, handoff notes, activity sources."""
    payloads = [p for p in PAYLOADS if not (on_postgres and "\x00" in p)]
    for n, payload in enumerate(payloads):
        account = customers.create_account(
            at=T0, name=payload, domain=f"p{n}.example.jp", segment=payload[:40]
        )
        contact = customers.create_contact(
            at=T0, account=account, email=f"p{n}@p{n}.example.jp", first_name=payload, title=payload
        )
        record_activity(contact, "web_visit", occurred_at=T0, source=payload)
    contact = make_contact(at=T0)
    walk(contact, [("mql", T0 + dt.timedelta(hours=1))])
    from kyogyo.handoffs.models import Handoff

    Handoff.objects.filter(subject=contact).update(note=PAYLOADS[1])
    return payloads


@pytest.mark.parametrize("kind", ["accounts", "contacts", "handoffs", "activities", "deals"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_cli_no_cell_is_a_formula(poisoned, tmp_path, kind, fmt):
    path = tmp_path / f"{kind}.{fmt}"
    call_command("export", kind, "--format", fmt, "--output", str(path), stderr=io.StringIO())
    table = read_csv(path) if fmt == "csv" else read_xlsx(path)
    for value in (v for row in table for v in row):
        assert_safe(value)
    if kind in ("accounts", "contacts", "activities"):
        column = {"accounts": "name", "contacts": "first_name", "activities": "source"}[kind]
        index = table[0].index(column)
        exported = [row[index] for row in table[1:] if row[index] and str(row[index]).startswith("'")]
        assert len(exported) == len(poisoned)
    if kind == "handoffs":
        assert table[1][table[0].index("note")] == "'" + PAYLOADS[1]


def test_export_to_stdout_with_since_and_filter(people, make_contact):
    old = make_contact(at=T0 - dt.timedelta(days=30))
    new = make_contact(at=T0, kind="customer")
    out = io.StringIO()
    call_command("export", "accounts", "--since", "2026-04-01", stdout=out, stderr=io.StringIO())
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["id"] for r in table] == [str(new.account_id)]
    out = io.StringIO()
    call_command(
        "export", "contacts", "--filter", f"account_id={old.account_id}", stdout=out, stderr=io.StringIO()
    )
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["email"] for r in table] == [old.email]
    assert table[0]["stage"] == "lead"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["accounts", "--filter", "name=x"], "unknown_filter"),
        (["accounts", "--filter", "nonsense"], "bad_filter"),
        (["contacts", "--filter", "account_id=abc"], "bad_filter"),
        (["accounts", "--format", "xlsx"], "output_required"),
        (["accounts", "--output", "/nonexistent/dir/x.csv"], "bad_output"),
    ],
)
def test_bad_options_are_clear_errors(defaults, args, code):
    with pytest.raises(CommandError, match=code):
        call_command("export", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_failed_export_leaves_no_file(defaults, tmp_path):
    target = tmp_path / "x.csv"
    with pytest.raises(CommandError):
        call_command("export", "accounts", "--filter", "bogus=1", "--output", str(target))
    assert list(tmp_path.iterdir()) == []


def test_output_file_gets_the_usual_mode(defaults, tmp_path):
    target = tmp_path / "x.csv"
    call_command("export", "accounts", "--output", str(target), stderr=io.StringIO())
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_long_list_streams_in_one_query(defaults, tmp_path, django_assert_max_num_queries):
    """One query for the rows, whatever their number (and one before it for the restricted fields)."""
    from kyogyo.customers.models import Account

    count = 2 * 2000 + 7  # more than two chunks
    Account.objects.bulk_create(
        Account(name=f"=A{n}" if n % 2 else f"B{n}", domain=f"d{n}.example.jp", created_at=T0)
        for n in range(count)
    )
    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"all.{fmt}"
        with django_assert_max_num_queries(2):
            call_command("export", "accounts", "--format", fmt, "-o", str(path), stderr=io.StringIO())
        table = read_csv(path) if fmt == "csv" else read_xlsx(path)
        assert len(table) == count + 1
        assert {row[2] for row in table[1:]} == {f"'=A{n}" if n % 2 else f"B{n}" for n in range(count)}
