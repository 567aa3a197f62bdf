"""The import engine through the ``kyogyo import`` command: file formats and encodings,
per-row errors, idempotent re-runs, dry runs and resuming after a crash."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.timezone import localtime

from kyogyo.customers.models import Account, Contact
from kyogyo.imports.actions import InjectedCrash
from kyogyo.imports.models import ImportRun
from kyogyo.imports.tests.files import error_rows, run, write_csv
from kyogyo.journey.models import Milestone

ACCOUNT_HEADER = [
    "external_id",
    "name",
    "domain",
    "industry",
    "employee_count",
    "country",
    "kind",
    "created_at",
]
CONTACT_HEADER = [
    "external_id",
    "email",
    "first_name",
    "last_name",
    "title",
    "consent",
    "created_at",
    "account_name",
    "account_domain",
]


def account_rows(n: int) -> list[list[str]]:
    return [
        [
            f"A{i}",
            f"Company {i}",
            f"company{i}.example.jp",
            "software",
            str(10 * i),
            "JP",
            "prospect",
            "2026-01-05",
        ]
        for i in range(1, n + 1)
    ]


def contact_rows(n: int) -> list[list[str]]:
    return [
        [
            f"C{i}",
            f"person{i}@company{i % 7}.example.jp",
            "Taro",
            f"Yamada{i}",
            "IT Manager",
            "granted",
            "2026-02-01 09:30",
            f"Company {i % 7}",
            f"company{i % 7}.example.jp",
        ]
        for i in range(1, n + 1)
    ]


# ------------------------------------------------------------------ broken rows


def test_accounts_with_broken_rows_keep_the_valid_ones(db, tmp_path):
    rows = account_rows(200)
    rows[9][7] = "2026-13-45"  # bad date → line 11
    rows[19] = rows[19][:5]  # wrong column count → line 21
    rows[29][1] = "x" * 10_001  # huge cell → line 31
    rows[39][1] = "Bad\x00Name"  # control character → line 41
    rows[49][0] = "A1"  # duplicate external id → line 51
    rows[59][4] = "many"  # bad number → line 61
    rows[69][1] = ""  # no name → line 71
    rows[79][6] = "friend"  # unknown kind → line 81
    rows[89][5] = "Japan"  # value map → JP, valid
    rows[99][5] = "NIPPON"  # too long for a country code → line 101
    path = write_csv(tmp_path / "accounts.csv", ACCOUNT_HEADER, rows)

    result = run("accounts", path, "--preset", "generic")

    assert result["created"] == 191 and result["errors"] == 9
    assert Account.objects.count() == 191
    assert Account.objects.get(external_id="A90").country == "JP"
    assert localtime(Account.objects.get(external_id="A2").created_at).date().isoformat() == "2026-01-05"
    errors = error_rows(result["error_file"])
    found = {(e["line"], e["column"], e["code"]) for e in errors}
    assert found == {
        ("11", "created_at", "bad_date"),
        ("21", "", "column_count"),
        ("31", "name", "too_long"),
        ("41", "name", "control_char"),
        ("51", "external_id", "duplicate"),
        ("61", "employee_count", "bad_number"),
        ("71", "name", "required"),
        ("81", "kind", "bad_value"),
        ("101", "country", "max_length"),
    }
    # The original values come along so the row can be fixed and imported again.
    bad_date = next(e for e in errors if e["code"] == "bad_date")
    assert bad_date["external_id"] == "A10" and bad_date["created_at"] == "2026-13-45"


def test_contacts_with_broken_rows(defaults, tmp_path):
    rows = contact_rows(100)
    rows[4][1] = "not-an-email"
    rows[14][1] = rows[13][1].upper()  # the same email as the row before, in another case
    rows[24][6] = "yesterday"
    rows[34][5] = "maybe"
    rows[44] = [*rows[44], "extra"]
    path = write_csv(tmp_path / "contacts.csv", CONTACT_HEADER, rows)

    result = run("contacts", path, "--preset", "generic")

    assert (result["created"], result["errors"]) == (95, 5)
    assert Contact.objects.count() == 95
    assert Account.objects.count() == 7  # created once each from the company columns
    contact = Contact.objects.select_related("account").get(external_id="C8")
    assert contact.account.name == "Company 1" and contact.account.domain == "company1.example.jp"
    assert contact.consent == "granted"
    assert Milestone.objects.count() == 95  # the journey started through the actions
    codes = sorted((int(e["line"]), e["code"]) for e in error_rows(result["error_file"]))
    assert codes == [
        (6, "bad_email"),
        (16, "duplicate"),
        (26, "bad_date"),
        (36, "bad_value"),
        (46, "column_count"),
    ]


# ------------------------------------------------------------------ formats


def test_bom_crlf_and_quoted_newlines(defaults, tmp_path):
    rows = contact_rows(3)
    rows[1][4] = "Head of\r\nSales"
    rows.insert(2, [""] * len(CONTACT_HEADER))  # a line of commas only is skipped
    path = write_csv(tmp_path / "bom.csv", CONTACT_HEADER, rows, encoding="utf-8-sig", newline="\r\n")

    result = run("contacts", path, "--preset", "generic")

    assert (result["created"], result["errors"]) == (3, 0)
    assert Contact.objects.get(external_id="C2").title == "Head of\r\nSales"
    assert Contact.objects.get(external_id="C1").email == "person1@company1.example.jp"


def test_shift_jis_cp932(defaults, tmp_path):
    rows = contact_rows(3)
    rows[0][2:4] = ["太郎", "山田"]
    rows[0][7] = "株式会社サンプル"
    rows[1][3] = "髙橋"  # a CP932-only character (IBM extension)
    rows[2][1] = "bad"
    path = write_csv(tmp_path / "sjis.csv", CONTACT_HEADER, rows, encoding="cp932", newline="\r\n")

    result = run("contacts", path, "--preset", "generic")

    assert (result["created"], result["errors"]) == (2, 1)
    assert Contact.objects.get(external_id="C1").last_name == "山田"
    assert Account.objects.filter(name="株式会社サンプル").exists()
    assert Contact.objects.get(external_id="C2").last_name == "髙橋"


def test_xlsx(defaults, tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(ACCOUNT_HEADER)
    sheet.append(
        [
            "A1",
            "Alpha",
            "https://www.alpha.example/about",
            "retail",
            120,
            "jp",
            "customer",
            dt.date(2025, 3, 1),
        ]
    )
    sheet.append(["A2", "Beta", "beta.example", "retail", "lots", "JP", "prospect", None])
    sheet.append([None] * 8)
    sheet.append(
        ["A3", "Gamma", "gamma.example", "retail", 5.0, "JP", "partner", dt.datetime(2025, 3, 1, 9, 0)]  # noqa: DTZ001 — XLSX has no zones
    )
    path = tmp_path / "accounts.xlsx"
    book.save(path)

    result = run("accounts", path, "--preset", "generic")

    assert (result["created"], result["errors"]) == (2, 1)
    alpha = Account.objects.get(external_id="A1")
    assert (alpha.domain, alpha.employee_count, alpha.country, alpha.kind) == (
        "alpha.example",
        120,
        "JP",
        "customer",
    )
    assert Account.objects.get(external_id="A3").employee_count == 5
    [error] = error_rows(result["error_file"])
    assert (error["line"], error["column"], error["code"]) == ("3", "employee_count", "bad_number")


# ------------------------------------------------------------------ re-runs, dry runs, resume


def test_rerunning_the_same_file_changes_nothing(defaults, tmp_path):
    rows = contact_rows(30)
    rows[3][1] = "broken"
    path = write_csv(tmp_path / "contacts.csv", CONTACT_HEADER, rows)
    first = run("contacts", path, "--preset", "generic")
    assert (first["created"], first["errors"]) == (29, 1)

    again = run("contacts", path, "--preset", "generic")

    assert again == {**again, "created": 0, "updated": 0, "unchanged": 29, "errors": 1}
    assert Contact.objects.count() == 29
    rows[5][4] = "CTO"
    changed = run(
        "contacts", write_csv(tmp_path / "changed.csv", CONTACT_HEADER, rows), "--preset", "generic"
    )
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 28)
    assert Contact.objects.get(external_id="C6").title == "CTO"


def test_dry_run_writes_nothing(defaults, tmp_path):
    rows = contact_rows(40)
    rows[7][6] = "31/31/2026"
    path = write_csv(tmp_path / "contacts.csv", CONTACT_HEADER, rows)

    result = run("contacts", path, "--preset", "generic", "--dry-run", "--batch-size", "10")

    assert (result["created"], result["updated"], result["errors"]) == (39, 0, 1)
    assert (Contact.objects.count(), Account.objects.count(), ImportRun.objects.count()) == (0, 0, 0)
    assert error_rows(result["error_file"])[0]["code"] == "bad_date"
    real = run("contacts", path, "--preset", "generic")
    assert (real["created"], real["errors"]) == (39, 1)
    assert run("contacts", path, "--preset", "generic", "--dry-run")["unchanged"] == 39


def test_resume_after_a_crash_imports_the_valid_rows_once(db, tmp_path, settings):
    rows = account_rows(100)
    for i in (5, 25, 45, 65, 85):
        rows[i][4] = "n/a"
    path = write_csv(tmp_path / "accounts.csv", ACCOUNT_HEADER, rows)
    settings.KYOGYO_IMPORT_CRASH_IN_BATCH = 3

    with pytest.raises(InjectedCrash):
        run("accounts", path, "--preset", "generic", "--batch-size", "20")

    # Two batches committed with their progress; the third was rolled back.
    assert Account.objects.count() == 38
    interrupted = ImportRun.objects.get()
    assert (interrupted.status, interrupted.rows_done, interrupted.created, interrupted.errors) == (
        "running",
        40,
        38,
        2,
    )
    settings.KYOGYO_IMPORT_CRASH_IN_BATCH = None
    result = run("accounts", path, "--preset", "generic", "--batch-size", "20")

    assert (result["created"], result["errors"]) == (95, 5)
    assert Account.objects.count() == 95
    assert sorted(Account.objects.values_list("external_id", flat=True)) == sorted(
        f"A{i + 1}" for i in range(100) if i not in (5, 25, 45, 65, 85)
    )
    assert [int(e["line"]) for e in error_rows(result["error_file"])] == [7, 27, 47, 67, 87]
    finished = ImportRun.objects.get()
    assert (finished.status, finished.rows_done, finished.created) == ("done", 100, 95)


# ------------------------------------------------------------------ presets and mappings


def test_hubspot_presets_link_contacts_to_companies(defaults, tmp_path):
    companies = write_csv(
        tmp_path / "hubspot-companies.csv",
        [
            "Record ID",
            "Company name",
            "Company Domain Name",
            "Number of Employees",
            "Country/Region",
            "Type",
            "Create Date",
        ],
        [["901", "Acme KK", "acme.example", "250", "Japan", "Reseller", "2025-06-01 12:00"]],
    )
    assert run("accounts", companies, "--preset", "hubspot-companies")["created"] == 1
    contacts = write_csv(
        tmp_path / "hubspot-contacts.csv",
        [
            "Record ID",
            "First Name",
            "Last Name",
            "Email",
            "Job Title",
            "Associated Company IDs",
            "Create Date",
        ],
        [["77", "Hanako", "Sato", "hanako@acme.example", "CIO", "901;902", "2025-06-02 08:15"]],
    )

    assert run("contacts", contacts, "--preset", "hubspot-contacts")["created"] == 1
    hanako = Contact.objects.select_related("account").get(external_id="hubspot-contact:77")
    assert hanako.account.name == "Acme KK" and hanako.account.kind == "partner"
    assert hanako.account.country == "JP"


def test_salesforce_leads(defaults, tmp_path):
    leads = write_csv(
        tmp_path / "leads.csv",
        [
            "Lead ID",
            "First Name",
            "Last Name",
            "Company",
            "Website",
            "Email",
            "Lead Source",
            "Email Opt Out",
            "Created Date",
        ],
        [
            [
                "00Q1",
                "Ken",
                "Ito",
                "Ito Shoji",
                "http://www.itoshoji.example",
                "ken@itoshoji.example",
                "Web",
                "1",
                "4/6/2026",
            ],
            [
                "00Q2",
                "Yui",
                "Ono",
                "Ito Shoji",
                "itoshoji.example",
                "yui@itoshoji.example",
                "Web",
                "0",
                "4/7/2026",
            ],
        ],
    )

    assert run("contacts", leads, "--preset", "salesforce-leads")["created"] == 2
    ken = Contact.objects.get(external_id="salesforce:00Q1")
    assert ken.consent == "withdrawn" and localtime(ken.created_at).date().isoformat() == "2026-04-06"
    assert Contact.objects.get(external_id="salesforce:00Q2").consent == "unknown"
    assert Account.objects.get().domain == "itoshoji.example"


def test_mapping_file_with_value_maps_and_defaults(defaults, tmp_path, people):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "kind": "contacts",
                "columns": {"メール": "email", "氏名": "last_name", "同意": "consent", "担当": "owner"},
                "values": {"consent": {"はい": "granted", "いいえ": "withdrawn"}},
                "defaults": {"source": "展示会"},
                "match": ["email"],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    path = write_csv(
        tmp_path / "list.csv",
        ["メール", "氏名", "同意", "担当"],
        [["a@x.example", "青木", "はい", "is_rep"], ["b@x.example", "馬場", "いいえ", "nobody"]],
    )

    result = run("contacts", path, "--mapping", str(mapping))

    assert (result["created"], result["errors"]) == (1, 1)
    aoki = Contact.objects.get(email="a@x.example")
    assert (aoki.consent, aoki.source, aoki.owner) == ("granted", "展示会", people.is_rep)
    [error] = error_rows(result["error_file"])
    assert (error["column"], error["code"]) == ("担当", "unknown_owner")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "nope"], "no preset"),
        (["--mapping", "missing.yaml"], "cannot read the mapping"),
        (["--preset", "generic", "--batch-size", "0"], "at least 1"),
    ],
)
def test_bad_mapping_is_a_clear_error(db, tmp_path, args, message):
    path = write_csv(tmp_path / "a.csv", ACCOUNT_HEADER, account_rows(1))
    with pytest.raises(CommandError, match=message):
        call_command("import", "accounts", str(path), *args, "--quiet")


def test_unknown_target_field_and_unmatched_header(db, tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  Name: nickname\n")
    path = write_csv(tmp_path / "a.csv", ACCOUNT_HEADER, account_rows(1))
    with pytest.raises(CommandError, match="unknown field 'nickname'"):
        call_command("import", "accounts", str(path), "--mapping", str(mapping), "--quiet")
    mapping.write_text("columns:\n  Firma: name\n")
    with pytest.raises(CommandError, match="none of the mapped columns"):
        call_command("import", "accounts", str(path), "--mapping", str(mapping), "--quiet")


def test_text_output_and_help(db, tmp_path, capsys):
    path = write_csv(tmp_path / "a.csv", ACCOUNT_HEADER, account_rows(2))
    out = io.StringIO()
    call_command("import", "accounts", str(path), "--preset", "generic", stdout=out)
    assert out.getvalue().strip() == "created 2, updated 0, unchanged 0, errors 0"
    assert "import accounts: 2/2" in capsys.readouterr().err


@pytest.mark.parametrize("example", sorted((Path(__file__).parents[3] / "examples" / "mappings").iterdir()))
def test_example_mappings_load(example):
    import yaml

    from kyogyo.imports.mappings import load_mapping

    kind = yaml.safe_load(example.read_text(encoding="utf-8"))["kind"]  # JSON is YAML too
    assert load_mapping(kind, path=example).columns


# ------------------------------------------------------------------ a real kill


def test_killed_midway_then_resumed_ends_with_the_valid_rows_once(tmp_path):
    """``kyogyo import`` in a process of its own on a scratch database, killed with SIGKILL
    after a few batches have committed, then run again."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    kyogyo = Path(sys.executable).with_name("kyogyo")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "KYOGYO_DATA_DIR": str(tmp_path)}
    subprocess.run([str(kyogyo), "init", "--no-input"], env=env, check=True, capture_output=True)
    rows = account_rows(6000)
    broken = set(range(7, 6000, 20))  # 5 %
    for i in broken:
        rows[i][7] = "not a date"
    path = write_csv(tmp_path / "accounts.csv", ACCOUNT_HEADER, rows)
    command = [str(kyogyo), "import", "accounts", str(path), "--preset", "generic", "--batch-size", "100"]

    def rows_done() -> int:
        try:
            with sqlite3.connect(tmp_path / "x.sqlite3", timeout=0.1) as db:
                found = db.execute("select max(rows_done) from imports_importrun").fetchone()
            return found[0] or 0
        except sqlite3.OperationalError:
            return 0

    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while rows_done() < 300 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    killed_at = rows_done()
    assert 300 <= killed_at < 6000, "the import finished before it could be killed"

    done = subprocess.run([*command, "--format", "json", "--quiet"], env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["created"], result["errors"]) == (6000 - len(broken), len(broken))
    with sqlite3.connect(tmp_path / "x.sqlite3") as db:
        ids = [r[0] for r in db.execute("select external_id from customers_account")]
        runs = db.execute("select status, rows_done from imports_importrun").fetchall()
    assert sorted(ids) == sorted(f"A{i + 1}" for i in range(6000) if i not in broken)
    assert runs == [("done", 6000)]
    lines = [int(e["line"]) for e in error_rows(result["error_file"])]
    assert lines == [i + 2 for i in sorted(broken)]


