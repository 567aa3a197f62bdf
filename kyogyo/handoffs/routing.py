"""Who receives a handoff: the first routing rule of the receiving team whose condition
holds for the subject (segment/coverage rules), else the whole team; round-robin
within that pool."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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
    rotation = Rotation(lists)
    chosen = rotation.assign(team_id, contact, at)
    rotation.save()
    return chosen


class Rotation:
    """``assign`` for the handoffs of one transaction, in order: each team's pools are read once,
    each pool's cursor is locked at its first use and saved by ``save``."""

    def __init__(self, lists: Mapping[str, frozenset[str]]) -> None:
        self.lists = dict(lists)
        self.pools: dict[int, tuple[list[tuple[dict | None, Pool]], Pool]] = {}
        self.cursors: dict[str, RoutingCursor] = {}

    def assign(self, team_id: int, contact: Contact, at: dt.datetime) -> int | None:
        from kyogyo.journey.rulebook import contact_fields

        if team_id not in self.pools:
            self.pools[team_id] = load_pools(team_id)
        rules, team_pool = self.pools[team_id]
        facts = criteria.Facts(
            now=at,
            fields=contact_fields(contact),
            metrics={
                "fit_score": contact.fit_score,
                "engagement_score": contact.engagement_score,
            },
        )
        pool = choose_pool(rules, team_pool, facts, self.lists)
        if not pool.user_ids:
            return None
        cursor = self.cursors.get(pool.key)
        if cursor is None:
            RoutingCursor.objects.get_or_create(pool=pool.key)
            cursor = self.cursors[pool.key] = RoutingCursor.objects.select_for_update().get(pool=pool.key)
        cursor.last_user_id = next_in_rotation(pool.user_ids, cursor.last_user_id)
        return cursor.last_user_id

    def save(self) -> None:
        for cursor in self.cursors.values():
            cursor.save(update_fields=["last_user_id"])
