"""Running an import: read the file row by row, convert and validate each row, and apply
the valid ones through the customer actions (upsert by the mapping's match keys) in
batches. Each batch commits together with the run's progress, so a run that stops
part-way resumes after its last committed batch; invalid rows go to a CSV error file
(line, column, code, message, the row's original values) while the valid rows go in."""

from __future__ import annotations

import csv
import hashlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.models import Account, Contact
from kyogyo.imports.mappings import CellError, Mapping, Record
from kyogyo.imports.models import ImportRun
from kyogyo.imports.sources import Row, file_hash, read_rows
from kyogyo.journey import rulebook
from kyogyo.marketing.actions import ActivityInput, record_activities
from kyogyo.org.models import User

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


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
    batch_size = batch_size or int(getattr(settings, "KYOGYO_IMPORT_BATCH_SIZE", 500))
    header, rows = read_rows(path, encoding=encoding)
    digest = file_hash(path)
    mapping.check_header(header)
    total = _count(path, encoding) if progress else 0

    run: ImportRun | None = None
    skip = 0
    summary = Summary()
    if dry_run:
        target = error_file or import_dir() / f"dry-run-{kind}-{digest[:12]}-errors.csv"
        errors = ErrorFile(target, header)
    else:
        run = _open_run(kind, path, digest, mapping)
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

    importer = _Importer(kind, mapping, header)
    try:
        # Rows a previous run committed: only their keys are needed (duplicates within the file).
        for row in islice(rows, skip):
            importer.remember(row)
        if progress:
            progress(skip, total)
        batch_number = 0
        while batch := list(islice(rows, batch_size)):
            batch_number += 1
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
            if progress:
                progress(summary.rows, total)
    finally:
        errors.close()
    summary.error_file = str(errors.path) if summary.errors else None
    if run is not None:
        run.status = ImportRun.Status.DONE
        run.finished_at = timezone.now()
        run.error_file = summary.error_file or ""
        run.save()
    if progress and summary.rows < total:
        progress(total, total)
    return summary


def _open_run(kind: str, path: Path, digest: str, mapping: Mapping) -> ImportRun:
    with transaction.atomic():
        unfinished = (
            ImportRun.objects.select_for_update()
            .filter(kind=kind, file_hash=digest, mapping_hash=mapping.digest, status=ImportRun.Status.RUNNING)
            .order_by("-started_at")
            .first()
        )
        if unfinished is not None:
            if _alive_elsewhere(unfinished):
                raise ImportBusy(
                    f"import run {unfinished.pk} of this file is still running "
                    f"(process {unfinished.pid}); wait for it or stop it first"
                )
            unfinished.host, unfinished.pid = socket.gethostname()[:255], os.getpid()
            unfinished.save(update_fields=["host", "pid"])
            return unfinished
        return ImportRun.objects.create(
            host=socket.gethostname()[:255],
            pid=os.getpid(),
            kind=kind,
            file_name=path.name[:500],
            file_hash=digest,
            mapping=mapping.raw,
            mapping_hash=mapping.digest,
            started_at=timezone.now(),
        )


