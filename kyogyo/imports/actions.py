"""Running an import: read the file row by row, convert and validate each row, and apply
the valid ones through the actions (``records.py``: upserts by external id, email, …) in
batches. Each batch commits together with the run's progress, so a run that stops
part-way resumes after its last committed batch; invalid rows go to a CSV error file
(line, column, code, message, the row's original values) while the valid rows go in."""

from __future__ import annotations

import csv
import fcntl
import gc
import hashlib
import multiprocessing
import os
import socket
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kyogyo.audit import context as audit
from kyogyo.customers.models import Contact
from kyogyo.imports import records
from kyogyo.imports.mappings import IDENTITY, CellError, Mapping, Record
from kyogyo.imports.models import ImportRun
from kyogyo.imports.sources import Row, file_hash, read_rows
from kyogyo.journey import rulebook
from kyogyo.journey.models import Stage
from kyogyo.marketing.actions import ActivityInput, record_activities

CREATED, UPDATED, UNCHANGED = records.CREATED, records.UPDATED, records.UNCHANGED


class ImportBusy(Exception):
    """The same file is being imported by another process right now."""


class InjectedCrash(RuntimeError):
    """Raised inside a batch when the test-only setting KYOGYO_IMPORT_CRASH_IN_BATCH says so."""


def import_dir() -> Path:
    return Path(getattr(settings, "KYOGYO_IMPORT_DIR", settings.DATA_DIR / "imports"))


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    error_file: str | None = None
    rows: int = 0
    resumed_after: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "error_file": self.error_file,
        }


class ErrorFile:
    """The CSV of rejected rows, written as rows are checked; opened at the first error."""

    def __init__(self, path: Path, header: list[str], *, keep_bytes: int = 0) -> None:
        self.path = path
        self.header = header
        self.keep_bytes = keep_bytes
        self._handle: Any = None
        self._writer: Any = None
        self.count = 0

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.keep_bytes and self.path.exists():
            handle = self.path.open("r+", encoding="utf-8", newline="")
            handle.truncate(self.keep_bytes)  # drop what an uncommitted batch wrote
            handle.seek(self.keep_bytes)
            self._handle = handle
            self._writer = csv.writer(handle)
        else:
            self._handle = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(["line", "column", "code", "message", *self.header])

    def add(self, line: int, error: CellError, cells: list[str]) -> None:
        if self._handle is None:
            self._open()
        self._writer.writerow([line, error.column, error.code, error.message, *cells])
        self.count += 1

    def flush(self) -> int:
        """Make what was written durable; returns the file's size."""
        if self._handle is None:
            return self.keep_bytes
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return self._handle.tell()

    @property
    def used(self) -> bool:
        return self._handle is not None or (self.keep_bytes > 0 and self.path.exists())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


