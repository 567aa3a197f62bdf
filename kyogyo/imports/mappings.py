"""How a file's columns become fields: a mapping (YAML or JSON, or a built-in preset) and
the per-row conversion and validation that needs no database.

A mapping::

    kind: contacts                  # accounts, contacts, activities, deals, subscriptions, nps, lifecycle
    columns: {Email: email, Company: account.name, Created: [created_at, lifecycle.lead]}
    values: {consent: {"yes": granted, "no": withdrawn}}   # per field, case-insensitive
    dates: ["%Y-%m-%d", "%d/%m/%Y"]  # tried in order (ISO 8601 always works)
    defaults: {source: import}      # when the cell is empty or the column absent
    prefix: {external_id: "hubspot:"}
    match: [external_id, email]     # upsert keys of accounts and contacts, first present wins
    accounts: {by: [external_id, domain, name], create: true}   # rows → their company
    contacts: {by: [external_id, email], first_of_account: false}  # rows → their person
    amounts: major                  # money in the file: major units (12.50) or minor (1250)

docs/imports.md lists every field of every kind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.utils import timezone

from kyogyo.customers import emails
from kyogyo.customers.models import Account, Contact
from kyogyo.deals.models import Deal
from kyogyo.imports import presets
from kyogyo.marketing.models import ActivityType
from kyogyo.success.models import Subscription

MAX_CELL = 10_000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
KINDS = ("accounts", "contacts", "activities", "deals", "subscriptions", "nps", "lifecycle")
ACCOUNT_REFS = {"account.external_id", "account.domain", "account.name"}
CONTACT_REFS = {"contact.external_id", "contact.email"}
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
    # Any ``lifecycle.STAGE`` field (a date: when the person entered that stage) is allowed too.
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
        *ACCOUNT_REFS,
    },
    # Activities are facts about the past: only created, never changed. Any ``payload.KEY``
    # field is kept in the activity's payload.
    "activities": {"external_id", "type", "occurred_at", "source", *CONTACT_REFS},
    "deals": {
        "external_id",
        "name",
        "amount",
        "currency",
        "stage",
        "status",
        "probability",
        "expected_close",
        "created_at",
        "closed_at",
        "owner",
        "loss_reason",
        "loss_note",
        *ACCOUNT_REFS,
        *CONTACT_REFS,
    },
    "subscriptions": {
        "external_id",
        "plan",
        "mrr",
        "currency",
        "billing_period",
        "starts_on",
        "ends_on",
        "event",
        "occurred_on",
        "deal.external_id",
        *ACCOUNT_REFS,
        *CONTACT_REFS,
    },
    "nps": {"score", "comment", "answered_at", *CONTACT_REFS},
    "lifecycle": {"stage", "at", "reason", "note", *CONTACT_REFS},
}
# The field whose time a row happened at (a new record's creation time, an event's time).
AT_FIELD = {
    "accounts": "created_at",
    "contacts": "created_at",
    "activities": "occurred_at",
    "deals": "created_at",
    "nps": "answered_at",
    "lifecycle": "at",
}
EVENTS = ("start", "change", "renew", "churn")
CHOICES = {
    "kind": set(Account.Kind.values),
    "consent": set(Contact.Consent.values),
    "type": set(ActivityType.values),
    "status": set(Deal.Status.values),
    "billing_period": set(Subscription.BillingPeriod.values),
    "event": set(EVENTS),
}
DATETIMES = {"created_at", "occurred_at", "closed_at", "answered_at", "at"}
DATES = {"expected_close", "starts_on", "ends_on", "occurred_on"}
MONEY = {"amount", "mrr"}
WHOLE_NUMBERS = {"employee_count": (0, None), "probability": (0, 100), "score": (0, 10)}
KEYS = {"stage", "loss_reason", "reason"}  # configured keys, compared in lower case
ID_LISTS = {"account.external_id", "contact.external_id"}  # "1;2;3": the first (primary) one
# ISO 4217 currencies whose minor unit is not the cent (all others have two decimals).
ZERO_DECIMALS = ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"]
ZERO_DECIMALS += ["UYI", "VND", "VUV", "XAF", "XOF", "XPF"]
MINOR_DIGITS = {
    **dict.fromkeys(ZERO_DECIMALS, 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    "CLF": 4,
    "UYW": 4,
}
DEFAULT_CURRENCY = "JPY"
# Upsert keys: accounts and contacts choose theirs (``match``); the others have one identity
# (subscription events, NPS answers and lifecycle entries: derived from the row, see _identify).
IDENTITY = "_identity"
DEFAULT_MATCH = {
    "accounts": ["external_id", "domain", "name"],
    "contacts": ["external_id", "email"],
    "activities": ["external_id"],
    "deals": ["external_id"],
    "subscriptions": [IDENTITY],
    "nps": [IDENTITY],
    "lifecycle": [IDENTITY],
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
    """One row, converted: the record's own fields, references to other records (company,
    person, deal), lifecycle dates, the row's time, and the problems found."""

    values: dict[str, Any] = field(default_factory=dict)
    account: dict[str, str] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)
    deal: dict[str, str] = field(default_factory=dict)
    payload: dict[str, str] = field(default_factory=dict)
    lifecycle: dict[str, dt.datetime] = field(default_factory=dict)  # stage key → entered at
    at: dt.datetime | None = None
    errors: list[CellError] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field → column, for error reports

    def keys(self, match: list[str]) -> list[tuple[str, str]]:
        return [(name, str(self.values[name]).lower()) for name in match if self.values.get(name)]

    def column(self, name: str) -> str:
        return self.columns.get(name, "")

    def who(self) -> str:
        """The person the row names, as text (for messages and derived identities)."""
        return self.contact.get("external_id") or self.contact.get("email", "")