def _alive_elsewhere(run: ImportRun) -> bool:
    """Another live process on this machine works on the run. (A run started on another
    machine cannot be checked; it is taken over.)"""
    if run.host != socket.gethostname()[:255] or not run.pid or run.pid == os.getpid():
        return False
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        self.book: rulebook.RuleBook | None = None
        self.owners: dict[str, User | None] = {}

    def remember(self, row: Row) -> Record:
        record = self.mapping.convert(self.header, row.cells)
        if record.errors:
            return record
        keys = [(name, _digest(name, value)) for name, value in record.keys(self.mapping.match)]
        for name, key in keys:
            if key in self.seen:
                column = record.columns.get(name, "")
                message = f"the same {name} as line {self.seen[key]}"
                record.errors.append(CellError(column, "duplicate", message))
                return record
        for _, key in keys:
            self.seen[key] = row.line
        return record

    def apply(self, batch: list[Row], errors: ErrorFile) -> dict[str, int]:
        if self.kind == "activities":
            return self._apply_activities(batch, errors)
        if self.kind == "contacts":
            return self._apply_contacts(batch, errors)
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, "errors": 0}
        self.book = rulebook.load() if self.kind == "contacts" else None
        records = [(row, self.remember(row)) for row in batch]
        valid = [record for _, record in records if not record.errors]
        # One query per match key and batch (not per row); the rows to change are locked.
        model: type[Account] | type[Contact] = Account if self.kind == "accounts" else Contact
        self.records = _Index(model, self.mapping.match, [r.values for r in valid], lock=True)
        self.accounts = _Index(Account, self.mapping.account_by, [r.account for r in valid], lock=False)
        for row, record in records:
            if not record.errors:
                self.made: list[tuple[_Index, Any]] = []
                self.touched: Any = None
                try:
                    with transaction.atomic():
                        outcome = self._upsert(record)
                except ValidationError as error:
                    record.errors.extend(_validation_errors(error, record))
                except (IntegrityError, DatabaseError) as error:
                    record.errors.append(CellError("", "conflict", str(error).splitlines()[0][:300]))
                else:
                    counts[outcome] += 1
                    for index, instance in self.made:  # only once the row's savepoint is released
                        index.add(instance)
                    continue
                if self.touched is not None:  # the failed update changed it in memory only
                    self.touched.refresh_from_db()
            counts["errors"] += 1
            for problem in record.errors:
                errors.add(row.line, problem, row.cells)
        return counts

    def _apply_activities(self, batch: list[Row], errors: ErrorFile) -> dict[str, int]:
        """The whole batch goes through ``record_activities`` at once (it reports per item)."""
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, "errors": 0}
        records = [(row, self.remember(row)) for row in batch]
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

    def _apply_contacts(self, batch: list[Row], errors: ErrorFile) -> dict[str, int]:
        """People already known are updated row by row, as ``apply`` does; then the new people
        of the batch are checked row by row and created together (``create_contacts``), with
        the companies they bring (``create_accounts``). Errors stay per row, in line order."""
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, "errors": 0}
        self.book = rulebook.load()
        records = [(row, self.remember(row)) for row in batch]
        valid = [record for _, record in records if not record.errors]
        self.records = _Index(Contact, self.mapping.match, [r.values for r in valid], lock=True)
        self.accounts = _Index(Account, self.mapping.account_by, [r.account for r in valid], lock=False)
        new = [record for record in valid if self.records.find(record.values) is None]
        fresh = {id(record) for record in new}
        for record in valid:
            if id(record) not in fresh and (outcome := self._apply_row(record)):
                counts[outcome] += 1
        counts[CREATED] += self._create_new(new)
        for row, record in records:
            if record.errors:
                counts["errors"] += 1
                for problem in record.errors:
                    errors.add(row.line, problem, row.cells)
        return counts

    def _apply_row(self, record: Record) -> str | None:
        """One row in a savepoint of its own; its outcome, or None when it is refused."""
        self.made = []
        self.touched = None
        try:
            with transaction.atomic():
                outcome = self._upsert(record)
        except ValidationError as error:
            record.errors.extend(_validation_errors(error, record))
        except (IntegrityError, DatabaseError) as error:
            record.errors.append(CellError("", "conflict", str(error).splitlines()[0][:300]))
        else:
            for index, instance in self.made:
                index.add(instance)
            return outcome
        if self.touched is not None:  # the failed update changed it in memory only
            self.touched.refresh_from_db()
        return None

    def _create_new(self, new: list[Record]) -> int:
        """The batch's new people, checked as ``create_contact`` checks them and created
        together; returns how many. Should the database refuse the lot (another process took a
        key meanwhile), they go one by one instead, each with its own outcome."""
        rows: list[tuple[Record, dict[str, Any]]] = []
        for record in new:
            try:
                rows.append((record, self._contact_values(record)))
            except ValidationError as error:
                record.errors.extend(_validation_errors(error, record))
        checked = customer_actions.check_contacts([values for _, values in rows])
        people = []
        for index, ((record, _), contact) in enumerate(zip(rows, checked.records, strict=True)):
            if contact is None:
                record.errors.extend(_validation_errors(checked.errors[index], record))
            else:
                people.append((record, contact))
        try:
            with transaction.atomic():
                people = self._create_companies(people)
                valid = customer_actions.Checked[Contact]([contact for _, contact in people], {})
                customer_actions.create_contacts(valid, book=self.book)
        except (customer_actions.RowErrors, IntegrityError, DatabaseError):
            # Forget the companies that were not created, then row by row.
            self.accounts = _Index(
                Account, self.mapping.account_by, [r.account for r, _ in people], lock=False
            )
            return sum(self._apply_row(record) == CREATED for record, _ in people)
        return len(people)

    def _contact_values(self, record: Record) -> dict[str, Any]:
        """``create_contact``'s arguments for a new person's row: the owner and the company found,
        or a company made for it (unsaved, its fields checked) when the mapping creates them."""
        values: dict[str, Any] = {"at": record.at, **record.values}
        if "owner" in values:
            values["owner"] = self._owner(values["owner"], record)
        if record.account:
            values["account"] = self.accounts.find(record.account) or self._new_account(record)
        return values

    def _new_account(self, record: Record) -> Account | None:
        ref = record.account
        if not self.mapping.create_accounts or not ref.get("name"):
            if any(ref.values()):
                message = "no such company (and no company name to create it)"
                raise ValidationError({"account.name": ValidationError(message, code="unknown_account")})
            return None
        account = customer_actions.new_account(at=record.at, **ref)
        self.accounts.add(account)  # later rows of the batch find it; saved with its first person
        return account

    def _create_companies(self, people: list[tuple[Record, Contact]]) -> list[tuple[Record, Contact]]:
        """Save the companies the people bring (each with the time of its first person, as the
        one-by-one path would create it); the people of a company refused get its error."""
        while True:
            companies: dict[int, Account] = {}
            for record, contact in people:
                company = contact.account
                if company is not None and company.pk is None and id(company) not in companies:
                    company.created_at = record.at or company.created_at
                    companies[id(company)] = company
            try:
                customer_actions.create_accounts(list(companies.values()))
                return people
            except customer_actions.RowErrors as refused:
                keys = list(companies)
                bad = {keys[i]: error for i, error in refused.errors.items()}
            for record, contact in people:
                if id(contact.account) in bad:
                    record.errors.extend(_validation_errors(bad[id(contact.account)], record))
            people = [(r, c) for r, c in people if id(c.account) not in bad]

    # ------------------------------------------------------------------ upsert

    def _upsert(self, record: Record) -> str:
        if self.kind == "accounts":
            return self._upsert_account(record)
        return self._upsert_contact(record)

    def _upsert_account(self, record: Record) -> str:
        account = self.records.find(record.values)
        if account is None:
            self.made.append((self.records, customer_actions.create_account(at=record.at, **record.values)))
            return CREATED
        changed = {k: v for k, v in record.values.items() if getattr(account, k) != v}
        if not changed:
            return UNCHANGED
        self.touched = account
        customer_actions.update_account(account, **changed)
        self.made.append((self.records, account))
        return UPDATED

    def _upsert_contact(self, record: Record) -> str:
        values = dict(record.values)
        if "owner" in values:
            values["owner"] = self._owner(values["owner"], record)
        if record.account:
            values["account"] = self._account(record)
        contact = self.records.find(record.values)
        if contact is None:
            created = customer_actions.create_contact(at=record.at, book=self.book, **values)
            self.made.append((self.records, created))
            return CREATED
        changed = {k: v for k, v in values.items() if getattr(contact, k) != v}
        if not changed:
            return UNCHANGED
        self.touched = contact
        customer_actions.update_contact(contact, **changed)
        self.made.append((self.records, contact))
        return UPDATED

    def _owner(self, text: str, record: Record) -> User:
        key = text.lower()
        if key not in self.owners:
            self.owners[key] = (
                User.objects.filter(username__iexact=text).first()
                or User.objects.filter(email__iexact=text).first()
            )
        owner = self.owners[key]
        if owner is None:
            raise ValidationError(
                {
                    "owner": ValidationError(
                        f"no user with the username or email {text[:80]!r}", code="unknown_owner"
                    )
                }
            )
        return owner

    def _account(self, record: Record) -> Account | None:
        ref = record.account
        found = self.accounts.find(ref)
        if found is not None:
            return found
        if not self.mapping.create_accounts or not ref.get("name"):
            if any(ref.values()):
                message = "no such company (and no company name to create it)"
                raise ValidationError({"account.name": ValidationError(message, code="unknown_account")})
            return None
        account = customer_actions.create_account(at=record.at, **ref)
        self.made.append((self.accounts, account))
        return account


