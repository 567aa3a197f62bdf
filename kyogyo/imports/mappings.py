"""How a file's columns become fields: a mapping (YAML or JSON, or a built-in preset) and
the per-row conversion and validation that needs no database.

A mapping::

    kind: contacts                  # accounts | contacts
    columns: {Email: email, Company: account.name}
    values: {consent: {"yes": granted, "no": withdrawn}}   # per field, case-insensitive
    dates: ["%Y-%m-%d", "%d/%m/%Y"]  # tried in order (ISO 8601 always works)
    defaults: {source: import}      # when the cell is empty or the column absent
    prefix: {external_id: "hubspot:"}
    match: [external_id, email]     # upsert keys, first present wins
    accounts: {by: [external_id, domain, name], create: true}   # contacts → their company
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from kyogyo.customers.models import Account, Contact
from kyogyo.imports import presets
from kyogyo.marketing.models import ActivityType

MAX_CELL = 10_000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
KINDS = ("accounts", "contacts", "activities")
FIELDS: dict[str, set[str]] = {
    "accounts": {
        "name",
        "domain",
        "industry",
        "employee_count",
        "country",
        "segment",
        "kind",
        "external_id",
        "created_at",
    },
    "contacts": {
        "email",
        "first_name",
        "last_name",
        "title",
        "phone",
        "consent",
        "source",
        "owner",
        "external_id",
        "created_at",
        "account.name",
        "account.domain",
        "account.external_id",
    },
    # Activities are facts about the past: only created, never changed. Any ``payload.KEY``
    # field is kept in the activity's payload.
    "activities": {"external_id", "type", "occurred_at", "source", "contact.email", "contact.external_id"},
}
CHOICES = {
    "kind": set(Account.Kind.values),
    "consent": set(Contact.Consent.values),
    "type": set(ActivityType.values),
}
DEFAULT_MATCH = {
    "accounts": ["external_id", "domain", "name"],
    "contacts": ["external_id", "email"],
    "activities": ["external_id"],
}
DEFAULT_DATES = ["%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S"]


class MappingError(Exception):
    """The mapping itself is wrong (the import does not start)."""


@dataclass(frozen=True)
class CellError:
    column: str
    code: str
    message: str


@dataclass
class Record:
    """One row, converted: model fields, the company reference (contacts) and creation time."""

    values: dict[str, Any] = field(default_factory=dict)
    account: dict[str, str] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)
    payload: dict[str, str] = field(default_factory=dict)
    at: dt.datetime | None = None
    errors: list[CellError] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field → column, for error reports

    def keys(self, match: list[str]) -> list[tuple[str, str]]:
        return [(name, str(self.values[name]).lower()) for name in match if self.values.get(name)]


@dataclass
class Mapping:
    kind: str
    columns: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    dates: list[str] = field(default_factory=lambda: list(DEFAULT_DATES))
    defaults: dict[str, str] = field(default_factory=dict)
    prefix: dict[str, str] = field(default_factory=dict)
    match: list[str] = field(default_factory=list)
    account_by: list[str] = field(default_factory=lambda: ["external_id", "domain", "name"])
    create_accounts: bool = True
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, *, kind: str) -> Mapping:
        if not isinstance(data, dict):
            raise MappingError("a mapping is an object with at least 'columns'")
        declared = data.get("kind", kind)
        if declared != kind:
            raise MappingError(f"the mapping is for {declared!r}, not {kind!r}")
        allowed = FIELDS[kind]
        columns = data.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise MappingError("'columns' must map column names to fields")
        for column, target in columns.items():
            if target not in allowed and not (kind == "activities" and _is_payload(target)):
                raise MappingError(f"column {column!r}: unknown field {target!r} (known: {sorted(allowed)})")
        values = {
            name: {str(k).strip().lower(): "" if v is None else str(v) for k, v in table.items()}
            for name, table in (data.get("values") or {}).items()
        }
        for name in [*values, *(data.get("defaults") or {})]:
            if name not in allowed:
                raise MappingError(f"values/defaults: unknown field {name!r}")
        match = list(data.get("match") or DEFAULT_MATCH[kind])
        if not set(match) <= allowed:
            raise MappingError(f"match: unknown field(s) {sorted(set(match) - allowed)}")
        accounts = data.get("accounts") or {}
        account_by = list(accounts.get("by") or ["external_id", "domain", "name"])
        if not set(account_by) <= {"external_id", "domain", "name"}:
            raise MappingError("accounts.by: use external_id, domain and/or name")
        dates = data.get("dates") or DEFAULT_DATES
        return cls(
            kind=kind,
            columns={str(k).strip(): str(v) for k, v in columns.items()},
            values=values,
            dates=[dates] if isinstance(dates, str) else list(dates),
            defaults={k: str(v) for k, v in (data.get("defaults") or {}).items()},
            prefix={k: str(v) for k, v in (data.get("prefix") or {}).items()},
            match=match,
            account_by=account_by,
            create_accounts=bool(accounts.get("create", True)),
            raw=data,
        )

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()

    def check_header(self, header: list[str]) -> None:
        if not any(column in header for column in self.columns):
            raise MappingError(f"none of the mapped columns is in the file (header: {header[:20]})")
        blank = [i + 1 for i, name in enumerate(header) if not name]
        if blank and any(column == "" for column in self.columns):
            raise MappingError(f"empty column name(s) at position {blank}")

    # ------------------------------------------------------------------ one row

    def convert(self, header: list[str], cells: list[str]) -> Record:
        record = Record()
        if len(cells) != len(header):
            record.errors.append(
                CellError("", "column_count", f"{len(cells)} columns, the header has {len(header)}")
            )
            return record
        raw: dict[str, tuple[str, str]] = {}  # field → (column, text)
        for column, text in zip(header, cells, strict=True):
            target = self.columns.get(column)
            if target is None:
                continue
            if len(text) > MAX_CELL:
                record.errors.append(
                    CellError(column, "too_long", f"{len(text):,} characters (max {MAX_CELL:,})")
                )
                continue
            if CONTROL.search(text):
                record.errors.append(CellError(column, "control_char", "contains control characters"))
                continue
            text = text.strip()
            if text or target not in raw:
                raw[target] = (column, text)
        for name, default in self.defaults.items():
            if not raw.get(name, ("", ""))[1]:
                raw[name] = (raw.get(name, ("(default)", ""))[0], default)
        for name, (column, text) in raw.items():
            record.columns[name] = column
            if name in self.values and text.lower() in self.values[name]:
                text = self.values[name][text.lower()]
            if not text:
                continue
            try:
                value = self._value(name, text)
            except ValueError as error:
                code, _, message = str(error).partition(":")
                record.errors.append(CellError(column, code, message.strip()))
                continue
            if name in ("created_at", "occurred_at"):
                record.at = value
            elif name.startswith("account."):
                record.account[name.removeprefix("account.")] = value
            elif name.startswith("contact."):
                record.contact[name.removeprefix("contact.")] = value
            elif name.startswith("payload."):
                record.payload[name.removeprefix("payload.")] = value
            else:
                record.values[name] = value
        if not record.errors:
            self._require(record)
        return record

    def _require(self, record: Record) -> None:
        if self.kind == "activities":
            self._require_activity(record)
        if self.kind == "accounts" and not record.values.get("name"):
            record.errors.append(
                CellError(record.columns.get("name", ""), "required", "a company needs a name")
            )
        if not record.keys(self.match) and not record.errors:
            wanted = " or ".join(self.match)
            record.errors.append(CellError("", "required", f"no {wanted} to match the row by"))

    def _require_activity(self, record: Record) -> None:
        if not record.values.get("type"):
            record.errors.append(
                CellError(record.columns.get("type", ""), "required", "an activity needs a type")
            )
        if record.at is None:
            column = record.columns.get("occurred_at", "")
            record.errors.append(CellError(column, "required", "an activity needs a time (occurred_at)"))
        if not record.contact:
            record.errors.append(CellError("", "required", "no contact.email or contact.external_id"))
        if record.errors or record.values.get("external_id"):
            return
        # No id in the file: the same person, type, time and source make the same activity,
        # so importing the file again does not record it twice.
        assert record.at is not None
        who = record.contact.get("external_id") or record.contact.get("email", "")
        basis = "|".join([who, record.values["type"], record.at.isoformat(), record.values.get("source", "")])
        record.values["external_id"] = "import:" + hashlib.sha256(basis.encode()).hexdigest()[:40]

    def _value(self, name: str, text: str) -> Any:
        if name in ("external_id", "account.external_id", "contact.external_id"):
            if name == "account.external_id":
                text = text.split(";", 1)[0].strip()  # a list of associated ids: the first (primary)
            return self.prefix.get(name, "") + text
        if name in ("email", "contact.email"):
            text = text.lower()
            try:
                validate_email(text)
            except ValidationError:
                raise ValueError(f"bad_email: not an email address: {text[:80]!r}") from None
            return text
        if name in ("domain", "account.domain"):
            return _domain(text)
        if name == "country":
            return text.upper()
        if name == "employee_count":
            try:
                number = float(text.replace(",", "").replace("_", ""))
            except ValueError:
                raise ValueError(f"bad_number: not a number: {text[:80]!r}") from None
            if number < 0 or not number.is_integer():
                raise ValueError(f"bad_number: not a whole number ≥ 0: {text[:80]!r}")
            return int(number)
        if name in CHOICES:
            if text not in CHOICES[name]:
                raise ValueError(f"bad_value: {text[:80]!r} is not one of {sorted(CHOICES[name])}")
            return text
        if name in ("created_at", "occurred_at"):
            return self._date(text)
        return text

    def _date(self, text: str) -> dt.datetime:
        for fmt in self.dates:
            try:
                moment = dt.datetime.strptime(text, fmt)  # noqa: DTZ007 — made aware below
                break
            except ValueError:
                continue
        else:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(
                    f"bad_date: {text[:80]!r} matches none of {self.dates} nor ISO 8601"
                ) from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment


def _is_payload(name: str) -> bool:
    return name.startswith("payload.") and len(name) > len("payload.")


def _domain(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0]
    return text.removeprefix("www.")


def load_mapping(kind: str, *, preset: str | None = None, path: Path | None = None) -> Mapping:
    if kind not in KINDS:
        raise MappingError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    if preset:
        data = presets.PRESETS.get(kind, {}).get(preset)
        if data is None:
            known = ", ".join(sorted(presets.PRESETS.get(kind, {})))
            raise MappingError(f"no preset {preset!r} for {kind} (known: {known})")
        return Mapping.from_dict({**data, "preset": preset}, kind=kind)
    if path is None:
        raise MappingError("give --preset or --mapping")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MappingError(f"cannot read the mapping: {error}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        language = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise MappingError(f"{path.name}: not valid {language}: {error}") from None
    return Mapping.from_dict(data, kind=kind)
