"""Imports over the API — the web way in: upload a CSV or XLSX file with a preset or a
mapping file, and the worker imports it in the background; poll for progress and the
counts, download the error file. The rows go in exactly as with ``kyogyo import``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from kyogyo.api.auth import user_of
from kyogyo.api.errors import ApiError, errors, forbidden, not_found
from kyogyo.api.pagination import PageParams, page_of, paginate
from kyogyo.api.params import RecordId, Text60, inline_choices
from kyogyo.imports import uploads
from kyogyo.imports.mappings import KINDS
from kyogyo.imports.models import ImportUpload
from kyogyo.org import access
from kyogyo.org.models import User

router = Router(tags=["imports"])

UploadStatus = Annotated[ImportUpload.Status, inline_choices(ImportUpload.Status)]


class ImportForm(Schema):
    kind: str = Field(..., pattern=r"^[a-z_]{1,20}$", description=f"what the rows are: {', '.join(KINDS)}, …")
    preset: Text60 = Field("", description="a built-in mapping (docs/imports.md); or send a `mapping` file")
    dry_run: bool = Field(False, description="check and count, write nothing")


CSV_ANSWER: dict[str, Any] = {
    "responses": {
        "200": {
            "description": "the error file (CSV)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


class ImportOut(Schema):
    id: int
    kind: str
    file_name: str
    size: int
    preset: str
    dry_run: bool
    status: UploadStatus
    rows_done: int
    rows_total: int
    created: int | None = Field(None, description="once done")
    updated: int | None = None
    unchanged: int | None = None
    errors: int | None = None
    error_file: str | None = Field(None, description="where to download the rows that could not go in")
    error_code: str
    error_message: str
    user: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def import_out(upload: ImportUpload) -> ImportOut:
    summary: dict[str, Any] = upload.summary or {}
    return ImportOut(
        id=upload.pk,
        kind=upload.kind,
        file_name=upload.file_name,
        size=upload.size,
        preset=upload.preset,
        dry_run=upload.dry_run,
        status=ImportUpload.Status(upload.status),
        rows_done=upload.rows_done,
        rows_total=upload.rows_total,
        created=summary.get("created"),
        updated=summary.get("updated"),
        unchanged=summary.get("unchanged"),
        errors=summary.get("errors"),
        error_file=f"/api/imports/{upload.pk}/errors" if uploads.error_file_of(upload) else None,
        error_code=upload.error_code,
        error_message=upload.error_message,
        user=upload.user.get_username(),
        created_at=upload.created_at,
        started_at=upload.started_at,
        finished_at=upload.finished_at,
    )


def visible_uploads(user: User) -> QuerySet[ImportUpload]:
    queryset = ImportUpload.objects.select_related("user")
    if not access.can_read_records(user):
        return queryset.none()
    return queryset if access.is_manager(user) else queryset.filter(user=user)


def _get(request: HttpRequest, pk: int) -> ImportUpload:
    found = visible_uploads(user_of(request)).filter(pk=pk).first()
    if found is None:
        raise not_found("import")
    return found


@router.post(
    "",
    response={202: ImportOut, **errors(409, 413)},
    summary="Upload a file to import (multipart): it is imported in the background",
)
def create_import(
    request: HttpRequest,
    response: HttpResponse,
    form: Form[ImportForm],
    file: File[UploadedFile],
    mapping: File[UploadedFile | None] = None,
):
    user = user_of(request)
    if not access.can_create_records(user):
        raise forbidden("only members of a team can import")
    try:
        upload = uploads.accept_upload(
            user, kind=form.kind, upload=file, preset=form.preset, mapping=mapping, dry_run=form.dry_run
        )
    except uploads.UploadError as exc:
        status = 413 if exc.code == "too_large" else 422
        raise ApiError(
            status, exc.code, str(exc), details=[{"field": exc.field, "code": exc.code, "message": str(exc)}]
        ) from exc
    response["Location"] = f"/api/imports/{upload.pk}"
    return Status(202, import_out(ImportUpload.objects.select_related("user").get(pk=upload.pk)))


@router.get("", response={200: page_of(ImportOut), **errors()}, summary="Your imports (managers: everyone's)")
def list_imports(request: HttpRequest, page: Query[PageParams]):
    if not access.can_read_records(user_of(request)):
        raise forbidden("only members of a team can import")
    return paginate(visible_uploads(user_of(request)), page, import_out)


@router.get(
    "/{int:import_id}", response={200: ImportOut, **errors(404)}, summary="An import: progress and counts"
)
def get_import(request: HttpRequest, import_id: RecordId):
    return import_out(_get(request, import_id))


@router.get(
    "/{int:import_id}/errors",
    response=errors(404),
    openapi_extra={
        "responses": {
            "200": {
                "description": "the error file (CSV)",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
    summary="The rows that could not go in: line, column, code, message and the original cells",
)
def get_error_file(request: HttpRequest, import_id: RecordId):
    response = uploads.error_file_response(_get(request, import_id), user_of(request))
    if response is None:
        raise not_found("error file")
    return response
