"""New people of consecutive rows of an import batch (without lifecycle dates) are checked
row by row and created together (``create_contacts``), with the companies they bring. The
same file imported that way and one row at a time (the path a batch falls back to when the
database refuses it) writes the same rows and the same error file; the number of queries
does not grow with the rows."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.models import Contact
from kyogyo.customers.tests.test_create_contacts import RolledBack, last_ids, written
from kyogyo.imports import actions as import_actions
from kyogyo.imports import records
from kyogyo.imports.mappings import Mapping, load_mapping

HEADER = [
    "external_id",
    "email",
    "first_name",
    "title",
    "owner",
    "created_at",
    "account_name",
    "account_domain",
]


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.KYOGYO_IMPORT_DIR = tmp_path / "imports"


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def tricky_rows() -> list[list[str]]:
    """New people at new and known companies, one updated person, and rows refused for
    every reason a new person can be: the first person of Company 20 is refused (so the
    company comes with the second, at the second's time), Company 21's only person is
    refused (so it is not created), an owner that does not exist, a company name too long."""
    rows = [
        [
            f"N{n}",
            f"p{n}@company{n % 4}.example.jp",
            "Taro",
            "IT Manager",
            "",
            f"2026-03-0{1 + n % 9} 10:00",
            f"Company {n % 4}",
            f"company{n % 4}.example.jp",
        ]
        for n in range(1, 25)
    ]
    rows += [
        [
            "K1",
            "known@old.example.jp",
            "Hanako",
            "Director",
            "",
            "2026-03-02 09:00",
            "Company 1",
            "company1.example.jp",
        ],
        [
            "N30",
            "first@company20.example.jp",
            "Jiro",
            "x" * 151,
            "",
            "2026-03-03 09:00",
            "Company 20",
            "company20.example.jp",
        ],
        [
            "N31",
            "second@company20.example.jp",
            "Saburo",
            "Engineer",
            "",
            "2026-03-04 09:00",
            "Company 20",
            "company20.example.jp",
        ],
        [
            "N32",
            "only@company21.example.jp",
            "Shiro",
            "Engineer",
            "nobody",
            "2026-03-05 09:00",
            "Company 21",
            "company21.example.jp",
        ],
        [
            "N33",
            "long@company22.example.jp",
            "Goro",
            "Engineer",
            "",
            "2026-03-05 09:00",
            "C" * 201,
            "company22.example.jp",
        ],
        ["N34", "student@uni.ac.jp", "Rokuro", "Student", "", "2026-03-06 09:00", "", ""],
        ["N35", "free@gmail.com", "Nana", "", "marketer", "2026-03-06 09:00", "", ""],
        ["N36", "taken@old.example.jp", "Hachi", "", "", "2026-03-07 09:00", "", ""],
    ]
    return rows


def import_file(path: Path, mapping: Mapping, django_capture_on_commit_callbacks, *, one_by_one: bool):
    """Import ``path`` in a transaction rolled back afterwards; what it wrote, its summary
    and its error file."""
    since = last_ids()
    if one_by_one:
        original = records.create_new_contacts
        records.create_new_contacts = lambda batch, new: sum(  # type: ignore[assignment]
            batch.apply(record) == records.CREATED for record in new
        )
    try:
        with transaction.atomic():
            with django_capture_on_commit_callbacks(execute=True):
                summary = import_actions.run_import("contacts", path, mapping, batch_size=10)
            dump = written(since)
            errors = Path(summary.error_file).read_text(encoding="utf-8") if summary.error_file else ""
            raise RolledBack
    except RolledBack:
        pass
    finally:
        if one_by_one:
            records.create_new_contacts = original  # type: ignore[assignment]
    return dump, summary.as_dict() | {"error_file": None}, errors


def test_batch_and_row_by_row_write_the_same(people, tmp_path, django_capture_on_commit_callbacks):
    # Known today, so that the rules run by the update (judging now) leave K1 where it is.
    customer_actions.create_contact(email="known@old.example.jp", external_id="K1")
    customer_actions.create_contact(email="taken@old.example.jp")
    path = write(tmp_path / "people.csv", tricky_rows())
    mapping = load_mapping("contacts", preset="generic", path=None)
    mapping.match = ["external_id"]  # so that a taken email is the database's to find

    batched = import_file(path, mapping, django_capture_on_commit_callbacks, one_by_one=False)
    row_by_row = import_file(path, mapping, django_capture_on_commit_callbacks, one_by_one=True)

    dump, summary, errors = batched
    assert summary == {"created": 27, "updated": 1, "unchanged": 0, "errors": 4, "error_file": None}
    assert [line.split(",")[:3] for line in errors.splitlines()[1:]] == [
        ["27", "title", "max_length"],
        ["29", "owner", "unknown_owner"],
        ["30", "account_name", "max_length"],
        ["33", "email", "unique"],
    ]
    companies = {a["name"]: a for a in dump["Account"]}
    # Company 21 and the company with a name too long are not created: their only people
    # are refused.
    assert sorted(companies) == ["Company 0", "Company 1", "Company 2", "Company 20", "Company 3"]
    assert companies["Company 20"]["created_at"] == dt.datetime(2026, 3, 4, 0, 0, tzinfo=dt.UTC)
    for table in row_by_row[0]:
        assert dump[table] == row_by_row[0][table], table
    assert batched[1:] == row_by_row[1:]


def test_queries_do_not_grow_with_the_rows(defaults, tmp_path):
    mapping = load_mapping("contacts", preset="generic", path=None)

    def queries(n: int, first: int) -> int:
        rows = [
            [
                f"Q{i}",
                f"q{i}@company{i % 7}.example.jp",
                "Taro",
                "Engineer",
                "",
                "2026-03-01 10:00",
                f"Company {i % 7}",
                f"company{i % 7}.example.jp",
            ]
            for i in range(first, first + n)
        ]
        path = write(tmp_path / f"q{n}.csv", rows)
        with CaptureQueriesContext(connection) as captured:
            summary = import_actions.run_import("contacts", path, mapping, batch_size=500)
        assert summary.created == n
        return len(captured)

    queries(20, 0)  # the companies exist from here on
    assert queries(400, 1000) == queries(40, 2000)


def test_errors_name_the_rows_in_line_order_in_json(defaults, tmp_path, capsys):
    from django.core.management import call_command

    rows = [
        ["E1", "bad-email", "A", "", "", "", "", ""],
        ["E2", "e2@x.example.jp", "B", "y" * 151, "", "", "", ""],
    ]
    call_command(
        "import",
        "contacts",
        str(write(tmp_path / "e.csv", rows)),
        "--preset",
        "generic",
        "--format",
        "json",
        "--quiet",
    )
    result = json.loads(capsys.readouterr().out)
    assert (result["created"], result["errors"]) == (0, 2)
    assert not Contact.objects.filter(external_id__in=["E1", "E2"]).exists()


HUBSPOT_HEADER = [
    "Record ID",
    "Email",
    "First Name",
    "Create Date",
    "Company Name",
    "Became a Marketing Qualified Lead Date",
    "Became a Sales Qualified Lead Date",
]


def test_people_with_lifecycle_dates_and_known_people_keep_their_place(
    people, tmp_path, django_capture_on_commit_callbacks
):
    """Rows with lifecycle dates and rows of known people go one by one, the new people
    between them together: the same rows and error file as one row at a time."""
    customer_actions.create_contact(email="known@old.example.jp", external_id="hubspot-contact:K")
    rows = [
        ["1", "a@one.example.jp", "A", "2026-03-01 10:00", "One", "", ""],
        ["2", "b@two.example.jp", "B", "2026-03-01 11:00", "Two", "2026-03-02 09:00", "2026-03-03 09:00"],
        ["3", "c@one.example.jp", "C", "2026-03-01 12:00", "One", "", ""],
        ["K", "known@old.example.jp", "Kenji", "2026-03-01 12:30", "Three", "", ""],
        ["4", "d@three.example.jp", "D", "2026-03-01 13:00", "Three", "", ""],
        ["5", "c@one.example.jp", "E", "2026-03-01 14:00", "Four", "", ""],  # email taken by line 4
        ["6", "f@five.example.jp", "F", "2026-03-01 15:00", "Five", "2026-03-04 09:00", ""],
        ["7", "g@four.example.jp", "G", "2026-03-01 16:00", "Four", "", ""],
    ]
    path = tmp_path / "hubspot.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HUBSPOT_HEADER, *rows])
    mapping = load_mapping("contacts", preset="hubspot-contacts", path=None)
    mapping.match = ["external_id"]

    batched = import_file(path, mapping, django_capture_on_commit_callbacks, one_by_one=False)
    row_by_row = import_file(path, mapping, django_capture_on_commit_callbacks, one_by_one=True)

    dump, summary, errors = batched
    assert summary == {"created": 6, "updated": 1, "unchanged": 0, "errors": 1, "error_file": None}
    assert [line.split(",")[:3] for line in errors.splitlines()[1:]] == [["7", "Email", "unique"]]
    assert [a["name"] for a in dump["Account"]] == ["One", "Two", "Three", "Five", "Four"]
    for table in row_by_row[0]:
        assert dump[table] == row_by_row[0][table], table
    assert batched[1:] == row_by_row[1:]


def test_a_batch_the_database_refuses_goes_row_by_row(people, tmp_path, django_capture_on_commit_callbacks):
    """Companies found by name only: two new ones with the same external id pass their own
    checks, but not together; the batch falls back to one row at a time."""
    rows = [
        ["N1", "a@one.example.jp", "A", "", "", "2026-03-01 10:00", "One", ""],
        ["N2", "b@two.example.jp", "B", "", "", "2026-03-01 11:00", "Two", ""],
        ["N3", "c@three.example.jp", "C", "", "", "2026-03-01 12:00", "Three", ""],
    ]
    path = tmp_path / "same-id.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HEADER, "account_external_id"])
        writer.writerows([[*row, "crm:1" if n < 2 else "crm:3"] for n, row in enumerate(rows)])
    mapping = load_mapping("contacts", preset="generic", path=None)
    mapping.account_by = ["name"]

    batched = import_file(path, mapping, django_capture_on_commit_callbacks, one_by_one=False)
    row_by_row = import_file(path, mapping, django_capture_on_commit_callbacks, one_by_one=True)

    dump, summary, errors = batched
    assert summary == {"created": 2, "updated": 0, "unchanged": 0, "errors": 1, "error_file": None}
    assert [line.split(",")[:3] for line in errors.splitlines()[1:]] == [["3", "external_id", "unique"]]
    assert [a["name"] for a in dump["Account"]] == ["One", "Three"]
    for table in row_by_row[0]:
        assert dump[table] == row_by_row[0][table], table
    assert batched[1:] == row_by_row[1:]


def test_postgresql_statistics_are_refreshed_as_the_tables_grow(defaults, tmp_path, monkeypatch):
    """After the first rows and each time their count doubles (here from 100: after 100, 200
    and 400 of 500 rows), PostgreSQL analyzes the tables the import looks rows up in — or its
    planner scans whole tables it believes empty. SQLite needs no statistics for that."""
    monkeypatch.setattr(import_actions._Statistics, "FIRST", 100)
    rows = [
        [
            f"S{i}",
            f"s{i}@company{i % 50}.example.jp",
            "Taro",
            "",
            "",
            "2026-03-01 10:00",
            f"Company {i % 50}",
            "",
        ]
        for i in range(500)
    ]
    path = write(tmp_path / "grow.csv", rows)
    mapping = load_mapping("contacts", preset="generic", path=None)
    with CaptureQueriesContext(connection) as captured:
        summary = import_actions.run_import("contacts", path, mapping, batch_size=100)
    analyzed = [q["sql"] for q in captured if q["sql"].startswith("ANALYZE")]
    assert summary.created == 500
    expected = 3 if connection.vendor == "postgresql" else 0
    assert analyzed == ["ANALYZE customers_account, customers_contact"] * expected


def test_sqlite_reads_a_run_through_a_larger_page_cache_and_then_as_before(defaults, tmp_path):
    """On SQLite the run's connection keeps 256 MiB of pages (each new person lands all over a
    dozen indexes) and goes back to its own setting afterwards, also when the run fails."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's buffers are the server's")

    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return int(cursor.fetchone()[0])

    before = cache_size()
    rows = [
        [f"P{i}", f"p{i}@company.example.jp", "Taro", "", "", "2026-03-01 10:00", "Company", ""]
        for i in range(3)
    ]
    path = write(tmp_path / "cache.csv", rows)
    mapping = load_mapping("contacts", preset="generic", path=None)
    during: list[int] = []
    summary = import_actions.run_import(
        "contacts", path, mapping, progress=lambda done, total: during.append(cache_size())
    )
    assert summary.created == 3
    assert set(during) == {-import_actions.IMPORT_PAGE_CACHE_KIB}
    assert cache_size() == before

    def crash(done: int, total: int) -> None:
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        import_actions.run_import("contacts", write(tmp_path / "again.csv", rows), mapping, progress=crash)
    assert cache_size() == before