class _Index:
    """Records of one model found by several keys, loaded once per batch; names and domains
    match case-insensitively, ids and emails exactly."""

    CASELESS = ("name", "domain")

    def __init__(
        self, model: type[Account] | type[Contact], fields: list[str], refs: list[dict], *, lock: bool
    ):
        self.fields = fields
        self.found: dict[tuple[str, str], Any] = {}
        for name in fields:
            # A ref found by an earlier key is found by it: the later ones are not looked up.
            refs = [
                r for r in refs if not any((f, self._key(f, r[f])) in self.found for f in fields if r.get(f))
            ]
            wanted = {self._key(name, ref[name]) for ref in refs if ref.get(name)}
            if not wanted:
                continue
            query = model.objects.select_for_update() if lock else model.objects.all()
            if name in self.CASELESS:
                query = query.annotate(_key=Lower(name)).filter(_key__in=wanted)
            else:
                query = query.filter(**{f"{name}__in": wanted})
            for instance in query.order_by("pk"):
                self.found.setdefault((name, self._key(name, getattr(instance, name))), instance)

    def _key(self, name: str, value: Any) -> str:
        return str(value).lower() if name in self.CASELESS else str(value)

    def find(self, ref: dict[str, Any]) -> Any:
        for name in self.fields:
            if ref.get(name):
                found = self.found.get((name, self._key(name, ref[name])))
                if found is not None:
                    return found
        return None

    def add(self, instance: Any) -> None:
        for name in self.fields:
            value = getattr(instance, name, None)
            if value:
                self.found.setdefault((name, self._key(name, value)), instance)


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


def _validation_errors(error: ValidationError, record: Record) -> Iterator[CellError]:
    if not hasattr(error, "error_dict"):
        yield CellError("", error.code or "invalid", "; ".join(error.messages))
        return
    for name, problems in error.error_dict.items():
        for problem in problems:
            column = record.columns.get(name) or record.columns.get(f"account.{name}") or name
            message = "; ".join(problem.messages)
            yield CellError(column, problem.code or "invalid", message)
