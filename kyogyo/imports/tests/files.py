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
