"""A list page's rows as CSV or XLSX: the columns of the ``kyogyo export`` list of the same
kind (kyogyo/exports/lists.py), the rows the page's filters and sort chose, written by the
one spreadsheet writer (formula injection neutralised). CSV is streamed as it is read;
XLSX (a zip, written at the end) goes through a temporary file that spills to disk."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from kyogyo.exports import lists, spreadsheet
from kyogyo.exports.api import CONTENT_TYPES, SPOOL_BYTES
from kyogyo.org.restricted import Policy

FORMATS = ("csv", "xlsx")
FLUSH_ROWS = 500


def export_response(kind: str, rows: QuerySet[Any], fmt: str, policy: Policy) -> HttpResponseBase:
    """The file of ``rows``, with what the reader's ``policy`` hides masked."""
    if fmt not in FORMATS:
        return HttpResponseBadRequest(_("Export as CSV or XLSX."))
    export = lists.get(kind)
    values = policy.masked_rows(rows, [path for _header, path in export.columns], lists.CHUNK_SIZE)
    filename = f"{kind}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_chunks(export.headers, values), content_type=CONTENT_TYPES["csv"]
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    stream = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response
    spreadsheet.write("xlsx", stream, export.headers, values, title=export.kind)
    stream.seek(0)
    return FileResponse(stream, as_attachment=True, filename=filename, content_type=CONTENT_TYPES["xlsx"])


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text a few hundred rows at a time (UTF-8 with a BOM, so Excel reads Japanese)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = spreadsheet.CsvWriter(buffer)
    writer.writerow(headers)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % FLUSH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
