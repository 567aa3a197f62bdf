"""kyogyo export KIND: a list (accounts, contacts, deals, handoffs, activities) as CSV or XLSX."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.exports import lists, spreadsheet
from kyogyo.org import restricted
from kyogyo.org.models import User


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Export a list (accounts, contacts, deals, handoffs or activities) as CSV or XLSX, "
        "streamed row by row. Text that a spreadsheet could read as a formula is neutralised "
        "(prefixed with a single quote). Restricted fields (docs/privacy.md) are masked unless "
        "--as names a user who may see them. See docs/exports.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=list(lists.LISTS), help="which list to export")
        parser.add_argument("--format", choices=spreadsheet.FORMATS, default="csv", help="default csv")
        parser.add_argument(
            "--output", "-o", metavar="FILE", help="write to FILE (required for xlsx; CSV goes to stdout)"
        )
        parser.add_argument(
            "--since", type=_date, metavar="DATE", help="only rows created (activities: occurred) on or after"
        )
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="keep only rows with this value (repeatable; the fields allowed are in docs/exports.md)",
        )
        parser.add_argument(
            "--excel-bom", action="store_true", help="CSV: start with a UTF-8 byte order mark for Excel"
        )
        parser.add_argument(
            "--as",
            dest="as_user",
            metavar="USERNAME",
            help="export what this user may see; without it, restricted fields are masked",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["format"]
        output = options["output"]
        if fmt == "xlsx" and not output:
            raise CommandError("output_required: --format xlsx needs --output FILE")
        try:
            export = lists.get(options["kind"])
            policy = restricted.policy(_reader(options["as_user"]))
            rows = lists.rows(export, policy, since=options["since"], filters=options["filter"])
            if output:
                count = _to_file(Path(output), fmt, export, rows, options["excel_bom"])
            else:
                count = _to_stream(self._binary_stdout(), fmt, export, rows, options["excel_bom"])
        except lists.ExportError as exc:
            raise CommandError(f"{exc.code}: {exc}") from exc
        where = output or "stdout"
        self.stderr.write(f"Exported {count:,} {export.kind} to {where}.")
        if policy.hides_anything:
            self.stderr.write("Restricted fields are masked; --as a user who may see them includes them.")

    def _binary_stdout(self) -> Any:
        stream = getattr(self.stdout, "_out", sys.stdout)
        return getattr(stream, "buffer", None) or _TextSink(stream)


def _reader(username: str | None) -> User | None:
    """Whom the export is for: nobody (every restricted field masked) or an active user."""
    if username is None:
        return None
    found = User.objects.filter(username=username, is_active=True).first()
    if found is None:
        raise CommandError(f"unknown_user: no active user {username!r}")
    return found


class _TextSink:
    """A binary-looking wrapper around a text stream (stdout captured in tests)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        self._stream.write(data.decode("utf-8"))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return False


def _to_stream(stream: Any, fmt: str, export: lists.ExportList, rows: Any, bom: bool) -> int:
    return spreadsheet.write(fmt, stream, export.headers, rows, title=export.kind, excel_bom=bom)


def _to_file(path: Path, fmt: str, export: lists.ExportList, rows: Any, bom: bool) -> int:
    """Write next to the target and rename at the end: a failed export leaves no half file."""
    directory = path.resolve().parent
    if not directory.is_dir():
        raise CommandError(f"bad_output: {directory} is not a directory")
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            count = _to_stream(stream, fmt, export, rows, bom)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def _umask() -> int:
    """The process umask (mkstemp creates files 0600; the export gets the usual mode)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