# ------------------------------------------------------------------ activities

ACTIVITY_HEADER = [
    "external_id",
    "type",
    "occurred_at",
    "source",
    "contact_email",
    "contact_external_id",
    "note",
]


def test_activities_go_in_once_through_record_activities(make_contact, tmp_path):
    from kyogyo.marketing.models import Activity

    alice = make_contact(email="alice@a.example", external_id="crm-1")
    bob = make_contact(email="bob@b.example")
    rows = [
        [f"E{i}", "web_visit", f"2026-03-{1 + i % 28:02d} 10:00", "web", "alice@a.example", "", ""]
        for i in range(30)
    ]
    rows[3] = ["E3", "carrier_pigeon", "2026-03-04 10:00", "", "alice@a.example", "", ""]  # line 5
    rows[6] = ["E6", "demo", "2026-03-07 10:00", "", "nobody@x.example", "", ""]  # line 8
    rows[9] = ["E9", "demo", "someday", "", "alice@a.example", "", ""]  # line 11
    rows[12] = ["E12", "demo", "2099-01-01", "", "alice@a.example", "", ""]  # line 14
    rows[15] = ["E1", "demo", "2026-03-07 10:00", "", "alice@a.example", "", ""]  # line 17
    rows[18] = ["", "event", "2026-03-20 18:00", "expo", "", "crm-1", "met at the booth"]
    rows[21] = ["", "content_download", "2026-03-21", "web", "BOB@b.example", "", ""]
    path = write_csv(tmp_path / "activities.csv", ACTIVITY_HEADER, rows)

    result = run("activities", path, "--preset", "generic", "--batch-size", "10")

    assert (result["created"], result["errors"]) == (25, 5)
    assert Activity.objects.filter(contact=alice).count() == 24
    assert Activity.objects.get(contact=bob).type == "content_download"
    assert Activity.objects.get(type="event").payload == {"note": "met at the booth"}
    codes = sorted((int(e["line"]), e["column"], e["code"]) for e in error_rows(result["error_file"]))
    assert codes == [
        (5, "type", "bad_value"),
        (8, "contact_email", "unknown_contact"),
        (11, "occurred_at", "bad_date"),
        (14, "occurred_at", "in_future"),
        (17, "external_id", "duplicate"),
    ]
    alice.refresh_from_db()
    assert alice.engagement_score > 0

    again = run("activities", path, "--preset", "generic")
    assert (again["created"], again["unchanged"], again["errors"]) == (0, 25, 5)
    assert Activity.objects.count() == 25


