"""How the analytics commands print: JSON (the documented shape), an aligned text
table, or CSV — the same rows for the last two — and how they save to a file, XLSX
included. CSV and XLSX go through the export writer's formula-injection guard."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kyogyo.exports import spreadsheet


def _default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def to_json(data: Any) -> str:
    return json.dumps(data, default=_default, ensure_ascii=False, indent=2)


def plain(data: Any) -> Any:
    """The values ``to_json`` writes, as plain JSON values (dates as ISO text)."""
    return json.loads(json.dumps(data, default=_default))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def to_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return "(no rows)"
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(row[i], int | float) or row[i] is None for row in rows) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)]).rstrip()


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(
            ["" if v is None else spreadsheet.neutralise(v) if isinstance(v, str) else v for v in row]
        )
    return buffer.getvalue().rstrip("\n")


def render(fmt: str, data: Any, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if fmt == "json":
        return to_json(data)
    if fmt == "csv":
        return to_csv(headers, rows)
    return to_table(headers, rows)


def save(
    fmt: str,
    path: Path,
    data: Any,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str = "report",
) -> None:
    """Write the report to a file: XLSX through the spreadsheet writer, the rest as text."""
    if fmt == "xlsx":
        with path.open("wb") as stream:
            spreadsheet.write("xlsx", stream, headers, rows, title=title)
        return
    path.write_text(render(fmt, data, headers, rows) + "\n", encoding="utf-8")
