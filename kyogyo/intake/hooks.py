"""Inbound webhooks: the signature check (the same scheme as outbound deliveries, see
``kyogyo.webhooks.signing``), the memory of messages already accepted (replays), and the
ingestion of a body — contacts upserted one by one, activities in bulk through
``record_activities`` — with per-item errors while the valid items go in."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from kyogyo.customers.consent import grant_consent, withdraw_consent
from kyogyo.customers.models import Contact
from kyogyo.imports.mappings import Mapping
from kyogyo.intake import actions
from kyogyo.intake.fills import COMPANY_TARGETS, FieldValueError, company_value, max_length
from kyogyo.intake.models import InboundSource, SeenMessage
from kyogyo.journey import rulebook
from kyogyo.marketing.actions import ActivityInput, record_activities
from kyogyo.webhooks import signing

SIGNATURE_HEADER = signing.HEADER
MAX_ITEMS = 1000
KINDS = ("contacts", "activities")
CONTACT_FIELDS = ("email", "external_id", "first_name", "last_name", "title", "phone")
ACCOUNT_FIELDS = ("name", "domain", "external_id", "industry", "employee_count", "country")
# Contact values the importer's conversion reads (emails and domains normalised as in imports).
CONTACT_COLUMNS = {
    **{name: name for name in CONTACT_FIELDS},
    **{f"account.{name}": f"account.{name}" for name in ("name", "domain", "external_id")},
}
ACTIVITY_FIELDS = ("email", "contact_external_id", "type", "occurred_at", "external_id", "source", "payload")


def window_seconds() -> int:
    return int(getattr(settings, "KYOGYO_INTAKE_HOOK_WINDOW_SECONDS", signing.TOLERANCE_SECONDS))


def max_body_bytes() -> int:
    return int(getattr(settings, "KYOGYO_INTAKE_MAX_HOOK_BYTES", 1_048_576))


class HookRefused(Exception):
    """The whole request is refused: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str):
        self.status, self.code = status, code
        super().__init__(message)


# ------------------------------------------------------------------ signature and replays


def check_signature(
    source: InboundSource, body: bytes, header: str | None, *, now: float | None = None
) -> int:
    """The signature's timestamp, once ``header`` (``t=<unix>,v1=<hex>``) is shown to be an
    HMAC of ``"<t>." + body`` with the source's secret, made within the window."""
    now = time.time() if now is None else now
    if not header:
        raise HookRefused(401, "signature_missing", f"no {SIGNATURE_HEADER} header")
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        raise HookRefused(401, "bad_signature", "the signature has no timestamp t=<unix seconds>") from None
    window = window_seconds()
    if abs(now - timestamp) > window:
        message = f"the signature's timestamp is {int(now - timestamp)} s away from now (at most {window} s)"
        raise HookRefused(401, "stale_timestamp", message)
    moment = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    for secret in source.secrets_at(moment):
        if signing.verify(secret, body, header, now=now, tolerance=window):
            return timestamp
    raise HookRefused(401, "bad_signature", "the signature does not match the body and the source's secret")


def remember(
    source: InboundSource, body: bytes, timestamp: int, message_id: str | None, *, now: float
) -> None:
    """Note the message as seen; a message seen before (the same signed timestamp and body,
    or the same id within the window) raises ``HookRefused(409)``. Runs inside the ingest's
    transaction, so a message whose ingestion failed may be sent again."""
    window = window_seconds()
    marks = {_digest(f"{timestamp}.".encode() + body): timestamp + window}
    if message_id:
        marks[_digest(b"id:" + message_id.encode())] = int(now) + window
    moment = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    SeenMessage.objects.filter(source=source, fingerprint__in=list(marks), expires_at__lte=moment).delete()
    for fingerprint, expires in marks.items():
        try:
            with transaction.atomic():
                SeenMessage.objects.create(
                    source=source,
                    fingerprint=fingerprint,
                    expires_at=dt.datetime.fromtimestamp(expires, tz=dt.UTC),
                )
        except IntegrityError:
            what = "message id" if fingerprint != next(iter(marks)) else "signed message"
            raise HookRefused(409, "replay", f"this {what} was received already") from None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sweep_seen(*, now: dt.datetime | None = None) -> int:
    """Forget messages whose timestamps would be refused anyway (run by the worker)."""
    deleted, _ = SeenMessage.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