def test_a_child_process_reads_ahead_and_ends_with_the_run(defaults, tmp_path, monkeypatch):
    """The file is read and converted by a child process a batch ahead of the writing one;
    it is gone when the run ends, also when the run fails part-way."""
    rows = [
        [f"R{i}", f"r{i}@company.example.jp", "Taro", "", "", "2026-03-01 10:00", "Company", ""]
        for i in range(5)
    ]
    mapping = load_mapping("contacts", preset="generic", path=None)
    readers = tmp_path / "readers.txt"
    remember = import_actions._Importer.remember

    def remember_where(self, row):
        with readers.open("a") as handle:
            handle.write(f"{os.getpid()}\n")
        return remember(self, row)

    monkeypatch.setattr(import_actions._Importer, "remember", remember_where)

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    summary = import_actions.run_import(
        "contacts", write(tmp_path / "ahead.csv", rows), mapping, batch_size=2
    )
    assert summary.created == 5
    pids = {int(line) for line in readers.read_text().split()}
    assert len(pids) == 1 and os.getpid() not in pids
    assert gone(pids.pop())

    def crash(done: int, total: int) -> None:
        if done:
            raise RuntimeError("stopped")

    readers.unlink()
    again = write(tmp_path / "again.csv", [[f"A{i}", *cells[1:]] for i, (_, *cells) in enumerate(rows)])
    with pytest.raises(RuntimeError):
        import_actions.run_import("contacts", again, mapping, batch_size=2, progress=crash)
    assert all(gone(int(line)) for line in readers.read_text().split())
