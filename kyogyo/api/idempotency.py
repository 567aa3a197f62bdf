"""``Idempotency-Key`` on API writes: the first answer is kept (24 hours), a replay of the
same request gets that answer again without doing the work twice, and the same key sent
with a different request is refused. A second copy arriving while the first still runs is
told so (409) rather than run in parallel.

This is middleware rather than part of each handler so every write, present and future,
gets it the same way; it recognises the token itself (the API does so again, and
answers 401 when there is none)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from kyogyo.api import actions
from kyogyo.api.models import IdempotentRequest
from kyogyo.api.strict import operation_template

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEEP = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 200
# Answers not worth keeping: the work was not done (or not known to be), so a retry must run.
NOT_KEPT = frozenset({401, 429})
KEPT_HEADERS = ("Content-Type", "ETag", "Location")
API_PREFIX = "/api/"


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": []}}, status=status)


def fingerprint_of(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _replay(kept: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(bytes(kept.body), status=kept.status_code or 200)
    for name, value in kept.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if key is None or request.method not in WRITE_METHODS or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if operation_template(request) is None:  # nothing to do twice: the answer is 404 / 405
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
            return _error(
                422,
                "bad_idempotency_key",
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
            )
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        token = actions.authenticate(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return self.get_response(request)
        fingerprint = fingerprint_of(request)
        try:
            with transaction.atomic():
                kept = IdempotentRequest.objects.create(token=token, key=key, fingerprint=fingerprint)
        except IntegrityError:
            return self._answer_again(token.pk, key, fingerprint)
        response = self.get_response(request)
        self._keep(kept, response)
        return response

    def _answer_again(self, token_id: int, key: str, fingerprint: str) -> HttpResponse:
        kept = IdempotentRequest.objects.filter(token_id=token_id, key=key).first()
        if kept is None:  # swept or released between the insert and now
            return _error(409, "idempotency_retry", "try the request again")
        if kept.fingerprint != fingerprint:
            return _error(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            )
        if kept.status_code is None:
            return _error(409, "idempotency_in_progress", "the first request with this key is still running")
        return _replay(kept)

    def _keep(self, kept: IdempotentRequest, response: HttpResponse) -> None:
        if response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming:
            kept.delete()
            return
        kept.status_code = response.status_code
        kept.body = response.content
        kept.headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
        kept.save(update_fields=["status_code", "body", "headers"])


def sweep(now: dt.datetime | None = None) -> int:
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=(now or timezone.now()) - KEEP).delete()
    return deleted
