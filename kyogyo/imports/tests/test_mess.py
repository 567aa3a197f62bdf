"""Real-world mess (kyogyo/imports/tests/mess.py): files with 5 % broken rows of every kind,
with a BOM and CRLF or in CP932, imported, imported again, and killed midway (SIGKILL, a
process of its own) then resumed — each ends with exactly the valid rows, once, and an
error file listing exactly the broken lines with their codes."""

from __future__ import annotations

import csv

import pytest

from kyogyo.customers.models import Contact
from kyogyo.deals.models import Deal
from kyogyo.imports.tests.files import Scratch, codes, error_rows, run
from kyogyo.imports.tests.mess import buyers, expected_stages, messy_contacts, messy_deals
from kyogyo.journey.models import Transition
from kyogyo.ops import invariants

ENCODINGS = ["utf-8-sig", "cp932"]  # UTF-8 with a BOM as Excel saves it, and Shift_JIS


def stages_by_person() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    rows = Transition.objects.order_by("subject_id", "seq").values_list(
        "subject__external_id", "to_stage__key"
    )
    for external_id, stage in rows:
        found.setdefault(external_id, []).append(stage)
    return found


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_messy_contacts_file_goes_in_once_and_again_changes_nothing(defaults, tmp_path, encoding):
    mess = messy_contacts(400)
    path = mess.write(tmp_path / "contacts.csv", encoding)
    assert len(mess.broken) == 20 and len(mess.valid) == 380  # 5 %

    result = run("contacts", path, "--preset", "generic", "--batch-size", "50")

    assert (result["created"], result["updated"], result["unchanged"]) == (380, 0, 0)
    assert result["errors"] == 20 and codes(result) == sorted(mess.broken)
    assert sorted(Contact.objects.values_list("external_id", flat=True)) == sorted(mess.valid)
    assert stages_by_person() == {external_id: ["lead"] for external_id in mess.valid}
    head = Contact.objects.select_related("account").get(external_id="M3")
    assert (head.title, head.last_name, head.account.name) == (
        "Head of\r\nSales, Tokyo",
        "山田3",
        "株式会社3",
    )
    assert Contact.objects.get(external_id="M41").title == "課長\n(兼務)"
    # The error file keeps each broken row's cells as they were, under the file's header.
    by_line = {int(e["line"]): e for e in error_rows(result["error_file"])}
    bad_email = next(line for line, _, code in mess.broken if code == "bad_email")
    assert "@@" in by_line[bad_email]["email"] and by_line[bad_email]["last_name"].startswith("山田")
    huge = next(line for line, _, code in mess.broken if code == "too_long")
    assert len(by_line[huge]["title"]) == 50_000

    again = run("contacts", path, "--preset", "generic", "--batch-size", "50")

    assert (again["created"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 380, 20)
    assert codes(again) == sorted(mess.broken)
    assert (Contact.objects.count(), Transition.objects.count()) == (380, 380)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_messy_contacts_import_killed_midway_resumes_to_the_valid_rows_once(tmp_path, encoding):
    mess = messy_contacts(2000)
    path = mess.write(tmp_path / "contacts.csv", encoding)
    scratch = Scratch(tmp_path)
    command = ["import", "contacts", str(path), "--preset", "generic", "--batch-size", "100"]

    killed_at = scratch.kill_midway(*command, after_rows=300)

    assert 300 <= killed_at < 2000, "the import finished before it could be killed"
    result = scratch.run(*command)
    assert (result["created"], result["errors"]) == (len(mess.valid), len(mess.broken))
    assert codes(result) == sorted(mess.broken)
    ids = [row[0] for row in scratch.query("select external_id from customers_contact")]
    assert sorted(ids) == sorted(mess.valid)
    # one journey each, started once: as many transitions (all "lead") as people
    assert scratch.query("select count(*), count(distinct subject_id) from journey_transition") == [
        (len(mess.valid), len(mess.valid))
    ]
    assert scratch.query("select status, rows_done from imports_importrun") == [("done", 2000)]
    assert "All journey invariants hold" in scratch.check()

    again = scratch.run(*command)
    assert (again["created"], again["unchanged"], again["errors"]) == (0, len(mess.valid), len(mess.broken))


def test_a_messy_deals_file_goes_in_once_and_again_changes_nothing(defaults, tmp_path):
    assert (
        run("contacts", buyers(200).write(tmp_path / "buyers.csv", "cp932"), "--preset", "generic")["created"]
        == 200
    )
    mess = messy_deals(200)
    path = mess.write(tmp_path / "deals.csv", "utf-8-sig")
    assert len(mess.broken) == 10

    result = run("deals", path, "--preset", "generic", "--batch-size", "30")

    assert (result["created"], result["errors"]) == (190, 10)
    assert codes(result) == sorted(mess.broken)
    assert sorted(Deal.objects.values_list("external_id", flat=True)) == sorted(mess.valid)
    journeys = stages_by_person()
    for i in range(1, 201):
        row = mess.valid.get(f"D{i}")
        # a buyer whose row was broken keeps the journey they had (lead)
        wanted = expected_stages(row[4]) if row and row[8] == f"b{i}@buyer{i}.example.jp" else ["lead"]
        assert journeys[f"B{i}"] == wanted, i
    won = Deal.objects.get(external_id="D1")  # 1 % 3 == 1: closed_won
    assert (won.status, won.amount, won.name) == ("won", 1001, "商談 1, 第2期")
    report = invariants.check()
    assert report.ok, report.violations

    again = run("deals", path, "--preset", "generic", "--batch-size", "30")

    assert (again["created"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 190, 10)
    assert codes(again) == sorted(mess.broken)
    assert stages_by_person() == journeys


def test_a_messy_deals_import_killed_midway_resumes_to_the_valid_rows_once(tmp_path):
    scratch = Scratch(tmp_path)
    people = buyers(400).write(tmp_path / "buyers.csv", "utf-8-sig")
    assert scratch.run("import", "contacts", str(people), "--preset", "generic")["created"] == 400
    mess = messy_deals(400)
    path = mess.write(tmp_path / "deals.csv", "cp932")
    command = ["import", "deals", str(path), "--preset", "generic", "--batch-size", "20"]

    killed_at = scratch.kill_midway(*command, after_rows=60)

    assert 60 <= killed_at < 400, "the import finished before it could be killed"
    result = scratch.run(*command)
    assert (result["created"], result["errors"]) == (len(mess.valid), len(mess.broken))
    assert codes(result) == sorted(mess.broken)
    ids = [row[0] for row in scratch.query("select external_id from deals_deal")]
    assert sorted(ids) == sorted(mess.valid)
    transitions = scratch.query(
        "select c.external_id, s.key from journey_transition t join customers_contact c on c.id = t.subject_id "
        "join journey_stage s on s.id = t.to_stage_id order by c.external_id, t.seq"
    )
    journeys: dict[str, list[str]] = {}
    for external_id, stage in transitions:
        journeys.setdefault(external_id, []).append(stage)
    for i in range(1, 401):
        row = mess.valid.get(f"D{i}")
        wanted = expected_stages(row[4]) if row and row[8] == f"b{i}@buyer{i}.example.jp" else ["lead"]
        assert journeys[f"B{i}"] == wanted, i
    assert "All journey invariants hold" in scratch.check()


def test_the_generated_files_are_what_they_claim(tmp_path):
    """The mess itself: BOM and CRLF, CP932 bytes, the broken lines where the file has them."""
    mess = messy_contacts(400)
    raw = mess.write(tmp_path / "bom.csv", "utf-8-sig").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    sjis = mess.write(tmp_path / "sjis.csv", "cp932").read_bytes()
    assert "山田".encode("cp932") in sjis
    with (tmp_path / "bom.csv").open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        starts = {}
        line = 2
        for cells in reader:
            starts[line] = cells
            line = reader.line_num + 1
    for line, _, code in mess.broken:
        assert line in starts, (line, code)
    assert {code for _, _, code in mess.broken} == {
        "column_count",
        "bad_date",
        "bad_email",
        "duplicate",
        "too_long",
    }
