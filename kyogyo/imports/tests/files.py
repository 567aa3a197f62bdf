"""Helpers of the import tests: write a file, run ``kyogyo import`` on it, read the error file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from django.core.management import call_command


def run(kind: str, path: Path, *args: str) -> dict:
    out = io.StringIO()
    call_command("import", kind, str(path), *args, "--format", "json", "--quiet", stdout=out)
    return json.loads(out.getvalue())


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], *, encoding="utf-8", newline="\n"
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def error_rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def codes(result: dict) -> list[tuple[int, str, str]]:
    """(line, column, code) of every error of a run, in line order."""
    if not result["error_file"]:
        return []
    return sorted((int(e["line"]), e["column"], e["code"]) for e in error_rows(result["error_file"]))


class Scratch:
    """A scratch database of its own (SQLite in ``directory``) driven through the ``kyogyo``
    command in separate processes, so a run can be killed for real."""

    def __init__(self, directory: Path) -> None:
        import os
        import subprocess
        import sys

        self.directory = directory
        self.database = directory / "scratch.sqlite3"
        self.kyogyo = str(Path(sys.executable).with_name("kyogyo"))
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "KYOGYO_DATA_DIR": str(directory),
        }
        subprocess.run([self.kyogyo, "init", "--no-input"], env=self.env, check=True, capture_output=True)

    def run(self, *args: str) -> dict:
        import subprocess

        done = subprocess.run(
            [self.kyogyo, *args, "--format", "json", "--quiet"], env=self.env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def query(self, sql: str) -> list[tuple]:
        import sqlite3

        with sqlite3.connect(self.database) as db:
            return db.execute(sql).fetchall()

    def rows_done(self) -> int:
        import sqlite3

        try:
            with sqlite3.connect(self.database, timeout=0.1) as db:
                found = db.execute("select max(rows_done) from imports_importrun where status = 'running'")
                return found.fetchone()[0] or 0
        except sqlite3.OperationalError:
            return 0

    def kill_midway(self, *args: str, after_rows: int) -> int:
        """Start ``kyogyo ARGS``, SIGKILL it once ``after_rows`` rows are committed; returns
        how many rows its run had committed."""
        import signal
        import subprocess
        import time

        process = subprocess.Popen(
            [self.kyogyo, *args], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 300
        while self.rows_done() < after_rows and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        return self.rows_done()

    def check(self) -> str:
        """``kyogyo check``'s report (it fails when a journey invariant does not hold)."""
        import subprocess

        done = subprocess.run([self.kyogyo, "check"], env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout
