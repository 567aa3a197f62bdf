"""Reading a tabular file row by row: CSV (UTF-8 with or without BOM, or Shift_JIS/CP932,
any line ending, quoted newlines) and XLSX (read-only, streaming). Memory stays bounded:
one row at a time."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

SNIFF_BYTES = 64 * 1024
# csv's own limit guards memory; cells longer than the import's cap are reported per row.
csv.field_size_limit(10 * 1024 * 1024)


class SourceError(Exception):
    """The file as a whole cannot be read (not a row-level problem)."""


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line (CSV: the physical line the record starts on; XLSX: the sheet row)
    cells: list[str]


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_encoding(path: Path) -> str:
    """BOM → utf-8-sig; else strict UTF-8 on a sample; else cp932 (Shift_JIS as Windows writes it)."""
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is not evidence against UTF-8.
        if error.start < len(sample) - 3:
            return "cp932"
    return "utf-8"


def is_xlsx(path: Path) -> bool:
    with path.open("rb") as handle:
        return path.suffix.lower() in {".xlsx", ".xlsm"} or handle.read(4) == b"PK\x03\x04"


def read_rows(path: Path, *, encoding: str | None = None) -> tuple[list[str], Rows]:
    """The header and an iterator over the data rows."""
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    if is_xlsx(path):
        return _read_xlsx(path)
    return _read_csv(path, encoding or detect_encoding(path))


def _read_csv(path: Path, encoding: str) -> tuple[list[str], Rows]:
    handle = path.open("r", encoding=encoding, errors="strict", newline="")
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise SourceError("the file is empty") from None
    except (UnicodeDecodeError, csv.Error) as error:
        handle.close()
        raise SourceError(f"cannot read the header as {encoding}: {error}") from None

    def rows() -> Generator[Row, None, None]:
        start = reader.line_num + 1
        try:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError as error:
                    raise SourceError(f"not valid {encoding} near line {start}: {error.reason}") from None
                except csv.Error as error:
                    raise SourceError(f"line {start}: {error}") from None
                if any(cell.strip() for cell in cells):  # a blank line (or only commas) is no row
                    yield Row(start, cells)
                start = reader.line_num + 1
        finally:
            handle.close()

    return [h.strip() for h in header], Rows(rows(), handle.close)


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path) -> tuple[list[str], Rows]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise SourceError(f"cannot open the workbook: {error}") from None
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        first = next(values)
    except StopIteration:
        book.close()
        raise SourceError("the sheet is empty") from None
    header = [_xlsx_cell(v).strip() for v in first]
    while header and not header[-1]:
        header.pop()

    def rows() -> Generator[Row, None, None]:
        try:
            for number, raw in enumerate(values, start=2):
                cells = [_xlsx_cell(v) for v in raw]
                while len(cells) > len(header) and not cells[-1]:
                    cells.pop()  # trailing empty cells of a wider sheet
                if any(cells):
                    yield Row(number, cells)
        finally:
            book.close()

    return header, Rows(rows(), book.close)


class Rows(Iterator[Row]):
    """The data rows of an open file; ``close()`` releases the file, also before the first
    row was read (a generator not yet started would leave it to the garbage collector)."""

    def __init__(self, rows: Generator[Row, None, None], release: Callable[[], None]) -> None:
        self._rows = rows
        self._release = release

    def __next__(self) -> Row:
        return next(self._rows)

    def close(self) -> None:
        self._rows.close()
        self._release()
