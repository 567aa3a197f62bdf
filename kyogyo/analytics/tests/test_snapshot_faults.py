"""The analytics snapshot across faults: ``kyogyo snapshot refresh`` killed with SIGKILL, or
the database server crashed under it, at random points of a first build and of an
incremental refresh; a rerun completes, and the snapshot then holds exactly what a clean
rebuild reads — every table, and the waterfall report."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from kyogyo.analytics.snapshot.builder import ALL_TABLES
from kyogyo.imports.tests.files import write_csv
from kyogyo.ops import faults

pytestmark = pytest.mark.faults

DEMO = "kyogyo_demo"
TODAY = "2026-04-01"


@pytest.fixture(scope="module")
def demo_template(scratch_postgres, tmp_path_factory):
    """A template database holding a small demo company (no snapshot), and how long a clean
    build of its snapshot takes (the faults are placed within that time)."""
    url = scratch_postgres.create_database(DEMO)
    env = faults.kyogyo_env(url, tmp_path_factory.mktemp("demo-data"))
    faults.run_kyogyo(env, "demo", "--size", "1500", "--seed", "3", "--today", TODAY, "--no-snapshot")
    seconds = refresh_seconds(env)
    shutil.rmtree(Path(env["KYOGYO_DATA_DIR"]) / "snapshot")
    return DEMO, seconds


def contents(directory: Path) -> dict[str, list]:
    """Every table of the directory's current generation, sorted, in a comparable form."""
    manifest = json.loads((directory / "manifest.json").read_text())
    found = {}
    with duckdb.connect(str(directory / manifest["file"]), read_only=True) as duck:
        for name in [*(t.name for t in ALL_TABLES), "entries"]:
            if name == "activity_days":  # a refresh may add a day's count in a second row
                sql = "SELECT contact_id, day, type, campaign_id, source, sum(n) FROM activity_days GROUP BY ALL"
            else:
                sql = f"SELECT * FROM {name}"
            found[name] = sorted(duck.execute(sql).fetchall(), key=repr)
    return found


def waterfall(env: dict[str, str]) -> dict:
    done = faults.run_kyogyo(env, "report", "waterfall", "--format", "json", "--as-of", TODAY)
    report = json.loads(done.stdout)
    report.pop("snapshot")  # which generation, and when it was made: not the result
    return report


def changes_file(cluster, database: str, path: Path) -> Path:
    """150 people of the demo with a new title, and 150 new people: updated rows (through the
    change capture) and new ones (above the watermarks)."""
    emails = cluster.execute("SELECT email FROM customers_contact ORDER BY id LIMIT 150", database)
    header = ["email", "first_name", "last_name", "title", "created_at"]
    rows = [[email, "Hanako", "Suzuki", "Head of Revenue", "2026-03-30 10:00"] for (email,) in emails]
    rows += [
        [f"new{i}@newco{i % 5}.example.jp", "Jiro", f"Sato{i}", "CTO", "2026-03-31 09:00"] for i in range(150)
    ]
    return write_csv(path, header, rows)


def break_refresh(cluster, env, snapshot: Path, fault: faults.Fault, seconds: float) -> str:
    """Start ``kyogyo snapshot refresh``; once it is writing a generation (its ``.building``
    file exists), wait ``fault.progress`` of ``seconds`` (a clean build's time), then kill
    it or crash the server."""
    process = faults.start_kyogyo(env, "snapshot", "refresh")
    building = faults.wait_until(
        lambda: any(snapshot.glob("*.building")), "the refresh to start", while_running=process
    )
    time.sleep(fault.progress * seconds)
    if fault.kind == "kill":
        faults.kill_hard(process)
    else:
        cluster.restart("immediate")
        _out, err = process.communicate(timeout=faults.PATIENCE_SECONDS)
        assert "Traceback" not in err, err
    finished = process.returncode == 0
    return f"{fault}: {'it had finished' if finished or not building else 'broke it'}"


def refresh_seconds(env) -> float:
    return json.loads(faults.run_kyogyo(env, "snapshot", "refresh", "--format", "json").stdout)["seconds"]


def test_a_refresh_broken_at_random_points_ends_as_a_clean_rebuild(
    scratch_postgres, demo_template, fault_seed, tmp_path
):
    cluster = scratch_postgres
    template, seconds = demo_template
    plan = faults.fault_plan(fault_seed, 4, kinds=("kill", "restart", "restart", "kill"))
    for number in range(2):
        database = f"snapshot_{number}"
        data = tmp_path / database
        env = faults.kyogyo_env(cluster.create_database(database, template=template), data)
        snapshot = data / "snapshot"
        build_fault, refresh_fault = plan[2 * number], plan[2 * number + 1]

        # a first build, broken, then run again
        what = break_refresh(cluster, env, snapshot, build_fault, seconds)
        print(f"{database}, first build: {what}; then {refresh_seconds(env)} s")
        # changes, then an incremental refresh, broken, then run again
        path = changes_file(cluster, database, data / "changes.csv")
        faults.run_kyogyo(env, "import", "contacts", str(path), "--preset", "generic", "--quiet")
        what = break_refresh(cluster, env, snapshot, refresh_fault, seconds)
        print(f"{database}, incremental refresh: {what}; then {refresh_seconds(env)} s")

        clean = {**env, "KYOGYO_SNAPSHOT_DIR": str(data / "clean")}
        faults.run_kyogyo(clean, "snapshot", "rebuild")
        got, expected = contents(snapshot), contents(data / "clean")
        for table in expected:
            assert got[table] == expected[table], f"{table} differs from a clean rebuild's ({what})"
        assert waterfall(env) == waterfall(clean), what
        assert not list(snapshot.glob("*.building*")), "what the broken runs left is cleaned up"
