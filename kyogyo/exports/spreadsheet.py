"""One writer for CSV and XLSX that no spreadsheet can read as a formula.

Text whose first character after leading spaces and control characters is a formula trigger
(``= + - @`` and their full-width forms), or that starts with a tab or carriage return, is
prefixed with a single quote ``'``; in XLSX every text cell is also written with the explicit
string type. Numbers stay numbers. Rows are written one at a time (openpyxl write-only mode
for XLSX), so memory stays bounded however long the list is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMATS = ("csv", "xlsx")
TRIGGERS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")  # and the full-width ＝ ＋ － ＠
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def _skippable(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def is_dangerous(text: str) -> bool:
    """Could a spreadsheet read this text as a formula (or a DDE command)?"""
    if text[:1] in ("\t", "\r"):
        return True
    for char in text:
        if not _skippable(char):
            return char in TRIGGERS
    return False


def neutralise(text: str) -> str:
    """The text as a spreadsheet must show it, never evaluate it."""
    return "'" + text if is_dangerous(text) else text


def cell_value(value: Any) -> Any:
    """A Python value as one cell: numbers stay numbers, text is neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        return timezone.localtime(value) if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralise(str(value))


def _csv_text(value: Any) -> Any:
    value = cell_value(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class CsvWriter:
    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream, lineterminator="\r\n")

    def writerow(self, row: Sequence[Any]) -> None:
        self._writer.writerow([_csv_text(v) for v in row])

    def close(self) -> None:
        pass


class XlsxWriter:
    def __init__(self, stream: IO[bytes], title: str) -> None:
        self._stream = stream
        self._book = Workbook(write_only=True)
        self._sheet = self._book.create_sheet(title=title[:31] or "export")

    def _cell(self, value: Any) -> WriteOnlyCell:
        value = cell_value(value)
        if isinstance(value, dt.datetime):
            value = value.replace(tzinfo=None)
        if isinstance(value, str):
            # Characters XML cannot hold (NUL and most C0 controls) become U+FFFD, not a crash.
            value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        cell = WriteOnlyCell(self._sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        elif isinstance(value, dt.datetime):
            cell.number_format = XLSX_DATETIME_FORMAT
        return cell

    def writerow(self, row: Sequence[Any]) -> None:
        self._sheet.append([self._cell(v) for v in row])

    def close(self) -> None:
        self._book.save(self._stream)


def write(
    fmt: str,
    stream: IO[bytes],
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str = "export",
    excel_bom: bool = False,
) -> int:
    """Write a header and the rows to a binary stream as CSV (UTF-8, with a BOM for Excel
    when asked) or XLSX; returns the number of rows written (without the header)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    text: io.TextIOWrapper | None = None
    writer: CsvWriter | XlsxWriter
    if fmt == "csv":
        text = io.TextIOWrapper(stream, encoding="utf-8-sig" if excel_bom else "utf-8", newline="")
        writer = CsvWriter(text)
    else:
        writer = XlsxWriter(stream, title)
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    writer.close()
    if text is not None:
        text.flush()
        text.detach()
    return count