@audit.recorded_as("import")
def run_import(
    kind: str,
    path: Path,
    mapping: Mapping,
    *,
    dry_run: bool = False,
    encoding: str | None = None,
    batch_size: int | None = None,
    error_file: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Import ``path`` as ``kind`` rows; resumes an unfinished run of the same file and mapping."""
    batch_size = batch_size or int(getattr(settings, "KYOGYO_IMPORT_BATCH_SIZE", 5000))
    header, rows = read_rows(path, encoding=encoding)
    rows.close()  # read again, a batch ahead, by the reading process (``_ReadAhead``)
    digest = file_hash(path)
    mapping.check_header(header)
    mapping.check_stages(set(Stage.objects.values_list("key", flat=True)))

    run: ImportRun | None = None
    lock: IO[str] | None = None
    skip = 0
    summary = Summary()
    if dry_run:
        target = error_file or import_dir() / f"dry-run-{kind}-{digest[:12]}-errors.csv"
        errors = ErrorFile(target, header)
    else:
        run, lock = _open_run(kind, path, digest, mapping)
        skip = run.rows_done
        summary = Summary(run.created, run.updated, run.unchanged, run.errors, rows=skip, resumed_after=skip)
        target = (
            Path(run.error_file)
            if run.error_file
            else error_file or import_dir() / f"run-{run.pk}-errors.csv"
        )
        errors = ErrorFile(target, header, keep_bytes=run.error_file_size)
        if not run.error_file:
            run.error_file = str(target)

    audit.relabel(f"{kind} import of {path.name}" + (f" (run {run.pk})" if run else ""))
    importer = _Importer(kind, mapping, header)
    statistics = _Statistics(kind)
    thresholds = _collect_less()  # (before the fork: the reader makes as many objects)
    cache = _larger_page_cache()
    reader: _ReadAhead | None = None
    try:
        reader = _ReadAhead(_converted(importer, path, encoding, skip, batch_size), unshared=lock)
        total = _count(path, encoding) if progress else 0
        if progress:
            progress(skip, total)
        for batch_number, batch in enumerate(reader, start=1):
            with transaction.atomic():
                counts = importer.apply(batch, errors)
                if getattr(settings, "KYOGYO_IMPORT_CRASH_IN_BATCH", None) == batch_number:
                    raise InjectedCrash(f"injected crash in batch {batch_number}")
                summary.rows += len(batch)
                summary.created += counts[CREATED]
                summary.updated += counts[UPDATED]
                summary.unchanged += counts[UNCHANGED]
                summary.errors += counts["errors"]
                if run is not None:
                    run.rows_done = summary.rows
                    run.created, run.updated, run.unchanged = (
                        summary.created,
                        summary.updated,
                        summary.unchanged,
                    )
                    run.errors = summary.errors
                    run.error_file_size = errors.flush()
                    run.save()
                else:
                    transaction.set_rollback(True)
            if not dry_run:
                statistics.after(summary.created + summary.updated)
            if progress:
                progress(summary.rows, total)
        summary.error_file = str(errors.path) if summary.errors else None
        if run is not None:
            run.status = ImportRun.Status.DONE
            run.finished_at = timezone.now()
            run.error_file = summary.error_file or ""
            run.save()
            _lock_path(run).unlink(missing_ok=True)
    finally:
        if reader is not None:
            reader.close()
        errors.close()
        _collect_as_before(thresholds)
        _page_cache_as_before(cache)
        if lock is not None:
            lock.close()  # releases the run for another process (as a process's death does)
    if progress and summary.rows < total:
        progress(total, total)
    return summary


#: a file's rows in batches of (row, record), as ``_Importer.apply`` takes them
Batches = Generator[list[tuple[Row, Record]], None, None]


class _ReadAhead:
    """The file's rows in batches, read, converted and checked for duplicates within the file
    (``_Importer.remember``) by a child process a batch ahead: it works on the next batch
    while this process writes the last one, so the two cores share an import (reading and
    converting is about a seventh of its work). The rows a previous run committed are read
    for their keys only. A problem reading the file comes out here, after the batches before
    the one it is in, as it would reading in this process. The child is forked, so it has
    the mapping and header as they are; it touches neither the database nor the run's lock
    (its copy is closed at once), and ends with this process: its next batch has nowhere to
    go."""

    def __init__(self, batches: Batches, *, unshared: IO[str] | None) -> None:
        """``batches``: a generator not yet started (``_converted``); it runs in the child."""
        self._batches = batches
        self._process: Any = None
        if multiprocessing.current_process().daemon:
            # A daemonic process (a django-q worker running an uploaded file) may not start
            # children: it reads in its own stride.
            return
        context = multiprocessing.get_context("fork")
        self._pipe, sending = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_read_ahead,
            args=(sending, self._pipe, batches, unshared),
            name="kyogyo-import-reader",
            daemon=True,
        )
        self._process.start()
        sending.close()  # this end is the child's: at its end, ``recv`` here sees the pipe closed

    def __iter__(self) -> Iterator[list[tuple[Row, Record]]]:
        if self._process is None:
            yield from self._batches
            return
        while True:
            try:
                what, payload = self._pipe.recv()
            except EOFError:
                raise RuntimeError(
                    f"the process reading the file stopped (exit code {self._process.exitcode})"
                ) from None
            if what == "end":
                return
            if what == "error":
                raise payload
            yield payload

    def close(self) -> None:
        self._batches.close()  # (here, where it ran; not started, where the child ran it)
        if self._process is None:
            return
        self._pipe.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


def _read_ahead(sending: Any, receiving: Any, batches: Batches, unshared: IO[str] | None) -> None:
    """The reading process (``_ReadAhead``): ``batches`` into ``sending``, then
    ``("end", None)``, or ``("error", exception)`` at the first problem reading the file."""
    receiving.close()  # the parent's end: with it gone, a send finds the pipe broken
    if unshared is not None:
        unshared.close()  # the run's lock stays the parent's alone (a lock lives while any copy is open)
    try:
        for batch in batches:
            sending.send(("batch", batch))
        sending.send(("end", None))
    except (BrokenPipeError, ConnectionResetError):
        return  # the importing process has gone
    except Exception as error:  # the parent raises it as its own
        try:
            sending.send(("error", error))
        except Exception:  # an exception that does not pickle
            sending.send(("error", RuntimeError(f"{type(error).__name__}: {error}")))


def _converted(importer: _Importer, path: Path, encoding: str | None, skip: int, batch_size: int) -> Batches:
    """The rows after the first ``skip`` (read for their keys only), in batches of (row,
    record)."""
    _, rows = read_rows(path, encoding=encoding)
    try:
        for row in islice(rows, skip):
            importer.remember(row)
        while batch := list(islice(rows, batch_size)):
            yield [(row, importer.remember(row)) for row in batch]
    finally:
        rows.close()


class _Statistics:
    """Fresh planner statistics while an import grows the tables it looks rows up in. The
    look-ups by a company's name or domain go through expression indexes (``LOWER(name)``),
    and PostgreSQL, knowing nothing about a table that grew from nothing to 100,000 rows
    (where autovacuum is off, or has not come round yet), guessed each of 900 names matched
    hundreds of rows and scanned the whole table instead: most of the database's time in a
    1,000,000-row import. Analyzed after 10,000 rows written, then each time the count
    doubles — a dozen times at most, a fraction of a second each. SQLite's planner uses the
    indexes without statistics."""

    FIRST = 10_000
    TABLES = ("customers_account", "customers_contact")
    OWN = {
        "deals": ("deals_deal",),
        "subscriptions": ("success_subscription",),
        "activities": ("marketing_activity",),
        "nps": ("success_npsresponse",),
    }

    def __init__(self, kind: str) -> None:
        self.tables = (*self.TABLES, *self.OWN.get(kind, ()))
        self.next = self.FIRST

    def after(self, written: int) -> None:
        if written < self.next or connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(self.tables)}")
        self.next = max(written * 2, self.FIRST)


IMPORT_PAGE_CACHE_KIB = 256 * 1024


def _larger_page_cache() -> int | None:
    """On SQLite, a page cache of 256 MiB for the run (returns the setting as it was). Every
    new person goes into a dozen indexes at places all over them; with SQLite's default
    2 MiB cache, once the tables outgrow it nearly each of those places is a page read back
    from the operating system (at 200,000 rows: 7.1 s of system time, 3.7 s with the larger
    cache). PostgreSQL's buffers are the server's."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{IMPORT_PAGE_CACHE_KIB}")  # negative: KiB, not pages
    return before


