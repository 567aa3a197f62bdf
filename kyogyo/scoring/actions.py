"""Keeping stored scores current, and explaining them."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from kyogyo.customers.models import Contact
from kyogyo.journey import rulebook
from kyogyo.marketing.models import Activity
from kyogyo.org.models import User
from kyogyo.scoring import engine
from kyogyo.scoring.models import EngagementWeight, FitRule, ScoringSettings


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


# --- Configuration (Settings → scoring): admins only. Stored scores are not recomputed here:
# the fit score of a person is recomputed when their data changes, the engagement score
# decays continuously; rules read the scores as of the moment they run.


class ScoringError(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None):
        self.code, self.field = code, field
        super().__init__(message)


def _check_admin(actor: User) -> None:
    from kyogyo.org import access

    if not access.can_manage_settings(actor):
        raise ScoringError("forbidden", "only admins change the scoring")


def _checked_fit_rule(label: str, label_ja: str, condition: Any, points: int) -> tuple[str, str]:
    label, label_ja = (label or "").strip(), (label_ja or "").strip()
    if not label or len(label) > 150:
        raise ScoringError("bad_label", "a fit rule needs a label of 1 to 150 characters", field="label")
    if len(label_ja) > 150:
        raise ScoringError("bad_label", "the Japanese label is at most 150 characters", field="label_ja")
    problems = rulebook.criteria.validate(condition, list_keys=set(rulebook.load_value_lists()))
    if problems:
        raise ScoringError("bad_condition", "; ".join(str(p) for p in problems), field="condition")
    if isinstance(points, bool) or not isinstance(points, int) or not -1000 <= points <= 1000:
        raise ScoringError("bad_points", "points are a whole number from -1000 to 1000", field="points")
    return label, label_ja


@transaction.atomic
def save_fit_rule(
    rule: FitRule | None,
    *,
    actor: User,
    label: str,
    condition: Any,
    points: int,
    label_ja: str = "",
    order: int = 0,
    active: bool = True,
) -> FitRule:
    """Create (``rule`` None) or change a fit rule; the condition is checked by the rule
    validator (the same one stage rules use)."""
    _check_admin(actor)
    label, label_ja = _checked_fit_rule(label, label_ja, condition, points)
    rule = rule or FitRule()
    rule.label, rule.label_ja, rule.condition = label, label_ja, condition
    rule.points, rule.order, rule.active = points, order, active
    rule.save()
    return rule


@transaction.atomic
def set_engagement(*, actor: User, weights: dict[str, float], half_life_days: float) -> None:
    """Points per activity type (0 removes the type's weight) and the half-life of a touch."""
    from kyogyo.marketing.models import ActivityType

    _check_admin(actor)
    unknown = sorted(set(weights) - set(ActivityType.values))
    if unknown:
        raise ScoringError("bad_activity_type", f"unknown activity type(s): {', '.join(unknown)}")
    for kind, points in weights.items():
        if not math.isfinite(points) or not -1000 <= points <= 1000:
            raise ScoringError("bad_points", "points are a number from -1000 to 1000", field=kind)
    if not math.isfinite(half_life_days) or not 0.5 <= half_life_days <= 3650:
        raise ScoringError("bad_half_life", "the half-life is from 0.5 to 3650 days", field="half_life_days")
    for kind, points in weights.items():
        if points:
            EngagementWeight.objects.update_or_create(activity_type=kind, defaults={"points": points})
        else:
            EngagementWeight.objects.filter(activity_type=kind).delete()
    ScoringSettings.objects.update_or_create(pk=1, defaults={"half_life_days": half_life_days})
