"""Forms and inbound sources are set up here, and a form fill becomes a person, a company,
a consent record and an activity here — in one transaction, through the customer and
marketing actions, so scores and stage rules run as for any other touch."""

from __future__ import annotations

import datetime as dt
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.consent import grant_consent
from kyogyo.customers.models import Account, ConsentRecord, Contact
from kyogyo.intake.fills import FieldError, Fill, FillInvalid
from kyogyo.intake.models import DEFAULT_FIELD_MAP, Form, InboundSource
from kyogyo.intake.visitors import normalise_origin
from kyogyo.journey import rulebook
from kyogyo.journey.models import Milestone
from kyogyo.marketing.actions import ActivityInput, record_activities
from kyogyo.marketing.models import Activity, Campaign

ACCOUNT_FILLABLE = ("name", "domain", "industry", "employee_count", "country", "external_id")


class IntakeError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def duplicate_window() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "KYOGYO_INTAKE_DUPLICATE_SECONDS", 600)))


# ------------------------------------------------------------------ setting up


def _checked(instance: Form | InboundSource) -> None:
    """Model validation, as one ``IntakeError`` naming the first problem's code."""
    try:
        instance.full_clean()
    except ValidationError as error:
        problems = [(name, e) for name, errors in error.error_dict.items() for e in errors]
        code = problems[0][1].code or "invalid"
        message = "; ".join(f"{name}: {' '.join(e.messages)}" for name, e in problems)
        raise IntakeError(code, message) from None


def create_form(
    key: str,
    *,
    name: str,
    allowed_origins: Iterable[str],
    field_map: dict[str, str] | None = None,
    required: Iterable[str] | None = None,
    activity_type: str = Form.Kind.FORM_SUBMISSION,
    campaign: Campaign | None = None,
    consent_wording: str = "",
    **options: Any,
) -> Form:
    """A new form. ``options``: ``consent_field``, ``honeypot_field``, ``rate_limit``,
    ``rate_window``. Without ``required`` only the email field is required."""
    if Form.objects.filter(key=key).exists():
        raise IntakeError("form_exists", f"there is already a form {key!r}")
    form = Form(
        key=key,
        name=name or key,
        allowed_origins=[normalise_origin(o) or o for o in allowed_origins],  # bad ones fail the check
        field_map=dict(field_map or DEFAULT_FIELD_MAP),
        activity_type=activity_type,
        campaign=campaign,
        consent_wording=consent_wording,
        **options,
    )
    email_fields = [f for f, target in form.field_map.items() if target == "email"]
    form.required = list(required) if required is not None else email_fields[:1]
    _checked(form)
    form.save()
    return form


def set_form_active(form: Form, active: bool) -> Form:
    form.active = active
    form.save(update_fields=["active"])
    return form


def create_inbound_source(
    key: str, *, name: str, accepts: Iterable[str], secret: str | None = None
) -> InboundSource:
    """A new source; without ``secret`` one is generated (show it to the user once)."""
    if InboundSource.objects.filter(key=key).exists():
        raise IntakeError("source_exists", f"there is already an inbound source {key!r}")
    source = InboundSource(
        key=key,
        name=name or key,
        accepts=list(dict.fromkeys(a.strip() for a in accepts if a.strip())),
        secret=secret if secret is not None else secrets.token_urlsafe(32),
    )
    _checked(source)
    source.save()
    return source


def rotate_source_secret(
    source: InboundSource, *, grace: dt.timedelta = dt.timedelta(0), now: dt.datetime | None = None
) -> InboundSource:
    """A new secret. During ``grace`` the old one still verifies, so the sender can switch
    without losing messages; with no grace (a leaked secret) it stops at once."""
    now = now or timezone.now()
    if grace > dt.timedelta(0):
        source.previous_secret, source.previous_secret_until = source.secret, now + grace
    else:
        source.previous_secret, source.previous_secret_until = "", None
    source.secret = secrets.token_urlsafe(32)
    source.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return source


def set_source_active(source: InboundSource, active: bool) -> InboundSource:
    source.active = active
    source.save(update_fields=["active"])
    return source


# ------------------------------------------------------------------ people and companies


def lock_people(emails: Iterable[str], companies: Iterable[str] = ()) -> None:
    """PostgreSQL: transaction-scoped advisory locks on the people (by email) and companies
    (by domain or name) about to be found or created, so two fills for the same person or a
    new company never create it twice. Sorted, so two transactions never wait in a circle.
    SQLite's writers are serialised anyway."""
    if connection.vendor != "postgresql":
        return
    keys = {f"intake:email:{e.lower()}" for e in emails if e} | {
        f"intake:company:{c.lower()}" for c in companies if c
    }
    with connection.cursor() as cursor:
        for key in sorted(zlib.crc32(k.encode()) for k in keys):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def company_keys(account: dict[str, Any], email: str, book: rulebook.RuleBook) -> list[str]:
    return [k for k in (account.get("domain"), work_domain(email, book), account.get("name")) if k]


def work_domain(email: str, book: rulebook.RuleBook) -> str:
    """The company domain an email address tells (none for free-mail addresses)."""
    domain = email.rsplit("@", 1)[1].lower() if "@" in email else ""
    return "" if domain in book.lists.get("free_mail", frozenset()) else domain


def find_or_create_account(
    values: dict[str, Any], email: str, *, book: rulebook.RuleBook, at: dt.datetime
) -> Account | None:
    """The company by external id, then domain (given, else the email's, unless free mail),
    then name; created when not found and there is a name or a domain. A company that is
    found only gets its empty fields filled in: one visitor's answers do not overwrite
    what the buying group's record already says."""
    domain = values.get("domain") or work_domain(email, book)
    account = _find_account(values.get("external_id"), domain, values.get("name"))
    wanted = {k: v for k, v in {**values, "domain": domain}.items() if k in ACCOUNT_FILLABLE and v}
    if account is None:
        if not wanted.get("name") and not domain:
            return None
        wanted.setdefault("name", domain)
        return customer_actions.create_account(at=at, **wanted)
    return fill_empty_account_fields(account, wanted)


