"""Creating and changing people and companies. A change re-scores fit and runs the
stage rules, so objective criteria are applied when the data changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxLengthValidator, validate_email
from django.db import connection, models, transaction
from django.db.models import ForeignKey, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kyogyo.audit.context import recorded_as
from kyogyo.customers import emails
from kyogyo.customers.models import Account, Contact
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import rulebook
from kyogyo.journey.machine import JourneyError
from kyogyo.journey.models import ReasonCode, Transition
from kyogyo.ops.rows import Table
from kyogyo.org import access
from kyogyo.org.bulk import BulkResult, Forbidden
from kyogyo.org.models import User
from kyogyo.scoring.actions import fit_scorer, rescore_fit

RecordT = TypeVar("RecordT", Account, Contact)

ACCOUNT_FIELDS = {"name", "domain", "industry", "employee_count", "country", "segment", "kind", "external_id"}
CONTACT_FIELDS = {
    "account",
    "email",
    "first_name",
    "last_name",
    "title",
    "phone",
    "consent",
    "source",
    "owner",
    "external_id",
}


def _assign(instance: Any, allowed: set[str], values: dict[str, Any]) -> list[str]:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationError({name: "unknown field" for name in unknown})
    changed = []
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def _normalise_email(values: dict[str, Any]) -> None:
    if values.get("email"):
        values["email"] = values["email"].strip().lower()


def suppressed_address_error() -> ValidationError:
    return ValidationError(
        {
            "email": ValidationError(
                _("This address belongs to someone erased at their request; it cannot be added again."),
                code="suppressed",
            )
        }
    )


def _refuse_suppressed(values: dict[str, Any]) -> None:
    """An erased person's address stays on the suppression list (see customers.privacy)."""
    from kyogyo.customers.privacy import is_suppressed

    if is_suppressed(values.get("email")):
        raise suppressed_address_error()


@transaction.atomic
def create_account(*, at: dt.datetime | None = None, **values: Any) -> Account:
    account = Account(created_at=at or timezone.now())
    _assign(account, ACCOUNT_FIELDS, values)
    account.full_clean()
    account.save()
    return account


@transaction.atomic
def update_account(account: Account, **values: Any) -> Account:
    """Change a company; its people are re-scored and the stage rules run for them."""
    changed = _assign(account, ACCOUNT_FIELDS, values)
    if not changed:
        return account
    account.full_clean()
    account.save(update_fields=changed)
    contacts = list(Contact.objects.filter(account=account).select_related("account"))
    _after_change(contacts)
    return account


@transaction.atomic
def create_contact(
    *,
    at: dt.datetime | None = None,
    actor: User | None = None,
    start_journey: bool = True,
    book: rulebook.RuleBook | None = None,
    **values: Any,
) -> Contact:
    """Create a person; becoming known is the first touch, so the journey starts (as a lead)."""
    _normalise_email(values)
    _refuse_suppressed(values)
    at = at or timezone.now()
    contact = Contact(created_at=at)
    _assign(contact, CONTACT_FIELDS, values)
    contact.full_clean()
    contact.save()
    book = book or rulebook.load()
    rescore_fit([contact], book=book)
    if start_journey:
        via = Transition.Via.USER if actor else Transition.Via.SYSTEM
        journey_actions.start_journey(contact, at=at, via=via, actor=actor, stages=book.stages)
        journey_actions.apply_rules([contact], at=at, book=book)
    return contact


# ---------------------------------------------------------------- many at once
#
# The batch forms of create_account and create_contact write the same rows in a few
# set-based queries. A row is either the keyword arguments the one-by-one action takes
# (``at`` included), checked in full, or an unsaved record from ``new_account`` or an earlier
# check, whose own fields were checked already: only the database part is checked again.


class RowErrors(ValueError):
    """Rows of a batch that cannot be written, by their index in the batch."""

    def __init__(self, errors: dict[int, ValidationError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"row {i}: {'; '.join(e.messages)}" for i, e in sorted(errors.items())))


@dataclass
class Checked(Generic[RecordT]):
    """Rows as ``check_accounts``/``check_contacts`` found them: the unsaved record of each
    valid row (``None`` where the row is refused) and the errors of the refused rows."""

    records: list[RecordT | None]
    errors: dict[int, ValidationError]

    @property
    def valid(self) -> list[RecordT]:
        return [r for r in self.records if r is not None]


def new_account(*, at: dt.datetime | None = None, **values: Any) -> Account:
    """An unsaved company, checked as ``create_account`` checks one except for what needs the
    database (its external id is free): ``create_accounts`` checks that for many at once."""
    account = _blank_maker(Account)()
    account.created_at = at or timezone.now()
    _assign(account, ACCOUNT_FIELDS, values)
    if not _plainly_valid(account, _ACCOUNT_CLEANED, _plain_checks(Account)):
        account.full_clean(validate_unique=False)
    return account


