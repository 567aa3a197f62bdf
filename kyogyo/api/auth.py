"""Token authentication for the API, with the token's scope and rate limit applied.

``request.auth`` is the ApiToken and ``request.user`` its user, so every handler asks
``kyogyo.org.access`` about that user exactly as a page would."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from kyogyo.api import actions
from kyogyo.api.errors import ApiError
from kyogyo.api.models import ApiToken
from kyogyo.audit import context as audit
from kyogyo.ops import ratelimit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    openapi_description = "A personal API token: `Authorization: Bearer kyg_…` (see docs/api.md)."

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = actions.authenticate(token)
        if found is None:
            return None
        check_rate_limit(found)
        if request.method not in SAFE_METHODS and not found.can_write:
            raise ApiError(
                403, "insufficient_scope", "this token may only read; create a token with write scope"
            )
        request.user = found.user
        audit.set_actor(found.user)  # the history names the token's user
        return found


def check_rate_limit(token: ApiToken) -> None:
    limit, window = settings.KYOGYO_API_RATE_LIMIT
    decision = ratelimit.hit(f"api:token:{token.pk}", limit=limit, window=window)
    if not decision.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {limit} requests in {window} s with this token; try again in {decision.retry_after} s",
            headers={"Retry-After": str(decision.retry_after)},
        )


def user_of(request: HttpRequest) -> Any:
    return request.auth.user  # type: ignore[attr-defined]
