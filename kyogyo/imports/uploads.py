"""Imports sent over the API: the file is checked (size, type, a mapping that loads), kept
under the import directory and imported by the background worker, with its progress saved
on the ``ImportUpload`` as it goes. The work is ``run_import`` itself, so the rows, the error
file and the resuming of an interrupted run are exactly those of ``kyogyo import``."""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from kyogyo.imports.actions import ImportBusy, import_dir, run_import
from kyogyo.imports.mappings import KINDS, MappingError, load_mapping
from kyogyo.imports.models import ImportUpload
from kyogyo.imports.sources import SourceError
from kyogyo.org import restricted
from kyogyo.org.models import User

SUFFIXES = (".csv", ".xlsx")
XLSX_MAGIC = b"PK\x03\x04"  # an XLSX file is a ZIP archive
MAPPING_SUFFIXES = (".yaml", ".yml", ".json")
MAX_MAPPING_BYTES = 256 * 1024
# Progress is written at most this often: every row would make each row a write.
PROGRESS_EVERY_SECONDS = 1.0


class UploadError(ValueError):
    def __init__(self, code: str, message: str, field: str = "file"):
        self.code, self.field = code, field
        super().__init__(message)


def max_upload_bytes() -> int:
    return int(getattr(settings, "KYOGYO_IMPORT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024))


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)[-120:]
    return stem.lstrip(".") or "upload"


def _check_file(name: str, size: int, head: bytes) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadError("bad_type", f"{name!r}: send a .csv or .xlsx file")
    if size == 0:
        raise UploadError("empty_file", f"{name!r} is empty")
    if size > max_upload_bytes():
        raise UploadError("too_large", f"{name!r} is larger than {max_upload_bytes():,} bytes")
    if suffix == ".xlsx" and not head.startswith(XLSX_MAGIC):
        raise UploadError("bad_type", f"{name!r} is not an XLSX workbook")
    if suffix == ".csv" and b"\x00" in head:
        raise UploadError("bad_type", f"{name!r} is not a text file (it holds NUL bytes)")


def _mapping_file(directory: Path, mapping_name: str, mapping_bytes: bytes) -> Path:
    suffix = Path(mapping_name).suffix.lower()
    if suffix not in MAPPING_SUFFIXES:
        raise UploadError("bad_mapping", "a mapping file is .yaml, .yml or .json", field="mapping")
    if len(mapping_bytes) > MAX_MAPPING_BYTES:
        raise UploadError(
            "bad_mapping", f"a mapping file is at most {MAX_MAPPING_BYTES:,} bytes", field="mapping"
        )
    path = directory / f"mapping{suffix}"
    path.write_bytes(mapping_bytes)
    return path


def accept_upload(
    user: User,
    *,
    kind: str,
    upload: UploadedFile,
    preset: str = "",
    mapping: UploadedFile | None = None,
    dry_run: bool = False,
) -> ImportUpload:
    """Check and keep an uploaded file, and queue its import. Nothing is kept when a check
    fails; the error says which part of the request is wrong. The file is copied in chunks
    (Django has already spooled a large upload to disk), so memory stays bounded."""
    if kind not in KINDS:
        raise UploadError("bad_kind", f"kind must be one of {', '.join(KINDS)}", field="kind")
    if bool(preset) == bool(mapping):
        raise UploadError("preset_or_mapping", "give either a preset or a mapping file", field="preset")
    name = upload.name or "upload"
    head = upload.read(65536)
    upload.seek(0)
    _check_file(name, upload.size or 0, head)
    directory = import_dir() / "uploads" / uuid.uuid4().hex
    directory.mkdir(parents=True)
    stored = directory / _safe_name(name)
    mapping_bytes = mapping.read(MAX_MAPPING_BYTES + 1) if mapping else b""
    try:
        mapping_path = _mapping_file(directory, mapping.name or "", mapping_bytes) if mapping else None
        try:
            load_mapping(kind, preset=preset or None, path=mapping_path)
        except MappingError as exc:
            raise UploadError("bad_mapping", str(exc), field="mapping" if mapping else "preset") from exc
        with stored.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        with transaction.atomic():
            kept = ImportUpload.objects.create(
                user=user,
                kind=kind,
                preset=preset,
                mapping_text=mapping_bytes.decode("utf-8", "replace"),
                dry_run=dry_run,
                file_name=Path(name).name[:255],
                stored_path=str(stored),
                size=upload.size or 0,
            )
            transaction.on_commit(lambda: _queue(kept.pk))
    except BaseException:
        for leftover in directory.iterdir():
            leftover.unlink()
        directory.rmdir()
        raise
    return kept


def _queue(upload_id: int) -> None:
    from django_q.tasks import async_task

    async_task("kyogyo.imports.uploads.process_upload", upload_id, task_name=f"import upload {upload_id}")


def process_upload(upload_id: int) -> str:
    """The background task: import the kept file, saving progress and the outcome."""
    upload = ImportUpload.objects.get(pk=upload_id)
    if upload.status == ImportUpload.Status.DONE:
        return upload.status
    stored = Path(upload.stored_path)
    mapping_path = next(stored.parent.glob("mapping.*"), None)
    ImportUpload.objects.filter(pk=upload.pk).update(
        status=ImportUpload.Status.RUNNING, started_at=timezone.now()
    )
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_SECONDS or done == total:
            last[0] = now
            ImportUpload.objects.filter(pk=upload.pk).update(rows_done=done, rows_total=total)

    try:
        mapping = load_mapping(upload.kind, preset=upload.preset or None, path=mapping_path)
        summary = run_import(
            upload.kind,
            stored,
            mapping,
            dry_run=upload.dry_run,
            error_file=stored.parent / "errors.csv",
            progress=progress,
        )
    except (MappingError, SourceError, ImportBusy, LookupError) as exc:
        _finish(upload, ImportUpload.Status.FAILED, error=(type(exc).__name__, str(exc)))
        return ImportUpload.Status.FAILED
    _finish(upload, ImportUpload.Status.DONE, summary=summary.as_dict())
    return ImportUpload.Status.DONE


def _finish(
    upload: ImportUpload, status: str, *, summary: dict | None = None, error: tuple[str, str] | None = None
) -> None:
    codes = {"MappingError": "bad_mapping", "SourceError": "unreadable_file", "ImportBusy": "busy"}
    ImportUpload.objects.filter(pk=upload.pk).update(
        status=status,
        summary=summary or {},
        error_code=codes.get(error[0], "failed") if error else "",
        error_message=error[1] if error else "",
        finished_at=timezone.now(),
    )


def error_file_of(upload: ImportUpload) -> Path | None:
    path = upload.summary.get("error_file") if upload.summary else None
    return Path(path) if path and Path(path).is_file() else None


# The record a mapped field of each kind belongs to; ``account.name`` and the like name another.
_MODELS = {
    "accounts": "customers.Account",
    "contacts": "customers.Contact",
    "activities": "marketing.Activity",
    "deals": "deals.Deal",
    "subscriptions": "success.Subscription",
    "nps": "success.NpsResponse",
    "lifecycle": "customers.Contact",
}
_REFERENCES = {"account": "customers.Account", "contact": "customers.Contact", "deal": "deals.Deal"}
ERROR_COLUMNS = 4  # line, column, code, message: then the row's own cells


def hidden_columns(upload: ImportUpload, reader: User) -> set[str]:
    """The file's columns mapped to a field ``reader`` may not see on any record (a field an
    admin marked restricted): the error file shows them as "Restricted" to this reader, as
    every other surface does. The error file echoes the uploader's own rows, so fields hidden
    on some records only (people who withdrew consent) are left as they are."""
    from django.apps import apps

    policy = restricted.policy(reader)
    if not policy.hides_anything:
        return set()
    stored = Path(upload.stored_path)
    mapping = load_mapping(
        upload.kind, preset=upload.preset or None, path=next(stored.parent.glob("mapping.*"), None)
    )
    hidden = set()
    for column, names in mapping.columns.items():
        for name in names:
            group, _, key = name.partition(".")
            label = _REFERENCES.get(group) if key else _MODELS[upload.kind]
            if label and policy.always_hidden(apps.get_model(label), key or name):
                hidden.add(column)
    return hidden


def error_file_response(upload: ImportUpload, reader: User) -> HttpResponseBase | None:
    """The upload's error file (None: there is none) as ``reader`` may read it: as it is
    when nothing in it is hidden from them, else with the hidden columns' cells — and the
    messages about those cells, which may quote a value — masked."""
    path = error_file_of(upload)
    if path is None:
        return None
    hidden = hidden_columns(upload, reader)
    name, content_type = f"import-{upload.pk}-errors.csv", "text/csv; charset=utf-8"
    if not hidden:
        return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type=content_type)
    response = StreamingHttpResponse(_masked_lines(path, hidden), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _masked_lines(path: Path, hidden: set[str]) -> Iterator[bytes]:
    mask = str(restricted.masked_value())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        positions = [i for i, name in enumerate(header) if i >= ERROR_COLUMNS and name in hidden]
        writer.writerow(header)
        for row in reader:
            for i in positions:
                if i < len(row) and row[i]:
                    row[i] = mask
            if len(row) > 3 and row[1] in hidden:
                row[3] = mask
            writer.writerow(row)
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


def run_for_real(dry_run: ImportUpload, user: User) -> ImportUpload:
    """The import a finished dry run checked, now written: the same kept file and mapping,
    copied to a directory of its own (each run keeps its own error file) and queued."""
    if not dry_run.dry_run or dry_run.status != ImportUpload.Status.DONE:
        raise UploadError("not_a_dry_run", "only a finished dry run can be run for real")
    source = Path(dry_run.stored_path)
    if not source.is_file():
        raise UploadError("file_gone", "the file of this dry run is no longer kept; upload it again")
    directory = import_dir() / "uploads" / uuid.uuid4().hex
    directory.mkdir(parents=True)
    try:
        stored = directory / source.name
        shutil.copyfile(source, stored)
        for mapping in source.parent.glob("mapping.*"):
            shutil.copyfile(mapping, directory / mapping.name)
        with transaction.atomic():
            kept = ImportUpload.objects.create(
                user=user,
                kind=dry_run.kind,
                preset=dry_run.preset,
                mapping_text=dry_run.mapping_text,
                dry_run=False,
                file_name=dry_run.file_name,
                stored_path=str(stored),
                size=dry_run.size,
            )
            transaction.on_commit(lambda: _queue(kept.pk))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return kept
