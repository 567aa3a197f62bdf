"""Who receives a handoff: the first routing rule of the receiving team whose condition
holds for the subject (segment/coverage rules), else the whole team; round-robin
within that pool."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from kyogyo.customers.models import Contact
from kyogyo.handoffs.models import RoutingCursor, RoutingRule
from kyogyo.journey import criteria
from kyogyo.org.models import User


@dataclass(frozen=True)
class Pool:
    key: str
    user_ids: tuple[int, ...]


def next_in_rotation(user_ids: Sequence[int], last_user_id: int | None) -> int | None:
    """Round-robin: the first id after ``last_user_id`` in ascending order, wrapping around."""
    if not user_ids:
        return None
    ordered = sorted(user_ids)
    if last_user_id is not None:
        for user_id in ordered:
            if user_id > last_user_id:
                return user_id
    return ordered[0]


def load_pools(team_id: int) -> tuple[list[tuple[dict | None, Pool]], Pool]:
    """The team's routing rules (condition, pool) in priority order, and the team-wide pool."""
    rules = []
    for rule in RoutingRule.objects.filter(team_id=team_id, active=True).prefetch_related("users"):
        ids = tuple(sorted(u.pk for u in rule.users.all() if u.is_active))
        rules.append((rule.condition, Pool(f"rule:{rule.pk}", ids)))
    members = tuple(
        User.objects.filter(team_id=team_id, is_active=True).order_by("pk").values_list("pk", flat=True)
    )
    return rules, Pool(f"team:{team_id}", members)


def choose_pool(
    rules: Sequence[tuple[dict | None, Pool]],
    team_pool: Pool,
    facts: criteria.Facts,
    lists: dict[str, frozenset[str]],
) -> Pool:
    for condition, pool in rules:
        if pool.user_ids and (condition is None or criteria.matches(condition, facts, lists)):
            return pool
    return team_pool


def assign(team_id: int, contact: Contact, at: dt.datetime, lists: dict[str, frozenset[str]]) -> int | None:
    """Pick the assignee for a handoff to ``team_id``; advances the pool's cursor (locked)."""
    from kyogyo.journey.rulebook import contact_fields

    rules, team_pool = load_pools(team_id)
    facts = criteria.Facts(
        now=at,
        fields=contact_fields(contact),
        metrics={
            "fit_score": contact.fit_score,
            "engagement_score": contact.engagement_score,
        },
    )
    pool = choose_pool(rules, team_pool, facts, lists)
    if not pool.user_ids:
        return None
    RoutingCursor.objects.get_or_create(pool=pool.key)
    cursor = RoutingCursor.objects.select_for_update().get(pool=pool.key)
    chosen = next_in_rotation(pool.user_ids, cursor.last_user_id)
    cursor.last_user_id = chosen
    cursor.save(update_fields=["last_user_id"])
    return chosen