# ------------------------------------------------------------------ unreadable files


def test_an_encoding_error_past_the_sample_keeps_what_was_committed(db, tmp_path):
    rows = account_rows(3000)  # well over the 64 KB sniffed for the encoding
    path = write_csv(tmp_path / "mixed.csv", ACCOUNT_HEADER, rows)
    path.write_bytes(path.read_bytes() + "A9999,あ商事,a.example,,,,,\n".encode("cp932"))

    with pytest.raises(CommandError, match="not valid utf-8 near line"):
        run("accounts", path, "--preset", "generic", "--batch-size", "500")
    kept = Account.objects.count()
    assert kept >= 2000 and ImportRun.objects.get().rows_done == kept

    result = run("accounts", path, "--preset", "generic", "--encoding", "cp932")
    # The resumed run reports the totals of the whole run, the part before the stop included.
    assert (result["created"], result["unchanged"], result["errors"]) == (3001, 0, 0)
    assert ImportRun.objects.get().status == "done"
    assert Account.objects.get(external_id="A9999").name == "あ商事"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"", [], "the file is empty"),
        (b"name\nAcme\n", ["--encoding", "klingon"], "unknown encoding"),
    ],
)
def test_unreadable_files_are_clear_errors(db, tmp_path, content, args, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run("accounts", path, "--preset", "generic", *args)
    assert Account.objects.count() == 0
    with pytest.raises(CommandError, match="no such file"):
        run("accounts", tmp_path / "missing.csv", "--preset", "generic")


def test_a_failed_update_keeps_the_stored_record_and_the_rest_of_the_batch(make_contact, tmp_path):
    kept = make_contact(email="keep@k.example", title="CEO")
    path = write_csv(
        tmp_path / "update.csv",
        ["email", "title", "last_name"],
        [
            ["keep@k.example", "x" * 151, "Changed"],
            ["new@k.example", "CTO", "New"],
            ["KEEP@k.example", "", "Ok"],
        ],
    )

    result = run("contacts", path, "--preset", "generic")

    assert (result["created"], result["updated"], result["errors"]) == (1, 0, 2)
    kept.refresh_from_db()
    assert (kept.title, kept.last_name) == ("CEO", kept.last_name)
    codes = sorted((e["line"], e["column"], e["code"]) for e in error_rows(result["error_file"]))
    assert codes == [("2", "title", "max_length"), ("4", "email", "duplicate")]


def test_accounts_match_by_domain_and_name_ignoring_case(db, tmp_path):
    from kyogyo.customers.actions import create_account

    by_domain = create_account(name="Old Name", domain="acme.example")
    by_name = create_account(name="Beta Corp")
    path = write_csv(
        tmp_path / "a.csv",
        ["name", "domain", "industry"],
        [["Acme", "https://WWW.ACME.example/", "retail"], ["BETA CORP", "", "energy"]],
    )

    result = run("accounts", path, "--preset", "generic")

    assert (result["created"], result["updated"]) == (0, 2)
    by_domain.refresh_from_db()
    by_name.refresh_from_db()
    assert (by_domain.name, by_domain.industry) == ("Acme", "retail")
    assert (by_name.name, by_name.industry) == ("BETA CORP", "energy")


def test_a_run_another_live_process_works_on_is_not_joined(db, tmp_path, settings, import_dir):
    """Busy is "a live process holds the run's lock", which the system releases however that
    process ends; the process that last worked on the run merely being alive is not enough
    (a background worker lives on after its task failed, and the retry runs elsewhere)."""
    import subprocess
    import sys

    path = write_csv(tmp_path / "accounts.csv", ACCOUNT_HEADER, account_rows(30))
    settings.KYOGYO_IMPORT_CRASH_IN_BATCH = 2
    with pytest.raises(InjectedCrash):
        run("accounts", path, "--preset", "generic", "--batch-size", "10")
    settings.KYOGYO_IMPORT_CRASH_IN_BATCH = None
    lock = import_dir / "locks" / f"run-{ImportRun.objects.get().pk}.lock"
    holder = (
        "import fcntl, sys, time; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print(1, flush=True); time.sleep(60)"
    )
    other = subprocess.Popen([sys.executable, "-c", holder, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "1\n"  # it holds the lock now
        ImportRun.objects.update(pid=other.pid)
        with pytest.raises(CommandError, match="still running"):
            run("accounts", path, "--preset", "generic", "--batch-size", "10")
    finally:
        other.kill()
        other.wait()
    idle = subprocess.Popen(["sleep", "60"])  # alive, but not working on the run
    try:
        ImportRun.objects.update(pid=idle.pid)
        result = run("accounts", path, "--preset", "generic", "--batch-size", "10")
    finally:
        idle.kill()
        idle.wait()
    assert (result["created"], ImportRun.objects.get().status) == (30, "done")
    assert not lock.exists()  # a finished run leaves no lock file behind


def test_the_trade_show_example_on_a_shift_jis_file(defaults, tmp_path):
    example = Path(__file__).parents[3] / "examples" / "mappings" / "trade-show-contacts.yaml"
    path = write_csv(
        tmp_path / "cards.csv",
        ["メールアドレス", "姓", "名", "会社名", "会社URL", "メール配信", "登録日"],
        [
            ["sato@fuji.example", "佐藤", "一郎", "富士商事", "https://fuji.example", "可", "2026年4月1日"],
            ["kato@fuji.example", "加藤", "花子", "富士商事", "fuji.example", "", "2026/04/02"],
            ["ito@fuji.example", "伊藤", "健", "富士商事", "", "不可", "4月3日"],
        ],
        encoding="cp932",
        newline="\r\n",
    )

    result = run("contacts", path, "--mapping", str(example))

    assert (result["created"], result["errors"]) == (2, 1)
    sato = Contact.objects.select_related("account").get(email="sato@fuji.example")
    assert (sato.consent, sato.source, sato.account.name) == ("granted", "trade-show", "富士商事")
    assert Contact.objects.get(email="kato@fuji.example").consent == "unknown"
    assert Account.objects.count() == 1
    [error] = error_rows(result["error_file"])
    assert (error["line"], error["column"], error["code"]) == ("4", "登録日", "bad_date")
