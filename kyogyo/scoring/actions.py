"""Keeping stored scores current, and explaining them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from kyogyo.customers.models import Contact
from kyogyo.journey import rulebook
from kyogyo.marketing.models import Activity
from kyogyo.scoring import engine


def fit_facts(contact: Contact, at: dt.datetime) -> rulebook.criteria.Facts:
    return rulebook.criteria.Facts(now=at, fields=rulebook.contact_fields(contact), metrics={})


def fit_score_of(contact: Contact, *, book: rulebook.RuleBook, at: dt.datetime) -> int:
    """The fit score of ``contact`` as it is now (not stored)."""
    return engine.fit_score(
        engine.fit_contributions(book.scoring.fit_rules, fit_facts(contact, at), book.lists)
    )


def rescore_fit(contacts: Iterable[Contact], *, book: rulebook.RuleBook | None = None) -> list[Contact]:
    """Recompute the fit score of ``contacts`` (after their person or company data changed)."""
    book = book or rulebook.load()
    now = timezone.now()
    changed = []
    for contact in contacts:
        score = fit_score_of(contact, book=book, at=now)
        if score != contact.fit_score:
            contact.fit_score = score
            changed.append(contact)
    if changed:
        Contact.objects.bulk_update(changed, ["fit_score"])
    return changed


def explain_fit(contact: Contact, *, book: rulebook.RuleBook | None = None) -> list[engine.Contribution]:
    book = book or rulebook.load()
    return engine.fit_contributions(book.scoring.fit_rules, fit_facts(contact, timezone.now()), book.lists)


def explain_engagement(
    contact: Contact,
    *,
    at: dt.datetime | None = None,
    book: rulebook.RuleBook | None = None,
) -> list[engine.Contribution]:
    """Decayed points per activity type: where the engagement score comes from."""
    book = book or rulebook.load()
    at = at or timezone.now()
    touches = Activity.objects.filter(contact=contact, occurred_at__lte=at).values_list("type", "occurred_at")
    return engine.engagement_contributions(touches, book.scoring.weights, at, book.scoring.half_life_days)
