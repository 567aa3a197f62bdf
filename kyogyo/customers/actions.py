"""Creating and changing people and companies. A change re-scores fit and runs the
stage rules, so objective criteria are applied when the data changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kyogyo.customers.models import Account, Contact
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import rulebook
from kyogyo.journey.models import Transition
from kyogyo.org.models import User
from kyogyo.scoring.actions import fit_score_of, rescore_fit

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


class ContactErrors(ValueError):
    """Rows of ``create_contacts`` that cannot be created, by their index in the rows."""

    def __init__(self, errors: dict[int, ValidationError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"row {i}: {'; '.join(e.messages)}" for i, e in sorted(errors.items())))


@transaction.atomic
def create_contacts(
    rows: Sequence[Mapping[str, Any]],
    *,
    actor: User | None = None,
    start_journey: bool = True,
    book: rulebook.RuleBook | None = None,
) -> list[Contact]:
    """``create_contact`` for many people at once, in a few set-based queries: each row holds
    the keyword arguments ``create_contact`` would get (``at`` included, default now), and the
    same rows are written — fit scores, journeys started, stage rules and the handoffs they
    open, events after commit. Raises ``ContactErrors`` naming every row that
    ``create_contact`` would refuse (each judged as if the valid rows before it were created);
    nothing is written then."""
    now = timezone.now()
    contacts = _new_contacts(rows, now)
    book = book or rulebook.load()
    for contact in contacts:  # what rescore_fit would store right after the insert
        contact.fit_score = fit_score_of(contact, book=book, at=now)
    Contact.objects.bulk_create(contacts)
    if start_journey:
        via = Transition.Via.USER if actor else Transition.Via.SYSTEM
        batch = journey_actions.JourneyBatch.for_new(book.stages)
        for contact in contacts:  # person by person, as one by one: the rows keep their order
            batch.advance(contact, book.stages.entry_key, at=contact.created_at, via=via, actor=actor)
            # A new person has no activities yet: the rules have nothing to count.
            batch.run_rules([contact], {contact.pk: contact.created_at}, book, touches={})
        batch.write()
    return contacts


def _new_contacts(rows: Sequence[Mapping[str, Any]], now: dt.datetime) -> list[Contact]:
    """Unsaved, validated people of ``rows``: ``full_clean`` row by row, with its database part
    (do the company and owner exist, are the email and external id free) in one query per
    field for all rows."""
    contacts: list[Contact] = []
    errors: dict[int, dict[str, list[ValidationError]]] = {}
    unknown: dict[int, dict[str, list[ValidationError]]] = {}
    for index, row in enumerate(rows):
        values = dict(row)
        at = values.pop("at", None) or now
        _normalise_email(values)
        contact = Contact(created_at=at)
        contacts.append(contact)
        try:
            _assign(contact, CONTACT_FIELDS, values)
        except ValidationError as error:  # unknown fields: nothing else is checked
            unknown[index] = error.update_error_dict({})
            continue
        try:
            contact.full_clean(exclude=REFERENCES, validate_unique=False)
        except ValidationError as error:
            errors[index] = error.update_error_dict({})
    _check_references(contacts, errors, skip=unknown.keys())
    _check_unique(contacts, errors, skip=unknown.keys())
    errors.update(unknown)
    if errors:
        raise ContactErrors({i: ValidationError(_in_field_order(e)) for i, e in sorted(errors.items())})
    return contacts


REFERENCES = ["account", "owner"]
UNIQUE = ["email", "external_id"]


def _check_references(
    contacts: list[Contact], errors: dict[int, dict[str, list]], *, skip: Collection[int]
) -> None:
    """A company or owner that does not exist, with Django's own message."""
    for field in (Contact.account.field, Contact.owner.field):
        name = field.name
        ids = {getattr(c, field.attname) for c in contacts} - {None}
        known = _existing(field.related_model._base_manager.all(), "pk", ids)
        for index, contact in enumerate(contacts):
            value = getattr(contact, field.attname)
            if index in skip or value is None or value in known or name in errors.get(index, {}):
                continue
            try:
                field.validate(value, contact)
            except ValidationError as error:
                errors.setdefault(index, {})[name] = error.error_list


def _check_unique(
    contacts: list[Contact], errors: dict[int, dict[str, list]], *, skip: Collection[int]
) -> None:
    """An email or external id already taken, in the database or by a valid earlier row (as
    ``create_contact`` one by one would find it); fields already in error are not checked."""
    taken = {
        name: _existing(Contact.objects.all(), name, {getattr(c, name) for c in contacts} - {None})
        for name in UNIQUE
    }
    for index, contact in enumerate(contacts):
        if index in skip:
            continue
        found = errors.get(index, {})
        for name in UNIQUE:
            value = getattr(contact, name)
            if value is not None and name not in found and value in taken[name]:
                errors.setdefault(index, {})[name] = [contact.unique_error_message(Contact, (name,))]
        if index not in errors:
            for name in UNIQUE:
                taken[name].add(getattr(contact, name))


def _existing(query: Any, name: str, values: set[Any]) -> set[Any]:
    """Which of ``values`` the column ``name`` holds (in chunks: SQLite limits parameters)."""
    wanted, found = sorted(values, key=str), set()
    for start in range(0, len(wanted), 900):
        found.update(
            query.filter(**{f"{name}__in": wanted[start : start + 900]}).values_list(name, flat=True)
        )
    return found


def _in_field_order(errors: dict[str, list]) -> dict[str, list]:
    """``full_clean``'s order: field errors by field, then uniqueness errors."""
    order = {f.name: i for i, f in enumerate(Contact._meta.concrete_fields)}

    def key(item: tuple[str, list]) -> tuple[bool, int]:
        name, problems = item
        is_unique = all(getattr(p, "code", None) == "unique" for p in problems)
        return is_unique, order.get(name, len(order))

    return dict(sorted(errors.items(), key=key))


@transaction.atomic
def update_contact(contact: Contact, **values: Any) -> Contact:
    _normalise_email(values)
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
