"""The backup drill, on SQLite and on PostgreSQL: back up, destroy the database, restore,
and `kyogyo check` passes with the same row count in every table; damaged, foreign and
unconfirmed restores are refused before anything is touched."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from kyogyo.ops.backup import table_counts


@pytest.fixture
def company(transactional_db, people, make_contact, walk, settings, tmp_path):
    """A few people along the journey and an import file in the data directory."""
    settings.DATA_DIR = tmp_path / "data"
    (settings.DATA_DIR / "imports" / "run-1").mkdir(parents=True)
    (settings.DATA_DIR / "imports" / "run-1" / "errors.csv").write_text("line,code\n3,bad_email\n")
    now = timezone.now()
    for n in range(6):
        contact = make_contact(at=now)
        steps = [("mql", now), ("sal", now), ("sql", now)][: n % 4]
        walk(contact, steps)
    return settings.DATA_DIR


def destroy_database() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        else:
            cursor.execute("PRAGMA foreign_keys=OFF")
            for table in connection.introspection.table_names():
                cursor.execute(f'DROP TABLE "{table}"')
            cursor.execute("PRAGMA foreign_keys=ON")


def run(*argv: str) -> str:
    out = io.StringIO()
    call_command(*argv, stdout=out)
    return out.getvalue()


def test_backup_destroy_restore_drill(company, tmp_path):
    before = table_counts()
    assert before["journey_transition"] > 0 and before["handoffs_handoff"] > 0
    target = tmp_path / "drill.tar"
    summary = json.loads(run("backup", "-o", str(target), "--format", "json"))
    assert summary["rows"] == sum(before.values()) and summary["files"] == 1

    destroy_database()
    import shutil

    shutil.rmtree(company / "imports")

    restored = json.loads(run("restore", str(target), "--yes", "--format", "json"))
    assert restored["mismatches"] == [] and restored["files"] == 1
    # the snapshot's change log is consumed by the rebuild that follows a restore
    after = table_counts()
    assert after.pop("analytics_snapshotchange") == 0
    before.pop("analytics_snapshotchange")
    assert after == before
    assert (company / "imports" / "run-1" / "errors.csv").read_text().startswith("line,code")
    report = json.loads(run("check", "--format", "json"))
    assert report["ok"] is True and report["violations"] == 0


def test_restoring_twice_changes_nothing(company, tmp_path):
    target = tmp_path / "twice.tar"
    run("backup", "-o", str(target))
    before = table_counts()
    run("restore", str(target), "--yes", "--no-snapshot")
    run("restore", str(target), "--yes", "--no-snapshot")
    assert table_counts() == before


def _rewrite(source: Path, target: Path, change) -> None:
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read() if member.isfile() else b""
            data = change(member.name, data)
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))


def test_a_damaged_backup_is_refused_and_nothing_is_touched(company, tmp_path):
    good = tmp_path / "good.tar"
    run("backup", "-o", str(good))
    damaged = tmp_path / "damaged.tar"
    _rewrite(
        good, damaged, lambda name, data: data[:-10] + b"x" * 10 if name.startswith("database") else data
    )
    before = table_counts()
    with pytest.raises(CommandError, match="damaged"):
        run("restore", str(damaged), "--yes")
    assert table_counts() == before


def test_a_backup_of_another_engine_is_refused(company, tmp_path):
    good = tmp_path / "good.tar"
    run("backup", "-o", str(good))
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"

    def swap_engine(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["engine"] = other
        return json.dumps(manifest).encode()

    foreign = tmp_path / "foreign.tar"
    _rewrite(good, foreign, swap_engine)
    with pytest.raises(CommandError, match=f"holds a {other} database"):
        run("restore", str(foreign), "--yes")


def test_not_a_backup_is_refused(transactional_db, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file at all")
    with pytest.raises(CommandError, match="not a Kyogyo backup"):
        run("restore", str(junk), "--yes")
    with pytest.raises(CommandError, match="no such file"):
        run("restore", str(tmp_path / "missing.tar"), "--yes")


def test_restore_asks_first_and_stops_without_a_yes(company, tmp_path, monkeypatch):
    target = tmp_path / "ask.tar"
    run("backup", "-o", str(target))
    monkeypatch.setattr("builtins.input", lambda question: "no")
    with pytest.raises(CommandError, match="not restored"):
        run("restore", str(target))