def _page_cache_as_before(before: int | None) -> None:
    if before is not None and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


def _collect_less() -> tuple[int, int, int]:
    """Have the cyclic garbage collector run less often during a run (returns its settings as
    they were): each batch makes tens of thousands of objects that live until it commits, and
    collecting them as often as the default does took a fifth of the time. What exists
    before the run (code, settings) is left out of collections altogether."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], 50_000), max(thresholds[1], 20), max(thresholds[2], 100))
    return thresholds


def _collect_as_before(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def _open_run(kind: str, path: Path, digest: str, mapping: Mapping) -> tuple[ImportRun, IO[str]]:
    """The unfinished run of this file and mapping (or a new one), locked for this process."""
    with transaction.atomic():
        unfinished = (
            ImportRun.objects.select_for_update()
            .filter(kind=kind, file_hash=digest, mapping_hash=mapping.digest, status=ImportRun.Status.RUNNING)
            .order_by("-started_at")
            .first()
        )
        if unfinished is not None:
            lock = _lock(unfinished)
            unfinished.host, unfinished.pid = socket.gethostname()[:255], os.getpid()
            unfinished.save(update_fields=["host", "pid"])
            return unfinished, lock
        run = ImportRun.objects.create(
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            kind=kind,
            file_name=path.name[:500],
            file_hash=digest,
            mapping=mapping.raw,
            mapping_hash=mapping.digest,
            started_at=timezone.now(),
        )
        return run, _lock(run)


def _lock_path(run: ImportRun) -> Path:
    return import_dir() / "locks" / f"run-{run.pk}.lock"


def _lock(run: ImportRun) -> IO[str]:
    """Hold the run's lock file while working on it. The operating system releases it when
    the process ends, however it ends, so a run is busy exactly while a live process works
    on it — not merely while the process that last worked on it lives (a background worker
    lives on after its task failed, and its retry runs in another process). The lock is
    per machine: a run started on another machine cannot be checked; it is taken over."""
    path = _lock_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise ImportBusy(
            f"import run {run.pk} of this file is still running (process {run.pid}); "
            "wait for it or stop it first"
        ) from None
    return handle


def _count(path: Path, encoding: str | None) -> int:
    _, rows = read_rows(path, encoding=encoding)
    return sum(1 for _ in rows)


class _Importer:
    def __init__(self, kind: str, mapping: Mapping, header: list[str]) -> None:
        self.kind = kind
        self.mapping = mapping
        self.header = header
        # Match key → first line with it. Keys are kept as 64-bit digests, so a million rows
        # cost tens of megabytes, not hundreds.
        self.seen: dict[int, int] = {}
        self._config: records.Config | None = None

    @property
    def config(self) -> records.Config:
        if self._config is None:
            self._config = records.Config()
        return self._config

    def remember(self, row: Row) -> Record:
        record = self.mapping.convert(self.header, row.cells)
        if record.errors:
            return record
        keys = [(name, _digest(name, value)) for name, value in record.keys(self.mapping.match)]
        for name, key in keys:
            if key in self.seen:
                shown = "row" if name == IDENTITY else name
                message = f"the same {shown} as line {self.seen[key]}"
                record.errors.append(CellError(record.column(name), "duplicate", message))
                return record
        for _, key in keys:
            self.seen[key] = row.line
        return record

    def apply(self, rows: list[tuple[Row, Record]], errors: ErrorFile) -> dict[str, int]:
        """Apply a batch of rows (each converted and checked by ``remember``)."""
        if self.kind == "activities":
            return self._apply_activities(rows, errors)
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, "errors": 0}
        book = rulebook.load() if self.kind == "contacts" else None
        valid = [(row, record) for row, record in rows if not record.errors]
        context = records.Batch(self.mapping, [record for _, record in valid], self.config, book)
        if self.kind == "lifecycle":  # a person's entries in time order, however the file is sorted
            valid.sort(key=lambda pair: (pair[1].at, pair[0].line))
        pending: list[Record] = []  # new people of consecutive rows, created together
        for _, record in valid:
            if self.kind == "contacts" and records.batchable(context, record):
                pending.append(record)
                continue
            if pending:  # created before this row, as one by one
                counts[CREATED] += records.create_new_contacts(context, pending)
                pending = []
            outcome = context.apply(record)
            if outcome is not None:
                counts[outcome] += 1
        if pending:
            counts[CREATED] += records.create_new_contacts(context, pending)
        for row, record in rows:  # the error file in line order
            if record.errors:
                counts["errors"] += 1
                for problem in record.errors:
                    errors.add(row.line, problem, row.cells)
        return counts

    def _apply_activities(self, records: list[tuple[Row, Record]], errors: ErrorFile) -> dict[str, int]:
        """The whole batch goes through ``record_activities`` at once (it reports per item)."""
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, "errors": 0}
        valid = [record for _, record in records if not record.errors]
        contacts = _contact_ids(valid)
        items: list[ActivityInput] = []
        owners: list[Record] = []
        for record in valid:
            ref = record.contact
            contact_id = contacts.get(("external_id", ref.get("external_id", ""))) or contacts.get(
                ("email", ref.get("email", ""))
            )
            if contact_id is None:
                column = _contact_column(record)
                wanted = ref.get("external_id") or ref.get("email")
                record.errors.append(CellError(column, "unknown_contact", f"no contact {wanted!r}"))
                continue
            assert record.at is not None
            items.append(
                ActivityInput(
                    contact_id=contact_id,
                    type=record.values["type"],
                    occurred_at=record.at,
                    source=record.values.get("source", ""),
                    payload=record.payload or None,
                    external_id=record.values["external_id"],
                )
            )
            owners.append(record)
        if items:
            result = record_activities(items, book=rulebook.load())
            counts[CREATED] += len(result.created)
            counts[UNCHANGED] += result.duplicates
            for problem in result.errors:
                record = owners[problem.index]
                column = _contact_column(record) if problem.field == "contact_id" else ""
                column = column or record.columns.get(problem.field, problem.field)
                record.errors.append(CellError(column, problem.code, problem.message))
        for row, record in records:
            if record.errors:
                counts["errors"] += 1
                for cell_error in record.errors:
                    errors.add(row.line, cell_error, row.cells)
        return counts

    # ------------------------------------------------------------------ upsert


def _digest(name: str, value: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{name}\0{value}".encode(), digest_size=8).digest(), "big")


def _contact_column(record: Record) -> str:
    name = "contact.external_id" if record.contact.get("external_id") else "contact.email"
    return record.columns.get(name, "")


def _contact_ids(records: list[Record]) -> dict[tuple[str, str], int]:
    """The contacts the records name, by ("external_id", id) and ("email", address)."""
    found: dict[tuple[str, str], int] = {}
    for name in ("external_id", "email"):
        wanted = {r.contact[name] for r in records if r.contact.get(name)}
        if wanted:
            pairs = Contact.objects.filter(**{f"{name}__in": wanted}).values_list(name, "pk")
            found.update(((name, value), pk) for value, pk in pairs)
    return found
