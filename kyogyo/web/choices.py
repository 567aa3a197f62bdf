"""Choices the list pages share: stages, teams, owners — for the filters and for the bulk
forms — and reading an owner chosen in a bulk form."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext

from kyogyo.journey.models import Stage
from kyogyo.org.models import Team, User
from kyogyo.web.lists import BadValue
from kyogyo.web.templatetags.web import local_name

NO_OWNER = "none"


def stage_choices() -> list[tuple[str, str]]:
    return [(s.key, local_name(s)) for s in Stage.objects.order_by("order", "id")]


def team_choices() -> list[tuple[str, str]]:
    return [(t.key, local_name(t)) for t in Team.objects.order_by("id")]


def assignable_users() -> QuerySet[User]:
    """Who can own records: active people in a team, and managers and admins."""
    return User.objects.filter(is_active=True).exclude(team=None, role=User.Role.MEMBER).order_by("username")


def user_label(user: User) -> str:
    return user.get_full_name() or user.get_username()


def owner_choices() -> list[tuple[str, str]]:
    return [(NO_OWNER, gettext("Nobody")), *((str(u.pk), user_label(u)) for u in assignable_users())]


def by_stage(path: str, lookup: str = "key") -> Any:
    """A filter on a stage field by the stage's key (``lookup="team__key"``: by its team's),
    through the matching stages' ids (see ``Stage.ids_where``)."""

    def apply(rows: QuerySet[Any], value: str) -> QuerySet[Any]:
        return rows.filter(**{f"{path}__in": Stage.ids_where(**{lookup: value})})

    return apply


def by_owner(path: str) -> Any:
    """A filter on an owner field: a user's id, or "none" for records nobody owns."""

    def apply(rows: QuerySet[Any], value: str) -> QuerySet[Any]:
        if value == NO_OWNER:
            return rows.filter(**{f"{path}__isnull": True})
        return rows.filter(**{f"{path}_id": int(value)})

    return apply


def read_owner(post: QueryDict, field: str = "owner") -> dict[str, Any]:
    raw = post.get(field, "")
    if raw == NO_OWNER:
        return {"owner": None}
    owner = assignable_users().filter(pk=int(raw)).first() if raw.isdigit() else None
    if owner is None:
        raise BadValue(gettext("Choose the new owner from the list."))
    return {"owner": owner}


def describe_owner(params: dict[str, Any]) -> tuple[str, str]:
    owner = params["owner"]
    return gettext("New owner:"), user_label(owner) if owner else gettext("Nobody")
