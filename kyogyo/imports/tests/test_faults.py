"""An import broken at random points — the process killed with SIGKILL, or the PostgreSQL
server crashed (immediate shutdown) — then run again: exactly the valid rows exist, once,
and the history has one ``create`` row per created record."""

from __future__ import annotations

import json
import time

import pytest

from kyogyo.imports.tests.files import error_rows, write_csv
from kyogyo.imports.tests.test_import import CONTACT_HEADER, contact_rows
from kyogyo.ops import faults

pytestmark = pytest.mark.faults

ROWS = 2000
BATCH = 150
BROKEN = set(range(11, ROWS, 37))  # about 3 %: an e-mail address that is not one
COMPANIES = 7  # contact_rows spreads the people over seven companies


def contacts_file(path):
    rows = contact_rows(ROWS)
    for i in BROKEN:
        rows[i][1] = f"not-an-address-{i}"
    return write_csv(path, CONTACT_HEADER, rows)


def rows_done(cluster: faults.ScratchCluster, database: str) -> int:
    try:
        found = cluster.execute("SELECT coalesce(max(rows_done), 0) FROM imports_importrun", database)
    except Exception:  # the server is restarting: nothing is known yet
        return 0
    return found[0][0]


def break_import(cluster, database, env, command, fault: faults.Fault) -> str:
    """Start the import, wait until ``fault.progress`` of the rows are committed, then
    break it; returns what happened to the process."""
    process = faults.start_kyogyo(env, *command)
    threshold = int(ROWS * fault.progress)
    running = faults.wait_until(
        lambda: rows_done(cluster, database) >= threshold, "the import to start", while_running=process
    )
    time.sleep(fault.delay)
    if fault.kind == "kill":
        faults.kill_hard(process)
        return f"killed at {rows_done(cluster, database)} rows" if running else "finished first"
    cluster.restart("immediate")
    _out, err = process.communicate(timeout=faults.PATIENCE_SECONDS)
    if process.returncode == 0:
        return "finished first"
    assert "Traceback" not in err, err  # a lost connection is said plainly, not as a traceback
    assert "run the same command again to resume" in err, err
    return f"database crashed at {rows_done(cluster, database)} rows"


def test_an_import_broken_at_random_points_resumes_with_each_valid_row_once(
    scratch_postgres, fault_seed, tmp_path
):
    cluster = scratch_postgres
    path = contacts_file(tmp_path / "contacts.csv")
    valid = ROWS - len(BROKEN)
    for number, fault in enumerate(faults.fault_plan(fault_seed, 4)):
        database = f"imports_{number}"
        env = faults.kyogyo_env(cluster.create_database(database), tmp_path / database)
        command = ["import", "contacts", str(path), "--preset", "generic", "--batch-size", str(BATCH)]
        what = break_import(cluster, database, env, command, fault)
        print(f"repetition {number}: {fault}: {what}")

        done = faults.run_kyogyo(env, *command, "--format", "json", "--quiet")

        result = json.loads(done.stdout)
        # a resumed run counts the whole run; a rerun after a run that finished first, nothing new
        assert (result["created"] + result["unchanged"], result["errors"]) == (valid, len(BROKEN)), (
            fault,
            what,
        )
        lines = [int(e["line"]) for e in error_rows(result["error_file"])]
        assert lines == [i + 2 for i in sorted(BROKEN)], (fault, what)

        def one(sql: str, database=database):
            return cluster.execute(sql, database)[0]

        assert one(
            "SELECT count(*), count(DISTINCT lower(email)), count(DISTINCT external_id) FROM customers_contact"
        ) == (valid, valid, valid), (fault, what)
        assert one("SELECT count(*), count(DISTINCT domain) FROM customers_account") == (COMPANIES, COMPANIES)
        # every person entered the journey once: one transition, one milestones row
        assert one("SELECT count(*), count(DISTINCT subject_id) FROM journey_transition") == (valid, valid)
        assert one("SELECT count(*) FROM journey_milestone") == (valid,)
        runs = cluster.execute(
            "SELECT status, rows_done, created, errors FROM imports_importrun ORDER BY id", database
        )
        assert runs[0] == ("done", ROWS, valid, len(BROKEN)), (fault, what)
        assert all(run[:2] == ("done", ROWS) for run in runs), (fault, what)
        # the history: one `create` row per created record, none for a record not kept
        for table, model in (
            ("customers_contact", "customers.contact"),
            ("customers_account", "customers.account"),
        ):
            history = one(
                "SELECT count(*), count(DISTINCT object_id) FROM audit_change "
                f"WHERE model = '{model}' AND operation = 'create'"
            )
            assert history == one(f"SELECT count(*), count(*) FROM {table}"), (model, fault, what)
            orphans = one(
                f"SELECT count(*) FROM audit_change c WHERE c.model = '{model}' AND c.operation = 'create' "
                f"AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id::text = c.object_id)"
            )
            assert orphans == (0,), (model, fault, what)
        faults.run_kyogyo(env, "check")  # the journey's invariants hold
