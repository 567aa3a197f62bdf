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
    """``fit_score_of`` for many contacts. Each fit rule reads only a few fields (no metrics,
    no activities), so its verdict is worked out once per combination of those fields."""
    rules = book.scoring.fit_rules
    read = [_fields_read(rule.condition) for rule in rules]
    if any(names is None for names in read):
        return lambda contact: fit_score_of(contact, book=book, at=at)
    verdicts: list[dict[tuple[object, ...], bool]] = [{} for _ in rules]

    def score(contact: Contact) -> int:
        fields = rulebook.contact_fields(contact)
        facts = None
        points = 0
        for rule, names, known in zip(rules, read, verdicts, strict=True):
            assert names is not None
            key = tuple(fields[name] for name in names)
            holds = known.get(key)
            if holds is None:
                if len(known) > 100_000:  # bounded, however varied the people
                    known.clear()
                facts = facts or rulebook.criteria.Facts(now=at, fields=fields, metrics={})
                holds = known[key] = rule.test(facts, book.lists)
            if holds:
                points += rule.points
        return engine.fit_score([engine.Contribution("", points)])

    return score


def _fields_read(condition: dict) -> list[str] | None:
    """The fields a condition reads; ``None`` if it reads anything else."""
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

    return sorted(names) if walk(condition) else None


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
