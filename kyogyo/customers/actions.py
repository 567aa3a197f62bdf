"""Creating and changing people and companies. A change re-scores fit and runs the
stage rules, so objective criteria are applied when the data changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kyogyo.customers.models import Account, Contact
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import rulebook
from kyogyo.journey.models import Transition
from kyogyo.org.models import User
from kyogyo.scoring.actions import rescore_fit

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