_ACCOUNT_CLEANED = [f.name for f in Account._meta.concrete_fields if not f.is_relation]


def check_accounts(rows: Sequence[Mapping[str, Any] | Account]) -> Checked[Account]:
    return _check(Account, ACCOUNT_FIELDS, rows)


@transaction.atomic
def create_accounts(rows: Sequence[Mapping[str, Any] | Account]) -> list[Account]:
    """``create_account`` for many companies at once. Raises ``RowErrors`` naming every row
    ``create_account`` would refuse (each judged as if the valid rows before it were
    created); nothing is written then."""
    checked = check_accounts(rows)
    if checked.errors:
        raise RowErrors(checked.errors)
    return _insert(checked.valid)


def check_contacts(rows: Sequence[Mapping[str, Any] | Contact]) -> Checked[Contact]:
    """Unsaved people of ``rows``, each checked as ``create_contact`` checks one — the same
    codes and messages, in the same order — with the database's part (companies and owners
    exist, emails and external ids are free) in one query per field for all rows. A company
    not saved yet is taken as one that will be. Addresses of erased people are refused."""
    from kyogyo.customers.privacy import suppressed_among

    checked = _check(Contact, CONTACT_FIELDS, rows)
    suppressed = suppressed_among([c.email for c in checked.valid if c.email])
    if suppressed:
        for index, record in enumerate(checked.records):
            if record is not None and record.email in suppressed:
                checked.records[index] = None
                checked.errors[index] = suppressed_address_error()
    return checked


@transaction.atomic
def create_contacts(
    rows: Sequence[Mapping[str, Any] | Contact] | Checked[Contact],
    *,
    actor: User | None = None,
    start_journey: bool = True,
    book: rulebook.RuleBook | None = None,
) -> list[Contact]:
    """``create_contact`` for many people at once, in a few set-based queries: the same rows —
    fit scores, journeys started, stage rules and the handoffs they open, their events —
    in the same order. Raises ``RowErrors`` naming every row ``create_contact`` would refuse
    (each judged as if the valid rows before it were created); nothing is written then.
    ``rows`` may also be what ``check_contacts`` returned earlier in the same transaction: its
    valid people are written without being checked again."""
    checked = rows if isinstance(rows, Checked) else check_contacts(rows)
    if checked.errors and not isinstance(rows, Checked):
        raise RowErrors(checked.errors)
    contacts = checked.valid
    book = book or rulebook.load()
    fit_score_of = fit_scorer(book=book, at=timezone.now())
    for contact in contacts:  # what rescore_fit would store right after the insert
        contact.fit_score = fit_score_of(contact)
    _insert(contacts)
    if start_journey:
        via = Transition.Via.USER if actor else Transition.Via.SYSTEM
        batch = journey_actions.JourneyBatch.for_new(book.stages)
        for contact in contacts:  # person by person, as one by one: the rows keep their order
            batch.advance(contact, book.stages.entry_key, at=contact.created_at, via=via, actor=actor)
            # A new person has no activities yet: the rules have nothing to count.
            batch.run_rules([contact], {contact.pk: contact.created_at}, book, touches={})
        batch.write()
    return contacts


def _insert(records: list[RecordT]) -> list[RecordT]:
    """Save new records in bulk (``Table``); they get their ids as ``bulk_create`` gives them."""
    if not records:
        return records
    table = Table(type(records[0]))
    references = [f for f in records[0]._meta.concrete_fields if isinstance(f, ForeignKey)]
    for record in records:  # a company saved after it was assigned (as save() handles it)
        for field in references:
            if getattr(record, field.attname) is None and field.is_cached(record):
                related = field.get_cached_value(record)
                if related is not None:
                    setattr(record, field.attname, related.pk)  # which forgets the company…
                    field.set_cached_value(record, related)  # …that the rules will read
    ids = table.insert([table.values_of(record) for record in records])
    for record, pk in zip(records, ids, strict=True):
        record.pk = pk
        record._state.adding = False
        record._state.db = connection.alias
    return records


