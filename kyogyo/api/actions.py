"""Creating, finding and revoking personal API tokens.

A token reads ``kyg_<prefix>_<secret>``: the prefix finds the row, the secret is compared
by its SHA-256 hash (a token is 190 bits of randomness, so a slow password hash adds
nothing but latency to every request)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from kyogyo.api.models import ApiToken
from kyogyo.org import access
from kyogyo.org.models import User

TOKEN_PREFIX = "kyg_"
# Writing last_used_at on every request would make each read a write; once a minute is
# precise enough to see which tokens are in use.
LAST_USED_PRECISION_SECONDS = 60


class TokenError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_token(owner: User, *, name: str, scope: str, actor: User) -> tuple[ApiToken, str]:
    """A new token for ``owner``; returns it with the plain text, which is never stored."""
    if not access.can_manage_tokens_of(actor, owner):
        raise TokenError("forbidden", "only admins can create tokens for other users")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise TokenError("bad_name", "a token needs a name of 1 to 100 characters")
    if scope not in ApiToken.Scope.values:
        raise TokenError("bad_scope", f"scope must be one of {', '.join(ApiToken.Scope.values)}")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    token = ApiToken.objects.create(
        user=owner, name=name, scope=scope, prefix=prefix, secret_hash=_hash(secret)
    )
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


@transaction.atomic
def revoke_token(token: ApiToken, *, actor: User) -> ApiToken:
    if not access.can_manage_tokens_of(actor, token.user):
        raise TokenError("forbidden", "only admins can revoke other users' tokens")
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
    return locked


def authenticate(raw: str) -> ApiToken | None:
    """The active token ``raw`` stands for, with its active user; None otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    prefix, _, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    token = ApiToken.objects.select_related("user", "user__team").filter(prefix=prefix).first()
    if token is None:
        return None
    if not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at and (now - token.last_used_at).total_seconds() < LAST_USED_PRECISION_SECONDS:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
