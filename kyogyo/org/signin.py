"""Signing in safely: a person's account locks for a while after repeated wrong passwords,
and each address may only try so often. Enforced in the authentication backend, so the
app's sign-in page, the admin's and anything else that calls ``authenticate`` obey it
alike; every failure and lockout is logged (logger ``kyogyo.security``).

The counters are the shared rate-limit counters (``kyogyo.ops.ratelimit``): fixed windows
in the database, the same for every server process."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from kyogyo.ops import ratelimit

log = logging.getLogger("kyogyo.security")


def _failures_key(username: str) -> str:
    return f"login:failures:{username.strip().casefold()[:150]}"


def _address(request: HttpRequest | None) -> str:
    if request is None:
        return "-"
    from kyogyo.intake.visitors import client_address

    return client_address(request)


def lockout_left(username: str) -> int:
    """Seconds until this account may try again; 0 when it is not locked."""
    limit, window = settings.KYOGYO_LOGIN_LOCKOUT
    return ratelimit.peek(_failures_key(username), limit=limit, window=window).retry_after


def count_attempt_from(request: HttpRequest) -> int:
    """Count one sign-in attempt from the request's address; seconds to wait when over."""
    limit, window = settings.KYOGYO_LOGIN_RATE_LIMIT
    decision = ratelimit.hit(f"login:address:{_address(request)}", limit=limit, window=window)
    if not decision.allowed:
        log.warning("sign-in attempts over the limit from %s", _address(request))
    return decision.retry_after


def _record_failure(username: str, request: HttpRequest | None) -> None:
    limit, window = settings.KYOGYO_LOGIN_LOCKOUT
    decision = ratelimit.hit(_failures_key(username), limit=limit, window=window)
    log.warning("failed sign-in for %r from %s", username[:150], _address(request))
    if decision.remaining == 0:
        log.warning("account %r locked for %s s after %s failed sign-ins", username[:150], window, limit)


class LockoutBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get("username", "")
        if username and lockout_left(username):
            log.warning("sign-in refused for locked account %r from %s", username[:150], _address(request))
            raise PermissionDenied("locked")  # stops authenticate(): no other backend is asked
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and username:
            _record_failure(username, request)
        return user