# ------------------------------------------------------------------ the body


@dataclass
class ItemProblem:
    kind: str
    index: int
    field: str
    code: str
    message: str


@dataclass
class HookOutcome:
    contacts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "errors": 0}
    )
    activities: dict[str, int] = field(default_factory=lambda: {"created": 0, "duplicates": 0, "errors": 0})
    errors: list[ItemProblem] = field(default_factory=list)

    def problem(self, kind: str, index: int, name: str, code: str, message: str) -> None:
        self.errors.append(ItemProblem(kind, index, name, code, message))


def read_body(source: InboundSource, data: Any) -> dict[str, Any]:
    """The body's shape: ``{"id"?, "contacts"?: [...], "activities"?: [...]}``."""
    if not isinstance(data, dict):
        raise HookRefused(400, "bad_body", "the body must be a JSON object")
    unknown = sorted(set(data) - {"id", *KINDS})
    if unknown:
        raise HookRefused(400, "bad_body", f"unknown key(s) {unknown}; known: id, {', '.join(KINDS)}")
    message_id = data.get("id")
    if message_id is not None and not (isinstance(message_id, str) and 0 < len(message_id) <= 200):
        raise HookRefused(400, "bad_body", "id must be text of 1–200 characters")
    total = 0
    for kind in KINDS:
        if kind not in data:
            continue
        if kind not in source.accepts:
            raise HookRefused(400, "not_accepted", f"this source does not accept {kind}")
        if not isinstance(data[kind], list):
            raise HookRefused(400, "bad_body", f"{kind} must be a list")
        total += len(data[kind])
    if total == 0:
        raise HookRefused(400, "bad_body", f"nothing to ingest: give {' and/or '.join(source.accepts)}")
    if total > MAX_ITEMS:
        raise HookRefused(413, "too_many_items", f"{total} items; at most {MAX_ITEMS} per message")
    return data


def ingest(source: InboundSource, data: dict[str, Any], *, at: dt.datetime | None = None) -> HookOutcome:
    """Contacts first (so a message can introduce a person and record their activity)."""
    at = at or timezone.now()
    outcome = HookOutcome()
    book = rulebook.load()
    for index, item in enumerate(data.get("contacts", [])):
        _ingest_contact(source, index, item, outcome, book=book, at=at)
    _ingest_activities(source, data.get("activities", []), outcome, book=book, at=at)
    outcome.errors.sort(key=lambda e: (KINDS.index(e.kind), e.index))
    return outcome


def _ingest_contact(
    source: InboundSource,
    index: int,
    item: Any,
    outcome: HookOutcome,
    *,
    book: rulebook.RuleBook,
    at: dt.datetime,
) -> None:
    try:
        values, company, consent = _read_contact(item)
        with transaction.atomic():  # a savepoint: a refused item leaves nothing behind
            result = _upsert(source, values, company, consent, book=book, at=at)
    except _ItemError as error:
        outcome.problem("contacts", index, error.field, error.code, str(error))
    except ValidationError as error:
        for name, messages in getattr(error, "message_dict", {"": error.messages}).items():
            outcome.problem("contacts", index, name, "invalid", "; ".join(messages))
    except (IntegrityError, DatabaseError) as error:
        outcome.problem("contacts", index, "", "conflict", str(error).splitlines()[0][:300])
    else:
        outcome.contacts[result] += 1
        return
    outcome.contacts["errors"] += 1


class _ItemError(Exception):
    def __init__(self, field: str, code: str, message: str):
        self.field, self.code = field, code
        super().__init__(message)


