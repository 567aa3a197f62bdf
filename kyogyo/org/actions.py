"""Adding people, changing their team and role, switching them off, renaming teams.

People are never deleted here: their name stays on every record, transition and handoff
they touched; a person who leaves is deactivated (they can no longer sign in, their tokens
stop working, and they are left out of handoff rotations)."""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from kyogyo.org import access
from kyogyo.org.models import RestrictedField, Team, User

USERNAME = re.compile(r"^[\w.@+-]{1,150}$")


class OrgError(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None):
        self.code, self.field = code, field
        super().__init__(message)


def _check_admin(actor: User) -> None:
    if not access.can_manage_settings(actor):
        raise OrgError("forbidden", "only admins manage users and teams")


def _check_role(role: str) -> str:
    if role not in User.Role.values:
        raise OrgError("bad_role", f"role must be one of {', '.join(User.Role.values)}", field="role")
    return role


@transaction.atomic
def create_user(
    *,
    actor: User,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    team: Team | None = None,
    role: str = User.Role.MEMBER,
) -> User:
    _check_admin(actor)
    username = (username or "").strip()
    if not USERNAME.fullmatch(username):
        raise OrgError("bad_username", "a user name is 1–150 letters, digits and . @ + - _", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise OrgError("username_taken", f"the user name {username!r} is taken", field="username")
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise OrgError("bad_email", f"{email!r} is not an email address", field="email") from exc
    user = User(
        username=username,
        email=email,
        first_name=(first_name or "").strip()[:150],
        last_name=(last_name or "").strip()[:150],
        team=team,
        role=_check_role(role),
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise OrgError("weak_password", " ".join(exc.messages), field="password") from exc
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def update_user(user: User, *, actor: User, team: Team | None, role: str) -> User:
    """Move someone to another team or give them another role. An admin cannot take their
    own admin role away (someone must be left to manage the settings)."""
    _check_admin(actor)
    role = _check_role(role)
    if user.pk == actor.pk and role != User.Role.ADMIN and not actor.is_superuser:
        raise OrgError("own_admin_role", "you cannot take away your own admin role", field="role")
    user.team, user.role = team, role
    user.save(update_fields=["team", "role"])
    return user


@transaction.atomic
def set_user_active(user: User, *, actor: User, active: bool) -> User:
    """Deactivate (or bring back) a person; nothing they did is removed."""
    _check_admin(actor)
    if user.pk == actor.pk and not active:
        raise OrgError("deactivate_self", "you cannot deactivate yourself")
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def rename_team(team: Team, *, actor: User, name: str, name_ja: str = "") -> Team:
    """Teams have stable keys; their names are the company's own."""
    _check_admin(actor)
    name, name_ja = (name or "").strip(), (name_ja or "").strip()
    if not name or len(name) > 100:
        raise OrgError("bad_team_name", "a team needs a name of 1 to 100 characters", field="name")
    if len(name_ja) > 100:
        raise OrgError("bad_team_name", "the Japanese name is at most 100 characters", field="name_ja")
    team.name, team.name_ja = name, name_ja
    team.save(update_fields=["name", "name_ja"])
    return team


# --- restricted fields (kyogyo/org/restricted.py) ---------------------------------------------


@transaction.atomic
def mark_restricted(*, actor: User, model: str, field: str, audience: str) -> RestrictedField:
    """Hide ``field`` of every ``model`` record from everyone outside ``audience``; marking
    a field again changes its audience."""
    _check_admin(actor)
    from kyogyo.org.restricted import MARKABLE

    if field not in MARKABLE.get(model, ()):
        raise OrgError("not_markable", f"{model}.{field} cannot be restricted", field="field")
    if audience not in RestrictedField.Audience.values:
        allowed = ", ".join(RestrictedField.Audience.values)
        raise OrgError("bad_audience", f"audience must be one of {allowed}", field="audience")
    mark, created = RestrictedField.objects.select_for_update().get_or_create(
        model=model,
        field=field,
        defaults={"audience": audience, "created_at": timezone.now(), "created_by": actor},
    )
    if not created and mark.audience != audience:
        mark.audience = audience
        mark.save(update_fields=["audience"])
    return mark


@transaction.atomic
def unmark_restricted(mark: RestrictedField, *, actor: User) -> None:
    _check_admin(actor)
    RestrictedField.objects.filter(pk=mark.pk).delete()