def _check(
    model: type[RecordT], allowed: set[str], rows: Sequence[Mapping[str, Any] | RecordT]
) -> Checked[RecordT]:
    """``full_clean`` row by row (only for rows given as values), then its database part for
    all rows at once."""
    now = timezone.now()
    records: list[RecordT] = []
    errors: dict[int, dict[str, list[ValidationError]]] = {}
    unknown: dict[int, dict[str, list[ValidationError]]] = {}
    references = [f.name for f in model._meta.concrete_fields if f.is_relation]
    fields = [f for f in model._meta.concrete_fields if not f.is_relation]
    checks = _plain_checks(model)
    blank = _blank_maker(model)
    for index, row in enumerate(rows):
        if isinstance(row, model):
            records.append(row)
            continue
        assert isinstance(row, Mapping)
        values: dict[str, Any] = dict(row)
        record = blank()
        record.created_at = values.pop("at", None) or now  # type: ignore[attr-defined]
        records.append(record)
        if model is Contact:
            _normalise_email(values)
        try:
            _assign(record, allowed, values)
        except ValidationError as error:  # unknown fields: nothing else is checked
            unknown[index] = error.update_error_dict({})
            continue
        # Fields left at the model's defaults are valid by construction: only the given ones
        # (and the creation time) are cleaned, with the same outcome; and a row whose values
        # plainly pass (text within its length, a known choice, …) is not cleaned at all.
        if _plainly_valid(record, (*values, "created_at"), checks):
            continue
        untouched = [f.name for f in fields if f.name not in values and f.name != "created_at"]
        try:
            record.full_clean(exclude=references + untouched, validate_unique=False)
        except ValidationError as error:
            errors[index] = error.update_error_dict({})
    _check_references(records, errors, skip=unknown.keys())
    _check_unique(records, errors, skip=unknown.keys())
    errors.update(unknown)
    refused = {i: ValidationError(_in_field_order(model, e)) for i, e in sorted(errors.items())}
    return Checked([None if i in refused else r for i, r in enumerate(records)], refused)


def _blank_maker(model: type[RecordT]) -> Callable[[], RecordT]:
    """What makes a new unsaved ``model()``: a copy of a first one's field values, when its
    defaults are constants and nothing listens to its creation (``model()`` works out every
    default, field by field, and sends its signals)."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model
    return _copier(model)


@cache
def _copier(model: type[RecordT]) -> Callable[[], RecordT]:
    if any(f.has_default() and callable(f.default) for f in model._meta.concrete_fields):
        return model
    values = {name: value for name, value in vars(model()).items() if name != "_state"}

    def make() -> RecordT:
        record = model.__new__(model)
        vars(record).update(values)
        record._state = ModelState()
        return record

    return make


def _plainly_valid(record: Model, names: Sequence[str], checks: dict[str, _PlainCheck] | None) -> bool:
    """Whether cleaning fields ``names`` of ``record`` would find nothing (and change nothing):
    each value is already of its field's type and passes its checks."""
    if checks is None:
        return False
    for name in names:
        check = checks.get(name, _REFERENCE)
        if check is _REFERENCE:
            continue  # a reference: checked for all rows at once (_check_references)
        if check is None or not check(getattr(record, name)):
            return False
    return True


_PlainCheck = Callable[[Any], bool] | None
_REFERENCE: Any = object()


@cache
def _plain_checks(model: type[Model]) -> dict[str, _PlainCheck] | None:
    """Per field of ``model``, a quick test that a value passes ``clean`` unchanged (``None`` for
    a field without one: such rows are cleaned). ``None`` for a model with checks of its own."""
    if model.clean is not Model.clean:
        return None
    if model._meta.constraints:
        return None
    return {f.name: _plain_check(f) for f in model._meta.concrete_fields if not f.is_relation}


def _plain_check(field: Any) -> _PlainCheck:
    empty = field.empty_values if field.blank else ()
    if isinstance(field, models.DateTimeField) and not field.validators:
        return lambda value: isinstance(value, dt.datetime) or value in empty
    if not isinstance(field, models.CharField) or field.generated:
        return (lambda value: value in empty) if empty else None  # skipped by clean_fields
    limits, email = [], False
    for validator in field.validators:
        if type(validator) is MaxLengthValidator and isinstance(validator.limit_value, int):
            limits.append(validator.limit_value)
        elif validator == validate_email and type(validator) is EmailValidator:
            email = True
        else:
            return None
    longest = min(limits, default=None)
    choices = frozenset(key for key, _ in field.flatchoices) if field.choices else None

    def check(value: Any) -> bool:
        if value in empty:
            return True  # skipped by clean_fields
        return (
            isinstance(value, str)  # what to_python keeps as it is
            and value != ""
            and (longest is None or len(value) <= longest)
            and (choices is None or value in choices)
            and (not email or emails.is_valid(value))
        )

    return check


def _check_references(
    records: Sequence[Model], errors: dict[int, dict[str, list]], *, skip: Collection[int]
) -> None:
    """A company or owner that does not exist, with Django's own message."""
    if not records:
        return
    for field in records[0]._meta.concrete_fields:
        if not field.is_relation:
            continue
        name = field.name
        ids = {getattr(r, field.attname) for r in records} - {None}
        related = field.related_model
        assert isinstance(related, type)
        assert related._meta.pk is not None
        known = _existing(related, related._meta.pk.name, ids)
        for index, record in enumerate(records):
            value = getattr(record, field.attname)
            if index in skip or value is None or value in known or name in errors.get(index, {}):
                continue
            try:
                field.validate(value, record)
            except ValidationError as error:
                errors.setdefault(index, {})[name] = error.error_list