def _find_account(external_id: str | None, domain: str | None, name: str | None) -> Account | None:
    if external_id:
        found = Account.objects.filter(external_id=external_id).first()
        if found is not None:
            return found
    for field, value in (("domain", domain), ("name", name)):
        if value:
            found = (
                Account.objects.annotate(_key=Lower(field)).filter(_key=value.lower()).order_by("pk").first()
            )
            if found is not None:
                return found
    return None


def fill_empty_account_fields(account: Account, values: dict[str, Any]) -> Account:
    empty = {k: v for k, v in values.items() if getattr(account, k) in (None, "") and k != "external_id"}
    return customer_actions.update_account(account, **empty) if empty else account


def upsert_contact(
    contact: Contact | None,
    values: dict[str, Any],
    account: Account | None,
    *,
    source: str,
    at: dt.datetime,
    book: rulebook.RuleBook,
) -> tuple[Contact, str]:
    """Create the person, or change the fields given with a new value (blank answers never
    erase anything). A person already at a company stays there. Returns the contact and
    ``created`` / ``updated`` / ``unchanged``."""
    if contact is None:
        created = customer_actions.create_contact(at=at, book=book, account=account, source=source, **values)
        return created, "created"
    changed = {k: v for k, v in values.items() if v and getattr(contact, k) != v}
    if account is not None and contact.account_id is None:
        changed["account"] = account
    if not changed:
        return contact, "unchanged"
    return customer_actions.update_contact(contact, **changed), "updated"


def current_stage(contact: Contact) -> str | None:
    return (
        Milestone.objects.filter(subject_id=contact.pk).values_list("current_stage__key", flat=True).first()
    )


# ------------------------------------------------------------------ a form fill


@dataclass
class FillOutcome:
    contact: Contact
    created: bool
    duplicate: bool
    stage: str | None
    activity: Activity | None
    consent: ConsentRecord | None


def submit_form(form: Form, fill: Fill, *, at: dt.datetime | None = None) -> FillOutcome:
    """Record one (valid, not trapped) fill. The same fill of the same form again within
    ``KYOGYO_INTAKE_DUPLICATE_SECONDS`` (a double click, a reload) is recorded once."""
    at = at or timezone.now()
    fingerprint = fill.fingerprint(form)[:32]
    book = rulebook.load()
    try:
        with transaction.atomic():
            lock_people([fill.email], company_keys(fill.account, fill.email, book))
            existing = Contact.objects.select_for_update().filter(email=fill.email).first()
            earlier = _earlier_fill(existing, form, fingerprint, at)
            if existing is not None and earlier is not None:
                return FillOutcome(existing, False, True, current_stage(existing), earlier, None)
            account = None
            if existing is None or existing.account_id is None:
                account = find_or_create_account(fill.account, fill.email, book=book, at=at)
            elif fill.account and existing.account is not None:
                fill_empty_account_fields(existing.account, fillable(fill.account))
            contact, outcome = upsert_contact(
                existing, fill.contact, account, source=form.source, at=at, book=book
            )
            consent = None
            if fill.consent:
                consent = grant_consent(
                    contact, wording=form.consent_wording, source=form.source, at=at, form=form
                )
            activity = _record_fill(form, fill, contact, fingerprint, at, book)
            return FillOutcome(
                contact, outcome == "created", False, current_stage(contact), activity, consent
            )
    except ValidationError as error:
        raise _as_fill_errors(form, error) from None


def fillable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in ACCOUNT_FILLABLE and v}


def _earlier_fill(contact: Contact | None, form: Form, fingerprint: str, at: dt.datetime) -> Activity | None:
    if contact is None:
        return None
    return (
        Activity.objects.filter(
            contact=contact,
            type=form.activity_type,
            occurred_at__gte=at - duplicate_window(),
            occurred_at__lte=at,
            external_id__startswith=f"form:{fingerprint}:",
        )
        .order_by("-occurred_at")
        .first()
    )


def _record_fill(
    form: Form, fill: Fill, contact: Contact, fingerprint: str, at: dt.datetime, book: rulebook.RuleBook
) -> Activity:
    payload: dict[str, Any] = {"form": form.key, **fill.payload}
    if fill.consent:
        payload["consent"] = True
    item = ActivityInput(
        contact_id=contact.pk,
        type=form.activity_type,
        occurred_at=at,
        source=form.source,
        campaign_id=form.campaign_id,
        payload=payload,
        external_id=f"form:{fingerprint}:{int(at.timestamp())}",
    )
    result = record_activities([item], book=book, now=at)
    if result.errors:  # checked when the fill was read; reaching here is a bug, said plainly
        raise IntakeError(result.errors[0].code, result.errors[0].message)
    return result.created[0] if result.created else Activity.objects.get(external_id=item.external_id)


def _as_fill_errors(form: Form, error: ValidationError) -> FillInvalid:
    """A model check the fill's own reading did not catch, named by the form's field."""
    by_target = {target.removeprefix("account."): field for field, target in form.field_map.items()}
    fields: dict[str, FieldError] = {}
    for name, problems in getattr(error, "error_dict", {"__all__": error.error_list}).items():
        field = by_target.get(name, name)
        fields.setdefault(field, FieldError(problems[0].code or "invalid", " ".join(problems[0].messages)))
    return FillInvalid(fields)
