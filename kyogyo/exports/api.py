"""Exports over the API: any list as CSV or XLSX, the same files as ``kyogyo export`` (formula
injection neutralised, restricted fields masked for the token's owner), written to a temporary
file first — so a failure is an error answer, never half a file — and sent from there, so memory stays bounded."""

from __future__ import annotations

import tempfile
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import Field, Query, Router, Schema

from kyogyo.api.auth import user_of
from kyogyo.api.errors import ApiError, errors, forbidden
from kyogyo.api.params import Day, Text200
from kyogyo.exports import lists, spreadsheet
from kyogyo.org import access, restricted

router = Router(tags=["exports"])

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Kept in memory up to this size, then on disk.
SPOOL_BYTES = 8 * 1024 * 1024

Kind = Literal["accounts", "contacts", "deals", "handoffs", "activities"]


class ExportParams(Schema):
    format: Literal["csv", "xlsx"] = "csv"
    since: Day | None = Field(None, description="only rows created (activities: occurred) on or after")
    filter: list[Text200] = Field(
        default_factory=list,
        description="FIELD=VALUE, repeatable; the fields per list are in docs/exports.md",
    )
    excel_bom: bool = Field(False, description="CSV: start with a UTF-8 byte order mark for Excel")


FILE_ANSWER: dict[str, Any] = {
    "responses": {
        "200": {
            "description": "the file",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


@router.get(
    "/{kind}",
    response=errors(),
    openapi_extra=FILE_ANSWER,
    summary="Export a list as CSV or XLSX",
)
def export_list(request: HttpRequest, kind: Kind, params: Query[ExportParams]):
    user = user_of(request)
    if not access.can_read_records(user):
        raise forbidden("only members of a team can export the customer record")
    try:
        export = lists.get(kind)
        rows = lists.rows(export, restricted.policy(user), since=params.since, filters=params.filter)
        stream = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response
        spreadsheet.write(
            params.format, stream, export.headers, rows, title=export.kind, excel_bom=params.excel_bom
        )
    except lists.ExportError as exc:
        raise ApiError(
            422, exc.code, str(exc), details=[{"field": "filter", "code": exc.code, "message": str(exc)}]
        ) from exc
    stream.seek(0)
    return FileResponse(
        stream,
        as_attachment=True,
        filename=f"{kind}.{params.format}",
        content_type=CONTENT_TYPES[params.format],
    )