def _read_contact(item: Any) -> tuple[dict[str, str], dict[str, Any], tuple[str, str] | None]:
    if not isinstance(item, dict):
        raise _ItemError("", "bad_item", "a contact must be an object")
    account = item.get("account") or {}
    if not isinstance(account, dict):
        raise _ItemError("account", "bad_item", "account must be an object")
    unknown = sorted(set(item) - {*CONTACT_FIELDS, "account", "consent", "consent_wording"})
    unknown += sorted(f"account.{k}" for k in set(account) - set(ACCOUNT_FIELDS))
    if unknown:
        raise _ItemError(unknown[0], "unknown_field", f"unknown field(s) {unknown}")
    texts = {name: item.get(name) for name in CONTACT_FIELDS if item.get(name) not in (None, "")}
    texts |= {f"account.{k}": v for k, v in account.items() if v not in (None, "")}
    for name, value in texts.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _ItemError(name, "bad_value", "must be text or a whole number")
    if not texts.get("email") and not texts.get("external_id"):
        raise _ItemError("email", "required", "a contact needs an email or an external_id")
    header = [name for name in CONTACT_COLUMNS if name in texts]
    mapping = Mapping.from_dict(
        {"columns": CONTACT_COLUMNS, "match": ["external_id", "email"]}, kind="contacts"
    )
    record = mapping.convert(header, [str(texts[name]) for name in header])
    if record.errors:
        first = record.errors[0]
        raise _ItemError(first.column, first.code, first.message)
    company = dict(record.account)
    for target in COMPANY_TARGETS:
        if target in texts:
            try:
                company[target.removeprefix("account.")] = company_value(target, str(texts[target]))
            except FieldValueError as error:
                raise _ItemError(target, error.error.code, error.error.message) from None
    values = [*record.values.items(), *((f"account.{k}", v) for k, v in company.items())]
    for name, value in values:
        limit = max_length(name)
        if isinstance(value, str) and limit and len(value) > limit:
            raise _ItemError(name, "too_long", f"at most {limit} characters")
    return {k: str(v) for k, v in record.values.items()}, company, _read_consent(item)


def _read_consent(item: dict[str, Any]) -> tuple[str, str] | None:
    state = item.get("consent")
    if state in (None, ""):
        return None
    wording = item.get("consent_wording") or ""
    if state not in (Contact.Consent.GRANTED, Contact.Consent.WITHDRAWN) or not isinstance(wording, str):
        raise _ItemError("consent", "bad_value", "consent is granted or withdrawn (wording as text)")
    if state == Contact.Consent.GRANTED and not wording.strip():
        raise _ItemError("consent_wording", "no_wording", "a consent grant needs the wording agreed to")
    return str(state), wording


def _upsert(
    source: InboundSource,
    values: dict[str, str],
    company: dict[str, Any],
    consent: tuple[str, str] | None,
    *,
    book: rulebook.RuleBook,
    at: dt.datetime,
) -> str:
    email = values.get("email", "")
    actions.lock_people([email, values.get("external_id", "")], actions.company_keys(company, email, book))
    contact = _find_contact(values)
    account = None
    if contact is None or contact.account is None:
        account = actions.find_or_create_account(company, email, book=book, at=at)
    elif company:
        actions.fill_empty_account_fields(contact.account, actions.fillable(company))
    contact, result = actions.upsert_contact(contact, values, account, source=source.source, at=at, book=book)
    if consent is not None and _apply_consent(source, contact, consent, at) and result == "unchanged":
        result = "updated"
    return result


def _find_contact(values: dict[str, str]) -> Contact | None:
    for name in ("external_id", "email"):
        if values.get(name):
            found = Contact.objects.select_for_update().filter(**{name: values[name]}).first()
            if found is not None:
                return found
    return None


def _apply_consent(
    source: InboundSource, contact: Contact, consent: tuple[str, str], at: dt.datetime
) -> bool:
    """Whether a consent record was added."""
    state, wording = consent
    if state == Contact.Consent.GRANTED:
        added = grant_consent(contact, wording=wording, source=source.source, at=at, inbound_source=source)
    else:
        added = withdraw_consent(contact, wording=wording, source=source.source, at=at, inbound_source=source)
    return added is not None


