"""Keeping stored scores current, and explaining them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

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


def fit_scorer(*, book: rulebook.RuleBook, at: dt.datetime) -> Callable[[Contact], int]:
    """``fit_score_of`` for many contacts: a fit score depends only on the fields the fit rules
    read (no metrics or activities), so people alike in those are scored once."""
    names = _fields_read(book.scoring.fit_rules)
    if names is None:
        return lambda contact: fit_score_of(contact, book=book, at=at)
    scores: dict[tuple[object, ...], int] = {}

    def score(contact: Contact) -> int:
        fields = rulebook.contact_fields(contact)
        key = tuple(fields[name] for name in names)
        found = scores.get(key)
        if found is None:
            if len(scores) > 100_000:  # bounded, however varied the people
                scores.clear()
            facts = rulebook.criteria.Facts(now=at, fields=fields, metrics={})
            contributions = engine.fit_contributions(book.scoring.fit_rules, facts, book.lists)
            found = scores[key] = engine.fit_score(contributions)
        return found

    return score


def _fields_read(rules: Iterable[engine.FitRuleSpec]) -> list[str] | None:
    """The fields the conditions read; ``None`` if one reads anything else."""
    names: set[str] = set()

    def walk(node: object) -> bool:
        if not isinstance(node, dict):
            return False
        if "all" in node or "any" in node:
            return all(walk(child) for child in node.get("all") or node.get("any") or [])
        if "not" in node:
            return walk(node["not"])
        if isinstance(node.get("field"), str) and node["field"] in rulebook.criteria.FIELDS:
            names.add(node["field"])
            return True
        return False

    return sorted(names) if all(walk(rule.condition) for rule in rules) else None


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