@dataclass
class Mapping:
    kind: str
    columns: dict[str, list[str]]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    dates: list[str] = field(default_factory=lambda: list(DEFAULT_DATES))
    defaults: dict[str, str] = field(default_factory=dict)
    prefix: dict[str, str] = field(default_factory=dict)
    match: list[str] = field(default_factory=list)
    account_by: list[str] = field(default_factory=lambda: ["external_id", "domain", "name"])
    create_accounts: bool = True
    contact_by: list[str] = field(default_factory=lambda: ["external_id", "email"])
    first_of_account: bool = False
    minor_amounts: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    # Worked out once: the mapped columns of a header, the conversion of each field.
    _plans: dict[tuple[str, ...], list[tuple[int, str, list[str]]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _converters: dict[str, Callable[[str], Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _slots: dict[str, tuple[str, str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any, *, kind: str) -> Mapping:
        if not isinstance(data, dict):
            raise MappingError("a mapping is an object with at least 'columns'")
        declared = data.get("kind", kind)
        if declared != kind:
            raise MappingError(f"the mapping is for {declared!r}, not {kind!r}")
        known = set(OPTIONS)
        unknown_options = sorted(set(data) - known)
        if unknown_options:
            raise MappingError(f"unknown option(s) {unknown_options} (known: {sorted(known)})")
        columns = _columns(data.get("columns"), kind)
        values = {
            name: {
                str(k).strip().lower(): "" if v is None else str(v) for k, v in _table(table, name).items()
            }
            for name, table in _table(data.get("values"), "values").items()
        }
        defaults = {k: str(v) for k, v in _table(data.get("defaults"), "defaults").items()}
        prefix = {k: str(v) for k, v in _table(data.get("prefix"), "prefix").items()}
        for option, names in (("values", values), ("defaults", defaults), ("prefix", prefix)):
            for name in names:
                if not _allowed(kind, name):
                    raise MappingError(f"{option}: unknown field {name!r} for {kind}")
        if data.get("match") and kind not in ("accounts", "contacts"):
            raise MappingError(f"match: {kind} are always matched by their own key (see docs/imports.md)")
        match = list(data.get("match") or DEFAULT_MATCH[kind])
        if kind in ("accounts", "contacts") and not set(match) <= FIELDS[kind]:
            raise MappingError(f"match: unknown field(s) {sorted(set(match) - FIELDS[kind])}")
        accounts = _table(data.get("accounts"), "accounts")
        account_by = list(accounts.get("by") or ["external_id", "domain", "name"])
        if not set(account_by) <= {"external_id", "domain", "name"}:
            raise MappingError("accounts.by: use external_id, domain and/or name")
        contacts = _table(data.get("contacts"), "contacts")
        contact_by = list(contacts.get("by") or ["external_id", "email"])
        if not set(contact_by) <= {"external_id", "email"}:
            raise MappingError("contacts.by: use external_id and/or email")
        amounts = data.get("amounts", "major")
        if amounts not in ("major", "minor"):
            raise MappingError("amounts: major (12.50 in the file) or minor (1250)")
        dates = data.get("dates") or DEFAULT_DATES
        return cls(
            kind=kind,
            columns=columns,
            values=values,
            dates=[dates] if isinstance(dates, str) else [str(d) for d in dates],
            defaults=defaults,
            prefix=prefix,
            match=match,
            account_by=account_by,
            create_accounts=bool(accounts.get("create", True)),
            contact_by=contact_by,
            first_of_account=bool(contacts.get("first_of_account", False)),
            minor_amounts=amounts == "minor",
            raw=data,
        )

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def targets(self) -> set[str]:
        return {name for names in self.columns.values() for name in names} | set(self.defaults)

    def check_header(self, header: list[str]) -> None:
        if not any(column in header for column in self.columns):
            raise MappingError(f"none of the mapped columns is in the file (header: {header[:20]})")
        blank = [i + 1 for i, name in enumerate(header) if not name]
        if blank and any(column == "" for column in self.columns):
            raise MappingError(f"empty column name(s) at position {blank}")

    def check_stages(self, stage_keys: set[str]) -> None:
        """``lifecycle.STAGE`` fields must name stages of the configured stage model."""
        unknown = sorted(
            name for name in self.targets if name.startswith("lifecycle.") and name[10:] not in stage_keys
        )
        if unknown:
            raise MappingError(
                f"{', '.join(unknown)}: no such stage (stages: {', '.join(sorted(stage_keys))})"
            )

    # ------------------------------------------------------------------ one row

    def convert(self, header: list[str], cells: list[str]) -> Record:
        record = Record()
        if len(cells) != len(header):
            record.errors.append(
                CellError("", "column_count", f"{len(cells)} columns, the header has {len(header)}")
            )
            return record
        raw: dict[str, tuple[str, str]] = {}  # field → (column, text)
        controls = CONTROL.search("".join(cells)) is not None  # then found cell by cell
        for index, column, targets in self._plan(header):
            text = cells[index]
            if len(text) > MAX_CELL:
                record.errors.append(
                    CellError(column, "too_long", f"{len(text):,} characters (max {MAX_CELL:,})")
                )
                continue
            if controls and CONTROL.search(text):
                record.errors.append(CellError(column, "control_char", "contains control characters"))
                continue
            text = text.strip()
            for target in targets:
                if text or target not in raw:
                    raw[target] = (column, text)
        for name, default in self.defaults.items():
            if not raw.get(name, ("", ""))[1]:
                raw[name] = (raw.get(name, ("(default)", ""))[0], default)
        columns = record.columns
        for name, (column, text) in raw.items():
            columns[name] = column
            if name in self.values and text.lower() in self.values[name]:
                text = self.values[name][text.lower()]
            if not text:
                continue
            try:
                value = self._converter(name)(text)
            except ValueError as error:
                code, _, message = str(error).partition(":")
                record.errors.append(CellError(column, code, message.strip()))
                continue
            where, key = self._slot(name)
            if where == "at":
                record.at = value
            else:
                getattr(record, where)[key] = value
        if MONEY & record.values.keys():
            self._money(record)
        if not record.errors:
            self._require(record)
        return record

    def _plan(self, header: list[str]) -> list[tuple[int, str, list[str]]]:
        """The mapped columns of ``header``: (position, column, fields), worked out once per file."""
        cached = self._plans.get(tuple(header))
        if cached is None:
            cached = self._plans[tuple(header)] = [
                (index, column, self.columns[column])
                for index, column in enumerate(header)
                if column in self.columns
            ]
        return cached

    def _slot(self, name: str) -> tuple[str, str]:
        """Where field ``name`` goes in a ``Record``: ``at``, or one of its tables and the key."""
        slot = self._slots.get(name)
        if slot is None:
            group, _, key = name.partition(".")
            if name == AT_FIELD.get(self.kind):
                slot = ("at", "")
            elif key and group in GROUPS:
                slot = (group, key)
            else:
                slot = ("values", name)
            self._slots[name] = slot
        return slot

    def _money(self, record: Record) -> None:
        """Amounts in the file's units → whole minor units of the row's currency."""
        currency = record.values.get("currency", DEFAULT_CURRENCY)
        digits = MINOR_DIGITS.get(currency, 2)
        for name in MONEY & set(record.values):
            amount: Decimal = record.values[name]
            minor = amount if self.minor_amounts else amount.scaleb(digits)
            if minor != minor.to_integral_value():
                unit = "minor units" if self.minor_amounts else f"{currency} (at most {digits} decimals)"
                record.errors.append(
                    CellError(record.column(name), "bad_number", f"{amount} is not a whole amount of {unit}")
                )
                del record.values[name]
                continue
            record.values[name] = int(minor)

    def _require(self, record: Record) -> None:
        if self.kind == "activities":
            self._require_activity(record)
        if self.kind == "accounts" and not record.values.get("name"):
            record.errors.append(CellError(record.column("name"), "required", "a company needs a name"))
        for name, what in REQUIRED.get(self.kind, {}).items():
            if (record.at if name == AT_FIELD.get(self.kind) else record.values.get(name)) is None:
                record.errors.append(CellError(record.column(name), "required", f"{what} ({name})"))
        if self.kind in ("nps", "lifecycle") and not record.contact:
            record.errors.append(CellError("", "required", "no contact.email or contact.external_id"))
        if not record.errors:
            self._identify(record)
        if not record.keys(self.match) and not record.errors:
            wanted = " or ".join(self.match)
            record.errors.append(CellError("", "required", f"no {wanted} to match the row by"))

    def _identify(self, record: Record) -> None:
        """The key that makes a row the same on a re-run, where the kind has no id of its own."""
        if self.kind == "subscriptions" and record.values.get("external_id"):
            parts = [record.values["external_id"]]
            if record.values.get("event"):
                parts += [record.values["event"], str(record.values.get("occurred_on", ""))]
            record.values[IDENTITY] = "|".join(parts)
        elif self.kind == "nps":
            assert record.at is not None
            record.values[IDENTITY] = f"{record.who()}|{record.at.isoformat()}"
        elif self.kind == "lifecycle":
            assert record.at is not None
            record.values[IDENTITY] = f"{record.who()}|{record.values['stage']}|{record.at.isoformat()}"

    def _require_activity(self, record: Record) -> None:
        if not record.values.get("type"):
            record.errors.append(CellError(record.column("type"), "required", "an activity needs a type"))
        if record.at is None:
            column = record.column("occurred_at")
            record.errors.append(CellError(column, "required", "an activity needs a time (occurred_at)"))
        if not record.contact:
            record.errors.append(CellError("", "required", "no contact.email or contact.external_id"))
        if record.errors or record.values.get("external_id"):
            return
        # No id in the file: the same person, type, time and source make the same activity,
        # so importing the file again does not record it twice.
        assert record.at is not None
        basis = "|".join(
            [record.who(), record.values["type"], record.at.isoformat(), record.values.get("source", "")]
        )
        record.values["external_id"] = "import:" + hashlib.sha256(basis.encode()).hexdigest()[:40]

    def _value(self, name: str, text: str) -> Any:
        return self._converter(name)(text)

    def _converter(self, name: str) -> Callable[[str], Any]:
        """How a cell's text becomes field ``name``'s value (``ValueError("code: message")``
        when it cannot), worked out once per field."""
        convert = self._converters.get(name)
        if convert is None:
            convert = self._converters[name] = self._make_converter(name)
        return convert

    def _make_converter(self, name: str) -> Callable[[str], Any]:
        prefix = self.prefix.get(name, "")
        if name.endswith("external_id"):
            if name in ID_LISTS:  # a list of associated ids: the first (primary)
                return lambda text: prefix + text.split(";", 1)[0].strip()
            return lambda text: prefix + text
        if name in ("email", "contact.email"):
            return _email
        if name in ("domain", "account.domain"):
            return _domain
        if name == "country":
            return str.upper
        if name == "currency":
            return _currency
        if name in WHOLE_NUMBERS:
            low, high = WHOLE_NUMBERS[name]
            return lambda text: _whole(text, low, high)
        if name in MONEY:
            return _amount
        if name in CHOICES:
            choices = CHOICES[name]

            def choice(text: str) -> str:
                if text not in choices:
                    raise ValueError(f"bad_value: {text[:80]!r} is not one of {sorted(choices)}")
                return text

            return choice
        if name in KEYS:
            return str.lower
        if name in DATETIMES or name.startswith("lifecycle."):
            return self._date
        if name in DATES:
            return lambda text: timezone.localtime(self._date(text)).date()
        if prefix:
            return lambda text: prefix + text
        return str

    def _date(self, text: str) -> dt.datetime:
        for fmt in self.dates:
            try:
                moment = _parse_time(text, fmt)
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


GROUPS = frozenset({"account", "contact", "deal", "payload", "lifecycle"})


def _email(text: str) -> str:
    text = text.lower()
    if not emails.is_valid(text):  # validate_email's verdict
        raise ValueError(f"bad_email: not an email address: {text[:80]!r}")
    return text


def _currency(text: str) -> str:
    text = text.upper()
    if not (len(text) == 3 and text.isascii() and text.isalpha()):
        raise ValueError(f"bad_value: {text[:80]!r} is not a three-letter currency code such as JPY")
    return text


# ``strptime``'s own patterns for these directives (Lib/_strptime.py), so a format made of them
# matches exactly what ``strptime`` matches; others go to ``strptime`` itself.
_TIME_PARTS = {
    "Y": r"(?P<Y>\d\d\d\d)",
    "m": r"(?P<m>1[0-2]|0[1-9]|[1-9])",
    "d": r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])",
    "H": r"(?P<H>2[0-3]|[0-1]\d|\d)",
    "M": r"(?P<M>[0-5]\d|\d)",
    "S": r"(?P<S>6[0-1]|[0-5]\d|\d)",
}


@lru_cache(maxsize=64)
def _time_pattern(fmt: str) -> re.Pattern[str] | None:
    """A compiled pattern for ``fmt`` when it uses only %Y %m %d %H %M %S (each once), else None."""
    parts, seen, at = [], set(), 0
    for match in re.finditer(r"%(.)", fmt):
        directive = match.group(1)
        if directive not in _TIME_PARTS or directive in seen:
            return None
        seen.add(directive)
        parts += [_literal(fmt[at : match.start()]), _TIME_PARTS[directive]]
        at = match.end()
    parts.append(_literal(fmt[at:]))
    if not {"Y", "m", "d"} <= seen:
        return None
    return re.compile("".join(parts), re.IGNORECASE)


def _literal(text: str) -> str:
    # As strptime: regex characters escaped, a run of blanks matches any run of blanks.
    return re.sub(r"\s+", r"\\s+", re.sub(r"([\\.^$*+?\(\){}\[\]|])", r"\\\1", text))


def _parse_time(text: str, fmt: str) -> dt.datetime:
    """``datetime.strptime(text, fmt)``, without its general machinery for the usual formats."""
    pattern = _time_pattern(fmt)
    if pattern is None:
        return dt.datetime.strptime(text, fmt)  # noqa: DTZ007 — made aware by the caller
    found = pattern.match(text)
    if found is None or found.end() != len(text):  # as strptime: the first match, all of it
        raise ValueError(f"time data {text!r} does not match format {fmt!r}")
    parts = found.groupdict()
    return dt.datetime(  # noqa: DTZ001 — made aware by the caller
        int(parts["Y"]),
        int(parts["m"]),
        int(parts["d"]),
        int(parts.get("H") or 0),
        int(parts.get("M") or 0),
        int(parts.get("S") or 0),
    )


OPTIONS = (
    "kind",
    "columns",
    "values",
    "dates",
    "defaults",
    "prefix",
    "match",
    "accounts",
    "contacts",
    "amounts",
    "preset",
    "description",
)
# Fields a row of the kind cannot do without (besides its match key), with what they are.
REQUIRED = {
    "nps": {"score": "an NPS answer needs a score", "answered_at": "an NPS answer needs a time"},
    "lifecycle": {"stage": "a lifecycle entry needs a stage", "at": "a lifecycle entry needs a time"},
}


def _table(value: Any, option: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MappingError(f"{option}: expected a table (name: value), not {type(value).__name__}")
    return value


def _columns(value: Any, kind: str) -> dict[str, list[str]]:
    if not isinstance(value, dict) or not value:
        raise MappingError("'columns' must map column names to fields")
    columns: dict[str, list[str]] = {}
    for column, target in value.items():
        targets = target if isinstance(target, list) else [target]
        for name in targets:
            if not isinstance(name, str) or not _allowed(kind, name):
                known = sorted(FIELDS[kind])
                raise MappingError(f"column {column!r}: unknown field {name!r} for {kind} (known: {known})")
        columns[str(column).strip()] = [str(name) for name in targets]
    return columns


def _allowed(kind: str, name: str) -> bool:
    if name in FIELDS[kind]:
        return True
    group, _, key = name.partition(".")
    return bool(key) and (kind, group) in (("activities", "payload"), ("contacts", "lifecycle"))


def _whole(text: str, low: int, high: int | None) -> int:
    try:
        number = float(text.replace(",", "").replace("_", "").removesuffix("%"))
    except ValueError:
        raise ValueError(f"bad_number: not a number: {text[:80]!r}") from None
    if not number.is_integer() or number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"≥ {low}"
        raise ValueError(f"bad_number: not a whole number {bounds}: {text[:80]!r}")
    return int(number)


def _amount(text: str) -> Decimal:
    """12,500 / ¥12,500 / $1,234.50 / 1234.5 USD → Decimal; thousands separators are commas."""
    cleaned = re.sub(r"[^\d.,\-]", "", text).replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"bad_number: not an amount: {text[:80]!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"bad_number: not an amount ≥ 0: {text[:80]!r}")
    return amount


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
    if isinstance(data, dict) and data.get("preset"):
        data = _extend(kind, data)
    return Mapping.from_dict(data, kind=kind)


MERGED = ("columns", "values", "defaults", "prefix", "accounts", "contacts")


def _extend(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """A mapping file that names a ``preset`` starts from it: its tables add to the preset's
    (a name set to null removes the preset's entry), its other options replace them."""
    base = presets.PRESETS.get(kind, {}).get(str(data["preset"]))
    if base is None:
        known = ", ".join(sorted(presets.PRESETS.get(kind, {})))
        raise MappingError(f"no preset {data['preset']!r} for {kind} (known: {known})")
    merged = dict(base)
    for option, value in data.items():
        if option not in MERGED or not isinstance(value, dict):
            merged[option] = value
            continue
        table = dict(base.get(option) or {})
        for name, entry in value.items():
            if entry is None:
                table.pop(name, None)
            elif option == "values" and isinstance(entry, dict):
                table[name] = {**table.get(name, {}), **entry}
            else:
                table[name] = entry
        merged[option] = table
    return merged