def _check_unique(
    records: Sequence[Model], errors: dict[int, dict[str, list]], *, skip: Collection[int]
) -> None:
    """A unique value already taken, in the database or by a valid earlier row (as the
    one-by-one action would find it); fields already in error are not checked."""
    if not records:
        return
    model = type(records[0])
    unique = [f.name for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    taken = {name: _existing(model, name, {getattr(r, name) for r in records} - {None}) for name in unique}
    for index, record in enumerate(records):
        if index in skip:
            continue
        found = errors.get(index, {})
        for name in unique:
            value = getattr(record, name)
            if value is not None and name not in found and value in taken[name]:
                errors.setdefault(index, {})[name] = [record.unique_error_message(model, (name,))]
        if index not in errors:
            for name in unique:
                taken[name].add(getattr(record, name))


def _existing(model: type[Model], name: str, values: set[Any]) -> set[Any]:
    """Which of ``values`` the column of field ``name`` holds. Plain SQL: the ORM's work on
    each value of a long ``IN`` list costs more than the query (in chunks: SQLite limits
    parameters)."""
    field = next(f for f in model._meta.concrete_fields if f.name == name)
    column = connection.ops.quote_name(field.column or "")
    table = connection.ops.quote_name(model._meta.db_table)
    wanted, found = sorted(values, key=str), set[Any]()
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), 900):
            part = wanted[start : start + 900]
            cursor.execute(
                f"SELECT {column} FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(part))})", part
            )
            found.update(value for (value,) in cursor.fetchall())
    return found


def _in_field_order(model: type[Model], errors: dict[str, list]) -> dict[str, list]:
    """``full_clean``'s order: field errors by field, then uniqueness errors."""
    order = {f.name: i for i, f in enumerate(model._meta.concrete_fields)}

    def key(item: tuple[str, list]) -> tuple[bool, int]:
        name, problems = item
        is_unique = all(getattr(p, "code", None) == "unique" for p in problems)
        return is_unique, order.get(name, len(order))

    return dict(sorted(errors.items(), key=key))


@transaction.atomic
def update_contact(contact: Contact, **values: Any) -> Contact:
    _normalise_email(values)
    if values.get("email") and values["email"] != contact.email:
        _refuse_suppressed(values)
    changed = _assign(contact, CONTACT_FIELDS, values)
    if not changed:
        return contact
    contact.full_clean()
    contact.save(update_fields=[("account" if f == "account" else f) for f in changed])
    _after_change([contact])
    return contact


def _after_change(contacts: list[Contact]) -> list[Transition]:
    book = rulebook.load()
    rescore_fit(contacts, book=book)
    return journey_actions.apply_rules(contacts, book=book)


# --- many people at once (the list's bulk actions) --------------------------------------


class BulkError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def check_assignee(owner: User | None) -> None:
    """An owner is an active member of a team (or a manager); None leaves a record unowned."""
    if owner is not None and not access.is_member(owner):
        raise BulkError("bad_owner", f"{owner.get_username()} cannot own records")


@recorded_as("bulk")  # the history says these came from a bulk action
def assign_owner_many(contacts: Sequence[Contact], owner: User | None, *, actor: User) -> BulkResult:
    """Give each person the owner, through ``update_contact``; each one the actor may not
    change is reported, and one failing leaves the others done."""
    check_assignee(owner)
    result = BulkResult()
    for contact in contacts:
        if not access.can_change_contact(actor, contact):
            result.refuse(contact, Forbidden(f"{actor.get_username()} may not change {contact}"))
            continue
        try:
            with transaction.atomic():
                update_contact(contact, owner=owner)
        except ValidationError as exc:
            result.refuse(contact, BulkError("invalid", "; ".join(exc.messages)))
            continue
        result.done.append(contact)
    return result


@recorded_as("bulk")  # the history says these came from a bulk action
def classify_many(
    contacts: Sequence[Contact],
    verdict: str,
    *,
    actor: User,
    reason: ReasonCode | None = None,
    note: str = "",
) -> BulkResult:
    """Classify each person now / later / never (``journey.actions.classify``)."""
    stages = rulebook.load_stage_model()
    result = BulkResult()
    for contact in contacts:
        if not access.can_change_contact(actor, contact):
            result.refuse(contact, Forbidden(f"{actor.get_username()} may not change {contact}"))
            continue
        try:
            with transaction.atomic():
                journey_actions.classify(
                    contact, verdict, actor=actor, reason=reason, note=note, stages=stages
                )
        except JourneyError as exc:
            result.refuse(contact, exc)
            continue
        result.done.append(contact)
    return result
