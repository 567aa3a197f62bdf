"""Reading one form fill: the submitted values become contact, company and payload values,
or a per-field list of what is wrong. Needs no database.

Emails and domains go through the importer's conversion (``imports.mappings``), so a person
typed into a form and the same person in an import file are matched the same way."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from typing import Any

from kyogyo.customers.models import Account, Contact
from kyogyo.imports.mappings import CONTROL, Mapping
from kyogyo.intake.models import REDIRECT_FIELD, Form
from kyogyo.intake.visitors import origin_of_url
from kyogyo.marketing.actions import MAX_PAYLOAD_BYTES

TICKED = {"on", "yes", "true", "1", "y", "checked", "granted"}
UNTICKED = {"", "off", "no", "false", "0", "n"}
# "1,000", "50-199", "50〜99", "1000+": a size band counts by its lower bound, which is what
# thresholds such as "50+ employees" compare with.
EMPLOYEES = re.compile(r"^(\d[\d,]*)\s*(?:(?:[-–~〜]|to)\s*\d[\d,]*|\+|以上)?$")
# The importer's conversion handles these; the rest of the company fields are read here.
IMPORT_TARGETS = {"email", "first_name", "last_name", "title", "phone", "account.name", "account.domain"}
COMPANY_TARGETS = ("account.industry", "account.employee_count", "account.country")
MAX_PAYLOAD_FIELD = 5_000


@dataclass(frozen=True)
class FieldError:
    code: str
    message: str


class FillInvalid(Exception):
    def __init__(self, fields: dict[str, FieldError]):
        self.fields = fields
        super().__init__("; ".join(f"{name}: {e.message}" for name, e in fields.items()))


@dataclass
class Fill:
    contact: dict[str, str] = field(default_factory=dict)  # email, first_name, … (given ones)
    account: dict[str, Any] = field(default_factory=dict)  # name, domain, industry, …
    payload: dict[str, str] = field(default_factory=dict)
    consent: bool = False  # the consent box was ticked on this fill
    redirect: str | None = None
    trapped: bool = False  # the honeypot was filled in: a bot

    @property
    def email(self) -> str:
        return self.contact["email"]

    def fingerprint(self, form: Form) -> str:
        """The same fill of the same form: same person, same answers, same tick."""
        basis = json.dumps(
            [form.key, self.contact, self.account, self.payload, self.consent], sort_keys=True, default=str
        )
        return hashlib.sha256(basis.encode()).hexdigest()


def read_fill(form: Form, submitted: MappingType[str, list[Any]]) -> Fill:
    """``submitted``: field name → the values sent for it (a form may repeat a field).
    Raises ``FillInvalid`` naming every bad field; unmapped fields are ignored."""
    errors: dict[str, FieldError] = {}
    redirect = _redirect(form, submitted, errors)
    honeypot = _texts(submitted.get(form.honeypot_field, []))
    if honeypot is None or any(t.strip() for t in honeypot):
        return Fill(trapped=True, redirect=None if errors else redirect)

    texts: dict[str, str] = {}
    for name, target in form.field_map.items():
        given = _texts(submitted.get(name, []))
        if given is None:
            errors[name] = FieldError("bad_value", "must be text, a number or true/false")
            continue
        joined = ", ".join(t for t in given if t.strip()) if target.startswith("payload.") else ""
        text = joined if target.startswith("payload.") else (given[-1] if given else "")
        if text.strip():
            texts[name] = text
        elif name in form.required:
            errors[name] = FieldError("required", "this field is required")
    fill = Fill(redirect=redirect)
    _read_person(form, texts, fill, errors)
    _read_company(form, texts, fill, errors)
    _read_payload(form, texts, fill, errors)
    fill.consent = _consent(form, submitted, errors)
    if errors:
        raise FillInvalid(errors)
    return fill


def _texts(values: list[Any]) -> list[str] | None:
    out = []
    for value in values:
        if value is None:
            out.append("")
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, str | int | float):
            out.append(str(value))
        else:
            return None
    return out


def _read_person(form: Form, texts: dict[str, str], fill: Fill, errors: dict[str, FieldError]) -> None:
    email_field = form.email_field()
    if email_field not in texts and email_field not in errors:
        errors[email_field] = FieldError("required", "an email address is required")
    columns = {name: target for name, target in form.field_map.items() if target in IMPORT_TARGETS}
    header = [name for name in columns if name in texts]
    mapping = Mapping.from_dict({"columns": columns, "match": ["email"]}, kind="contacts")
    record = mapping.convert(header, [texts[name] for name in header])
    for problem in record.errors:
        if problem.column and problem.column not in errors:  # "" is the import's "no key" note
            errors[problem.column] = FieldError(problem.code, problem.message)
    fill.contact = {k: str(v) for k, v in record.values.items()}
    fill.account = dict(record.account)
    for name, target in columns.items():
        value = (
            fill.account.get(target.removeprefix("account.")) if "." in target else fill.contact.get(target)
        )
        limit = max_length(target)
        if value is not None and name not in errors and limit and len(value) > limit:
            errors[name] = FieldError("too_long", f"at most {limit} characters")


def max_length(target: str) -> int | None:
    """The longest text the field behind ``target`` (``title``, ``account.name``) holds."""
    model = Account if target.startswith("account.") else Contact
    return getattr(model._meta.get_field(target.removeprefix("account.")), "max_length", None)


def _read_company(form: Form, texts: dict[str, str], fill: Fill, errors: dict[str, FieldError]) -> None:
    for name, target in form.field_map.items():
        if target in COMPANY_TARGETS and name in texts:
            try:
                fill.account[target.removeprefix("account.")] = company_value(target, texts[name])
            except FieldValueError as error:
                errors[name] = error.error


class FieldValueError(ValueError):
    def __init__(self, code: str, message: str):
        self.error = FieldError(code, message)
        super().__init__(message)


def company_value(target: str, text: str) -> Any:
    """``account.industry`` / ``account.employee_count`` / ``account.country`` from text;
    raises ``FieldValueError``."""
    if target == "account.employee_count":
        return _employees(text)
    if target == "account.country":
        return _country(text)
    return _industry(text)


def _industry(text: str) -> str:
    text = text.strip()
    if CONTROL.search(text):
        raise FieldValueError("control_char", "contains control characters")
    if len(text) > 100:
        raise FieldValueError("too_long", "at most 100 characters")
    return text


def _employees(text: str) -> int:
    normal = unicodedata.normalize("NFKC", text).strip().lower().removesuffix("名").strip()
    match = EMPLOYEES.match(normal)
    if not match:
        raise FieldValueError("bad_number", "a number of employees, or a band such as 50-199 or 1000+")
    number = int(match.group(1).replace(",", ""))
    if number > 10_000_000:
        raise FieldValueError("bad_number", "more employees than any company has")
    return number


def _country(text: str) -> str:
    code = unicodedata.normalize("NFKC", text).strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise FieldValueError("bad_value", "a two-letter ISO 3166 country code, e.g. JP")
    return code


def _read_payload(form: Form, texts: dict[str, str], fill: Fill, errors: dict[str, FieldError]) -> None:
    size = 0
    for name, target in form.field_map.items():
        if not target.startswith("payload.") or name not in texts:
            continue
        text = texts[name].strip()
        if CONTROL.search(text):
            errors[name] = FieldError("control_char", "contains control characters")
        elif len(text) > MAX_PAYLOAD_FIELD:
            errors[name] = FieldError("too_long", f"at most {MAX_PAYLOAD_FIELD:,} characters")
        else:
            size += len(json.dumps(text).encode())
            if size > MAX_PAYLOAD_BYTES // 2:  # room for what the form adds to the payload
                errors[name] = FieldError("too_large", "the answers are too long together")
            fill.payload[target.removeprefix("payload.")] = text


def _consent(form: Form, submitted: MappingType[str, list[Any]], errors: dict[str, FieldError]) -> bool:
    given = _texts(submitted.get(form.consent_field, []))
    if given is None:
        errors[form.consent_field] = FieldError("bad_value", "tick the box or leave it empty")
        return False
    ticked = bool(given) and given[-1].strip().lower() in TICKED
    if given and not ticked and given[-1].strip().lower() not in UNTICKED:
        errors[form.consent_field] = FieldError("bad_value", "tick the box or leave it empty")
    elif form.consent_field in form.required and not ticked:
        errors[form.consent_field] = FieldError("required", "consent is required for this form")
    elif ticked and not form.consent_wording.strip():
        # Without the wording there is no evidence of what was agreed: the tick is ignored.
        return False
    return ticked


def _redirect(
    form: Form, submitted: MappingType[str, list[Any]], errors: dict[str, FieldError]
) -> str | None:
    given = _texts(submitted.get(REDIRECT_FIELD, []))
    if not given or not given[-1].strip():
        return None
    url = given[-1].strip()
    unsafe = len(url) > 2000 or CONTROL.search(url) or any(c.isspace() for c in url)
    if unsafe or origin_of_url(url) not in form.allowed_origins:
        errors[REDIRECT_FIELD] = FieldError("redirect_not_allowed", "must be a page on an allowed origin")
        return None
    return url