def _ingest_activities(
    source: InboundSource, items: list[Any], outcome: HookOutcome, *, book: rulebook.RuleBook, at: dt.datetime
) -> None:
    parsed: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        try:
            parsed.append((index, _read_activity(source, item)))
        except _ItemError as error:
            outcome.problem("activities", index, error.field, error.code, str(error))
    contacts = _contacts_named([p for _, p in parsed])
    inputs: list[ActivityInput] = []
    owners: list[int] = []
    for index, p in parsed:
        who = ("external_id", p["contact_external_id"]) if p["contact_external_id"] else ("email", p["email"])
        contact_id = contacts.get(who)
        if contact_id is None:
            name = "contact_external_id" if who[0] == "external_id" else "email"
            outcome.problem(
                "activities", index, name, "unknown_contact", f"no contact with {who[0]} {who[1]!r}"
            )
            continue
        inputs.append(
            ActivityInput(
                contact_id=contact_id,
                type=p["type"],
                occurred_at=p["occurred_at"],
                source=p["source"],
                payload=p["payload"],
                external_id=p["external_id"],
            )
        )
        owners.append(index)
    if inputs:
        result = record_activities(inputs, book=book, now=at)
        outcome.activities["created"] += len(result.created)
        outcome.activities["duplicates"] += result.duplicates
        for problem in result.errors:
            outcome.problem("activities", owners[problem.index], problem.field, problem.code, problem.message)
    outcome.activities["errors"] = len({e.index for e in outcome.errors if e.kind == "activities"})


def _read_activity(source: InboundSource, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _ItemError("", "bad_item", "an activity must be an object")
    unknown = sorted(set(item) - set(ACTIVITY_FIELDS))
    if unknown:
        raise _ItemError(unknown[0], "unknown_field", f"unknown field(s) {unknown}")
    email, contact_ref = item.get("email"), item.get("contact_external_id")
    if not email and not contact_ref:
        raise _ItemError("email", "required", "name the person: email or contact_external_id")
    for name in ("email", "contact_external_id", "type", "external_id", "source"):
        if item.get(name) is not None and not isinstance(item[name], str):
            raise _ItemError(name, "bad_value", f"{name} must be text")
    if not item.get("type"):
        raise _ItemError("type", "required", "an activity needs a type")
    occurred_at = _moment(item.get("occurred_at"))
    activity_source = item.get("source") or source.source
    given_id = item.get("external_id")
    if given_id is not None and not (0 < len(given_id) <= 99 - len(source.key)):
        raise _ItemError(
            "external_id", "bad_external_id", f"external_id must be 1–{99 - len(source.key)} characters"
        )
    who = contact_ref or (email or "").strip().lower()
    if given_id:
        external_id = f"{source.key}:{given_id}"  # ids of different sources never collide
    else:
        # No id: the same person, type, time and source are the same activity (as in imports).
        basis = "|".join([who, item["type"], occurred_at.isoformat(), activity_source])
        external_id = f"hook:{source.key}:" + hashlib.sha256(basis.encode()).hexdigest()[:40]
    return {
        "email": (email or "").strip().lower(),
        "contact_external_id": contact_ref or "",
        "type": item["type"],
        "occurred_at": occurred_at,
        "source": activity_source,
        "payload": item.get("payload"),
        "external_id": external_id,
    }


def _moment(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not value:
        raise _ItemError("occurred_at", "required", "occurred_at: an ISO 8601 date-time with a time zone")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _ItemError("occurred_at", "bad_time", f"not an ISO 8601 date-time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise _ItemError("occurred_at", "bad_time", "occurred_at needs a time zone (e.g. +09:00 or Z)")
    return moment


def _contacts_named(parsed: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for name, key in (("external_id", "contact_external_id"), ("email", "email")):
        wanted = {p[key] for p in parsed if p[key]}
        if wanted:
            pairs = Contact.objects.filter(**{f"{name}__in": wanted}).values_list(name, "pk")
            found.update(((name, value), pk) for value, pk in pairs)
    return found
